// The kernel: owner of every port and task. Creates in-thread tasks (async code on this event
// loop) and isolated tasks (worker threads), hands rights between tasks at bootstrap, and
// reports what exists (for rights accounting and `portinfo`).
import type { Port } from "./port.js";
import { Task } from "./task.js";
import { KERN_INVALID_TASK, type kern_return_t } from "./kern-return.js";
import { portExtractRight } from "./port-ops.js";
import type { SpaceSnapshotEntry } from "./ipc-space.js";
import { ShmPool, isShmPool } from "./shm-pool.js";
import { SyscallServer } from "./syscall-server.js";
import { IsolatedTask, type IsolatedTaskOptions } from "./isolated-task.js";
import { PoolVm } from "./pool-vm.js";
import { VmMap } from "./vm-map.js";
import { MappingTable } from "./vm-mappings.js";

export interface KernelOptions {
  /** Size of the shared out-of-line memory pool for isolated tasks (default 64 MiB). */
  poolBytes?: number;
  /** Microseconds the kernel keeps polling isolated tasks' channels after work (default 30). */
  spinMicros?: number;
}

export interface KernelSnapshot {
  /** Live ports (active, whether received by a task or in transit). */
  ports: number;
  /** Messages queued on live ports. */
  queued: number;
  /** Live tasks. */
  tasks: number;
}

export class Kernel {
  /** Every live port. Invariant: a port leaves this set exactly when it dies. */
  readonly ports = new Set<Port>();
  readonly tasks = new Set<Task>();
  /** Every task's memory-object mappings (vm_map); sources such as the device master register here. */
  readonly mappings = new MappingTable();
  private pool: ShmPool | null = null;
  private server: SyscallServer | null = null;
  private nextOwner = 2;
  /** Tasks made so far: the last task number given. */
  private taskCount = 0;

  constructor(private readonly options: KernelOptions = {}) {}

  /** The shared pool isolated tasks' out-of-line memory lives in (created on first use). */
  sharedPool(): ShmPool {
    if (!this.pool) {
      const p = ShmPool.create({ size: this.options.poolBytes ?? 64 * 1024 * 1024 });
      if (!isShmPool(p)) throw new RangeError(`shared pool: ${p.reason}`);
      this.pool = p;
    }
    return this.pool;
  }

  /**
   * Spawns an isolated task running `module` (a file exporting `default async function
   * main(task, args)`) in its own worker. `prepare` runs first with the kernel's record of the
   * task, to give it rights; what it returns becomes `args`.
   */
  spawnTask(
    name: string,
    module: string | URL,
    options: IsolatedTaskOptions & { prepare?: (task: Task) => unknown } = {},
  ): { ok: true; handle: IsolatedTask } | { ok: false; error: string } {
    const pool = this.sharedPool();
    if (!this.server)
      this.server = new SyscallServer(this.ports, {
        spinMicros: this.options.spinMicros,
        mappings: this.mappings,
      });
    const task = new Task(name, this.ports, new PoolVm(pool, this.nextOwner++), this.mappings);
    task.mode = "isolated";
    task.space.id = ++this.taskCount;
    this.tasks.add(task);
    task.onDeath(() => this.tasks.delete(task));
    const args = options.prepare ? options.prepare(task) : options.args;
    const handle = new IsolatedTask(task, this.server, pool);
    const err = handle.start(module, { ...options, args });
    if (err) {
      task.terminate("failed to start");
      return { ok: false, error: err };
    }
    return { ok: true, handle };
  }

  /** A new in-thread task with an empty space. */
  createTask(name: string): Task {
    const t = new Task(name, this.ports, new VmMap(() => this.pool), this.mappings);
    t.space.id = ++this.taskCount;
    this.tasks.add(t);
    t.onDeath(() => this.tasks.delete(t));
    return t;
  }

  /**
   * Runs `body` as an in-thread task: when it returns or throws, the task dies (its rights are
   * destroyed and their notifications sent); the kernel and other tasks go on.
   */
  runTask(
    name: string,
    body: (task: Task) => Promise<void>,
  ): { task: Task; done: Promise<{ ok: boolean; error?: unknown }> } {
    const task = this.createTask(name);
    const done = (async () => {
      try {
        await body(task);
        return { ok: true };
      } catch (error) {
        return { ok: false, error };
      } finally {
        task.terminate("exited");
      }
    })();
    return { task, done };
  }

  /**
   * Gives `to` a right that `from` holds under `name` (bootstrap: how a parent hands ports to a
   * child). Returns the name in `to`'s space.
   */
  giveRight(
    from: Task,
    name: number,
    disposition: number,
    to: Task,
  ): { kr: kern_return_t; name: number } {
    if (!from.alive || !to.alive) return { kr: KERN_INVALID_TASK, name: 0 };
    const r = portExtractRight(from.space, name, disposition, to.space);
    return { kr: r.kr, name: r.name };
  }

  snapshot(): KernelSnapshot {
    let queued = 0;
    for (const p of this.ports) queued += p.queue.length;
    return { ports: this.ports.size, queued, tasks: this.tasks.size };
  }

  /** Every task's rights, for `portinfo`-style listings. */
  spaces(): { task: string; rights: SpaceSnapshotEntry[] }[] {
    return [...this.tasks].map((t) => ({ task: t.name, rights: t.space.snapshot() }));
  }
}
