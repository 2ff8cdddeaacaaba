// The `disk` benchmark group: 1 MiB sequential reads and writes through the whole booted stack
// (client → rumpdisk → ahcisata → the simulated AHCI → the image) against the image file read
// and written directly in the same run, and 4 KiB random reads at queue depth 1 and 32. Reads
// take their data mapped, as a Hurd client does (used in place, then vm_deallocate'd);
// `disk.seq-read.1m.copy` shows the default delivery, a copy into fresh memory.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { device_open, device_read, device_write } from "../generated/device.js";
import { bootSystem } from "../src/boot/boot-chain.js";
import { D_READ, D_WRITE } from "../src/kernel/devices/device-codes.js";
import { mig_deallocate, setOolDelivery } from "../src/kernel/mig/index.js";
import { benchResult, measureMicros, type BenchGroup, type BenchResult } from "./harness.js";

const MiB = 1 << 20;
const IMAGE_MIB = 64;
const SS = 512;

/** A 64 MiB image of pseudo-random bytes (made fast: one random MiB, varied per MiB). */
function makeImage(dir: string): string {
  const file = path.join(dir, "bench-disk.img");
  const chunk = new Uint8Array(MiB);
  let x = 0x2545f491;
  for (let i = 0; i < chunk.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    chunk[i] = x & 0xff;
  }
  const fd = fs.openSync(file, "w");
  for (let m = 0; m < IMAGE_MIB; m++) {
    chunk[0] = m;
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  return file;
}

/** MB/s from microseconds per MiB. */
const rate = (samples: readonly number[]) => samples.map((us) => MiB / us);

async function run(): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmach-bench-disk-"));
  const image = makeImage(dir);
  const sys = await bootSystem({ machine: "sim", disk: image });
  if (!sys.ok) throw new Error(sys.error);
  const s = sys.value;
  const task = s.tasks.client;
  const fd = fs.openSync(image, "r+");
  try {
    const o = await device_open(task, s.clientMaster, D_READ | D_WRITE, "wd0");
    if (!o.ok) throw new Error(`device_open wd0: ${o.code}`);
    const dev = o.value.device;
    const results: BenchResult[] = [];
    const opts = { runs: 9, warmup: 4, iterations: 32 };
    // The stack's figures are taken in steady state: its first thousands of operations run
    // while V8 is still compiling the path through rumpdisk's worker and the kernel (1 MiB
    // reads take about 1.3 ms at first and 0.3-0.4 ms after two seconds), and a warm-up of a
    // few runs ended long before that. The direct peers are warm from their first run.
    const warm = (ms: number) => ({ ...opts, warmupMs: ms });

    // Sequential 1 MiB reads.
    let at = 0;
    const next = () => {
      const here = at;
      at = (at + MiB) % (IMAGE_MIB * MiB);
      return here;
    };
    const readOnce = async () => {
      const r = await device_read(task, dev, 0, BigInt(next() / SS), MiB);
      if (!r.ok || r.value.data.length !== MiB) throw new Error("device_read failed");
      return r.value.data;
    };
    setOolDelivery(task, "map");
    const viaStack = await measureMicros(async () => {
      if ((await mig_deallocate(task, await readOnce())) !== 0) throw new Error("vm_deallocate");
    }, warm(2500));
    setOolDelivery(task, "copy");
    at = 0;
    const copied = await measureMicros(readOnce, warm(500));
    const buf = new Uint8Array(MiB);
    at = 0;
    const direct = await measureMicros(() => {
      if (fs.readSync(fd, buf, 0, MiB, next()) !== MiB) throw new Error("short read");
    }, opts);
    const peer = { name: "fs.readSync of the image", samples: rate(direct) };
    results.push(benchResult("disk.seq-read.1m", "MB/s", rate(viaStack), "higher", peer));
    results.push(benchResult("disk.seq-read.1m.copy", "MB/s", rate(copied), "higher", peer));

    // Sequential 1 MiB writes (acknowledged: in the image or surviving the next flush).
    // A Buffer: the stub's serializer takes a view of it rather than a copy.
    const data = Buffer.alloc(MiB, 0x5a);
    at = 0;
    const writeStack = await measureMicros(async () => {
      const r = await device_write(task, dev, 0, BigInt(next() / SS), data);
      if (!r.ok) throw new Error("device_write failed");
    }, warm(2000));
    at = 0;
    const writeDirect = await measureMicros(() => {
      fs.writeSync(fd, data, 0, MiB, next());
    }, opts);
    results.push(
      benchResult("disk.seq-write.1m", "MB/s", rate(writeStack), "higher", {
        name: "fs.writeSync to the image",
        samples: rate(writeDirect),
      }),
    );

    // Random 4 KiB reads, one at a time and 32 in flight.
    let seed = 12345;
    const randomRecord = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return BigInt(((seed >>> 4) % ((IMAGE_MIB * MiB) / 4096)) * 8);
    };
    const read4k = async () => {
      const r = await device_read(task, dev, 0, randomRecord(), 4096);
      if (!r.ok) throw new Error("device_read failed");
    };
    const qd1 = await measureMicros(read4k, {
      runs: 9,
      warmup: 4,
      iterations: 256,
      warmupMs: 1500,
    });
    const direct4k = new Uint8Array(4096);
    const qd1Direct = await measureMicros(
      () => fs.readSync(fd, direct4k, 0, 4096, Number(randomRecord()) * SS),
      { runs: 9, warmup: 4, iterations: 256 },
    );
    results.push(
      benchResult("disk.rand-read.4k.qd1", "us/op", qd1, "lower", {
        name: "fs.readSync 4 KiB of the image",
        samples: qd1Direct,
      }),
    );
    const qd32 = (
      await measureMicros(() => Promise.all(Array.from({ length: 32 }, read4k)), {
        runs: 9,
        warmup: 4,
        iterations: 8,
        warmupMs: 1000,
      })
    ).map((us) => us / 32);
    results.push(
      benchResult("disk.rand-read.4k.qd32", "us/op", qd32, "lower", {
        name: "the same stack at queue depth 1",
        samples: qd1,
      }),
    );
    return results;
  } finally {
    fs.closeSync(fd);
    await s.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const group: BenchGroup = { name: "disk", run };
