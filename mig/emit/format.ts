// Formats emitted TypeScript with prettier (its standalone core with the babel-ts and estree plugins
// only), in a worker thread that loads and warms up while the main thread checks and builds.
import { Worker } from "node:worker_threads";
import type { Options } from "prettier";

/** The repository's style, fixed here for deterministic output (plugins are added on load). */
export const PRETTIER_OPTIONS: Options = {
  // babel-ts prints generated modules exactly as the typescript parser does, about 30% faster.
  parser: "babel-ts",
  printWidth: 100,
  singleQuote: false,
  trailingComma: "all",
};

type Prettier = typeof import("prettier/standalone");

/** The standalone core and the two plugins babel-ts needs: a fifth of the full entry to load. */
const PRETTIER_MODULES = ["prettier/standalone", "prettier/plugins/babel", "prettier/plugins/estree"] as const;

interface Formatter {
  format(text: string): Promise<string>;
  check(text: string): Promise<boolean>;
}

let inThread: Promise<Formatter> | undefined;

function loadInThread(): Promise<Formatter> {
  inThread ??= Promise.all(PRETTIER_MODULES.map((m) => import(m) as Promise<unknown>)).then(([core, ...plugins]) => {
    const prettier = core as Prettier;
    const opts: Options = { ...PRETTIER_OPTIONS, plugins: plugins as Options["plugins"] };
    return { format: (text) => prettier.format(text, opts), check: (text) => prettier.check(text, opts) };
  });
  return inThread;
}

/**
 * A module shaped like what the emitter writes, formatted while the worker would otherwise wait
 * for the first real module: it compiles prettier's printing paths before they are needed.
 */
const WARM_UP = `// w
import { migCall, migField, migMessage, migSend, type kern_return_t, type MigCallOptions, type MigReply, type MigRequestInfo, type MigResult, type MigRoutineSpec, type MigSubsystemServer, type MigSubsystemSpec, type SendRight, type TaskApi } from "../r.js";

/** Subsystem w: request ids 1..2, replies 101..102. */
export const w_subsystem: MigSubsystemSpec = {"name":"w","base":1,"end":3};

/** Layouts. */
export const w_routines = { "w_get": { name: "w_get", kind: "routine", id: 1, requestDisposition: 19, request: migMessage(44, 44, "no", [migField("delta", "i64", "scalar", 11, 11, 64, 1, true, false, false)]), reply: migMessage(120, 120, "no", [migField("RetCode", "i32", "scalar", 2, 2, 32, 1, true, false, false), migField("name", "string", "scalar", 12, 12, 8, 64, true, false, false)]) },
"w_put": { name: "w_put", kind: "simpleroutine", id: 2, requestDisposition: 19, request: migMessage(32, 32, "no", []), reply: null, countInOut: {"data":"dataCnt"} } } satisfies Record<string, MigRoutineSpec>;

/**
 * Gets.
 *
 * Routine w_get (id 1, reply 101): the out arguments, or the error code.
 */
export async function w_get(caller: TaskApi, port: SendRight, delta: bigint, callOptions?: MigCallOptions): Promise<MigResult<{ readonly "value": bigint; readonly "name": string }>> {
    return (await migCall(caller, w_routines.w_get, port, { delta }, { ...callOptions, timeout: delta })) as MigResult<{ readonly "value": bigint; readonly "name": string }>;
}

/** Simpleroutine w_put (id 2): one-way; resolves to mach_msg's return code. */
export async function w_put(caller: TaskApi, port: SendRight, data: Uint8Array, callOptions?: MigCallOptions): Promise<kern_return_t> {
    return migSend(caller, w_routines.w_put, port, { data, "@reply": port }, callOptions);
}

/** Server. */
export interface WServer {
    /** Gets. */
    w_get(port: SendRight, delta: bigint, reply: MigReply<{ readonly "value": bigint; readonly "name": string }>, info: MigRequestInfo): Promise<{ readonly "value": bigint; readonly "name": string } | kern_return_t>;
    w_put(port: SendRight, data: Uint8Array, info: MigRequestInfo): kern_return_t;
}

/** Dispatcher. */
export function w_server(impl: WServer): MigSubsystemServer {
    return { subsystem: w_subsystem, routines: [{ spec: w_routines.w_get, invoke: (a, info) => impl.w_get(a["@request"] as SendRight, a["delta"] as bigint, a["@reply"] as MigReply<{ readonly "value": bigint; readonly "name": string }>, info) },
undefined,
{ spec: w_routines.w_put, invoke: (a, info) => impl.w_put(a["@request"] as SendRight, a["data"] as Uint8Array, info) }] };
}
`;

/** How many warm-up passes at most (each a few tens of milliseconds once loaded). */
const WARM_UP_PASSES = 12;

/** The worker's program (CommonJS, evaluated): load prettier, warm up until work comes, format. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { urls, options, warmUp, passes } = workerData;
let busy = false;
const ready = Promise.all(urls.map((u) => import(u))).then(([core, ...plugins]) => {
  const opts = { ...options, plugins };
  return { format: (t) => core.format(t, opts), check: (t) => core.check(t, opts) };
});
parentPort.on("message", async ({ id, op, text }) => {
  busy = true;
  try {
    const f = await ready;
    parentPort.postMessage({ id, ok: true, value: op === "check" ? await f.check(text) : await f.format(text) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: String(e && e.stack || e) });
  }
});
(async () => {
  const f = await ready;
  for (let i = 0; i < passes && !busy; i++) {
    await f.format(warmUp);
    await new Promise((r) => setImmediate(r));
  }
})().catch(() => {});
`;

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: string | boolean;
  readonly error?: string;
}

/** prettier in a worker thread; jobs are answered by id. The worker keeps no process alive. */
class WorkerFormatter implements Formatter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: string | boolean) => void; reject: (e: Error) => void }>();
  private next = 0;
  /** Set once the worker itself failed (not a job): later jobs run in the main thread. */
  failed: Error | undefined;

  constructor() {
    const urls = PRETTIER_MODULES.map((m) => import.meta.resolve(m));
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { urls, options: PRETTIER_OPTIONS, warmUp: WARM_UP, passes: WARM_UP_PASSES },
    });
    this.worker.unref();
    this.worker.on("message", (r: Reply) => {
      const job = this.pending.get(r.id);
      if (!job) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) this.worker.unref();
      if (r.ok) job.resolve(r.value!);
      else job.reject(new Error(r.error));
    });
    const fail = (e: Error): void => {
      this.failed = e;
      for (const job of this.pending.values()) job.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`prettier worker exited with code ${code}`)));
  }

  private run(op: "format" | "check", text: string): Promise<string | boolean> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, op, text });
    });
  }

  async format(text: string): Promise<string> {
    return (await this.run("format", text)) as string;
  }

  async check(text: string): Promise<boolean> {
    return (await this.run("check", text)) as boolean;
  }
}

let worker: WorkerFormatter | undefined;

/**
 * Starts loading prettier in a worker thread now, so that it is ready (and warm) when the first
 * module is formatted. Cheap and idempotent; only the paths that emit call it.
 */
export function preloadFormatter(): void {
  if (worker) return;
  try {
    worker = new WorkerFormatter();
  } catch {
    // No worker threads here: format in this thread.
    void loadInThread();
  }
}

/** Formats with the worker, or in this thread when the worker cannot run. */
async function formatter(): Promise<Formatter> {
  preloadFormatter();
  return worker ?? loadInThread();
}

async function withFallback<T>(job: (f: Formatter) => Promise<T>): Promise<T> {
  const f = await formatter();
  try {
    return await job(f);
  } catch (e) {
    if (f !== worker || !worker.failed) throw e;
    // A worker that failed to start or died: same prettier, same options, in this thread.
    return job(await loadInThread());
  }
}

/** Formats TypeScript source text. */
export function formatTypeScript(text: string): Promise<string> {
  return withFallback((f) => f.format(text));
}

/** Whether text is already formatted as formatTypeScript would format it. */
export function isFormatted(text: string): Promise<boolean> {
  return withFallback((f) => f.check(text));
}
