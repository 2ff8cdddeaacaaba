// The mapped time page of the "time" device: gnumach's mapped_time_value_t in shared memory, written
// with the check-field protocol (check, then fraction, then seconds) and read with its retry loop.
//
// Layout (x86_64, gnumach's <mach/time_value.h>): seconds i32 @0, microseconds i32 @4,
// check_seconds i32 @8, 4 bytes of padding, time_value { seconds i64 @16, nanoseconds i64 @24 },
// check_seconds64 i64 @32, uptime_value { seconds i64 @40, nanoseconds i64 @48 },
// check_upseconds64 i64 @56: 64 bytes at the start of a 4096-byte page.

export const TIME_PAGE_SIZE = 4096;
export const MAPPED_TIME_VALUE_SIZE = 64;

/** Byte offsets of the fields of mapped_time_value_t. */
export const MTIME = {
  seconds: 0,
  microseconds: 4,
  check_seconds: 8,
  time_value_seconds: 16,
  time_value_nanoseconds: 24,
  check_seconds64: 32,
  uptime_value_seconds: 40,
  uptime_value_nanoseconds: 48,
  check_upseconds64: 56,
} as const;

/** A time as gnumach's time_value64_t: seconds and nanoseconds (0..999999999). */
export interface TimeValue64 {
  readonly seconds: bigint;
  readonly nanoseconds: bigint;
}

/** The legacy 32-bit view: seconds and microseconds. */
export interface TimeValue32 {
  readonly seconds: number;
  readonly microseconds: number;
}

/**
 * How long a reader keeps retrying before it gives up (a writer that stopped mid-update). A time,
 * not a count: a writer thread preempted mid-update on a loaded machine resumes within this.
 */
const GIVE_UP_MS = 2000;

/** Runs `attempt` until it gives a value, or until GIVE_UP_MS pass without one. */
function retry<T>(attempt: () => T | undefined): T | undefined {
  let deadline = 0;
  for (let i = 0; ; i++) {
    const v = attempt();
    if (v !== undefined) return v;
    if ((i & 0xfff) === 0xfff) {
      const now = performance.now();
      if (deadline === 0) deadline = now + GIVE_UP_MS;
      else if (now > deadline) return undefined;
    }
  }
}

const I32 = (off: number) => off / 4;
const I64 = (off: number) => off / 8;

/** Typed views over a time page; every access is an Atomics operation (sequentially consistent). */
class PageViews {
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer, 0, MAPPED_TIME_VALUE_SIZE / 4);
    this.i64 = new BigInt64Array(buffer, 0, MAPPED_TIME_VALUE_SIZE / 8);
  }
}

function checkBuffer(buffer: SharedArrayBuffer): void {
  if (buffer.byteLength < MAPPED_TIME_VALUE_SIZE) {
    throw new RangeError(
      `a time page needs ${MAPPED_TIME_VALUE_SIZE} bytes, got ${buffer.byteLength}`,
    );
  }
}

/** The kernel's side: the only writer of the page. */
export class TimePageWriter {
  private readonly v: PageViews;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(TIME_PAGE_SIZE)) {
    checkBuffer(buffer);
    this.v = new PageViews(buffer);
  }

  get buffer(): SharedArrayBuffer {
    return this.v.buffer;
  }

  /**
   * Publishes the wall-clock time in gnumach's order: the check fields first, then the fraction,
   * then the seconds. A reader that sees seconds equal to the check field afterwards has a
   * fraction of that same second.
   */
  setTime(t: TimeValue64): void {
    const { i32, i64 } = this.v;
    const secs32 = Number(BigInt.asIntN(32, t.seconds));
    Atomics.store(i32, I32(MTIME.check_seconds), secs32);
    Atomics.store(i64, I64(MTIME.check_seconds64), t.seconds);
    Atomics.store(i32, I32(MTIME.microseconds), Number(t.nanoseconds / 1000n));
    Atomics.store(i64, I64(MTIME.time_value_nanoseconds), t.nanoseconds);
    Atomics.store(i32, I32(MTIME.seconds), secs32);
    Atomics.store(i64, I64(MTIME.time_value_seconds), t.seconds);
  }

  /** Publishes the time since boot, with the same protocol. */
  setUptime(t: TimeValue64): void {
    const { i64 } = this.v;
    Atomics.store(i64, I64(MTIME.check_upseconds64), t.seconds);
    Atomics.store(i64, I64(MTIME.uptime_value_nanoseconds), t.nanoseconds);
    Atomics.store(i64, I64(MTIME.uptime_value_seconds), t.seconds);
  }
}

/** A task's side: reads a mapped page, retrying while an update is under way. */
export class TimePageReader {
  private readonly v: PageViews;

  constructor(buffer: SharedArrayBuffer) {
    checkBuffer(buffer);
    this.v = new PageViews(buffer);
  }

  /** One attempt at the 64-bit wall-clock time; undefined when an update was in progress. */
  tryReadTime(): TimeValue64 | undefined {
    const { i64 } = this.v;
    const seconds = Atomics.load(i64, I64(MTIME.time_value_seconds));
    const nanoseconds = Atomics.load(i64, I64(MTIME.time_value_nanoseconds));
    return seconds === Atomics.load(i64, I64(MTIME.check_seconds64))
      ? { seconds, nanoseconds }
      : undefined;
  }

  /** The wall-clock time (time_value, nanoseconds); undefined only if a writer stalls mid-update. */
  readTime(): TimeValue64 | undefined {
    return retry(() => this.tryReadTime());
  }

  /** The legacy 32-bit fields (seconds, microseconds, check_seconds), as older readers use them. */
  readTime32(): TimeValue32 | undefined {
    const { i32 } = this.v;
    return retry(() => {
      const seconds = Atomics.load(i32, I32(MTIME.seconds));
      const microseconds = Atomics.load(i32, I32(MTIME.microseconds));
      return seconds === Atomics.load(i32, I32(MTIME.check_seconds))
        ? { seconds, microseconds }
        : undefined;
    });
  }

  /** The time since boot. */
  readUptime(): TimeValue64 | undefined {
    const { i64 } = this.v;
    return retry(() => {
      const seconds = Atomics.load(i64, I64(MTIME.uptime_value_seconds));
      const nanoseconds = Atomics.load(i64, I64(MTIME.uptime_value_nanoseconds));
      return seconds === Atomics.load(i64, I64(MTIME.check_upseconds64))
        ? { seconds, nanoseconds }
        : undefined;
    });
  }
}

/** The host's wall-clock time with microsecond resolution. */
export function wallClock(): TimeValue64 {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
  return { seconds: ns / 1_000_000_000n, nanoseconds: ns % 1_000_000_000n };
}

/** A monotonic clock in nanoseconds (for uptime). */
export function monotonicNanos(): bigint {
  return process.hrtime.bigint();
}
