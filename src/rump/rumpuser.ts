// The hypercall interface in the spirit of NetBSD's rumpuser(3): memory, threads as async tasks,
// sleeping, mutexes and condition variables for async code, clocks, parameters and the console.

/** A lock for async code: enter() resolves once the caller holds it. */
export class RumpMutex {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  get owned(): boolean {
    return this.held;
  }

  tryEnter(): boolean {
    if (this.held) return false;
    this.held = true;
    return true;
  }

  enter(): Promise<void> {
    if (this.tryEnter()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Releases the lock, handing it straight to the oldest waiter if there is one. */
  exit(): void {
    if (!this.held) throw new Error("rumpuser mutex released while not held");
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }

  /** Runs `fn` holding the lock. */
  async with<T>(fn: () => Promise<T> | T): Promise<T> {
    await this.enter();
    try {
      return await fn();
    } finally {
      this.exit();
    }
  }
}

/** A condition variable used with a RumpMutex, as rumpuser_cv_* is with rumpuser_mutex. */
export class RumpCondvar {
  private waiters: { wake: (timedOut: boolean) => void }[] = [];

  /** Releases `mtx`, waits for a signal, takes `mtx` again. */
  async wait(mtx: RumpMutex): Promise<void> {
    await this.timedWait(mtx, Infinity);
  }

  /** As wait(), giving up after `ms`; resolves true when it timed out. */
  async timedWait(mtx: RumpMutex, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const woken = new Promise<boolean>((resolve) => {
      const w = { wake: resolve };
      this.waiters.push(w);
      if (Number.isFinite(ms)) {
        timer = setTimeout(
          () => {
            this.waiters = this.waiters.filter((x) => x !== w);
            resolve(true);
          },
          Math.max(0, ms),
        );
      }
    });
    mtx.exit();
    const timedOut = await woken;
    if (timer) clearTimeout(timer);
    await mtx.enter();
    return timedOut;
  }

  signal(): void {
    this.waiters.shift()?.wake(false);
  }

  broadcast(): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.wake(false);
  }

  get hasWaiters(): boolean {
    return this.waiters.length > 0;
  }
}

export type RumpClock = "wall" | "monotonic";

export interface RumpTimespec {
  sec: number;
  nsec: number;
}

/** A thread of the rump kernel: an async task whose completion can be joined. */
export interface RumpThread {
  readonly name: string;
  join(): Promise<void>;
}

/** What a rump kernel needs from its host. Drivers use only this (and the PCI glue). */
export interface RumpUser {
  /** Zeroed memory, aligned as asked (an ArrayBuffer is always 8-aligned; larger is ignored). */
  malloc(length: number, align?: number): Uint8Array;
  free(mem: Uint8Array): void;
  /** Starts an async task; a task that throws is reported on the console, never crashes. */
  threadCreate(name: string, body: () => Promise<void>): RumpThread;
  clockGettime(clock: RumpClock): RumpTimespec;
  /** Sleeps for `ms` milliseconds (relative) without blocking other tasks. */
  clockSleep(ms: number): Promise<void>;
  /** Host parameters (RUMP_NCPU, RUMP_VERBOSE, driver tunables); undefined when unset. */
  getparam(name: string): string | undefined;
  /** Console output, one line at a time. */
  dprintf(line: string): void;
  mutexInit(): RumpMutex;
  cvInit(): RumpCondvar;
}

export interface NodeRumpUserOptions {
  params?: Readonly<Record<string, string>>;
  /** Console sink; default: nothing (a server logs through its own channel). */
  console?: (line: string) => void;
}

/** The hypercalls over Node: timers, hrtime, typed arrays. */
export function createRumpUser(options: NodeRumpUserOptions = {}): RumpUser {
  const params = { RUMP_NCPU: "1", ...(options.params ?? {}) };
  const out = options.console ?? (() => undefined);
  return {
    malloc(length, _align) {
      if (!Number.isSafeInteger(length) || length < 0)
        throw new RangeError(`rumpuser_malloc: bad length ${length}`);
      return new Uint8Array(length);
    },
    free() {
      /* garbage collected */
    },
    threadCreate(name, body) {
      const done = (async () => {
        try {
          await body();
        } catch (e) {
          out(`rump thread ${name} died: ${e instanceof Error ? e.message : String(e)}`);
        }
      })();
      return { name, join: () => done };
    },
    clockGettime(clock) {
      if (clock === "wall") {
        const ms = Date.now();
        return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
      }
      const ns = process.hrtime.bigint();
      return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
    },
    clockSleep(ms) {
      return new Promise((r) => setTimeout(r, Math.max(0, ms)));
    },
    getparam(name) {
      return Object.prototype.hasOwnProperty.call(params, name)
        ? (params as Record<string, string>)[name]
        : undefined;
    },
    dprintf(line) {
      out(line);
    },
    mutexInit: () => new RumpMutex(),
    cvInit: () => new RumpCondvar(),
  };
}

/** Milliseconds on the monotonic clock. */
export function monotonicMs(ru: RumpUser): number {
  const t = ru.clockGettime("monotonic");
  return t.sec * 1000 + t.nsec / 1e6;
}
