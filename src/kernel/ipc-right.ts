// Rights between a space and the kernel: copyin of a name under a disposition (validated first,
// so a failed send loses nothing), copyout of a carried right to a name, the release of rights,
// port death (dead names, dead-name notifications) and message destruction.
import {
  ENTRY_DEAD,
  ENTRY_PSET,
  ENTRY_RECEIVE,
  ENTRY_SEND,
  ENTRY_SEND_ONCE,
  type IpcEntry,
  type IpcSpace,
} from "./ipc-space.js";
import { Port } from "./port.js";
import type { PortSet } from "./port-set.js";
import type { CarriedPort, KMsg } from "./kmsg.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_RECEIVE,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
  MACH_PORT_DEAD,
  type PortRightType,
} from "./msg-type.js";
import { MACH_PORT_UREFS_MAX } from "./port-right.js";
import { MACH_RCV_PORT_CHANGED, MACH_RCV_PORT_DIED } from "./kern-return.js";
import {
  notifyDeadName,
  notifyNoSenders,
  notifyPortDeleted,
  notifyPortDestroyed,
  notifySendOnce,
} from "./notify.js";
import { wakeAllSenders, wakeSender } from "./message-queue.js";

/** What has been claimed from one entry so far. */
interface Claim {
  urefs: number;
  receiveMoved: boolean;
  soMoved: boolean;
}

/**
 * What one message (or one operation) has already claimed from each entry during validation,
 * so that e.g. two MOVE_SENDs of a name holding one user reference fail before anything moves.
 */
export class CopyinTally {
  // Most messages claim one or two entries: the first claim lives in fields, the rest in a map
  // made only when needed (the RPC fast path allocates nothing here).
  private firstEntry: IpcEntry | null = null;
  private first: Claim | null = null;
  private more: Map<IpcEntry, Claim> | null = null;
  /** The first claim's record, kept across reset() so that a reused tally allocates nothing. */
  private spare: Claim = { urefs: 0, receiveMoved: false, soMoved: false };

  /** Forgets every claim, so that one tally can serve message after message. */
  reset(): void {
    this.firstEntry = null;
    this.first = null;
    this.more = null;
  }
  private find(e: IpcEntry): Claim | undefined {
    if (this.firstEntry === e) return this.first!;
    return this.more?.get(e);
  }
  private get(e: IpcEntry): Claim {
    const u = this.find(e);
    if (u) return u;
    if (this.firstEntry === null) {
      const c = this.spare;
      c.urefs = 0;
      c.receiveMoved = false;
      c.soMoved = false;
      this.firstEntry = e;
      this.first = c;
      return c;
    }
    const c: Claim = { urefs: 0, receiveMoved: false, soMoved: false };
    (this.more ??= new Map()).set(e, c);
    return c;
  }

  /**
   * Checks that `e` can be copied in with `disposition`, and records the claim. `allowDead`:
   * a dead name may be sent (it arrives as MACH_PORT_DEAD); the destination may not be dead.
   */
  claim(e: IpcEntry | undefined, disposition: number, allowDead: boolean): boolean {
    if (!e) return false;
    const u = this.find(e);
    switch (disposition) {
      case MACH_MSG_TYPE_MOVE_RECEIVE:
        if (!(e.type & ENTRY_RECEIVE) || u?.receiveMoved) return false;
        this.get(e).receiveMoved = true;
        return true;
      case MACH_MSG_TYPE_MAKE_SEND:
      case MACH_MSG_TYPE_MAKE_SEND_ONCE:
        return (e.type & ENTRY_RECEIVE) !== 0 && !(u?.receiveMoved ?? false);
      case MACH_MSG_TYPE_COPY_SEND: {
        const free = e.urefs - (u?.urefs ?? 0);
        if (e.type & ENTRY_SEND) return free > 0;
        return allowDead && (e.type & ENTRY_DEAD) !== 0 && free > 0;
      }
      case MACH_MSG_TYPE_MOVE_SEND:
        if (e.type & ENTRY_SEND || (allowDead && e.type & ENTRY_DEAD)) {
          if (e.urefs - (u?.urefs ?? 0) <= 0) return false;
          this.get(e).urefs++;
          return true;
        }
        return false;
      case MACH_MSG_TYPE_MOVE_SEND_ONCE:
        if (e.type & ENTRY_SEND_ONCE) {
          if (u?.soMoved) return false;
          this.get(e).soMoved = true;
          return true;
        }
        if (allowDead && e.type & ENTRY_DEAD) {
          if (e.urefs - (u?.urefs ?? 0) <= 0) return false;
          this.get(e).urefs++;
          return true;
        }
        return false;
      default:
        return false;
    }
  }
}

/**
 * Copies in a right already validated by CopyinTally.claim: the entry gives up what the
 * disposition takes; counts follow (MAKE_SEND bumps the make-send count).
 */
export function copyinRight(space: IpcSpace, e: IpcEntry, disposition: number): CarriedPort {
  if (e.type & ENTRY_DEAD) {
    if (disposition !== MACH_MSG_TYPE_COPY_SEND) releaseUref(space, e);
    return "dead";
  }
  const port = e.port!;
  switch (disposition) {
    case MACH_MSG_TYPE_MOVE_RECEIVE: {
      clearReceiver(port);
      e.type &= ~ENTRY_RECEIVE;
      if (!(e.type & ENTRY_SEND)) space.removeEntry(e);
      return port;
    }
    case MACH_MSG_TYPE_MAKE_SEND:
      port.mscount = (port.mscount + 1) >>> 0;
      port.srights++;
      return port;
    case MACH_MSG_TYPE_MAKE_SEND_ONCE:
      port.sorights++;
      return port;
    case MACH_MSG_TYPE_COPY_SEND:
      port.srights++;
      return port;
    case MACH_MSG_TYPE_MOVE_SEND:
      if (e.urefs > 1) {
        e.urefs--;
        port.srights++; // the entry keeps a send right and one more travels
      } else {
        dropSendFromEntry(space, e, false);
      }
      return port;
    case MACH_MSG_TYPE_MOVE_SEND_ONCE:
      deleteEntryKeepingRight(space, e);
      return port;
    default:
      throw new RangeError(`copyinRight: disposition ${disposition}`);
  }
}

/** The receive right leaves its space (moved or destroyed): seqno and make-send count reset. */
function clearReceiver(port: Port): void {
  if (port.set) leaveSet(port);
  port.receiver = null;
  port.receiverEntry = null;
  port.mscount = 0;
  port.seqno = 0;
  for (const w of port.receivers.splice(0)) w.deliver(null, MACH_RCV_PORT_DIED, 0);
}

export function leaveSet(port: Port): void {
  const set = port.set;
  if (!set) return;
  set.members.delete(port);
  port.set = null;
}

/** A port joins a set: receivers blocked on the port alone learn MACH_RCV_PORT_CHANGED. */
export function joinSet(port: Port, set: PortSet): void {
  leaveSet(port);
  set.members.add(port);
  port.set = set;
  for (const w of port.receivers.splice(0)) w.deliver(null, MACH_RCV_PORT_CHANGED, 0);
}

/** The entry loses its (last) send right; the right itself travels on (moved=false keeps count). */
function dropSendFromEntry(space: IpcSpace, e: IpcEntry, release: boolean): void {
  const port = e.port!;
  e.type &= ~ENTRY_SEND;
  e.urefs = 0;
  port.holders.delete(e);
  cancelDnRequest(e);
  if (!(e.type & ENTRY_RECEIVE)) space.removeEntry(e);
  if (release) releaseSend(port);
}

/** The send-once right leaves the entry (moved); the entry goes. */
function deleteEntryKeepingRight(space: IpcSpace, e: IpcEntry): void {
  cancelDnRequest(e);
  space.removeEntry(e);
}

/** A pending dead-name request dies with its right: port-deleted goes to the requester. */
function cancelDnRequest(e: IpcEntry): void {
  const n = e.dnrequest;
  if (n) {
    e.dnrequest = null;
    notifyPortDeleted(n, e.name);
  }
}

function releaseUref(space: IpcSpace, e: IpcEntry): void {
  if (--e.urefs <= 0) space.removeEntry(e);
}

/**
 * Copies a carried right out into `space`, returning its name there. Rights to dead ports come
 * out as MACH_PORT_DEAD. Send rights merge into the space's existing name for the port.
 */
export function copyoutRight(space: IpcSpace, port: CarriedPort, type: PortRightType): number {
  if (port === null) return 0;
  if (port === "dead") return MACH_PORT_DEAD;
  if (type !== MACH_MSG_TYPE_PORT_RECEIVE && !port.active) {
    if (type === MACH_MSG_TYPE_PORT_SEND) port.srights--;
    else port.sorights--;
    return MACH_PORT_DEAD;
  }
  switch (type) {
    case MACH_MSG_TYPE_PORT_RECEIVE: {
      let e = space.byPort.get(port);
      if (!e) {
        e = space.newEntry();
        e.port = port;
        space.byPort.set(port, e);
      }
      e.type |= ENTRY_RECEIVE;
      port.receiver = space;
      port.receiverEntry = e;
      port.transitDest = null;
      return e.name;
    }
    case MACH_MSG_TYPE_PORT_SEND: {
      let e = space.byPort.get(port);
      if (e && e.type & ENTRY_SEND) {
        port.srights--; // merged into the existing send right of this name
        e.urefs = Math.min(e.urefs + 1, MACH_PORT_UREFS_MAX);
        return e.name;
      }
      if (!e) {
        e = space.newEntry();
        e.port = port;
        space.byPort.set(port, e);
      }
      e.type |= ENTRY_SEND;
      e.urefs = 1;
      port.holders.add(e);
      return e.name;
    }
    default: {
      const e = space.newEntry();
      e.port = port;
      e.type = ENTRY_SEND_ONCE;
      e.urefs = 1;
      port.holders.add(e);
      return e.name;
    }
  }
}

/** A send right goes away; the last one fires an armed no-senders request. */
export function releaseSend(port: Port): void {
  port.srights--;
  if (port.srights === 0 && port.active && port.nsrequest && port.mscount >= port.nsSync) {
    const n = port.nsrequest;
    port.nsrequest = null;
    notifyNoSenders(n, port.mscount);
  }
}

/** A send-once right is destroyed unused: a send-once notification goes to its port. */
export function releaseSendOnce(port: Port): void {
  if (port.active) {
    notifySendOnce(port); // the right itself carries the notification (count unchanged)
  } else {
    port.sorights--;
  }
}

/** Destroys a right the kernel holds (in a message or a request), as gnumach's ipc_object_destroy. */
export function destroyCarried(port: CarriedPort, type: PortRightType): void {
  if (port === null || port === "dead") return;
  if (type === MACH_MSG_TYPE_PORT_SEND) releaseSend(port);
  else if (type === MACH_MSG_TYPE_PORT_SEND_ONCE) releaseSendOnce(port);
  else destroyReceiveRight(port);
}

/** Destroys every right a message carries and its out-of-line data. */
export function destroyKmsg(kmsg: KMsg): void {
  destroyCarried(kmsg.dest, kmsg.destType);
  if (kmsg.replyType) destroyCarried(kmsg.reply, kmsg.replyType);
  for (const r of kmsg.rights) destroyCarried(r.port, r.type);
  for (const o of kmsg.ool) {
    for (const r of o.rights ?? []) destroyCarried(r.port, r.type);
    o.data.release?.();
  }
  kmsg.rights = [];
  kmsg.ool = [];
}

/**
 * The receive right is destroyed. With a port-destroyed request the right goes to the requester
 * instead; otherwise the port dies: queued messages are destroyed, receivers get
 * MACH_RCV_PORT_DIED, blocked senders retry and fail, every send/send-once right becomes a dead
 * name (firing dead-name requests), and its no-senders request is released.
 */
export function destroyReceiveRight(port: Port): void {
  if (!port.active) return;
  if (port.receiver) {
    const e = port.receiverEntry!;
    clearReceiver(port);
    e.type &= ~ENTRY_RECEIVE;
    if (e.type === 0) e.space.removeEntry(e);
  }
  if (port.pdrequest) {
    const n = port.pdrequest;
    port.pdrequest = null;
    port.receiver = null;
    notifyPortDestroyed(n, port);
    return;
  }
  port.active = false;
  port.registry.delete(port);
  for (const w of port.receivers.splice(0)) w.deliver(null, MACH_RCV_PORT_DIED, 0);
  // Send rights held in spaces become dead names (keeping their user references).
  for (const e of [...port.holders]) {
    const wasSend = (e.type & ENTRY_SEND) !== 0;
    e.space.byPort.delete(port);
    port.holders.delete(e);
    if (wasSend) port.srights--;
    else port.sorights--;
    e.type = ENTRY_DEAD;
    e.port = null;
    if (e.urefs < 1) e.urefs = 1;
    if (e.dnrequest) {
      const n = e.dnrequest;
      e.dnrequest = null;
      e.urefs = Math.min(e.urefs + 1, MACH_PORT_UREFS_MAX); // the notification holds one
      notifyDeadName(n, e.name);
    }
  }
  const queued = port.queue.splice(0);
  for (const k of queued) destroyKmsg(k);
  wakeAllSenders(port);
  if (port.nsrequest) {
    const n = port.nsrequest;
    port.nsrequest = null;
    releaseSendOnce(n);
  }
  wakeSender(port);
}

/** Removes every right a name denotes (mach_port_destroy, task death). */
export function destroyEntry(space: IpcSpace, e: IpcEntry): void {
  if (e.type & ENTRY_PSET) {
    destroyPortSet(e.pset!);
    space.removeEntry(e);
    return;
  }
  const port = e.port;
  if (e.type & ENTRY_SEND_ONCE) {
    cancelDnRequest(e);
    space.removeEntry(e);
    releaseSendOnce(port!);
    return;
  }
  if (e.type & ENTRY_DEAD) {
    space.removeEntry(e);
    return;
  }
  if (port && e.type & ENTRY_RECEIVE) {
    // Send rights under the receive right's name die with the port: no no-senders first.
    if (e.type & ENTRY_SEND) {
      e.type &= ~ENTRY_SEND;
      e.urefs = 0;
      port.holders.delete(e);
      port.srights--;
      cancelDnRequest(e);
    }
    destroyReceiveRight(port);
    if (space.entries.get(e.name) === e) space.removeEntry(e);
    return;
  }
  if (e.type & ENTRY_SEND) dropSendFromEntry(space, e, true);
}

export function destroyPortSet(set: PortSet): void {
  set.active = false;
  for (const p of [...set.members]) leaveSet(p);
  for (const w of set.receivers.splice(0)) w.deliver(null, MACH_RCV_PORT_DIED, 0);
}

/** mach_port_deallocate / mod_refs on send rights: one user reference less. */
export function deallocateSendUref(space: IpcSpace, e: IpcEntry, count: number): void {
  if (e.urefs > count) {
    e.urefs -= count;
    return;
  }
  dropSendFromEntry(space, e, true);
}

/** The receive right of a new port, named in `space`. */
export function allocateReceive(space: IpcSpace, registry: Set<Port>): IpcEntry {
  const port = new Port(registry);
  const e = space.newEntry();
  e.type = ENTRY_RECEIVE;
  e.port = port;
  space.byPort.set(port, e);
  port.receiver = space;
  port.receiverEntry = e;
  return e;
}

/** Destroys a whole space: what a task's death does to its rights. */
export function destroySpace(space: IpcSpace): void {
  if (!space.active) return;
  space.active = false;
  // Receive rights first, so that dead-name requests of this space's own names don't fire
  // notifications into a half-destroyed table; then everything else.
  for (const e of [...space.entries.values()]) {
    if (space.entries.get(e.name) !== e) continue;
    if (e.type & ENTRY_RECEIVE) destroyEntry(space, e);
  }
  for (const e of [...space.entries.values()]) {
    if (space.entries.get(e.name) !== e) continue;
    destroyEntry(space, e);
  }
  space.entries.clear();
  space.byPort.clear();
}
