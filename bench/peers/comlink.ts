// Reference peer: a comlink call of a null function exposed by a worker, awaited from the main
// thread (comlink's Node adapter over the worker's message port).
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { measureMicros } from "../harness.js";
import { collect, startPeer, type PeerSession, type SampleOptions } from "./peer-run.js";

interface NullApi {
  nop(): void;
}

/** A worker exposing nop(); each sample() is microseconds per awaited call over `calls` calls. */
export async function openComlink(calls = 1000): Promise<PeerSession> {
  const w = startPeer({ role: "comlink" });
  const api = Comlink.wrap<NullApi>(nodeEndpoint(w));
  await api.nop(); // the worker is up
  return {
    sample: async () =>
      (await measureMicros(() => api.nop(), { runs: 1, warmup: 0, iterations: calls }))[0]!,
    close: async () => {
      api[Comlink.releaseProxy]();
      await w.terminate();
    },
  };
}

export function comlinkCallMicros(options?: SampleOptions, calls?: number): Promise<number[]> {
  return collect(() => openComlink(calls), options);
}
