// Reference peer: a bare shared-memory ping-pong between two spinning workers (one Int32 flag,
// Atomics.store / busy Atomics.load), the floor for any cross-thread round trip.
import {
  collect,
  commandSample,
  peerReport,
  startPeer,
  stopCommand,
  type PeerSession,
  type SampleOptions,
} from "./peer-run.js";

/** Two workers; each sample() is microseconds per round trip over `rounds` round trips. */
export async function openBareShm(rounds = 20000): Promise<PeerSession> {
  const flag = new SharedArrayBuffer(4);
  const pong = startPeer({ role: "spin-pong", flag });
  const ping = startPeer({ role: "spin-ping", flag });
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

export function bareShmRoundTripMicros(
  options?: SampleOptions,
  rounds?: number,
): Promise<number[]> {
  return collect(() => openBareShm(rounds), options);
}
