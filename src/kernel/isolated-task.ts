// Isolated tasks: a task whose code runs in its own worker thread, talking to the kernel only
// through shared-memory channels and the shared pool. A throw, a crash or an endless loop there
// stops only that worker; the kernel then destroys the task's rights (sending notifications).
import { MessageChannel, type Worker } from "node:worker_threads";
import { ShmChannel, isShmChannel } from "./shm-channel.js";
import type { ShmPool } from "./shm-pool.js";
import type { Task } from "./task.js";
import type { SyscallClient, SyscallServer } from "./syscall-server.js";
import { resolveWorkerModule, spawnWorker } from "./worker-spawn.js";
import type { TaskWorkerData } from "./task-worker.js";
import { SharedBufferOutbox } from "./shared-buffers.js";
import { alignedSharedBuffer } from "./aligned-buffer.js";
import { BELL_BYTES, ringBell } from "./fast-lane.js";
import { PoolVm } from "./pool-vm.js";

export interface IsolatedTaskOptions {
  /** Passed to the task module's main as its second argument (structured-cloned). */
  args?: unknown;
  /** Channel ring size in bytes (default 1 MiB each way; bounds a message's inline size). */
  channelBytes?: number;
  /** Microseconds the worker spins for a reply before parking. */
  spinMicros?: number;
}

export type IsolatedExit = { reason: "exited" | "threw" | "crashed" | "killed"; error?: string };

/** The kernel's handle on a running isolated task. */
export class IsolatedTask {
  readonly exited: Promise<IsolatedExit>;
  private resolveExit!: (e: IsolatedExit) => void;
  private client!: SyscallClient;
  private stopping: Promise<void> | null = null;
  private worker: Worker | null = null;
  private outbox: SharedBufferOutbox | null = null;

  constructor(
    readonly task: Task,
    private readonly server: SyscallServer,
    private readonly pool: ShmPool,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  /** Starts the worker running `module`'s main. Returns an error string if it can't start. */
  start(module: string | URL, options: IsolatedTaskOptions = {}): string | null {
    const cap = options.channelBytes ?? 1 << 20;
    const req = ShmChannel.create({ capacity: cap });
    const rep = ShmChannel.create({ capacity: cap });
    if (!isShmChannel(req) || !isShmChannel(rep)) return "cannot create channels";
    // Named as imported (`./x.js`); under tsx only the `.ts` source exists, and vice versa.
    const found = resolveWorkerModule(module);
    if ("missing" in found) return `task module not found (tried ${found.tried.join(", ")})`;
    const buffers = new MessageChannel();
    const bell = new Int32Array(alignedSharedBuffer(BELL_BYTES), 0, BELL_BYTES / 4);
    const data: TaskWorkerData = {
      name: this.task.name,
      module: found.path,
      requests: req.buffer,
      replies: rep.buffer,
      doorbell: this.server.doorbell.buffer as SharedArrayBuffer,
      bell: bell.buffer as SharedArrayBuffer,
      poolOwner: this.task.vm instanceof PoolVm ? this.task.vm.owner : 0,
      pool: this.pool.buffer,
      args: options.args ?? null,
      spinMicros: options.spinMicros,
      sharedBuffers: buffers.port2,
    };
    const spawned = spawnWorker(new URL("./task-worker.js", import.meta.url), {
      // What a debugger lists the thread as ("[worker 3] tsmach rumpdisk" in chrome://inspect).
      name: `tsmach ${this.task.name}`,
      workerData: data,
      transferList: [buffers.port2],
      stdout: false,
      stderr: false,
    });
    if (!spawned.ok) {
      buffers.port1.close();
      return spawned.error;
    }
    const outbox = new SharedBufferOutbox(buffers.port1);
    this.outbox = outbox;
    const worker = spawned.worker;
    this.worker = worker;
    this.client = {
      task: this.task,
      requests: req,
      replies: rep,
      backlog: [],
      onExit: (ok) => void this.stop(ok ? { reason: "exited" } : { reason: "threw" }),
      shareBuffer: (b) => outbox.share(b),
      bell,
    };
    this.server.add(this.client);
    worker.on(
      "error",
      (e) =>
        void this.stop({ reason: "crashed", error: e instanceof Error ? e.message : String(e) }),
    );
    worker.on("exit", () => void this.stop({ reason: "crashed" }));
    return null;
  }

  /** Kills the task (even one stuck in an endless loop) and destroys its rights. */
  kill(): Promise<void> {
    return this.stop({ reason: "killed" });
  }

  private stop(exit: IsolatedExit): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.server.remove(this.client);
      this.client.requests.close();
      this.client.replies.close();
      if (this.client.bell) ringBell(this.client.bell);
      this.outbox?.close();
      const w = this.worker;
      const tag = w ? w.threadId + 1 : 0;
      if (w) await w.terminate().catch(() => undefined);
      // A worker killed while holding the pool's lock must not wedge the kernel.
      if (tag) this.pool.recoverLock(tag);
      this.task.terminate(exit.reason);
      this.resolveExit(exit);
    })();
    return this.stopping;
  }
}
