// A port: a kernel-held message queue with exactly one receive right, counted send and
// send-once rights, a make-send count, a queue limit, sequence numbers and notification requests.
import type { KMsg } from "./kmsg.js";
import type { IpcEntry, IpcSpace } from "./ipc-space.js";
import type { PortSet } from "./port-set.js";
import { MACH_PORT_QLIMIT_DEFAULT } from "./port-right.js";

/** A blocked mach_msg receive: `deliver` runs synchronously when a message is handed over. */
export interface ReceiveWaiter {
  readonly space: IpcSpace;
  /** Handles a message (already dequeued, seqno set) or an error code; returns nothing. */
  deliver(kmsg: KMsg | null, code: number, size: number): void;
  readonly rcvSize: number;
  readonly large: boolean;
}

/** A sender blocked on a full queue: `wake` retries the send when room appears or the port dies. */
export interface SendWaiter {
  wake(): void;
}

/**
 * The entries holding send or send-once rights to one port, oldest first: a list threaded
 * through the entries themselves (an entry names rights to one port at most), so that the
 * send-once right of every RPC joins and leaves it without allocating or hashing.
 */
export class PortHolders implements Iterable<IpcEntry> {
  private head: IpcEntry | null = null;
  private tail: IpcEntry | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(e: IpcEntry): boolean {
    return e.holderOf === this;
  }

  add(e: IpcEntry): this {
    if (e.holderOf === this) return this;
    e.holderOf?.delete(e);
    e.holderOf = this;
    e.prevHolder = this.tail;
    e.nextHolder = null;
    if (this.tail) this.tail.nextHolder = e;
    else this.head = e;
    this.tail = e;
    this.count++;
    return this;
  }

  delete(e: IpcEntry): boolean {
    if (e.holderOf !== this) return false;
    const { prevHolder: prev, nextHolder: next } = e;
    if (prev) prev.nextHolder = next;
    else this.head = next;
    if (next) next.prevHolder = prev;
    else this.tail = prev;
    e.holderOf = null;
    e.prevHolder = null;
    e.nextHolder = null;
    this.count--;
    return true;
  }

  *[Symbol.iterator](): Iterator<IpcEntry> {
    for (let e = this.head; e; e = e.nextHolder) yield e;
  }
}

let nextPortId = 1;

export class Port {
  /** Internal identity for debugging; never given to a task (names are per space). */
  readonly id = nextPortId++;
  /** False once the receive right is destroyed: every send right to it is then a dead name. */
  active = true;
  /**
   * The space holding the receive right and its name there; null while the receive right is in
   * a message (in transit). Invariant: receiver !== null ⇔ receiverEntry names this port with
   * MACH_PORT_TYPE_RECEIVE in that space.
   */
  receiver: IpcSpace | null = null;
  receiverEntry: IpcEntry | null = null;
  /** While in transit: the destination port of the message that carries this receive right. */
  transitDest: Port | null = null;

  /** Messages, oldest first. Invariant: length ≤ qlimit except for messages sent with
   * send-once rights or by the kernel (MACH_SEND_ALWAYS), as in gnumach. */
  readonly queue: KMsg[] = [];
  qlimit = MACH_PORT_QLIMIT_DEFAULT;
  /** Sequence number given to the next message dequeued. */
  seqno = 0;
  /** Make-send count: send rights made from the receive right since it was created/moved. */
  mscount = 0;
  /**
   * Send rights outstanding: one per space entry holding send rights (whatever its urefs) plus
   * one per send right in transit. Reaching 0 fires the no-senders request.
   */
  srights = 0;
  /** Send-once rights outstanding (entries, in-transit and kernel-held notification rights). */
  sorights = 0;

  /** No-senders request: the send-once right to notify, and the make-send count to wait for. */
  nsrequest: Port | null = null;
  nsSync = 0;
  /** Port-destroyed request: the send-once right that receives the receive right on death. */
  pdrequest: Port | null = null;

  /** The port set this port is a member of (then receives go through the set). */
  set: PortSet | null = null;
  /** Entries in any space that hold send or send-once rights to this port. */
  readonly holders = new PortHolders();

  readonly receivers: ReceiveWaiter[] = [];
  readonly senders: SendWaiter[] = [];
  /** Fast RPC lanes watching this port's queue (fast-lane-kernel.ts): run after each enqueue. */
  laneWatch: ((port: Port) => void) | null = null;

  /** Kernel-wide bookkeeping: called when the port is finally gone (inactive, no rights). */
  constructor(readonly registry: Set<Port>) {
    registry.add(this);
  }
}
