// Copying bytes into or out of shared memory (the pool, lanes, guest RAM) at memcpy speed:
// TypedArray set/copyWithin on a SharedArrayBuffer copy word by word, about half as fast here.

/** Below this many bytes set() is as fast (the native call costs about 0.06 us). */
const NATIVE_FROM = 1536;
/** Buffer's fill with a byte array as the pattern: one native memcpy when the lengths agree. */
const nativeFill = Buffer.prototype.fill as (
  this: Uint8Array,
  value: Uint8Array,
  offset: number,
  end: number,
) => Uint8Array;

/**
 * Copies `src` into `dst` at `offset` (as dst.set(src, offset) does, same checks): for large
 * copies touching shared memory through one native memcpy, unless the two overlap.
 */
export function copyBytes(dst: Uint8Array, src: Uint8Array, offset = 0): void {
  const n = src.length;
  if (
    n < NATIVE_FROM ||
    !(dst.buffer instanceof SharedArrayBuffer || src.buffer instanceof SharedArrayBuffer) ||
    !Number.isInteger(offset) ||
    offset < 0 ||
    offset + n > dst.length ||
    overlaps(dst, offset, src)
  ) {
    dst.set(src, offset);
    return;
  }
  nativeFill.call(dst, src, offset, offset + n);
}

/** Copies bytes [from, to) of `bytes` to `target` within it, as copyWithin does. */
export function copyWithinBytes(bytes: Uint8Array, target: number, from: number, to: number): void {
  const n = to - from;
  if (
    n < NATIVE_FROM ||
    Math.abs(target - from) < n ||
    target < 0 ||
    from < 0 ||
    to > bytes.length ||
    target + n > bytes.length
  ) {
    bytes.copyWithin(target, from, to);
    return;
  }
  copyBytes(bytes, bytes.subarray(from, to), target);
}

function overlaps(dst: Uint8Array, offset: number, src: Uint8Array): boolean {
  if (dst.buffer !== src.buffer) return false;
  const a = dst.byteOffset + offset;
  return a < src.byteOffset + src.length && src.byteOffset < a + src.length;
}
