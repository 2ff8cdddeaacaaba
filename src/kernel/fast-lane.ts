// Fast RPC lanes: the shared-memory layout one client task and one server task use to exchange
// simple request/reply messages without the kernel, and the doorbells that wake a task's thread.
//
// A lane is a SharedArrayBuffer the kernel creates for a (client reply port R, server port P)
// pair and shares with both tasks; the kernel stays the only authority over rights (it grants,
// revokes and tears lanes down, and turns what a lane still holds into real kernel messages).
//
// Layout (int32 words; every hot word on its own 64-byte line):
//   [0] magic  [1] state (ACTIVE, REVOKED: no new requests, DEAD)  [2] client attached
//   [3] server ready (attached, and not blocked in a kernel receive on P)
//   [16] owed: requests posted whose send-once reply right the server still holds
//   [17] client calls waiting for the request slot to empty (the server rings when it takes)
//   [32] P's kernel queue length   [48] R's kernel queue length   (written by the kernel)
//   [34] the requests the client had posted when the head of P's kernel queue was queued
//        (lanePosted, as the kernel read it then)
//   [64] lane dequeues from P not yet folded into P's seqno (server adds)
//   [65] requests taken out of the request slot, by the server or the kernel (they add)
//   [80] lane dequeues from R not yet folded into R's seqno (client adds)
//   [96] request slot state  [97] its length    [112] reply slot state  [113] its length
//   [98..110] / [114..126]: a message of up to LANE_INLINE_BYTES, on its slot state's line
//   [111] / [127]: set while the slot's consumer spins on that line (its producer need not ring)
//   [128] P's seqno at grant  [129] R's seqno at grant
//   [130] the server's and [131] the client's shared-pool owner tags (out-of-line data)
//   bytes 1024..: the request slot, then the reply slot (LANE_SLOT_BYTES each), for longer ones.
// A slot holds one message: EMPTY -> FULL (its producer, by compare-and-swap after writing the
// bytes) -> BUSY (a consumer copying it out, by compare-and-swap) -> EMPTY; the kernel closes a
// slot by compare-and-swap EMPTY -> CLOSED (draining a FULL one first), so a producer racing a
// close either published before it (and the kernel drains the message) or fails and falls back.
// Arrival order on P holds across the lane and the kernel queue: the request in the slot is
// number [65]+1, and it was posted before the queue's head exactly when that is <= [34].

import { parseBody, readPointer, readU32 } from "./message.js";
import { MACH_MSGH_BITS_COMPLEX, MACH_MSG_TYPE_PORT_ANY } from "./msg-type.js";
import { alignedSharedBuffer } from "./aligned-buffer.js";
import { copyBytes } from "./shared-copy.js";

export const LANE_MAGIC = 0x454e414c; // "LANE"
export const LANE_SLOT_BYTES = 4096;
/** A message this short travels on its slot state's cache line (one line to move, not two). */
export const LANE_INLINE_BYTES = 52;
/** Offset from a slot's state word of its "consumer spins on this line" word. */
export const SLOT_WATCHED = 15;
const DATA_OFFSET = 1024;
export const LANE_BYTES = DATA_OFFSET + 2 * LANE_SLOT_BYTES;

export const L_MAGIC = 0;
export const L_STATE = 1;
export const L_CLIENT_READY = 2;
export const L_SERVER_READY = 3;
export const L_OWED = 16;
export const L_REQ_WAIT = 17;
export const L_PQ = 32;
export const L_HEAD_POSTED = 34;
export const L_RQ = 48;
export const L_PSEQ = 64;
export const L_TAKEN = 65;
export const L_RSEQ = 80;
export const L_REQ = 96;
export const L_REP = 112;
export const L_PSEQ_INIT = 128;
export const L_RSEQ_INIT = 129;
export const L_SERVER_OWNER = 130;
export const L_CLIENT_OWNER = 131;

export const LANE_ACTIVE = 1;
export const LANE_REVOKED = 2;
export const LANE_DEAD = 3;

export const SLOT_EMPTY = 0;
export const SLOT_FULL = 1;
export const SLOT_BUSY = 2;
export const SLOT_CLOSED = 3;

/** Which slot: the request slot (client -> server) or the reply slot (server -> client). */
export type LaneSlot = typeof L_REQ | typeof L_REP;

/**
 * Requests the client has posted on a lane: those taken out of the request slot, and the one in
 * it. (TAKEN is read first: a request taken meanwhile is then counted once, never twice.)
 */
export function lanePosted(w: Int32Array): number {
  const taken = Atomics.load(w, L_TAKEN);
  const st = Atomics.load(w, L_REQ);
  return taken + (st === SLOT_FULL || st === SLOT_BUSY ? 1 : 0);
}

/** Role codes in a grant record. */
export const LANE_ROLE_CLIENT = 1;
export const LANE_ROLE_SERVER = 2;

/** Lane reply names the server's runtime hands out: a range the kernel never allocates. */
export const LANE_NAME_BASE = 0xfe000000;
export const LANE_NAME_MASK = 0xff000000;
export function isLaneName(name: number): boolean {
  return (name & LANE_NAME_MASK) >>> 0 === LANE_NAME_BASE;
}

/** A lane's words and slot bytes, on either thread. */
export class LaneMemory {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  private readonly request: Uint8Array;
  private readonly reply: Uint8Array;
  private readonly requestInline: Uint8Array;
  private readonly replyInline: Uint8Array;

  /** The whole lane as words (short messages are copied a word at a time). */
  private readonly all: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, DATA_OFFSET / 4);
    this.all = new Int32Array(buffer, 0, LANE_BYTES / 4);
    this.bytes = new Uint8Array(buffer, 0, LANE_BYTES);
    this.request = new Uint8Array(buffer, DATA_OFFSET, LANE_SLOT_BYTES);
    this.reply = new Uint8Array(buffer, DATA_OFFSET + LANE_SLOT_BYTES, LANE_SLOT_BYTES);
    this.requestInline = new Uint8Array(buffer, (L_REQ + 2) * 4, LANE_INLINE_BYTES);
    this.replyInline = new Uint8Array(buffer, (L_REP + 2) * 4, LANE_INLINE_BYTES);
  }

  static create(): LaneMemory {
    const m = new LaneMemory(alignedSharedBuffer(LANE_BYTES));
    Atomics.store(m.words, L_MAGIC, LANE_MAGIC);
    return m;
  }

  /** A lane buffer handed over by the kernel, or null when it is not one. */
  static attach(buffer: SharedArrayBuffer): LaneMemory | null {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < LANE_BYTES) return null;
    const m = new LaneMemory(buffer);
    return Atomics.load(m.words, L_MAGIC) === LANE_MAGIC ? m : null;
  }

  get state(): number {
    return Atomics.load(this.words, L_STATE);
  }

  slotState(slot: LaneSlot): number {
    return Atomics.load(this.words, slot);
  }

  /** Length of the message in a FULL slot. */
  slotLength(slot: LaneSlot): number {
    return Atomics.load(this.words, slot + 1);
  }

  /** Where a message of `len` bytes lives in the slot (at least `len` bytes long). */
  slotBytes(slot: LaneSlot, len: number): Uint8Array {
    if (len <= LANE_INLINE_BYTES) return slot === L_REQ ? this.requestInline : this.replyInline;
    return slot === L_REQ ? this.request : this.reply;
  }

  /** The word index where a message of `len` bytes starts in the slot. */
  private slotWord(slot: LaneSlot, len: number): number {
    if (len <= LANE_INLINE_BYTES) return slot + 2;
    return (DATA_OFFSET + (slot === L_REQ ? 0 : LANE_SLOT_BYTES)) >> 2;
  }

  /** Copies the `len` bytes of a claimed slot into `dst` (from offset 0). */
  copyOut(slot: LaneSlot, dst: Uint8Array, len: number): void {
    const d = len <= SHORT_MESSAGE ? wordsOf(dst, len) : null;
    if (d !== null) {
      const all = this.all;
      const s = this.slotWord(slot, len);
      for (let i = 0, n = len >> 2; i < n; i++) d[i] = all[s + i]!;
      return;
    }
    const src = this.slotBytes(slot, len);
    if (len <= SHORT_MESSAGE) for (let i = 0; i < len; i++) dst[i] = src[i]!;
    else copyBytes(dst, src.subarray(0, len));
  }

  /** Writes `len` bytes of `src` into the slot (its producer, before publishing them). */
  private copyIn(slot: LaneSlot, src: Uint8Array, len: number): void {
    const w = len <= SHORT_MESSAGE ? wordsOf(src, len) : null;
    if (w !== null) {
      const all = this.all;
      const d = this.slotWord(slot, len);
      for (let i = 0, n = len >> 2; i < n; i++) all[d + i] = w[i]!;
      return;
    }
    const dst = this.slotBytes(slot, len);
    if (len <= SHORT_MESSAGE) for (let i = 0; i < len; i++) dst[i] = src[i]!;
    else copyBytes(dst, src.subarray(0, len));
  }

  /**
   * Publishes `len` bytes of `src` in an EMPTY slot (the slot's only producer calls this).
   * False when the slot is not empty or was closed: nothing was published.
   */
  post(slot: LaneSlot, src: Uint8Array, len: number): boolean {
    if (len > LANE_SLOT_BYTES || Atomics.load(this.words, slot) !== SLOT_EMPTY) return false;
    this.copyIn(slot, src, len);
    // A plain store: the compare-and-swap that publishes the slot orders it for the consumer.
    this.words[slot + 1] = len;
    return Atomics.compareExchange(this.words, slot, SLOT_EMPTY, SLOT_FULL) === SLOT_EMPTY;
  }

  /**
   * post() for a message written in place: `fill` writes the `len` bytes into the slot. False
   * (and `fill` not called) when the slot is not empty; false after `fill` when it was closed.
   */
  postWith(slot: LaneSlot, len: number, fill: (dst: Uint8Array) => void): boolean {
    if (len > LANE_SLOT_BYTES || Atomics.load(this.words, slot) !== SLOT_EMPTY) return false;
    fill(this.slotBytes(slot, len));
    this.words[slot + 1] = len;
    return Atomics.compareExchange(this.words, slot, SLOT_EMPTY, SLOT_FULL) === SLOT_EMPTY;
  }

  /** Claims a FULL slot for copying out; release() empties it afterwards. */
  claim(slot: LaneSlot): boolean {
    return Atomics.compareExchange(this.words, slot, SLOT_FULL, SLOT_BUSY) === SLOT_FULL;
  }

  release(slot: LaneSlot): void {
    Atomics.store(this.words, slot, SLOT_EMPTY);
  }
}

/**
 * Messages up to this long are copied into and out of slots by hand, a word at a time when the
 * other array is word-aligned: a consumer spins on the slot's line, and a producer that writes
 * it byte by byte loses the line to it again and again (rpc.null.cross-task about 30% slower).
 */
const SHORT_MESSAGE = 64;

/** Int32 views of the last two byte arrays copied to or from (a task reuses its buffers). */
let cachedBytes0: Uint8Array | null = null;
let cachedWords0: Int32Array | null = null;
let cachedBytes1: Uint8Array | null = null;
let cachedWords1: Int32Array | null = null;

/** `a` as words when it is word-aligned and holds `len` (a multiple of 4) bytes; else null. */
function wordsOf(a: Uint8Array, len: number): Int32Array | null {
  if ((len & 3) !== 0 || len > a.length) return null;
  let w: Int32Array;
  if (a === cachedBytes0) w = cachedWords0!;
  else if (a === cachedBytes1) w = cachedWords1!;
  else {
    if ((a.byteOffset & 3) !== 0) return null;
    w = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
    cachedBytes1 = cachedBytes0;
    cachedWords1 = cachedWords0;
    cachedBytes0 = a;
    cachedWords0 = w;
  }
  return len <= w.length * 4 ? w : null;
}

/**
 * Checks a lane message before anyone acts on it (the peer wrote it, and is not trusted): a
 * sane size, and, when complex, a well-formed body with no rights (a lane never carries rights)
 * whose out-of-line regions are pool regions owned by `owner` and large enough. `regionOf`
 * answers a region's owner tag and size (undefined: no region starts there).
 */
export function laneMessageOk(
  bytes: Uint8Array,
  len: number,
  owner: number,
  regionOf: (address: number) => { owner: number; size: number } | undefined,
): boolean {
  if (!Number.isInteger(len) || len < 32 || len > LANE_SLOT_BYTES || len % 4 !== 0) return false;
  const bits = readU32(bytes, 0);
  if (!(bits & MACH_MSGH_BITS_COMPLEX)) return true;
  const body = parseBody(bytes, len);
  if (!body.ok) return false;
  for (const it of body.items) {
    if (MACH_MSG_TYPE_PORT_ANY(it.name)) return false;
    if (it.inline) continue;
    const addr = readPointer(bytes, it.dataOffset);
    if (it.byteLength === 0) {
      if (addr !== 0) return false;
      continue;
    }
    const r = regionOf(addr);
    if (!r || r.owner !== owner || r.size < it.byteLength) return false;
  }
  return true;
}

/** A task's doorbell: [0] rung count, [1] 1 while its thread is parked on it. */
export const BELL_COUNT = 0;
export const BELL_PARKED = 1;
export const BELL_BYTES = 64;

/** Rings a task's doorbell: wakes its thread if it is parked. */
export function ringBell(bell: Int32Array): void {
  Atomics.add(bell, BELL_COUNT, 1);
  if (Atomics.load(bell, BELL_PARKED) !== 0) Atomics.notify(bell, BELL_COUNT);
}
