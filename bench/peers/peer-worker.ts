// The worker side of the rpc reference peers: spinning shared-memory ping/pong, a postMessage
// echo, a comlink-exposed null function, and both ends of a shm-channel null round trip.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { ShmChannel, isShmChannel, type ShmChannelInvalid } from "../../src/kernel/shm-channel.js";

/** What a peer worker is asked to do (workerData). */
export type PeerJob =
  | { role: "spin-ping"; flag: SharedArrayBuffer }
  | { role: "spin-pong"; flag: SharedArrayBuffer }
  | { role: "post-echo" }
  | { role: "comlink" }
  | {
      role: "ring-ping";
      out: SharedArrayBuffer;
      back: SharedArrayBuffer;
      size: number;
      spinMicros?: number;
    }
  | { role: "ring-pong"; out: SharedArrayBuffer; back: SharedArrayBuffer; spinMicros?: number };

/**
 * The timing sides (spin-ping, ring-ping) wait for commands, so that samples of different peers
 * can be interleaved in time: `{ rounds }` asks for one sample, `{ stop: true }` ends the peer.
 */
export type PeerCommand = { rounds: number } | { stop: true };

/** Reported by the timing side: microseconds per round trip, one entry per sample. */
export interface PeerReport {
  samples?: number[];
  error?: string;
}

const STOP = -1;
/**
 * Idle spins after which the pong side naps for up to 20 ms (between samples, or when the ping
 * side was descheduled for milliseconds on an overloaded machine; the ping side never notifies
 * inside a timed sample, so the nap is bounded).
 */
const PONG_SPINS = 1 << 20;

function must(c: ShmChannel | ShmChannelInvalid): ShmChannel {
  if (!isShmChannel(c)) throw new Error(c.reason);
  return c;
}

/** A sample stops early after this long, so an overloaded machine cannot stall the run. */
const SAMPLE_BUDGET_MS = 250;

/** Microseconds per call of `roundTrip` over `rounds` calls (fewer if the budget runs out). */
function timeRounds(rounds: number, roundTrip: () => void): number {
  const t0 = performance.now();
  let done = 0;
  while (done < rounds) {
    const batch = Math.min(256, rounds - done);
    for (let i = 0; i < batch; i++) roundTrip();
    done += batch;
    if (performance.now() - t0 > SAMPLE_BUDGET_MS) break;
  }
  return ((performance.now() - t0) * 1000) / done;
}

class SpinPing {
  private seq = 0;
  constructor(private readonly flag: Int32Array) {}

  private roundTrip(): void {
    Atomics.store(this.flag, 0, ++this.seq);
    const want = ++this.seq;
    while (Atomics.load(this.flag, 0) !== want);
  }

  sample(rounds: number): number {
    Atomics.store(this.flag, 0, ++this.seq); // untimed: wake the pong side if it parked
    Atomics.notify(this.flag, 0);
    const want = ++this.seq;
    while (Atomics.load(this.flag, 0) !== want);
    return timeRounds(rounds, () => this.roundTrip());
  }

  stop(): void {
    Atomics.store(this.flag, 0, STOP);
    Atomics.notify(this.flag, 0);
  }
}

function spinPong(flag: Int32Array): void {
  let expect = 1;
  for (;;) {
    let x: number;
    let spins = 0;
    while ((x = Atomics.load(flag, 0)) !== expect) {
      if (x === STOP) return;
      if (++spins === PONG_SPINS) {
        Atomics.wait(flag, 0, x, 20); // parked between samples: sample() and stop() notify
        spins = 0;
      }
    }
    Atomics.store(flag, 0, expect + 1);
    expect += 2;
  }
}

class RingPing {
  private readonly out: ShmChannel;
  private readonly back: ShmChannel;
  constructor(job: Extract<PeerJob, { role: "ring-ping" }>) {
    this.out = must(ShmChannel.attach(job.out, { spinMicros: job.spinMicros }));
    this.back = must(ShmChannel.attach(job.back, { spinMicros: job.spinMicros }));
    this.size = job.size;
  }
  private readonly size: number;

  private roundTrip(): void {
    this.out.sendWith(this.size, header);
    const v = this.back.peek();
    if (typeof v === "number") throw new Error(`ring receive failed: ${v}`);
    this.back.consume();
  }

  sample(rounds: number): number {
    this.roundTrip(); // untimed: the pong side may have parked since the last sample
    return timeRounds(rounds, () => this.roundTrip());
  }

  stop(): void {
    this.out.close();
  }
}

/** A null request: the header alone, nothing to encode beyond it. */
function header(dst: Uint8Array, off: number): void {
  dst[off] = 1;
}

function ringPong(job: Extract<PeerJob, { role: "ring-pong" }>): void {
  const rx = must(ShmChannel.attach(job.out, { spinMicros: job.spinMicros }));
  const tx = must(ShmChannel.attach(job.back, { spinMicros: job.spinMicros }));
  for (;;) {
    const v = rx.peek();
    if (typeof v === "number") return; // closed
    tx.sendWith(v.length, (dst, off) => {
      dst[off] = 2; // the reply header
    });
    rx.consume();
  }
}

function serve(
  port: NonNullable<typeof parentPort>,
  pinger: { sample(rounds: number): number; stop(): void },
): void {
  port.on("message", (c: PeerCommand) => {
    if ("stop" in c) {
      pinger.stop();
      port.close();
      return;
    }
    port.postMessage({ samples: [pinger.sample(c.rounds)] } satisfies PeerReport);
  });
}

function main(job: PeerJob): void {
  const port = parentPort;
  if (!port) return;
  switch (job.role) {
    case "spin-ping":
      serve(port, new SpinPing(new Int32Array(job.flag)));
      return;
    case "spin-pong":
      spinPong(new Int32Array(job.flag));
      port.postMessage({} satisfies PeerReport);
      return;
    case "post-echo":
      port.on("message", (m: unknown) => port.postMessage(m));
      return;
    case "comlink":
      Comlink.expose({ nop: (): void => {} }, nodeEndpoint(port));
      return;
    case "ring-ping":
      serve(port, new RingPing(job));
      return;
    case "ring-pong":
      ringPong(job);
      port.postMessage({} satisfies PeerReport);
      return;
  }
}

try {
  main(workerData as PeerJob);
} catch (e) {
  parentPort?.postMessage({
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  } satisfies PeerReport);
}
