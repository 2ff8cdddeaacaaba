// A lane's slots in one thread: a short message travels on its slot state's cache line, a
// longer one in the slot's data area; each arrives whole, a full or closed slot refuses a post,
// and a slot's length word chooses where a reader (the kernel draining it) finds the bytes.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  L_REP,
  L_REQ,
  LANE_INLINE_BYTES,
  SLOT_WATCHED,
  LANE_SLOT_BYTES,
  LaneMemory,
  SLOT_CLOSED,
  SLOT_EMPTY,
  SLOT_FULL,
  type LaneSlot,
} from "../../src/kernel/fast-lane.js";

function message(len: number, seed: number): Uint8Array {
  const m = new Uint8Array(len);
  for (let i = 0; i < len; i++) m[i] = (i * 7 + seed) & 0xff;
  return m;
}

function roundTrip(mem: LaneMemory, slot: LaneSlot, msg: Uint8Array): Uint8Array {
  expect(mem.post(slot, msg, msg.length)).toBe(true);
  expect(mem.slotState(slot)).toBe(SLOT_FULL);
  const len = mem.slotLength(slot);
  expect(mem.claim(slot)).toBe(true);
  const out = new Uint8Array(len);
  mem.copyOut(slot, out, len);
  mem.release(slot);
  expect(mem.slotState(slot)).toBe(SLOT_EMPTY);
  return out;
}

describe("lane memory", () => {
  it("carries short messages on the slot state's line and long ones in the data area", () => {
    const mem = LaneMemory.create();
    for (const slot of [L_REQ, L_REP] as const) {
      const short = message(40, slot);
      expect(roundTrip(mem, slot, short)).toEqual(short);
      // The short message's bytes sit right after the state and length words.
      const line = new Uint8Array(mem.buffer, (slot + 2) * 4, LANE_INLINE_BYTES);
      expect(line.subarray(0, 40)).toEqual(short);
      // ...and fill the line with them and the consumer's "watched" word.
      expect((slot + 2) * 4 + LANE_INLINE_BYTES).toBe((slot + SLOT_WATCHED) * 4);
      expect(((slot + SLOT_WATCHED + 1) * 4) % 64).toBe(0);
      const long = message(LANE_INLINE_BYTES + 8, slot + 1);
      expect(roundTrip(mem, slot, long)).toEqual(long);
      const full = message(LANE_SLOT_BYTES, slot + 2);
      expect(roundTrip(mem, slot, full)).toEqual(full);
    }
  });

  it("keeps the request and reply slots apart", () => {
    const mem = LaneMemory.create();
    const req = message(LANE_INLINE_BYTES, 1);
    const rep = message(LANE_INLINE_BYTES, 2);
    expect(mem.post(L_REQ, req, req.length)).toBe(true);
    expect(mem.post(L_REP, rep, rep.length)).toBe(true);
    expect(mem.slotBytes(L_REQ, req.length).subarray(0, req.length)).toEqual(req);
    expect(mem.slotBytes(L_REP, rep.length).subarray(0, rep.length)).toEqual(rep);
  });

  it("writes in place with postWith into the area the length selects", () => {
    const mem = LaneMemory.create();
    for (const len of [32, LANE_INLINE_BYTES, 200]) {
      const msg = message(len, len);
      expect(mem.postWith(L_REQ, len, (dst) => dst.set(msg))).toBe(true);
      expect(mem.claim(L_REQ)).toBe(true);
      const out = new Uint8Array(len);
      mem.copyOut(L_REQ, out, mem.slotLength(L_REQ));
      mem.release(L_REQ);
      expect(out).toEqual(msg);
    }
  });

  it("refuses a post into a full, closed or too small slot", () => {
    const mem = LaneMemory.create();
    const msg = message(40, 3);
    expect(mem.post(L_REQ, msg, 40)).toBe(true);
    expect(mem.post(L_REQ, message(40, 4), 40)).toBe(false);
    expect(mem.postWith(L_REQ, 40, () => expect.unreachable())).toBe(false);
    // The first message is untouched by the refused ones.
    expect(mem.slotBytes(L_REQ, 40).subarray(0, 40)).toEqual(msg);
    expect(mem.claim(L_REQ)).toBe(true);
    mem.release(L_REQ);
    Atomics.store(mem.words, L_REQ, SLOT_CLOSED);
    expect(mem.post(L_REQ, msg, 40)).toBe(false);
    expect(mem.post(L_REP, message(LANE_SLOT_BYTES + 4, 5), LANE_SLOT_BYTES + 4)).toBe(false);
  });

  it("copies short messages whole from and into arrays at any offset, word-aligned or not", () => {
    // Short messages go a word at a time when the other array allows it, byte by byte when not;
    // a view cached from an earlier copy must not stand in for a different array.
    const mem = LaneMemory.create();
    const backing = new ArrayBuffer(256);
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 16 }).map((w) => w * 4),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 64 }),
        fc.constantFrom(L_REQ, L_REP),
        fc.integer({ min: 0, max: 255 }),
        (len, from, to, slot, seed) => {
          const src = new Uint8Array(backing, from, len);
          src.set(message(len, seed));
          const want = src.slice();
          expect(mem.post(slot, src, len)).toBe(true);
          expect(mem.slotBytes(slot, len).subarray(0, len)).toEqual(want);
          expect(mem.claim(slot)).toBe(true);
          const dst = new Uint8Array(new ArrayBuffer(to + len + 8), to, len + 8).fill(0xee);
          mem.copyOut(slot, dst, mem.slotLength(slot));
          mem.release(slot);
          expect(dst.subarray(0, len)).toEqual(want);
          expect([...dst.subarray(len)]).toEqual(new Array(8).fill(0xee));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("takes a length that is not a whole number of words or that overruns the array bytewise", () => {
    const mem = LaneMemory.create();
    const msg = message(38, 9);
    expect(mem.post(L_REQ, msg, 38)).toBe(true);
    expect(mem.claim(L_REQ)).toBe(true);
    const out = new Uint8Array(40).fill(0xee);
    mem.copyOut(L_REQ, out, 38);
    mem.release(L_REQ);
    expect(out.subarray(0, 38)).toEqual(msg);
    expect([...out.subarray(38)]).toEqual([0xee, 0xee]);
  });

  it("attaches only to a lane buffer", () => {
    const mem = LaneMemory.create();
    expect(LaneMemory.attach(mem.buffer)).not.toBeNull();
    expect(LaneMemory.attach(new SharedArrayBuffer(mem.buffer.byteLength))).toBeNull();
    expect(LaneMemory.attach(new SharedArrayBuffer(64))).toBeNull();
  });
});
