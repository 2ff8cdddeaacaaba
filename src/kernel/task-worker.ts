// The entry of an isolated task's worker thread: attaches the task's channels and the shared
// pool, loads the task's module and runs its `main(task, args)`; when main settles it tells
// the kernel (EXIT), which then destroys the task.
import { workerData, type MessagePort } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { ShmChannel, isShmChannel } from "./shm-channel.js";
import { ShmPool, isShmPool } from "./shm-pool.js";
import { RemoteTask } from "./remote-task.js";
import type { TaskApi } from "./task-api.js";
import { SharedBufferInbox } from "./shared-buffers.js";

/** What the kernel passes to a task worker. */
export interface TaskWorkerData {
  name: string;
  module: string;
  requests: SharedArrayBuffer;
  replies: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  /** This task's own doorbell (fast-lane.ts): the kernel and lane peers ring it. */
  bell?: SharedArrayBuffer;
  /** The task's owner tag in the shared pool (its regions carry it). */
  poolOwner?: number;
  pool: SharedArrayBuffer | null;
  args: unknown;
  spinMicros?: number;
  /** Where the kernel sends the shared buffers vm_map hands out (transferred to the worker). */
  sharedBuffers?: MessagePort;
}

/** The shape of a task module: `export default async function main(task, args)`. */
export type TaskMain = (task: TaskApi, args: unknown) => Promise<void> | void;

async function run(d: TaskWorkerData): Promise<void> {
  const req = ShmChannel.attach(d.requests);
  const rep = ShmChannel.attach(d.replies);
  if (!isShmChannel(req) || !isShmChannel(rep)) throw new Error("task worker: bad channel buffers");
  let pool: ShmPool | null = null;
  if (d.pool) {
    const p = ShmPool.attach(d.pool);
    if (isShmPool(p)) pool = p;
  }
  const task = new RemoteTask(d.name, req, rep, new Int32Array(d.doorbell), pool, {
    spinMicros: d.spinMicros,
    bell: d.bell ? new Int32Array(d.bell) : undefined,
    poolOwner: d.poolOwner,
    buffers: d.sharedBuffers ? new SharedBufferInbox(d.sharedBuffers) : undefined,
  });
  const url = d.module.startsWith("file:") ? d.module : pathToFileURL(d.module).href;
  const mod = (await import(url)) as { default?: TaskMain; main?: TaskMain };
  const main = mod.default ?? mod.main;
  if (typeof main !== "function") throw new Error(`task module ${d.module} has no main`);
  let ok = true;
  try {
    await main(task, d.args);
  } catch (e) {
    ok = false;
    throw e;
  } finally {
    await task.exit(ok);
  }
}

void run(workerData as TaskWorkerData).catch((e: unknown) => {
  // Rethrown outside the promise chain: the worker dies with an 'error' event the kernel sees.
  setImmediate(() => {
    throw e;
  });
});
