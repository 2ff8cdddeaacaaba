// The mapped time page: gnumach's mapped_time_value_t layout, the check-field update order, and
// readers that never see a torn time while another thread keeps updating it.
import { once } from "node:events";
import { describe, expect, test } from "vitest";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_SUCCESS,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "../../../src/kernel/devices/device-codes.js";
import { TimeDevice } from "../../../src/kernel/devices/time-device.js";
import {
  MAPPED_TIME_VALUE_SIZE,
  MTIME,
  TIME_PAGE_SIZE,
  TimePageReader,
  TimePageWriter,
} from "../../../src/kernel/devices/time-page.js";
import { spawnWorker } from "../../../src/kernel/worker-spawn.js";

const STEP = 999_999_937n; // nanoseconds between published times: the seconds change at almost every update

/** Whether some published t_k has these 32-bit seconds and microseconds. */
function published32(seconds: number, microseconds: number): boolean {
  const s = BigInt(seconds);
  const first = (s * 1_000_000_000n + STEP - 1n) / STEP;
  const last = ((s + 1n) * 1_000_000_000n - 1n) / STEP;
  for (let k = first; k <= last; k++) {
    if (Number(((k * STEP) % 1_000_000_000n) / 1000n) === microseconds) return true;
  }
  return false;
}

function wasPublished(seconds: bigint, nanoseconds: bigint): boolean {
  return (
    nanoseconds >= 0n &&
    nanoseconds < 1_000_000_000n &&
    (seconds * 1_000_000_000n + nanoseconds) % STEP === 0n
  );
}

describe("mapped_time_value_t", () => {
  test("the fields sit where gnumach's x86_64 layout puts them", () => {
    const w = new TimePageWriter();
    w.setTime({ seconds: 0x1_2345_6789n, nanoseconds: 987_654_321n });
    w.setUptime({ seconds: 42n, nanoseconds: 7n });
    const v = new DataView(w.buffer);
    expect(w.buffer.byteLength).toBe(TIME_PAGE_SIZE);
    expect(MAPPED_TIME_VALUE_SIZE).toBe(64);
    // The 32-bit fields hold the low word of the seconds and microseconds.
    expect(v.getInt32(MTIME.seconds, true)).toBe(0x2345_6789);
    expect(v.getInt32(MTIME.check_seconds, true)).toBe(0x2345_6789);
    expect(v.getInt32(MTIME.microseconds, true)).toBe(987_654);
    expect(v.getBigInt64(16, true)).toBe(0x1_2345_6789n);
    expect(v.getBigInt64(24, true)).toBe(987_654_321n);
    expect(v.getBigInt64(32, true)).toBe(0x1_2345_6789n);
    expect(v.getBigInt64(40, true)).toBe(42n);
    expect(v.getBigInt64(48, true)).toBe(7n);
    expect(v.getBigInt64(56, true)).toBe(42n);
    const r = new TimePageReader(w.buffer);
    expect(r.readTime()).toEqual({ seconds: 0x1_2345_6789n, nanoseconds: 987_654_321n });
    expect(r.readTime32()).toEqual({ seconds: 0x2345_6789, microseconds: 987_654 });
    expect(r.readUptime()).toEqual({ seconds: 42n, nanoseconds: 7n });
  });

  test("a reader caught between the writer's steps retries instead of returning a torn time", () => {
    const w = new TimePageWriter();
    w.setTime({ seconds: 100n, nanoseconds: 999_000_000n });
    const v = new DataView(w.buffer);
    // The writer's first two steps for 101.000001: check field, then the fraction; not the seconds yet.
    v.setBigInt64(MTIME.check_seconds64, 101n, true);
    v.setBigInt64(MTIME.time_value_nanoseconds, 1_000n, true);
    const r = new TimePageReader(w.buffer);
    // Read without the check, this would be 100.000001: a time that never existed.
    expect(v.getBigInt64(MTIME.time_value_seconds, true)).toBe(100n);
    expect(r.tryReadTime()).toBeUndefined();
    v.setBigInt64(MTIME.time_value_seconds, 101n, true);
    expect(r.tryReadTime()).toEqual({ seconds: 101n, nanoseconds: 1_000n });
  });

  test("never torn while a worker thread keeps updating the page", async () => {
    const page = new SharedArrayBuffer(TIME_PAGE_SIZE);
    const control = new SharedArrayBuffer(16);
    const ctl = new Int32Array(control);
    const spawned = spawnWorker(new URL("./time-writer-worker.ts", import.meta.url), {
      workerData: { page, control, step: STEP },
    });
    expect(spawned.ok, spawned.ok ? "" : spawned.error).toBe(true);
    if (!spawned.ok) return;
    const worker = spawned.worker;
    try {
      const started = Date.now();
      while (Atomics.load(ctl, 2) === 0 && Date.now() - started < 20_000)
        await new Promise((r) => setTimeout(r, 5));
      const r = new TimePageReader(page);
      let reads = 0;
      let changes = 0;
      let last = -1n;
      const writesBefore = Atomics.load(ctl, 1);
      const until = Date.now() + 400;
      while (Date.now() < until) {
        for (let i = 0; i < 1000; i++) {
          const t = r.readTime();
          if (t === undefined) expect.fail("the reader gave up");
          if (!wasPublished(t!.seconds, t!.nanoseconds))
            expect.fail(`torn read ${t!.seconds}.${t!.nanoseconds}`);
          if (t!.seconds !== last) changes++;
          last = t!.seconds;
          const t32 = r.readTime32();
          if (t32 === undefined) expect.fail("the 32-bit reader gave up");
          // The 32-bit view of some published time: microseconds of that very second.
          if (!published32(t32.seconds, t32.microseconds))
            expect.fail(`torn 32-bit read ${t32.seconds}.${t32.microseconds}`);
          const up = r.readUptime();
          if (up === undefined) expect.fail("the uptime reader gave up");
          if (!wasPublished(up.seconds, up.nanoseconds))
            expect.fail(`torn uptime ${up.seconds}.${up.nanoseconds}`);
          reads++;
        }
      }
      const writes = Atomics.load(ctl, 1) - writesBefore;
      // The test only means something if the writer really ran during the reads.
      console.log(
        `time page: ${reads} reads of each view, ${changes} distinct seconds seen, ${writes} updates`,
      );
      expect(writes).toBeGreaterThan(1000);
      expect(changes).toBeGreaterThan(1);
      expect(reads).toBeGreaterThan(1000);
    } finally {
      Atomics.store(ctl, 0, 1);
      await Promise.race([once(worker, "exit"), new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
    }
  });
});

describe("the time device", () => {
  test("publishes the clock it is given, and the uptime", () => {
    let now = { seconds: 1_700_000_000n, nanoseconds: 5_000n };
    const dev = new TimeDevice({ clock: () => now });
    const r = dev.reader();
    expect(r.readTime()).toEqual(now);
    now = { seconds: 1_700_000_001n, nanoseconds: 250_000_000n };
    dev.tick();
    expect(r.readTime()).toEqual(now);
    expect(r.readTime32()).toEqual({ seconds: 1_700_000_001, microseconds: 250_000 });
    const up = r.readUptime()!;
    expect(up.seconds).toBeGreaterThanOrEqual(0n);
  });

  test("keeps the page current while started", async () => {
    const dev = new TimeDevice({ tickMs: 2 });
    const r = dev.reader();
    const first = r.readTime()!;
    dev.start();
    try {
      await new Promise((res) => setTimeout(res, 40));
      const later = r.readTime()!;
      const delta =
        (later.seconds - first.seconds) * 1_000_000_000n + later.nanoseconds - first.nanoseconds;
      expect(delta).toBeGreaterThan(10_000_000n); // at least 10 ms went by on the page
      expect(Number(later.seconds)).toBeCloseTo(Date.now() / 1000, -1);
    } finally {
      dev.stop();
    }
  });

  test("maps only its first page, read-only, as gnumach's timemmap", () => {
    const dev = new TimeDevice();
    expect(dev.checkMap(VM_PROT_READ, 0n, 4096n)).toBe(D_SUCCESS);
    expect(dev.checkMap(VM_PROT_READ | VM_PROT_WRITE, 0n, 4096n)).toBe(D_INVALID_OPERATION);
    expect(dev.checkMap(VM_PROT_READ, 4096n, 4096n)).toBe(D_INVALID_OPERATION);
    expect(dev.checkMap(VM_PROT_READ, 0n, 8192n)).toBe(D_INVALID_SIZE);
    expect(dev.checkMap(VM_PROT_READ, 0n, 0n)).toBe(D_INVALID_SIZE);
  });
});
