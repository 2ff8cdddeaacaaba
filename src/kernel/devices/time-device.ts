// The "time" device: a page holding the current time that tasks map read-only (device_map at
// offset 0 with VM_PROT_READ, as gnumach's timemmap allows) and read without any RPC.
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_SUCCESS,
  VM_PROT_READ,
  type io_return_t,
} from "./device-codes.js";
import {
  monotonicNanos,
  TIME_PAGE_SIZE,
  TimePageReader,
  TimePageWriter,
  wallClock,
  type TimeValue64,
} from "./time-page.js";

export interface TimeDeviceOptions {
  /** The wall clock to publish (default: the host's, in microseconds). */
  readonly clock?: () => TimeValue64;
  /** Milliseconds between updates of the page while running (default 10, gnumach's HZ=100). */
  readonly tickMs?: number;
}

export class TimeDevice {
  readonly writer = new TimePageWriter();
  private readonly clock: () => TimeValue64;
  private readonly tickMs: number;
  private readonly bootNanos = monotonicNanos();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: TimeDeviceOptions = {}) {
    this.clock = options.clock ?? wallClock;
    this.tickMs = options.tickMs ?? 10;
    this.tick();
  }

  /** The shared page (byte 0 is the mapped_time_value_t). */
  get page(): SharedArrayBuffer {
    return this.writer.buffer;
  }

  /** Publishes the clock and the uptime once (the clock interrupt's update_mapped_time). */
  tick(): void {
    this.writer.setTime(this.clock());
    const up = monotonicNanos() - this.bootNanos;
    this.writer.setUptime({ seconds: up / 1_000_000_000n, nanoseconds: up % 1_000_000_000n });
  }

  /** Starts the periodic updates; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** device_map on "time": the first page only, read-only. */
  checkMap(prot: number, offset: bigint, size: bigint): io_return_t {
    if (prot !== VM_PROT_READ || offset !== 0n) return D_INVALID_OPERATION;
    if (size <= 0n || size > BigInt(TIME_PAGE_SIZE)) return D_INVALID_SIZE;
    return D_SUCCESS;
  }

  /** A reader of this page, as a task that mapped it gets. */
  reader(): TimePageReader {
    return new TimePageReader(this.page);
  }
}
