// The reference peers of the `rpc` benchmarks, measured in this process: bare shared-memory
// ping-pong, postMessage, comlink, memcpy, and tsmach's shm-channel null round trip beside them.
import { benchResult, type BenchGroup, type BenchResult } from "./harness.js";
import type { PeerSession, SampleOptions } from "./peers/peer-run.js";
import { openBareShm } from "./peers/shm-pingpong.js";
import { openPostMessage } from "./peers/postmessage.js";
import { openComlink } from "./peers/comlink.js";
import { openMemcpy } from "./peers/memcpy.js";
import { openRing } from "./peers/shm-ring.js";

export type { PeerSession, SampleOptions } from "./peers/peer-run.js";

/** Peer names as they appear in `peer` fields. */
export const PEER_NAMES = {
  bareShm: "bare shm ping-pong (2 spinning workers)",
  postMessage: "postMessage ping-pong",
  comlink: "comlink call",
  memcpy4k: "memcpy 4 KiB (Uint8Array.set)",
  memcpy1m: "memcpy 1 MiB (Uint8Array.set)",
  shmChannel: "shm-channel null round trip (2 workers)",
} as const;

export type PeerKey = keyof typeof PEER_NAMES;

/** Starts every peer (workers up and answering). */
export async function openPeers(): Promise<Record<PeerKey, PeerSession>> {
  return {
    bareShm: await openBareShm(),
    postMessage: await openPostMessage(),
    comlink: await openComlink(),
    memcpy4k: await openMemcpy(4096),
    memcpy1m: await openMemcpy(1024 * 1024),
    shmChannel: await openRing(),
  };
}

/**
 * Samples several sessions round-robin (one sample of each per round), so that a noisy,
 * shared machine weighs on all of them alike; returns the timed samples of each.
 */
export async function interleave<K extends string>(
  sessions: Record<K, PeerSession>,
  { runs = 7, warmup = 2 }: SampleOptions = {},
): Promise<Record<K, number[]>> {
  const keys = Object.keys(sessions) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < warmup + runs; r++) {
    for (const k of keys) {
      const x = await sessions[k].sample();
      if (r >= warmup) out[k].push(x);
    }
  }
  return out;
}

export async function closeAll(sessions: Record<string, PeerSession>): Promise<void> {
  await Promise.all(Object.values(sessions).map((s) => s.close()));
}

/** Samples of every peer, interleaved: microseconds per round trip, MB/s for copies. */
export async function measurePeers(options?: SampleOptions): Promise<Record<PeerKey, number[]>> {
  const sessions = await openPeers();
  try {
    return await interleave(sessions, options);
  } finally {
    await closeAll(sessions);
  }
}

/** Every peer as its own result line, and the shm-channel null round trip against them. */
export async function peerResults(options?: SampleOptions): Promise<BenchResult[]> {
  const p = await measurePeers(options);
  const vs = (name: PeerKey): { name: string; samples: number[] } => ({
    name: PEER_NAMES[name],
    samples: p[name],
  });
  return [
    benchResult("rpc.peer.shm-pingpong", "us", p.bareShm, "lower"),
    benchResult("rpc.peer.postmessage", "us", p.postMessage, "lower"),
    benchResult("rpc.peer.comlink", "us", p.comlink, "lower"),
    benchResult("rpc.peer.memcpy.4k", "MB/s", p.memcpy4k, "higher"),
    benchResult("rpc.peer.memcpy.1m", "MB/s", p.memcpy1m, "higher"),
    benchResult("rpc.shm-channel.null", "us", p.shmChannel, "lower", vs("bareShm")),
    benchResult(
      "rpc.shm-channel.null.vs-postmessage",
      "us",
      p.shmChannel,
      "lower",
      vs("postMessage"),
    ),
    benchResult("rpc.shm-channel.null.vs-comlink", "us", p.shmChannel, "lower", vs("comlink")),
  ];
}

/** Runnable on its own; bench/rpc.ts can use openPeers()/interleave() to sample beside them. */
export const group: BenchGroup = { name: "rpc-peers", run: () => peerResults() };
