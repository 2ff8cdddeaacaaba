// A port set: a receive-side group of ports; a receive on the set takes the oldest pending
// message of any member (members are receive rights of the same space).
import type { Port, ReceiveWaiter } from "./port.js";
import type { IpcSpace } from "./ipc-space.js";

let nextSetId = 1;

export class PortSet {
  readonly id = nextSetId++;
  active = true;
  /** Invariant: every member has member.set === this and member.receiver === space. */
  readonly members = new Set<Port>();
  readonly receivers: ReceiveWaiter[] = [];
  constructor(readonly space: IpcSpace) {}

  /** The member whose head message is oldest (ports are scanned in insertion order). */
  firstReady(): Port | null {
    let best: Port | null = null;
    for (const p of this.members) {
      const head = p.queue[0];
      if (head && (best === null || head.stamp < best.queue[0]!.stamp)) best = p;
    }
    return best;
  }
}
