// A boot server as a task: its module's main in a worker thread (kernel.spawnTask, behind a start
// gate), or the same main in this thread for tests and debugging; the kernel sees one task either way.
import { KERN_SUCCESS } from "../kernel/kern-return.js";
import type { Kernel } from "../kernel/kernel.js";
import { MACH_MSG_TYPE_MAKE_SEND, MACH_MSG_TYPE_MOVE_RECEIVE } from "../kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../kernel/port-right.js";
import type { Task } from "../kernel/task.js";
import type { TaskMain } from "../kernel/task-worker.js";
import { gatedModulePath, openGate, type GatedTaskArgs } from "./gated-task.js";

export type ServerMode = "isolated" | "in-thread";

/** A running server task as the boot chain holds it. */
export interface ServerTask {
  readonly name: string;
  readonly mode: ServerMode;
  /** The kernel's record of the task (its space holds the rights it was given). */
  readonly task: Task;
  /** Resolves, once, with why the task ended ("exited", "killed", "threw: ...", ...). */
  readonly ended: Promise<string>;
  /** Kills the task as a crash would: its ports die, clients see dead names. */
  kill(): Promise<void>;
}

export interface ServerTaskSpec<A> {
  readonly name: string;
  /** The task module (exports `default main(task, args)`), as a worker loads it. */
  readonly module: URL;
  /** The same main, for running in this thread (required unless isolated). */
  readonly main?: TaskMain;
  /** Gives the new task its rights; returns its arguments (port names in its space). */
  readonly prepare: (task: Task) => A;
  readonly isolate: boolean;
}

/** A server task made and loaded, not yet running its main. */
export interface LoadedServerTask<A> {
  readonly server: ServerTask;
  /** Its arguments, as prepare made them. */
  readonly args: A;
  /** Runs main: opens the worker's gate, or calls main in this thread. */
  start(): Promise<void>;
}

export type ServerTaskResult<A> =
  | { readonly ok: true; readonly value: LoadedServerTask<A> }
  | { readonly ok: false; readonly error: string };

/**
 * Makes the server's task and gives it its rights. An isolated server's worker starts loading its
 * module at once and waits at its gate (a receive right `opener` makes) until start().
 */
export async function loadServerTask<A>(
  kernel: Kernel,
  opener: Task,
  spec: ServerTaskSpec<A>,
): Promise<ServerTaskResult<A>> {
  let args: A | undefined;
  let failed: string | undefined;
  const prepare = (t: Task): A | undefined => {
    try {
      return (args = spec.prepare(t));
    } catch (e) {
      failed = e instanceof Error ? e.message : String(e);
      return undefined;
    }
  };
  if (spec.isolate) {
    const path = gatedModulePath(spec.module);
    if (typeof path !== "string") return { ok: false, error: path.error };
    const gate = await opener.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (gate.kr !== KERN_SUCCESS) return { ok: false, error: "cannot make its start gate" };
    await opener.mach_port_insert_right(gate.name, gate.name, MACH_MSG_TYPE_MAKE_SEND);
    const spawned = kernel.spawnTask(spec.name, new URL("./gated-task.js", import.meta.url), {
      prepare: (t): GatedTaskArgs => {
        const g = kernel.giveRight(opener, gate.name, MACH_MSG_TYPE_MOVE_RECEIVE, t);
        if (g.kr !== KERN_SUCCESS) failed = "cannot hand it its start gate";
        return { module: path, gate: g.name, args: prepare(t) };
      },
    });
    if (!spawned.ok) {
      await opener.mach_port_deallocate(gate.name);
      return { ok: false, error: spawned.error };
    }
    const handle = spawned.handle;
    if (failed !== undefined || args === undefined) {
      await opener.mach_port_deallocate(gate.name);
      await handle.kill();
      return { ok: false, error: failed ?? "no arguments" };
    }
    const ended = handle.exited.then((e) => (e.error ? `${e.reason}: ${e.error}` : e.reason));
    let opened = false;
    return {
      ok: true,
      value: {
        server: {
          name: spec.name,
          mode: "isolated",
          task: handle.task,
          ended,
          kill: () => handle.kill(),
        },
        args,
        start: async () => {
          if (opened) return;
          opened = true;
          const kr = await openGate(opener, gate.name);
          await opener.mach_port_deallocate(gate.name);
          // A gate that cannot be opened would leave the worker waiting: it ends instead.
          if (kr !== KERN_SUCCESS) await handle.kill();
        },
      },
    };
  }
  const main = spec.main;
  if (!main) return { ok: false, error: "no main to run in this thread" };
  const task = kernel.createTask(spec.name);
  const a = prepare(task);
  if (failed !== undefined || a === undefined) {
    task.terminate("failed to start");
    return { ok: false, error: failed ?? "no arguments" };
  }
  let resolveEnded!: (why: string) => void;
  const ended = new Promise<string>((r) => (resolveEnded = r));
  task.onDeath(resolveEnded);
  let running = false;
  return {
    ok: true,
    value: {
      server: {
        name: spec.name,
        mode: "in-thread",
        task,
        ended,
        kill: async () => task.terminate("killed"),
      },
      args: a,
      start: async () => {
        if (running || !task.alive) return;
        running = true;
        // When main settles the task ends, as an isolated task's does.
        void Promise.resolve()
          .then(() => main(task, a))
          .then(
            () => task.terminate("exited"),
            (e: unknown) => task.terminate(`threw: ${e instanceof Error ? e.message : String(e)}`),
          );
      },
    },
  };
}

/** How long a server may take from start to serving before the boot gives up on it. */
export const SERVE_TIMEOUT_MS = 60_000;

/**
 * Waits until the server answers `probe` (a request that queues until it serves), ends first, or
 * takes longer than `timeoutMs`; an error value says which.
 */
export async function whenServing(
  server: ServerTask,
  probe: () => Promise<boolean>,
  timeoutMs = SERVE_TIMEOUT_MS,
): Promise<{ ok: true } | { ok: false; error: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    probe().then(
      (ok) => (ok ? "serving" : "refused"),
      (e: unknown) => `probe failed: ${e instanceof Error ? e.message : String(e)}`,
    ),
    server.ended.then((why) => `ended (${why}) before serving`),
    new Promise<string>((res) => {
      timer = setTimeout(() => res(`not serving after ${timeoutMs} ms`), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return r === "serving" ? { ok: true } : { ok: false, error: `${server.name}: ${r}` };
}
