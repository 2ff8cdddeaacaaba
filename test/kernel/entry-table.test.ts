// The name table of an IPC space: it must answer exactly as a Map of names to entries would
// (lookups, replacement, deletion with backward shift, insertion order), whatever the names.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EntryTable, IpcEntry, IpcSpace } from "../../src/kernel/ipc-space.js";

type Op = { kind: "add" | "delete" | "get"; name: number };

const space = new IpcSpace("entry-table-test");
// Names as spaces make them (index << 8 | tag), few enough to collide and be reused, or any u32.
const name = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((i) => ((i << 8) | 5) >>> 0),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<Op["kind"]>("add", "add", "delete", "get"),
  name,
});

describe("EntryTable", () => {
  it("behaves as a Map of names to entries, in insertion order", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new EntryTable();
        const model = new Map<number, IpcEntry>();
        for (const o of ops) {
          if (o.kind === "add") {
            const e = new IpcEntry(space, o.name);
            table.add(e);
            model.set(o.name, e);
          } else if (o.kind === "delete") {
            expect(table.delete(o.name)).toBe(model.delete(o.name));
          } else {
            expect(table.get(o.name)).toBe(model.get(o.name));
            expect(table.has(o.name)).toBe(model.has(o.name));
          }
          expect(table.size).toBe(model.size);
        }
        for (const [n, e] of model) expect(table.get(n)).toBe(e);
        expect(table.values()).toEqual([...model.values()]);
        table.clear();
        expect(table.size).toBe(0);
        expect(table.values()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps finding every live name through a long run of fresh names (an RPC's reply rights)", () => {
    const table = new EntryTable();
    const live = [1, 2, 3].map((i) => new IpcEntry(space, i << 8));
    for (const e of live) table.add(e);
    for (let i = 10; i < 5000; i++) {
      const e = new IpcEntry(space, (i << 8) >>> 0);
      table.add(e);
      expect(table.get(e.name)).toBe(e);
      expect(table.delete(e.name)).toBe(true);
      expect(table.get(e.name)).toBeUndefined();
    }
    for (const e of live) expect(table.get(e.name)).toBe(e);
    expect(table.values()).toEqual(live);
  });
});

describe("IpcSpace entry reuse", () => {
  it("gives a recycled entry object a fresh name, never an old one", () => {
    const s = new IpcSpace("reuse");
    const a = s.newEntry();
    const oldName = a.name;
    s.removeEntry(a);
    s.recycleEntry(a);
    const b = s.newEntry();
    expect(b).toBe(a);
    expect(b.name).not.toBe(oldName);
    expect(s.lookup(oldName)).toBeUndefined();
    expect(s.lookup(b.name)).toBe(b);
    expect(b.type).toBe(0);
    expect(b.port).toBeNull();
  });

  it("does not recycle an entry still in the table", () => {
    const s = new IpcSpace("reuse-live");
    const a = s.newEntry();
    a.type = 1;
    s.recycleEntry(a);
    expect(s.newEntry()).not.toBe(a);
    expect(s.lookup(a.name)).toBe(a);
  });
});
