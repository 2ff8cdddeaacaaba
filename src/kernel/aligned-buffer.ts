// Shared memory that starts on a cache line: the layouts of lanes, doorbells and channels give
// each word one thread writes a 64-byte line of its own, which holds only from an aligned base.
//
// `new SharedArrayBuffer(n)` comes from malloc, 16-byte aligned here: a layout's "line" then
// straddles two real ones, and words two threads write apart share a line (a bare slot ping-pong
// ran about 35% slower from a base 16 bytes off). A shared WebAssembly memory is page-aligned.

/** A WebAssembly memory's unit of size. */
const WASM_PAGE = 65536;

interface WasmMemoryApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  };
}

const wasm = (globalThis as { WebAssembly?: WasmMemoryApi }).WebAssembly;

/**
 * A zero-filled SharedArrayBuffer of at least `byteLength` bytes whose first byte starts a
 * page (so a cache line). Its byteLength is rounded up to 64 KiB; where WebAssembly is not
 * available it is an ordinary SharedArrayBuffer of exactly `byteLength` bytes.
 */
export function alignedSharedBuffer(byteLength: number): SharedArrayBuffer {
  const pages = Math.max(1, Math.ceil(byteLength / WASM_PAGE));
  if (wasm) {
    try {
      const buffer = new wasm.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
      if (buffer instanceof SharedArrayBuffer) return buffer;
    } catch {
      // No shared WebAssembly memory here (or no address space left for one): malloc's.
    }
  }
  return new SharedArrayBuffer(byteLength);
}
