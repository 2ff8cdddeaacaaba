// Worker for the time page tests: the kernel's clock writer running on another thread, publishing
// t_k = k * STEP nanoseconds, a microsecond apart, until told to stop.
import { workerData } from "node:worker_threads";
import { TimePageWriter } from "../../../src/kernel/devices/time-page.js";

const { page, control, step } = workerData as {
  page: SharedArrayBuffer;
  control: SharedArrayBuffer;
  step: bigint;
};
const ctl = new Int32Array(control); // [0] stop flag, [1] writes done
const writer = new TimePageWriter(page);
let k = 1n;
Atomics.store(ctl, 2, 1); // started
while (Atomics.load(ctl, 0) === 0) {
  const t = k * step;
  writer.setTime({ seconds: t / 1_000_000_000n, nanoseconds: t % 1_000_000_000n });
  writer.setUptime({ seconds: t / 1_000_000_000n, nanoseconds: t % 1_000_000_000n });
  Atomics.add(ctl, 1, 1);
  k++;
  // A breath of about a microsecond between updates (the kernel's clock ticks every 10 ms): still
  // hundreds of thousands of updates a second racing the readers, but a reader can finish a read.
  const until = performance.now() + 0.001;
  while (performance.now() < until);
}
