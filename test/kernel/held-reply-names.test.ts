// The table of lane reply names a server holds: names in the lane range, never two alike while
// held, found until given up, kept across growth, and not handed out again soon after.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isLaneName } from "../../src/kernel/fast-lane.js";
import { HeldReplyNames } from "../../src/kernel/held-reply-names.js";

describe("HeldReplyNames", () => {
  it("behaves as a map from fresh lane names, whatever the order of adds and deletes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 400 }), (ops) => {
        const t = new HeldReplyNames<number>();
        const model = new Map<number, number>();
        const ever = new Set<number>();
        let v = 0;
        for (const [add, pick] of ops) {
          if (add || model.size === 0) {
            const name = t.add(++v);
            expect(isLaneName(name)).toBe(true);
            expect(ever.has(name)).toBe(false); // not reused within 2^24 names
            ever.add(name);
            model.set(name, v);
          } else {
            const name = [...model.keys()][pick % model.size]!;
            expect(t.delete(name)).toBe(true);
            expect(t.delete(name)).toBe(false);
            model.delete(name);
          }
          expect(t.size).toBe(model.size);
        }
        for (const [name, value] of model) expect(t.get(name)).toBe(value);
        expect(t.keys().sort()).toEqual([...model.keys()].sort());
        for (const name of ever) if (!model.has(name)) expect(t.has(name)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("knows nothing of names it never gave out", () => {
    const t = new HeldReplyNames<string>();
    const n = t.add("a");
    expect(t.get(0)).toBeUndefined();
    expect(t.get(n + 64)).toBeUndefined();
    expect(t.get(n & 0xffff)).toBeUndefined();
    expect(t.delete(n + 1)).toBe(false);
    expect(t.get(n)).toBe("a");
  });

  it("holds thousands at once (a server that answers later, MIG_NO_REPLY)", () => {
    const t = new HeldReplyNames<number>();
    const names = Array.from({ length: 5000 }, (_, i) => t.add(i));
    expect(new Set(names).size).toBe(5000);
    names.forEach((n, i) => expect(t.get(n)).toBe(i));
    for (const n of names.slice(0, 4000)) t.delete(n);
    expect(t.size).toBe(1000);
    names.slice(4000).forEach((n, i) => expect(t.get(n)).toBe(4000 + i));
  });
});
