// tsmach's own transport measured bare: a null message (a 32-byte header-only message) round
// trip between two workers through two shm-channels, one each way, both sides spin-then-park.
import { ShmChannel, isShmChannel } from "../../src/kernel/shm-channel.js";
import {
  collect,
  commandSample,
  peerReport,
  startPeer,
  stopCommand,
  type PeerSession,
  type SampleOptions,
} from "./peer-run.js";

function newRing(): SharedArrayBuffer {
  const c = ShmChannel.create({ capacity: 65536 });
  if (!isShmChannel(c)) throw new Error(c.reason);
  return c.buffer;
}

/** Two workers; each sample() is microseconds per null round trip over `rounds` round trips. */
export async function openRing(
  rounds = 20000,
  size = 32,
  spinMicros?: number,
): Promise<PeerSession> {
  const out = newRing();
  const back = newRing();
  const pong = startPeer({ role: "ring-pong", out, back, spinMicros });
  const ping = startPeer({ role: "ring-ping", out, back, size, spinMicros });
  const pongDone = peerReport(pong);
  pongDone.catch(() => {});
  return {
    sample: () => commandSample(ping, rounds),
    close: async () => {
      stopCommand(ping);
      await pongDone.catch(() => {});
      await Promise.all([ping.terminate(), pong.terminate()]);
    },
  };
}

export function ringNullRoundTripMicros(
  options?: SampleOptions,
  rounds?: number,
): Promise<number[]> {
  return collect(() => openRing(rounds), options);
}
