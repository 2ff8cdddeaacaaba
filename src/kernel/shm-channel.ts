// A one-way shared-memory message channel: a single-producer single-consumer ring of
// variable-length byte messages in a SharedArrayBuffer, with spin-then-park waiting on both sides.
//
// Layout of the buffer (all positions are free-running 32-bit byte counters, taken modulo the
// capacity, which is a power of two):
//
//   bytes 0..511   control words, each side's hot words on its own cache line:
//                  [0] magic  [1] capacity  [2] closed
//                  [16] head (written by the producer)   [32] producer parked on tail
//                  [48] tail (written by the consumer)   [64] consumer parked on head
//   bytes 512..    the ring: records of an 8-byte header (int32 length, reserved) and the
//                  payload padded to 8 bytes. A record never straddles the end of the ring: a
//                  wrap marker (length -1) sends the reader back to offset 0.
//
// Invariants: head - tail (mod 2^32) is in [0, capacity]; only the producer writes head and the
// bytes in [head, tail + capacity); only the consumer writes tail. A record is published by the
// producer's Atomics.store of head after its bytes are written, and freed by the consumer's
// Atomics.store of tail after it is read (release/acquire through sequentially consistent
// atomics). A side that parks sets its parked word and then re-reads the other side's counter;
// the other side stores its counter and then reads the parked word, so at least one of the two
// sees the other (Dekker): the futex notify happens only when the peer is really parked.
import { performance } from "node:perf_hooks";
import { alignedSharedBuffer } from "./aligned-buffer.js";

/** mach_msg_return_t values used by the channel (GNU Mach's mach/message.h). */
export const MACH_MSG_SUCCESS = 0x00000000;
export const MACH_SEND_TIMED_OUT = 0x10000004;
export const MACH_SEND_INVALID_DEST = 0x10000003;
export const MACH_SEND_MSG_TOO_SMALL = 0x10000008;
export const MACH_SEND_NO_BUFFER = 0x1000000d;
export const MACH_RCV_TIMED_OUT = 0x10004003;
export const MACH_RCV_TOO_LARGE = 0x10004004;
export const MACH_RCV_PORT_DIED = 0x10004009;
export const KERN_INVALID_ARGUMENT = 4;

/** The codes the channel returns; MACH_MSG_SUCCESS (0) means done. */
export type ShmReturn =
  | typeof MACH_MSG_SUCCESS
  | typeof MACH_SEND_TIMED_OUT
  | typeof MACH_SEND_INVALID_DEST
  | typeof MACH_SEND_MSG_TOO_SMALL
  | typeof MACH_SEND_NO_BUFFER
  | typeof MACH_RCV_TIMED_OUT
  | typeof MACH_RCV_TOO_LARGE
  | typeof MACH_RCV_PORT_DIED;

/** A failed receive: the code, never MACH_MSG_SUCCESS. */
export type ShmReceiveError = Exclude<ShmReturn, typeof MACH_MSG_SUCCESS>;

/** Encodes a message straight into the ring: `size` bytes at `dst[offset..offset+size)`. */
export type ShmEncoder = (dst: Uint8Array, offset: number, size: number) => void;

export interface ShmChannelOptions {
  /**
   * The longest a waiting side spins before it parks, in microseconds (default 50). A peer that
   * answers within the spin costs no system call; an idle side parks and burns no core. The
   * spin adapts: it halves (down to MIN_SPIN_MICROS) each time spinning did not pay off and
   * doubles back when it did, so an oversubscribed machine does not lose its cores to spinning.
   * 0 parks at once.
   */
  spinMicros?: number;
}

export interface ShmChannelCreateOptions extends ShmChannelOptions {
  /** Ring size in bytes: a power of two from 64 to 2^30 (default 64 KiB). */
  capacity?: number;
  /** Initial value of the 32-bit position counters (tests use it to cross 2^31 and 2^32). */
  startPosition?: number;
}

/** Why attach or create refused the buffer or options. */
export interface ShmChannelInvalid {
  readonly code: typeof KERN_INVALID_ARGUMENT;
  readonly reason: string;
}

const MAGIC = 0x4d534843; // "CHSM"
const CONTROL_BYTES = 512;
const I_MAGIC = 0;
const I_CAPACITY = 1;
const I_CLOSED = 2;
const I_HEAD = 16;
const I_WRITER_PARKED = 32;
const I_TAIL = 48;
const I_READER_PARKED = 64;
const RECORD_HEADER = 8;
const WRAP = -1;
const CLOCK_EVERY = 64;
/** The adaptive spin never drops below this (unless spinMicros is smaller). */
const MIN_SPIN_MICROS = 2;

type WaitAsyncResult =
  | { async: false; value: "not-equal" | "timed-out" }
  | { async: true; value: Promise<"ok" | "timed-out"> };
type AtomicsWaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => WaitAsyncResult;
const waitAsync: AtomicsWaitAsync | undefined = (
  Atomics as unknown as { waitAsync?: AtomicsWaitAsync }
).waitAsync;

function align8(n: number): number {
  return (n + 7) & ~7;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Milliseconds still left before `deadline` (performance.now() time), never negative. */
function remaining(deadline: number): number {
  if (deadline === Infinity) return Infinity;
  return Math.max(0, deadline - performance.now());
}

function deadlineOf(timeoutMs: number): number {
  if (!(timeoutMs >= 0)) return Infinity; // NaN or negative: no timeout is not a valid request
  return timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
}

/**
 * One end's handle on a channel. Create it on one thread, pass `buffer` to the peer, and attach
 * there; the producer uses only the send side, the consumer only the receive side (one thread
 * each: it is a single-producer single-consumer ring).
 */
export class ShmChannel {
  readonly buffer: SharedArrayBuffer;
  /** Ring size in bytes. */
  readonly capacity: number;
  /** The largest payload that always fits: capacity / 2 - 8. */
  readonly maxMessageSize: number;
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;
  private readonly words: Int32Array;
  private readonly mask: number;
  private readonly spinMicros: number;
  private spinBudget: number;
  // producer state
  private head: number;
  private cachedTail: number;
  // consumer state
  private tail: number;
  private cachedHead: number;
  private pendingRecord = 0;
  private lastLength = 0;

  private constructor(buffer: SharedArrayBuffer, capacity: number, options: ShmChannelOptions) {
    this.buffer = buffer;
    this.capacity = capacity;
    this.maxMessageSize = capacity / 2 - RECORD_HEADER;
    this.ctrl = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.data = new Uint8Array(buffer, CONTROL_BYTES, capacity);
    this.words = new Int32Array(buffer, CONTROL_BYTES, capacity / 4);
    this.mask = capacity - 1;
    this.spinMicros = Math.max(0, options.spinMicros ?? 50);
    this.spinBudget = this.spinMicros;
    this.head = Atomics.load(this.ctrl, I_HEAD);
    this.cachedTail = Atomics.load(this.ctrl, I_TAIL);
    this.tail = this.cachedTail;
    this.cachedHead = this.head;
  }

  /** Bytes of SharedArrayBuffer a channel of `capacity` needs. */
  static bufferSize(capacity: number): number {
    return CONTROL_BYTES + capacity;
  }

  /** A new, empty channel in a fresh SharedArrayBuffer. */
  static create(options: ShmChannelCreateOptions = {}): ShmChannel | ShmChannelInvalid {
    const capacity = options.capacity ?? 65536;
    if (!isPowerOfTwo(capacity) || capacity < 64 || capacity > 2 ** 30) {
      return {
        code: KERN_INVALID_ARGUMENT,
        reason: `capacity ${capacity} is not a power of two in [64, 2^30]`,
      };
    }
    const start = options.startPosition ?? 0;
    if (!Number.isInteger(start) || start % 8 !== 0) {
      return {
        code: KERN_INVALID_ARGUMENT,
        reason: `startPosition ${start} is not a multiple of 8`,
      };
    }
    const buffer = alignedSharedBuffer(ShmChannel.bufferSize(capacity));
    const ctrl = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    ctrl[I_CAPACITY] = capacity;
    ctrl[I_HEAD] = start | 0;
    ctrl[I_TAIL] = start | 0;
    Atomics.store(ctrl, I_MAGIC, MAGIC);
    return new ShmChannel(buffer, capacity, options);
  }

  /** The peer's handle on a channel another thread created. */
  static attach(
    buffer: SharedArrayBuffer,
    options: ShmChannelOptions = {},
  ): ShmChannel | ShmChannelInvalid {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < CONTROL_BYTES + 64) {
      return {
        code: KERN_INVALID_ARGUMENT,
        reason: "not a channel buffer (too small or not shared)",
      };
    }
    const ctrl = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    const capacity = Atomics.load(ctrl, I_CAPACITY);
    if (
      Atomics.load(ctrl, I_MAGIC) !== MAGIC ||
      !isPowerOfTwo(capacity) ||
      buffer.byteLength < CONTROL_BYTES + capacity
    ) {
      return {
        code: KERN_INVALID_ARGUMENT,
        reason: "not a channel buffer (bad magic or capacity)",
      };
    }
    return new ShmChannel(buffer, capacity, options);
  }

  /** Marks the channel dead (its task died): both sides wake; later sends and empty receives fail. */
  close(): void {
    Atomics.store(this.ctrl, I_CLOSED, 1);
    Atomics.notify(this.ctrl, I_HEAD);
    Atomics.notify(this.ctrl, I_TAIL);
  }

  get closed(): boolean {
    return Atomics.load(this.ctrl, I_CLOSED) !== 0;
  }

  /** True while the consumer is parked in a futex wait for a message (for diagnostics). */
  get readerParked(): boolean {
    return Atomics.load(this.ctrl, I_READER_PARKED) !== 0;
  }

  /** Bytes published and not yet consumed, wrap padding included (for diagnostics). */
  get queuedBytes(): number {
    return (Atomics.load(this.ctrl, I_HEAD) - Atomics.load(this.ctrl, I_TAIL)) | 0;
  }

  /** True while the producer is parked in a futex wait for room (for diagnostics). */
  get writerParked(): boolean {
    return Atomics.load(this.ctrl, I_WRITER_PARKED) !== 0;
  }

  /** Size of the message the last receive/peek returned, or of the one too large for the buffer. */
  get lastSize(): number {
    return this.lastLength;
  }

  // ---------------------------------------------------------------- producer

  /** Sends a copy of `message`; waits up to `timeoutMs` (default: forever) for room. */
  send(message: Uint8Array, timeoutMs = Infinity): ShmReturn {
    return this.sendWith(message.length, (dst, offset) => dst.set(message, offset), timeoutMs);
  }

  /** Sends a `size`-byte message that `encode` writes in place; waits up to `timeoutMs` for room. */
  sendWith(size: number, encode: ShmEncoder, timeoutMs = Infinity): ShmReturn {
    const r = this.reserve(size);
    if (r !== 0) return r;
    if (!this.hasRoom(size)) {
      if (!this.waitForRoomSync(size, deadlineOf(timeoutMs))) {
        return this.closed ? MACH_SEND_INVALID_DEST : MACH_SEND_TIMED_OUT;
      }
    }
    this.commit(size, encode);
    return MACH_MSG_SUCCESS;
  }

  /** send() for threads that must not block: parks with Atomics.waitAsync. */
  sendAsync(message: Uint8Array, timeoutMs = Infinity): Promise<ShmReturn> {
    return this.sendWithAsync(message.length, (dst, offset) => dst.set(message, offset), timeoutMs);
  }

  /** sendWith() for threads that must not block. */
  async sendWithAsync(size: number, encode: ShmEncoder, timeoutMs = Infinity): Promise<ShmReturn> {
    const r = this.reserve(size);
    if (r !== 0) return r;
    const deadline = deadlineOf(timeoutMs);
    while (!this.hasRoom(size)) {
      if (this.closed) return MACH_SEND_INVALID_DEST;
      if (remaining(deadline) === 0) return MACH_SEND_TIMED_OUT;
      const seen = this.cachedTail;
      Atomics.store(this.ctrl, I_WRITER_PARKED, 1);
      if (Atomics.load(this.ctrl, I_TAIL) === seen && !this.closed) {
        await parkAsync(this.ctrl, I_TAIL, seen, remaining(deadline));
      }
      Atomics.store(this.ctrl, I_WRITER_PARKED, 0);
    }
    this.commit(size, encode);
    return MACH_MSG_SUCCESS;
  }

  /** Checks a send request before any wait: closed channel, bad or impossible size. */
  private reserve(size: number): ShmReturn {
    if (this.closed) return MACH_SEND_INVALID_DEST;
    if (!Number.isInteger(size) || size < 0) return MACH_SEND_MSG_TOO_SMALL;
    if (size > this.maxMessageSize) return MACH_SEND_NO_BUFFER;
    return MACH_MSG_SUCCESS;
  }

  /** Bytes the next record of `size` takes from `head`, counting a wrap marker's padding. */
  private need(size: number): number {
    const rec = RECORD_HEADER + align8(size);
    const toEnd = this.capacity - (this.head & this.mask);
    return rec <= toEnd ? rec : toEnd + rec;
  }

  private hasRoom(size: number): boolean {
    const need = this.need(size);
    if (this.capacity - ((this.head - this.cachedTail) | 0) >= need) return true;
    this.cachedTail = Atomics.load(this.ctrl, I_TAIL);
    return this.capacity - ((this.head - this.cachedTail) | 0) >= need;
  }

  private commit(size: number, encode: ShmEncoder): void {
    const rec = RECORD_HEADER + align8(size);
    let pos = this.head & this.mask;
    if (rec > this.capacity - pos) {
      this.words[pos >> 2] = WRAP;
      this.head = (this.head + (this.capacity - pos)) | 0;
      pos = 0;
    }
    this.words[pos >> 2] = size;
    encode(this.data, pos + RECORD_HEADER, size);
    this.head = (this.head + rec) | 0;
    Atomics.store(this.ctrl, I_HEAD, this.head);
    if (Atomics.load(this.ctrl, I_READER_PARKED) !== 0) Atomics.notify(this.ctrl, I_HEAD);
  }

  /** Spins, then parks on tail; false when the deadline passed or the channel closed. */
  private waitForRoomSync(size: number, deadline: number): boolean {
    if (this.spin(deadline, () => this.hasRoom(size))) return true;
    for (;;) {
      if (this.closed) return false;
      const seen = this.cachedTail;
      Atomics.store(this.ctrl, I_WRITER_PARKED, 1);
      if (Atomics.load(this.ctrl, I_TAIL) === seen && !this.closed) {
        Atomics.wait(this.ctrl, I_TAIL, seen, remaining(deadline));
      }
      Atomics.store(this.ctrl, I_WRITER_PARKED, 0);
      if (this.hasRoom(size)) return true;
      if (remaining(deadline) === 0) return false;
    }
  }

  /**
   * Spins on `ready` for the current spin budget; true if it came true. Adapts the budget:
   * doubled (up to spinMicros) after a spin that paid off, halved after one that did not.
   */
  private spin(deadline: number, ready: () => boolean): boolean {
    if (this.spinBudget <= 0) return ready();
    const start = performance.now();
    const spinEnd = Math.min(deadline, start + this.spinBudget / 1000);
    for (let i = 1; ; i++) {
      if (ready()) {
        this.spinBudget = Math.min(this.spinMicros, this.spinBudget * 2);
        return true;
      }
      if (i % CLOCK_EVERY === 0 && performance.now() >= spinEnd) break;
    }
    this.spinBudget = Math.max(Math.min(MIN_SPIN_MICROS, this.spinMicros), this.spinBudget / 2);
    return false;
  }

  // ---------------------------------------------------------------- consumer

  /**
   * The next message as a view into the ring, valid until consume() (or the next receive);
   * waits up to `timeoutMs` (default: forever). peek() again without consume() returns the same
   * message.
   */
  peek(timeoutMs = Infinity): Uint8Array | ShmReceiveError {
    if (!this.readable()) {
      const r = this.waitReadableSync(deadlineOf(timeoutMs));
      if (r !== 0) return r;
    }
    return this.view();
  }

  /** peek() for threads that must not block (the main thread): parks with Atomics.waitAsync. */
  async peekAsync(timeoutMs = Infinity): Promise<Uint8Array | ShmReceiveError> {
    if (!this.readable()) {
      const r = await this.waitReadableAsync(deadlineOf(timeoutMs));
      if (r !== 0) return r;
    }
    return this.view();
  }

  /** Frees the message the last peek() returned; its view must no longer be used. */
  consume(): void {
    if (this.pendingRecord === 0) return;
    this.tail = (this.tail + this.pendingRecord) | 0;
    this.pendingRecord = 0;
    Atomics.store(this.ctrl, I_TAIL, this.tail);
    if (Atomics.load(this.ctrl, I_WRITER_PARKED) !== 0) Atomics.notify(this.ctrl, I_TAIL);
  }

  /**
   * Copies the next message into `into` and frees it; its size is then `lastSize`. A message
   * larger than `into` stays queued: MACH_RCV_TOO_LARGE, with its size in `lastSize`.
   */
  receive(into: Uint8Array, timeoutMs = Infinity): ShmReturn {
    const v = this.peek(timeoutMs);
    return typeof v === "number" ? v : this.copyOut(v, into);
  }

  /** receive() for threads that must not block. */
  async receiveAsync(into: Uint8Array, timeoutMs = Infinity): Promise<ShmReturn> {
    const v = await this.peekAsync(timeoutMs);
    return typeof v === "number" ? v : this.copyOut(v, into);
  }

  /** True when a message is waiting (never blocks). */
  readable(): boolean {
    if (this.pendingRecord !== 0) return true;
    if (this.cachedHead !== this.tail) return true;
    this.cachedHead = Atomics.load(this.ctrl, I_HEAD);
    return this.cachedHead !== this.tail;
  }

  private copyOut(v: Uint8Array, into: Uint8Array): ShmReturn {
    if (v.length > into.length) return MACH_RCV_TOO_LARGE;
    into.set(v);
    this.consume();
    return MACH_MSG_SUCCESS;
  }

  /** The record at tail (skipping a wrap marker); requires readable(). */
  private view(): Uint8Array | ShmReceiveError {
    let pos = this.tail & this.mask;
    let len = this.words[pos >> 2]!;
    if (len === WRAP) {
      this.tail = (this.tail + (this.capacity - pos)) | 0;
      pos = 0;
      len = this.words[0]!;
    }
    const rec = RECORD_HEADER + align8(len);
    if (len < 0 || rec > ((this.cachedHead - this.tail) | 0) || pos + rec > this.capacity) {
      // Only a peer writing outside the protocol can get here: treat the channel as dead.
      this.close();
      return MACH_RCV_PORT_DIED;
    }
    this.pendingRecord = rec;
    this.lastLength = len;
    const start = pos + RECORD_HEADER;
    return this.data.subarray(start, start + len);
  }

  private waitReadableSync(deadline: number): ShmReceiveError | 0 {
    if (this.spin(deadline, () => this.readable())) return 0;
    for (;;) {
      if (this.closed) return this.readable() ? 0 : MACH_RCV_PORT_DIED;
      Atomics.store(this.ctrl, I_READER_PARKED, 1);
      if (!this.readable() && !this.closed) {
        Atomics.wait(this.ctrl, I_HEAD, this.tail, remaining(deadline));
      }
      Atomics.store(this.ctrl, I_READER_PARKED, 0);
      if (this.readable()) return 0;
      if (remaining(deadline) === 0) return this.closed ? MACH_RCV_PORT_DIED : MACH_RCV_TIMED_OUT;
    }
  }

  private async waitReadableAsync(deadline: number): Promise<ShmReceiveError | 0> {
    for (;;) {
      if (this.readable()) return 0;
      if (this.closed) return MACH_RCV_PORT_DIED;
      if (remaining(deadline) === 0) return MACH_RCV_TIMED_OUT;
      Atomics.store(this.ctrl, I_READER_PARKED, 1);
      if (!this.readable() && !this.closed) {
        await parkAsync(this.ctrl, I_HEAD, this.tail, remaining(deadline));
      }
      Atomics.store(this.ctrl, I_READER_PARKED, 0);
    }
  }
}

/**
 * Atomics.waitAsync, holding the event loop open meanwhile (a pending waitAsync alone does not
 * keep Node running). Falls back to polling every millisecond where waitAsync is missing.
 */
export async function parkAsync(
  ctrl: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
): Promise<void> {
  holdLoop();
  try {
    if (waitAsync) {
      const r = waitAsync(ctrl, index, value, timeoutMs);
      if (r.async) await r.value;
      return;
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(1, timeoutMs)));
  } finally {
    releaseLoop();
  }
}

// One idle interval for the whole thread, referenced while any park is pending: cheaper than a
// timer made and cleared for every park on the RPC path.
let keepAlive: ReturnType<typeof setInterval> | null = null;
let parkedCount = 0;

function holdLoop(): void {
  if (parkedCount++ > 0) return;
  if (keepAlive) keepAlive.ref();
  else keepAlive = setInterval(() => {}, 1 << 30);
}

function releaseLoop(): void {
  if (--parkedCount === 0) keepAlive?.unref();
}

/** Narrowing helper: true when create/attach succeeded. */
export function isShmChannel(x: ShmChannel | ShmChannelInvalid): x is ShmChannel {
  return x instanceof ShmChannel;
}
