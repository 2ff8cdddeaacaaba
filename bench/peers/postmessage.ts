// Reference peer: a postMessage ping-pong between the main thread and an echoing worker, the
// usual way to talk to a worker in Node.
import type { Worker } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { collect, startPeer, type PeerSession, type SampleOptions } from "./peer-run.js";

function rounds(w: Worker, n: number): Promise<number> {
  return new Promise((resolve) => {
    let i = 0;
    const t0 = performance.now();
    const onMessage = (): void => {
      if (++i === n) {
        w.off("message", onMessage);
        resolve(((performance.now() - t0) * 1000) / n);
      } else w.postMessage(i);
    };
    w.on("message", onMessage);
    w.postMessage(0);
  });
}

/** An echo worker; each sample() is microseconds per round trip over `n` round trips. */
export async function openPostMessage(n = 2000): Promise<PeerSession> {
  const w = startPeer({ role: "post-echo" });
  await rounds(w, 1); // the worker is up
  return { sample: () => rounds(w, n), close: async () => void (await w.terminate()) };
}

export function postMessageRoundTripMicros(options?: SampleOptions, n?: number): Promise<number[]> {
  return collect(() => openPostMessage(n), options);
}
