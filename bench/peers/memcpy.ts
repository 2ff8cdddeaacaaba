// Reference peer for out-of-line transfers: a plain in-memory copy (Uint8Array.set) of the same
// size, the bandwidth an out-of-line send that copies once can at best approach.
import { measureMicros } from "../harness.js";
import { collect, type PeerSession, type SampleOptions } from "./peer-run.js";

/** Each sample() is copy bandwidth in MB/s (10^6 bytes per second) for `size`-byte copies. */
export async function openMemcpy(size: number): Promise<PeerSession> {
  const src = new Uint8Array(size);
  for (let i = 0; i < size; i++) src[i] = i & 0xff;
  const dst = new Uint8Array(size);
  const iterations = Math.max(20, Math.floor((64 * 1024 * 1024) / size));
  return {
    sample: async () => {
      dst.fill(0);
      const [us] = await measureMicros(() => dst.set(src), { runs: 1, warmup: 0, iterations });
      if (dst[size - 1] !== ((size - 1) & 0xff))
        throw new Error("memcpy peer: copy did not happen");
      return size / us!;
    },
    close: async () => {},
  };
}

export function memcpyMBps(size: number, options?: SampleOptions): Promise<number[]> {
  return collect(() => openMemcpy(size), options);
}
