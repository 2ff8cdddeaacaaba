// The shared-memory message ring: order, wraparound, large messages, full-ring blocking and
// timeouts, parking and wakeup, across real worker threads; and a fast-check model property.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ShmChannel,
  isShmChannel,
  KERN_INVALID_ARGUMENT,
  MACH_MSG_SUCCESS,
  MACH_RCV_PORT_DIED,
  MACH_RCV_TIMED_OUT,
  MACH_RCV_TOO_LARGE,
  MACH_SEND_INVALID_DEST,
  MACH_SEND_MSG_TOO_SMALL,
  MACH_SEND_NO_BUFFER,
  MACH_SEND_TIMED_OUT,
  type ShmChannelCreateOptions,
} from "../../src/kernel/shm-channel.js";
import { checkPattern, makePattern } from "./shm-pattern.js";
import { runJob, startJob } from "./shm-worker.js";

function channel(options: ShmChannelCreateOptions = {}): ShmChannel {
  const c = ShmChannel.create(options);
  if (!isShmChannel(c)) throw new Error(c.reason);
  return c;
}

function attach(buffer: SharedArrayBuffer): ShmChannel {
  const c = ShmChannel.attach(buffer);
  if (!isShmChannel(c)) throw new Error(c.reason);
  return c;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("shm-channel: creation and bad input", () => {
  it("refuses capacities that are not powers of two in range", () => {
    for (const capacity of [0, 63, 100, 2 ** 31, -64, 1.5]) {
      const c = ShmChannel.create({ capacity });
      expect(isShmChannel(c)).toBe(false);
      if (!isShmChannel(c)) expect(c.code).toBe(KERN_INVALID_ARGUMENT);
    }
  });

  it("refuses to attach to a buffer that is not a channel", () => {
    const junk = new SharedArrayBuffer(4096);
    new Int32Array(junk).fill(7);
    const c = ShmChannel.attach(junk);
    expect(isShmChannel(c)).toBe(false);
    const tiny = ShmChannel.attach(new SharedArrayBuffer(8));
    expect(isShmChannel(tiny)).toBe(false);
  });

  it("refuses bad sizes and messages that can never fit", () => {
    const c = channel({ capacity: 256 });
    expect(c.maxMessageSize).toBe(120);
    expect(c.sendWith(-1, () => {}, 0)).toBe(MACH_SEND_MSG_TOO_SMALL);
    expect(c.sendWith(2.5, () => {}, 0)).toBe(MACH_SEND_MSG_TOO_SMALL);
    expect(c.send(new Uint8Array(121), 0)).toBe(MACH_SEND_NO_BUFFER);
    expect(c.send(new Uint8Array(120), 0)).toBe(MACH_MSG_SUCCESS);
  });
});

describe("shm-channel: one thread", () => {
  it("delivers in order, by copy and by view, including empty messages", () => {
    const tx = channel({ capacity: 1024 });
    const rx = attach(tx.buffer);
    const sizes = [0, 1, 7, 8, 9, 100, 0, 500];
    sizes.forEach((s, k) => expect(tx.send(makePattern(s, k))).toBe(MACH_MSG_SUCCESS));
    const buf = new Uint8Array(600);
    for (let k = 0; k < sizes.length; k++) {
      if (k % 2) {
        expect(rx.receive(buf, 0)).toBe(MACH_MSG_SUCCESS);
        expect(rx.lastSize).toBe(sizes[k]);
        expect(checkPattern(buf.subarray(0, rx.lastSize), k)).toBe(true);
      } else {
        const v = rx.peek(0);
        if (typeof v === "number") throw new Error(`peek ${v}`);
        expect(v.length).toBe(sizes[k]);
        expect(checkPattern(v, k)).toBe(true);
        const again = rx.peek(0);
        expect(again).toEqual(v); // peek without consume sees the same message
        rx.consume();
      }
    }
    expect(rx.receive(buf, 0)).toBe(MACH_RCV_TIMED_OUT);
  });

  it("encodes in place through sendWith, 8-byte aligned", () => {
    const tx = channel({ capacity: 256 });
    const rx = attach(tx.buffer);
    expect(
      tx.sendWith(16, (dst, off, size) => {
        expect(off % 8).toBe(0);
        new DataView(dst.buffer, dst.byteOffset + off, size).setBigUint64(
          8,
          0x1122334455667788n,
          true,
        );
      }),
    ).toBe(MACH_MSG_SUCCESS);
    const v = rx.peek(0);
    if (typeof v === "number") throw new Error(`peek ${v}`);
    expect(new DataView(v.buffer, v.byteOffset, v.length).getBigUint64(8, true)).toBe(
      0x1122334455667788n,
    );
  });

  it("keeps a message too large for the receive buffer queued and reports its size", () => {
    const tx = channel({ capacity: 256 });
    const rx = attach(tx.buffer);
    tx.send(makePattern(50, 3));
    const small = new Uint8Array(10);
    expect(rx.receive(small, 0)).toBe(MACH_RCV_TOO_LARGE);
    expect(rx.lastSize).toBe(50);
    const big = new Uint8Array(50);
    expect(rx.receive(big, 0)).toBe(MACH_MSG_SUCCESS);
    expect(checkPattern(big, 3)).toBe(true);
  });

  it("times out a send to a full ring without touching queued messages", () => {
    const tx = channel({ capacity: 256, spinMicros: 0 });
    const rx = attach(tx.buffer);
    let k = 0;
    while (tx.send(makePattern(40, k), 0) === MACH_MSG_SUCCESS) k++;
    expect(k).toBe(5); // 5 records of 48 bytes in 256
    const t0 = performance.now();
    expect(tx.send(makePattern(40, 99), 30)).toBe(MACH_SEND_TIMED_OUT);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    const buf = new Uint8Array(64);
    for (let i = 0; i < k; i++) {
      expect(rx.receive(buf, 0)).toBe(MACH_MSG_SUCCESS);
      expect(checkPattern(buf.subarray(0, rx.lastSize), i)).toBe(true);
    }
    expect(rx.receive(buf, 0)).toBe(MACH_RCV_TIMED_OUT);
  });

  it("times out a receive on an empty ring, sync and async", async () => {
    const c = channel({ capacity: 256, spinMicros: 0 });
    const t0 = performance.now();
    expect(c.receive(new Uint8Array(8), 20)).toBe(MACH_RCV_TIMED_OUT);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(await c.receiveAsync(new Uint8Array(8), 20)).toBe(MACH_RCV_TIMED_OUT);
    expect(await c.peekAsync(0)).toBe(MACH_RCV_TIMED_OUT);
  });

  it("wraps the ring and the 32-bit position counters", () => {
    for (const startPosition of [0x7fffff00, -256, 0xffffff00 | 0, 120]) {
      const tx = channel({ capacity: 128, startPosition });
      const rx = attach(tx.buffer);
      const buf = new Uint8Array(64);
      let next = 0; // the next message the reader expects
      for (let k = 0; k < 300; k++) {
        const size = (k * 13) % (tx.maxMessageSize + 1);
        const m = makePattern(size, k);
        let r = tx.send(m, 0);
        while (r === MACH_SEND_TIMED_OUT && next < k) {
          expect(rx.receive(buf, 0)).toBe(MACH_MSG_SUCCESS);
          expect(checkPattern(buf.subarray(0, rx.lastSize), next++)).toBe(true);
          r = tx.send(m, 0);
        }
        expect(r).toBe(MACH_MSG_SUCCESS);
      }
      while (next < 300) {
        expect(rx.receive(buf, 0)).toBe(MACH_MSG_SUCCESS);
        expect(checkPattern(buf.subarray(0, rx.lastSize), next++)).toBe(true);
      }
      expect(rx.receive(buf, 0)).toBe(MACH_RCV_TIMED_OUT);
    }
  });

  it("close() fails later sends and empty receives but delivers what was queued", () => {
    const tx = channel({ capacity: 256 });
    const rx = attach(tx.buffer);
    tx.send(makePattern(5, 0));
    tx.close();
    expect(tx.send(makePattern(5, 1))).toBe(MACH_SEND_INVALID_DEST);
    const buf = new Uint8Array(16);
    expect(rx.receive(buf)).toBe(MACH_MSG_SUCCESS);
    expect(rx.receive(buf)).toBe(MACH_RCV_PORT_DIED);
  });

  it("treats a corrupted record header as a dead channel, never a crash", () => {
    const tx = channel({ capacity: 256 });
    const rx = attach(tx.buffer);
    tx.send(makePattern(5, 0));
    new Int32Array(tx.buffer, 512, 1)[0] = 100000; // length beyond what was published
    expect(rx.receive(new Uint8Array(16), 0)).toBe(MACH_RCV_PORT_DIED);
  });

  it("property: any send/receive sequence is delivered in FIFO order, and sends only fail on a non-empty ring", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(64, 128, 256, 1024),
        fc.integer({ min: 0, max: 1 << 20 }).map((x) => x * 8),
        fc.array(
          fc.oneof(
            fc.nat({ max: 600 }).map((n) => ({ send: n })),
            fc.constant({ send: -1 }),
          ),
          { maxLength: 300 },
        ),
        (capacity, start, ops) => {
          const tx = channel({ capacity, startPosition: start | 0 });
          const rx = attach(tx.buffer);
          const model: Uint8Array[] = [];
          const buf = new Uint8Array(capacity);
          let k = 0;
          for (const op of ops) {
            if (op.send >= 0) {
              const m = makePattern(op.send, k++);
              const r = tx.send(m, 0);
              if (op.send > tx.maxMessageSize) expect(r).toBe(MACH_SEND_NO_BUFFER);
              else if (r === MACH_MSG_SUCCESS) model.push(m);
              else {
                expect(r).toBe(MACH_SEND_TIMED_OUT);
                expect(model.length).toBeGreaterThan(0);
              }
            } else {
              const r = rx.receive(buf, 0);
              if (model.length === 0) expect(r).toBe(MACH_RCV_TIMED_OUT);
              else {
                expect(r).toBe(MACH_MSG_SUCCESS);
                expect(buf.subarray(0, rx.lastSize)).toEqual(model.shift());
              }
            }
          }
          while (model.length > 0) {
            expect(rx.receive(buf, 0)).toBe(MACH_MSG_SUCCESS);
            expect(buf.subarray(0, rx.lastSize)).toEqual(model.shift());
          }
          expect(rx.receive(buf, 0)).toBe(MACH_RCV_TIMED_OUT);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("shm-channel: across worker threads", () => {
  it("streams thousands of messages of every size in order through a small ring (worker to worker)", async () => {
    const ring = channel({ capacity: 1024 });
    const sizes = Array.from({ length: 10000 }, (_, k) => (k * 37) % (ring.maxMessageSize + 1));
    const consumer = startJob({
      role: "consume",
      ring: ring.buffer,
      count: sizes.length,
      viaView: true,
    });
    const produced = await runJob({ role: "produce", ring: ring.buffer, sizes });
    expect(produced.codes?.every((c) => c === MACH_MSG_SUCCESS)).toBe(true);
    const got = await consumer.report;
    await consumer.terminate();
    expect(got.received).toBe(sizes.length);
    expect(got.bad).toBe(0);
    expect(got.sizes).toEqual(sizes);
  });

  it("delivers to an async (waitAsync) consumer and from a parked producer", async () => {
    const ring = channel({ capacity: 512 });
    const sizes = Array.from({ length: 3000 }, (_, k) => (k * 11) % (ring.maxMessageSize + 1));
    const consumer = startJob({
      role: "consume",
      ring: ring.buffer,
      count: sizes.length,
      async: true,
      spinMicros: 0,
    });
    const produced = await runJob({ role: "produce", ring: ring.buffer, sizes, spinMicros: 0 });
    expect(produced.codes?.every((c) => c === MACH_MSG_SUCCESS)).toBe(true);
    const got = await consumer.report;
    await consumer.terminate();
    expect(got.bad).toBe(0);
    expect(got.sizes).toEqual(sizes);
  });

  it("a full ring blocks the sending worker until the reader drains it", async () => {
    const ring = channel({ capacity: 256 });
    const rx = attach(ring.buffer);
    const sizes = Array.from({ length: 40 }, () => 100); // 112-byte records: 2 fit at a time
    const producer = startJob({ role: "produce", ring: ring.buffer, sizes, spinMicros: 0 });
    await until(() => ring.writerParked, "the producer to park on a full ring");
    const buf = new Uint8Array(128);
    for (let k = 0; k < sizes.length; k++) {
      expect(await rx.receiveAsync(buf, 10_000)).toBe(MACH_MSG_SUCCESS);
      expect(checkPattern(buf.subarray(0, rx.lastSize), k)).toBe(true);
    }
    const r = await producer.report;
    await producer.terminate();
    expect(r.codes).toEqual(sizes.map(() => MACH_MSG_SUCCESS));
  });

  it("a sending worker times out on a ring nobody drains, and nothing queued is damaged", async () => {
    const ring = channel({ capacity: 256 });
    const rx = attach(ring.buffer);
    const r = await runJob({
      role: "produce",
      ring: ring.buffer,
      sizes: [100, 100, 100, 100],
      timeoutMs: 50,
    });
    expect(r.codes).toEqual([
      MACH_MSG_SUCCESS,
      MACH_MSG_SUCCESS,
      MACH_SEND_TIMED_OUT,
      MACH_SEND_TIMED_OUT,
    ]);
    const buf = new Uint8Array(128);
    for (const k of [0, 1]) {
      expect(rx.receive(buf, 0)).toBe(MACH_MSG_SUCCESS);
      expect(checkPattern(buf.subarray(0, rx.lastSize), k)).toBe(true);
    }
    expect(rx.receive(buf, 0)).toBe(MACH_RCV_TIMED_OUT);
  });

  it("a parked receiver wakes on the next message, and on close()", async () => {
    const ring = channel({ capacity: 256 });
    const consumer = startJob({ role: "consume", ring: ring.buffer, count: 3, spinMicros: 0 });
    for (let k = 0; k < 2; k++) {
      await until(
        () => ring.readerParked && ring.queuedBytes === 0,
        "the consumer to park on an empty ring",
      );
      expect(ring.send(makePattern(20, k))).toBe(MACH_MSG_SUCCESS);
    }
    await until(() => ring.readerParked && ring.queuedBytes === 0, "the consumer to park again");
    ring.close();
    const got = await consumer.report;
    await consumer.terminate();
    expect(got.received).toBe(2);
    expect(got.bad).toBe(0);
    expect(got.codes).toEqual([MACH_RCV_PORT_DIED]);
  });

  it("round-trips through an echoing worker over two channels", async () => {
    const out = channel({ capacity: 4096 });
    const back = channel({ capacity: 4096 });
    const echo = startJob({ role: "echo", rx: out.buffer, tx: back.buffer });
    const buf = new Uint8Array(out.maxMessageSize);
    for (let k = 0; k < 2000; k++) {
      const m = makePattern(k % 300, k);
      expect(out.send(m)).toBe(MACH_MSG_SUCCESS);
      expect(back.receive(buf, 10_000)).toBe(MACH_MSG_SUCCESS);
      expect(buf.subarray(0, back.lastSize)).toEqual(m);
    }
    out.close();
    const r = await echo.report;
    await echo.terminate();
    expect(r.received).toBe(2000);
    expect(r.codes).toEqual([MACH_RCV_PORT_DIED]);
  });
});
