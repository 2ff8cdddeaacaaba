// Worker side of the shm-channel and shm-pool tests: runs one role (producer, consumer, echo,
// pool allocator) against buffers handed over in workerData and reports to the parent port.
import { parentPort, workerData } from "node:worker_threads";
import {
  ShmChannel,
  isShmChannel,
  MACH_MSG_SUCCESS,
  type ShmChannelInvalid,
} from "../../src/kernel/shm-channel.js";
import { ShmPool, isShmPool } from "../../src/kernel/shm-pool.js";
import { fillPattern, checkPattern } from "./shm-pattern.js";

export type FixtureJob =
  | {
      role: "produce";
      ring: SharedArrayBuffer;
      sizes: number[];
      timeoutMs?: number;
      spinMicros?: number;
    }
  | {
      role: "consume";
      ring: SharedArrayBuffer;
      count: number;
      spinMicros?: number;
      async?: boolean;
      viaView?: boolean;
    }
  | { role: "echo"; rx: SharedArrayBuffer; tx: SharedArrayBuffer; spinMicros?: number }
  | { role: "pool"; pool: SharedArrayBuffer; rounds: number; sizes: number[]; tag: number };

export interface FixtureReport {
  received?: number;
  bad?: number;
  codes?: number[];
  sizes?: number[];
  regions?: { offset: number; size: number }[];
  error?: string;
}

function must(x: ShmChannel | ShmChannelInvalid): ShmChannel {
  if (!isShmChannel(x)) throw new Error(x.reason);
  return x;
}

async function run(job: FixtureJob): Promise<FixtureReport> {
  switch (job.role) {
    case "produce": {
      const ch = must(ShmChannel.attach(job.ring, { spinMicros: job.spinMicros }));
      const codes: number[] = [];
      job.sizes.forEach((size, k) => {
        codes.push(
          ch.sendWith(
            size,
            (dst, off) => fillPattern(dst, off, size, k),
            job.timeoutMs ?? Infinity,
          ),
        );
      });
      return { codes };
    }
    case "consume": {
      const ch = must(ShmChannel.attach(job.ring, { spinMicros: job.spinMicros }));
      const buf = new Uint8Array(ch.maxMessageSize);
      let bad = 0;
      const sizes: number[] = [];
      const codes: number[] = [];
      for (let k = 0; k < job.count; k++) {
        let msg: Uint8Array;
        if (job.viaView) {
          const v = job.async ? await ch.peekAsync() : ch.peek();
          if (typeof v === "number") {
            codes.push(v);
            break;
          }
          msg = v;
        } else {
          const r = job.async ? await ch.receiveAsync(buf) : ch.receive(buf);
          if (r !== MACH_MSG_SUCCESS) {
            codes.push(r);
            break;
          }
          msg = buf.subarray(0, ch.lastSize);
        }
        sizes.push(msg.length);
        if (!checkPattern(msg, k)) bad++;
        if (job.viaView) ch.consume();
      }
      return { received: sizes.length, bad, sizes, codes };
    }
    case "echo": {
      const rx = must(ShmChannel.attach(job.rx, { spinMicros: job.spinMicros }));
      const tx = must(ShmChannel.attach(job.tx, { spinMicros: job.spinMicros }));
      let n = 0;
      for (;;) {
        const v = rx.peek();
        if (typeof v === "number") return { received: n, codes: [v] };
        tx.send(v);
        rx.consume();
        n++;
      }
    }
    case "pool": {
      const pool = ShmPool.attach(job.pool);
      if (!isShmPool(pool)) throw new Error(pool.reason);
      const kept: { offset: number; size: number }[] = [];
      let bad = 0;
      for (let r = 0; r < job.rounds; r++) {
        const size = job.sizes[r % job.sizes.length]!;
        const a = pool.allocate(size, job.tag);
        if (!a.ok) {
          bad++;
          continue;
        }
        const v = pool.view(a.offset, size);
        if (typeof v === "number") {
          bad++;
          continue;
        }
        v.fill(job.tag & 0xff);
        if (r % 3 === 0) kept.push({ offset: a.offset, size });
        else {
          if (v.some((b) => b !== (job.tag & 0xff))) bad++;
          if (pool.free(a.offset) !== 0) bad++;
        }
      }
      return { bad, regions: kept };
    }
  }
}

run(workerData as FixtureJob).then(
  (report) => parentPort?.postMessage(report),
  (e: unknown) =>
    parentPort?.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
);
