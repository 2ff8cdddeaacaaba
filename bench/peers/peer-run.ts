// Starting and stopping the rpc peer workers (bench/peers/peer-worker.ts), and the session
// shape every peer shares so that samples of different peers can be interleaved in time.
import type { Worker } from "node:worker_threads";
import { spawnWorker } from "../../src/kernel/worker-spawn.js";
import type { PeerCommand, PeerJob, PeerReport } from "./peer-worker.js";

/** A started peer: each sample() is one timed figure (us per operation, or MB/s). */
export interface PeerSession {
  sample(): Promise<number>;
  close(): Promise<void>;
}

export interface SampleOptions {
  /** Timed samples, after `warmup` untimed ones. */
  runs?: number;
  warmup?: number;
}

export function startPeer(job: PeerJob): Worker {
  const s = spawnWorker(new URL("./peer-worker.js", import.meta.url), { workerData: job });
  if (!s.ok) throw new Error(s.error);
  return s.worker;
}

/** The next report a peer posts (rejects on a worker error or an exit without one). */
export function peerReport(w: Worker): Promise<PeerReport> {
  return new Promise<PeerReport>((resolve, reject) => {
    const onExit = (code: number): void =>
      reject(new Error(`peer worker exited (${code}) without a report`));
    const onError = (e: Error): void => reject(e);
    w.once("message", (m: PeerReport) => {
      w.off("exit", onExit);
      w.off("error", onError);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    w.once("error", onError);
    w.once("exit", onExit);
  });
}

/** Asks a command-driven timing worker for one sample of `rounds` round trips. */
export async function commandSample(w: Worker, rounds: number): Promise<number> {
  const r = peerReport(w);
  w.postMessage({ rounds } satisfies PeerCommand);
  const s = (await r).samples;
  if (!s || s.length !== 1) throw new Error("peer reported no sample");
  return s[0]!;
}

export function stopCommand(w: Worker): void {
  w.postMessage({ stop: true } satisfies PeerCommand);
}

/** Runs one session alone: `warmup` untimed then `runs` timed samples. */
export async function collect(
  open: () => Promise<PeerSession>,
  { runs = 7, warmup = 2 }: SampleOptions = {},
): Promise<number[]> {
  const s = await open();
  try {
    const out: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const x = await s.sample();
      if (i >= warmup) out.push(x);
    }
    return out;
  } finally {
    await s.close();
  }
}
