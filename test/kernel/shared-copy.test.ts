// copyBytes and copyWithinBytes: the same bytes as set() and copyWithin() for every size,
// offset and overlap, shared or not, and the same RangeError for a copy that does not fit.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { copyBytes, copyWithinBytes } from "../../src/kernel/shared-copy.js";

const make = (n: number, shared: boolean, seed: number) => {
  const b = new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

describe("copyBytes", () => {
  it("copies what set() copies, between and within buffers of either kind", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 0, max: 9000 }),
        fc.boolean(),
        (dstShared, srcShared, len, at, from, same) => {
          const size = 20_000;
          const a = make(size, dstShared, 1);
          const b = same ? a : make(size, srcShared, 2);
          const expected = a.slice();
          const src = b.subarray(from, from + len);
          const ref = new Uint8Array(expected.length);
          ref.set(expected);
          ref.set(same ? a.slice(from, from + len) : src, at);
          copyBytes(a, src, at);
          expect(Buffer.compare(a, ref)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a copy past the end as set() does, changing nothing", () => {
    const dst = make(8192, true, 3);
    const before = dst.slice();
    expect(() => copyBytes(dst, make(4096, true, 4), 6000)).toThrow(RangeError);
    expect(() => copyBytes(dst, make(4096, false, 4), -1)).toThrow(RangeError);
    expect(Buffer.compare(dst, before)).toBe(0);
  });

  it("copyWithinBytes moves what copyWithin moves, overlapping or not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12_000 }),
        fc.integer({ min: 0, max: 12_000 }),
        fc.integer({ min: 0, max: 8000 }),
        (target, from, len) => {
          const a = make(16_384, true, 5);
          const ref = a.slice();
          ref.copyWithin(target, from, from + len);
          copyWithinBytes(a, target, from, Math.min(from + len, a.length));
          expect(Buffer.compare(a, ref)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
