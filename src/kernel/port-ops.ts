// Port operations with mach_port.defs semantics on one space: allocate, deallocate, destroy,
// mod_refs, insert_right, extract_right, request_notification, get_refs, set_qlimit,
// move_member, names, type, get_receive_status.
import {
  KERN_INVALID_ARGUMENT,
  KERN_INVALID_CAPABILITY,
  KERN_INVALID_NAME,
  KERN_INVALID_RIGHT,
  KERN_INVALID_TASK,
  KERN_INVALID_VALUE,
  KERN_NAME_EXISTS,
  KERN_NOT_IN_SET,
  KERN_RIGHT_EXISTS,
  KERN_SUCCESS,
  KERN_UREFS_OVERFLOW,
  type kern_return_t,
} from "./kern-return.js";
import {
  ENTRY_DEAD,
  ENTRY_PSET,
  ENTRY_RECEIVE,
  ENTRY_SEND,
  ENTRY_SEND_ONCE,
  type IpcEntry,
  type IpcSpace,
} from "./ipc-space.js";
import {
  MACH_PORT_QLIMIT_MAX,
  MACH_PORT_RIGHT_DEAD_NAME,
  MACH_PORT_RIGHT_PORT_SET,
  MACH_PORT_RIGHT_RECEIVE,
  MACH_PORT_RIGHT_SEND,
  MACH_PORT_RIGHT_SEND_ONCE,
  MACH_PORT_UREFS_MAX,
} from "./port-right.js";
import {
  copyinType,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_ANY,
  MACH_MSG_TYPE_PORT_RECEIVE,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
  MACH_PORT_NULL,
  MACH_PORT_VALID,
} from "./msg-type.js";
import {
  allocateReceive,
  CopyinTally,
  copyinRight,
  copyoutRight,
  deallocateSendUref,
  destroyEntry,
  destroyReceiveRight,
  joinSet,
  leaveSet,
} from "./ipc-right.js";
import { PortSet } from "./port-set.js";
import type { Port } from "./port.js";
import { deliverSet, wakeAllSenders } from "./message-queue.js";
import {
  MACH_NOTIFY_DEAD_NAME,
  MACH_NOTIFY_NO_SENDERS,
  MACH_NOTIFY_PORT_DESTROYED,
  notifyDeadName,
  notifyNoSenders,
} from "./notify.js";

export interface NameResult {
  kr: kern_return_t;
  name: number;
}

/** mach_port_allocate: a new receive right (new port), port set or dead name. */
export function portAllocate(space: IpcSpace, registry: Set<Port>, right: number): NameResult {
  if (!space.active) return { kr: KERN_INVALID_TASK, name: 0 };
  switch (right) {
    case MACH_PORT_RIGHT_RECEIVE:
      return { kr: KERN_SUCCESS, name: allocateReceive(space, registry).name };
    case MACH_PORT_RIGHT_PORT_SET: {
      const e = space.newEntry();
      e.type = ENTRY_PSET;
      e.pset = new PortSet(space);
      return { kr: KERN_SUCCESS, name: e.name };
    }
    case MACH_PORT_RIGHT_DEAD_NAME: {
      const e = space.newEntry();
      e.type = ENTRY_DEAD;
      e.urefs = 1;
      return { kr: KERN_SUCCESS, name: e.name };
    }
    default:
      return { kr: KERN_INVALID_VALUE, name: 0 };
  }
}

function entryOf(space: IpcSpace, name: number): IpcEntry | kern_return_t {
  if (!space.active) return KERN_INVALID_TASK;
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_NAME;
  return space.lookup(name) ?? KERN_INVALID_NAME;
}

/** mach_port_deallocate: drops one user reference of a send, send-once or dead-name right. */
export function portDeallocate(space: IpcSpace, name: number): kern_return_t {
  const e = entryOf(space, name);
  if (typeof e === "number") return e;
  if (e.type & ENTRY_SEND) {
    deallocateSendUref(space, e, 1);
    return KERN_SUCCESS;
  }
  if (e.type & (ENTRY_SEND_ONCE | ENTRY_DEAD)) {
    if (e.type & ENTRY_DEAD && e.urefs > 1) e.urefs--;
    else destroyEntry(space, e);
    return KERN_SUCCESS;
  }
  return KERN_INVALID_RIGHT;
}

/** mach_port_destroy: every right under the name goes (a receive right kills the port). */
export function portDestroy(space: IpcSpace, name: number): kern_return_t {
  const e = entryOf(space, name);
  if (typeof e === "number") return e;
  destroyEntry(space, e);
  return KERN_SUCCESS;
}

function hasRight(e: IpcEntry, right: number): boolean {
  switch (right) {
    case MACH_PORT_RIGHT_SEND:
      return (e.type & ENTRY_SEND) !== 0;
    case MACH_PORT_RIGHT_RECEIVE:
      return (e.type & ENTRY_RECEIVE) !== 0;
    case MACH_PORT_RIGHT_SEND_ONCE:
      return (e.type & ENTRY_SEND_ONCE) !== 0;
    case MACH_PORT_RIGHT_PORT_SET:
      return (e.type & ENTRY_PSET) !== 0;
    case MACH_PORT_RIGHT_DEAD_NAME:
      return (e.type & ENTRY_DEAD) !== 0;
    default:
      return false;
  }
}

/** mach_port_get_refs: user references of one right kind under the name (0 if absent). */
export function portGetRefs(
  space: IpcSpace,
  name: number,
  right: number,
): { kr: kern_return_t; refs: number } {
  if (right < 0 || right > MACH_PORT_RIGHT_DEAD_NAME) return { kr: KERN_INVALID_VALUE, refs: 0 };
  const e = entryOf(space, name);
  if (typeof e === "number") return { kr: e, refs: 0 };
  if (!hasRight(e, right)) return { kr: KERN_SUCCESS, refs: 0 };
  const refs = right === MACH_PORT_RIGHT_SEND || right === MACH_PORT_RIGHT_DEAD_NAME ? e.urefs : 1;
  return { kr: KERN_SUCCESS, refs };
}

/**
 * mach_port_mod_refs: adds `delta` user references. Receive, send-once and port-set rights
 * take only 0 or -1 (which destroys them); send and dead-name references stay in 0..UREFS_MAX.
 */
export function portModRefs(
  space: IpcSpace,
  name: number,
  right: number,
  delta: number,
): kern_return_t {
  if (right < 0 || right > MACH_PORT_RIGHT_DEAD_NAME || !Number.isInteger(delta))
    return KERN_INVALID_VALUE;
  const e = entryOf(space, name);
  if (typeof e === "number") return e;
  if (!hasRight(e, right)) return KERN_INVALID_RIGHT;
  if (right === MACH_PORT_RIGHT_SEND || right === MACH_PORT_RIGHT_DEAD_NAME) {
    const n = e.urefs + delta;
    if (n < 0) return KERN_INVALID_VALUE;
    if (n > MACH_PORT_UREFS_MAX) return KERN_UREFS_OVERFLOW;
    if (delta === 0) return KERN_SUCCESS;
    if (n > 0) {
      e.urefs = n;
      return KERN_SUCCESS;
    }
    if (right === MACH_PORT_RIGHT_SEND) deallocateSendUref(space, e, e.urefs);
    else destroyEntry(space, e);
    return KERN_SUCCESS;
  }
  if (delta === 0) return KERN_SUCCESS;
  if (delta !== -1) return KERN_INVALID_VALUE;
  if (right === MACH_PORT_RIGHT_RECEIVE) {
    const port = e.port!;
    destroyReceiveRight(port);
    return KERN_SUCCESS;
  }
  destroyEntry(space, e);
  return KERN_SUCCESS;
}

/** mach_port_type: the MACH_PORT_TYPE_* bits of a name. */
export function portType(space: IpcSpace, name: number): { kr: kern_return_t; type: number } {
  const e = entryOf(space, name);
  if (typeof e === "number") return { kr: e, type: 0 };
  return { kr: KERN_SUCCESS, type: space.typeOf(e) };
}

/** mach_port_names: every name of the space with its type (what `portinfo` lists). */
export function portNames(space: IpcSpace): {
  kr: kern_return_t;
  names: number[];
  types: number[];
} {
  if (!space.active) return { kr: KERN_INVALID_TASK, names: [], types: [] };
  const snap = space.snapshot();
  return { kr: KERN_SUCCESS, names: snap.map((s) => s.name), types: snap.map((s) => s.type) };
}

/** mach_port_set_qlimit: 0..MACH_PORT_QLIMIT_MAX on a receive right; senders may proceed. */
export function portSetQlimit(space: IpcSpace, name: number, qlimit: number): kern_return_t {
  const e = entryOf(space, name);
  if (typeof e === "number") return e;
  if (!(e.type & ENTRY_RECEIVE)) return KERN_INVALID_RIGHT;
  if (!Number.isInteger(qlimit) || qlimit < 0 || qlimit > MACH_PORT_QLIMIT_MAX)
    return KERN_INVALID_VALUE;
  const port = e.port!;
  port.qlimit = qlimit;
  wakeAllSenders(port);
  return KERN_SUCCESS;
}

export interface PortStatus {
  mps_pset: number;
  mps_seqno: number;
  mps_mscount: number;
  mps_qlimit: number;
  mps_msgcount: number;
  mps_sorights: number;
  mps_srights: boolean;
  mps_pdrequest: boolean;
  mps_nsrequest: boolean;
}

/** mach_port_get_receive_status. */
export function portGetReceiveStatus(
  space: IpcSpace,
  name: number,
): { kr: kern_return_t; status?: PortStatus } {
  const e = entryOf(space, name);
  if (typeof e === "number") return { kr: e };
  if (!(e.type & ENTRY_RECEIVE)) return { kr: KERN_INVALID_RIGHT };
  const p = e.port!;
  let psetName = 0;
  if (p.set) for (const x of space.entries.values()) if (x.pset === p.set) psetName = x.name;
  return {
    kr: KERN_SUCCESS,
    status: {
      mps_pset: psetName,
      mps_seqno: p.seqno,
      mps_mscount: p.mscount,
      mps_qlimit: p.qlimit,
      mps_msgcount: p.queue.length,
      mps_sorights: p.sorights,
      mps_srights: p.srights > 0,
      mps_pdrequest: p.pdrequest !== null,
      mps_nsrequest: p.nsrequest !== null,
    },
  };
}

/** mach_port_move_member: into a port set (`after`), or out of any set (`after` null). */
export function portMoveMember(space: IpcSpace, member: number, after: number): kern_return_t {
  const e = entryOf(space, member);
  if (typeof e === "number") return e;
  if (!(e.type & ENTRY_RECEIVE)) return KERN_INVALID_RIGHT;
  const port = e.port!;
  if (after === MACH_PORT_NULL) {
    if (!port.set) return KERN_NOT_IN_SET;
    leaveSet(port);
    return KERN_SUCCESS;
  }
  const s = entryOf(space, after);
  if (typeof s === "number") return s;
  if (!(s.type & ENTRY_PSET)) return KERN_INVALID_RIGHT;
  joinSet(port, s.pset!);
  deliverSet(s.pset!);
  return KERN_SUCCESS;
}

/**
 * mach_port_insert_right: puts a right taken from `from`/`fromName` under `disposition` into
 * `space` with the chosen `name`. The name must be free, or already name the same port's
 * send right (then a user reference is added). Nothing moves when the answer is an error.
 */
export function portInsertRight(
  space: IpcSpace,
  name: number,
  from: IpcSpace,
  fromName: number,
  disposition: number,
): kern_return_t {
  if (!space.active || !from.active) return KERN_INVALID_TASK;
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_VALUE;
  if (!MACH_MSG_TYPE_PORT_ANY(disposition)) return KERN_INVALID_VALUE;
  const src = from.lookup(fromName);
  if (!src || src.type & ENTRY_DEAD || !new CopyinTally().claim(src, disposition, false))
    return KERN_INVALID_CAPABILITY;
  const port = src.port!;
  if (!port.active) return KERN_INVALID_CAPABILITY;
  const type = copyinType(disposition);
  const existing = space.lookup(name);
  const other = space.byPort.get(port);
  if (type === MACH_MSG_TYPE_PORT_SEND_ONCE) {
    if (existing) return KERN_NAME_EXISTS;
  } else if (existing) {
    if (existing.port !== port || other !== existing) return KERN_NAME_EXISTS;
    if (type === MACH_MSG_TYPE_PORT_RECEIVE && existing.type & ENTRY_RECEIVE)
      return KERN_RIGHT_EXISTS;
  } else if (other) {
    return KERN_RIGHT_EXISTS;
  }
  const right = copyinRight(from, src, disposition);
  if (!existing) {
    // Reserve the chosen name, then copy out into it.
    const e = space.newEntry(name >>> 0);
    e.port = port;
    if (type !== MACH_MSG_TYPE_PORT_SEND_ONCE) space.byPort.set(port, e);
    else {
      e.type = ENTRY_SEND_ONCE;
      e.urefs = 1;
      port.holders.add(e);
      return KERN_SUCCESS;
    }
  }
  copyoutRight(space, right, type);
  return KERN_SUCCESS;
}

/**
 * mach_port_extract_right: takes the right `name` of `space` under `disposition` and gives it
 * to `to` (the caller); returns its name there and the resulting right type.
 */
export function portExtractRight(
  space: IpcSpace,
  name: number,
  disposition: number,
  to: IpcSpace,
): { kr: kern_return_t; name: number; type: number } {
  if (!space.active || !to.active) return { kr: KERN_INVALID_TASK, name: 0, type: 0 };
  if (!MACH_MSG_TYPE_PORT_ANY(disposition)) return { kr: KERN_INVALID_VALUE, name: 0, type: 0 };
  const e = space.lookup(name);
  if (!e) return { kr: KERN_INVALID_NAME, name: 0, type: 0 };
  if (!new CopyinTally().claim(e, disposition, true))
    return { kr: KERN_INVALID_RIGHT, name: 0, type: 0 };
  const type = copyinType(disposition);
  const right = copyinRight(space, e, disposition);
  return { kr: KERN_SUCCESS, name: copyoutRight(to, right, type), type };
}

/**
 * mach_port_request_notification: arms a port-destroyed, no-senders or dead-name request with a
 * send-once right to `notify` (given as MAKE_SEND_ONCE or MOVE_SEND_ONCE, or null to cancel);
 * the previous request's send-once right is returned as a name in the caller's space.
 */
export function portRequestNotification(
  space: IpcSpace,
  name: number,
  variant: number,
  sync: number,
  notify: number,
  notifyDisposition: number,
): { kr: kern_return_t; previous: number } {
  const fail = (kr: kern_return_t) => ({ kr, previous: 0 });
  const e = entryOf(space, name);
  if (typeof e === "number") return fail(e);
  let notifyEntry: IpcEntry | undefined;
  if (notify !== MACH_PORT_NULL) {
    if (
      notifyDisposition !== MACH_MSG_TYPE_MAKE_SEND_ONCE &&
      notifyDisposition !== MACH_MSG_TYPE_MOVE_SEND_ONCE
    )
      return fail(KERN_INVALID_VALUE);
    notifyEntry = space.lookup(notify);
    if (!notifyEntry || !new CopyinTally().claim(notifyEntry, notifyDisposition, false))
      return fail(KERN_INVALID_CAPABILITY);
    // Moving the very send-once right the request is about would leave nothing to watch.
    if (notifyEntry === e && notifyDisposition === MACH_MSG_TYPE_MOVE_SEND_ONCE)
      return fail(KERN_INVALID_NAME);
  }
  const takeNotify = (): Port | null =>
    notifyEntry ? (copyinRight(space, notifyEntry, notifyDisposition) as Port) : null;
  const giveBack = (prev: Port | null): number =>
    prev ? copyoutRight(space, prev, MACH_MSG_TYPE_PORT_SEND_ONCE) : 0;
  switch (variant) {
    case MACH_NOTIFY_PORT_DESTROYED: {
      if (!(e.type & ENTRY_RECEIVE)) return fail(KERN_INVALID_RIGHT);
      if (sync !== 0) return fail(KERN_INVALID_VALUE);
      const port = e.port!;
      const prev = port.pdrequest;
      port.pdrequest = takeNotify();
      return { kr: KERN_SUCCESS, previous: giveBack(prev) };
    }
    case MACH_NOTIFY_NO_SENDERS: {
      if (!(e.type & ENTRY_RECEIVE)) return fail(KERN_INVALID_RIGHT);
      const port = e.port!;
      const prev = port.nsrequest;
      const n = takeNotify();
      port.nsrequest = n;
      port.nsSync = sync >>> 0;
      if (n && port.srights === 0 && port.mscount >= port.nsSync) {
        port.nsrequest = null;
        notifyNoSenders(n, port.mscount);
      }
      return { kr: KERN_SUCCESS, previous: giveBack(prev) };
    }
    case MACH_NOTIFY_DEAD_NAME: {
      if (e.type & ENTRY_DEAD) {
        // Already dead: with `sync` the notification comes at once, otherwise it is refused.
        if (!sync || !notifyEntry) return fail(KERN_INVALID_ARGUMENT);
        const n = takeNotify()!;
        e.urefs = Math.min(e.urefs + 1, MACH_PORT_UREFS_MAX);
        notifyDeadName(n, e.name);
        return { kr: KERN_SUCCESS, previous: 0 };
      }
      if (!(e.type & (ENTRY_SEND | ENTRY_SEND_ONCE))) return fail(KERN_INVALID_RIGHT);
      const prev = e.dnrequest;
      e.dnrequest = takeNotify();
      return { kr: KERN_SUCCESS, previous: giveBack(prev) };
    }
    default:
      return fail(KERN_INVALID_VALUE);
  }
}
