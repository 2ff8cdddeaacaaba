// The allocation property both pool suites check, under whichever fit policy their pool uses:
// random allocate/free sequences never give out overlapping regions and the free count adds up.
import fc from "fast-check";
import { expect } from "vitest";
import { KERN_NO_SPACE, KERN_SUCCESS, type ShmPool } from "../../src/kernel/shm-pool.js";

/** Runs the property on pools of 24 pages of 4 KiB made by `make`. */
export function checkNoOverlapProperty(make: () => ShmPool): void {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 5 * 4096 }), fc.constant(0)), {
        maxLength: 200,
      }),
      (ops) => {
        const p = make();
        const live: { offset: number; size: number }[] = [];
        for (const op of ops) {
          if (op === 0 && live.length > 0) {
            const r = live.splice(live.length >> 1, 1)[0]!;
            expect(p.free(r.offset)).toBe(KERN_SUCCESS);
          } else if (op > 0) {
            const a = p.allocate(op);
            if (a.ok) {
              for (const r of live)
                expect(a.offset + a.size <= r.offset || r.offset + r.size <= a.offset).toBe(true);
              live.push({ offset: a.offset, size: a.size });
            } else expect(a.code).toBe(KERN_NO_SPACE);
          }
          const used = live.reduce((s, r) => s + r.size / 4096, 0);
          expect(p.stats().freePages).toBe(24 - used);
        }
      },
    ),
    { numRuns: 150 },
  );
}
