// An IPC space: a task's table of 32-bit names to rights (receive, send with user references,
// send-once, port set, dead name). A task reaches ports only through its own space's names.
import type { Port, PortHolders } from "./port.js";
import type { PortSet } from "./port-set.js";
import {
  MACH_PORT_TYPE_DEAD_NAME,
  MACH_PORT_TYPE_DNREQUEST,
  MACH_PORT_TYPE_PORT_SET,
  MACH_PORT_TYPE_RECEIVE,
  MACH_PORT_TYPE_SEND,
  MACH_PORT_TYPE_SEND_ONCE,
} from "./port-right.js";

export class IpcEntry {
  /** MACH_PORT_TYPE_* bits: RECEIVE and/or SEND, or SEND_ONCE, PORT_SET or DEAD_NAME alone. */
  type = 0;
  /** User references: of the send right (SEND), of the dead name (DEAD_NAME); 1 for SEND_ONCE. */
  urefs = 0;
  port: Port | null = null;
  pset: PortSet | null = null;
  /** Dead-name request: the kernel-held send-once right to notify when the port dies. */
  dnrequest: Port | null = null;
  /** The holders list of the port this entry holds send or send-once rights to, and its links. */
  holderOf: PortHolders | null = null;
  prevHolder: IpcEntry | null = null;
  nextHolder: IpcEntry | null = null;
  constructor(
    readonly space: IpcSpace,
    readonly name: number,
  ) {}
}

/** One line of a space snapshot: enough to compare rights before and after a test. */
export interface SpaceSnapshotEntry {
  name: number;
  type: number;
  urefs: number;
}

let nextSpaceId = 1;

export class IpcSpace {
  readonly id = nextSpaceId++;
  active = true;
  readonly entries = new Map<number, IpcEntry>();
  /**
   * The entry holding receive and/or send rights for a port. Invariant: a space names a port's
   * receive and send rights with one single name; send-once rights each get their own name.
   */
  readonly byPort = new Map<Port, IpcEntry>();
  private nextIndex = 1;

  constructor(readonly label = "") {}

  /**
   * A fresh name. Names are (index << 8 | generation) like gnumach's, never 0 nor ~0, and never
   * reused within a space, so a stale name cannot silently reach a newer right.
   */
  allocateName(): number {
    for (;;) {
      const name = ((this.nextIndex++ << 8) | (this.id & 0xff)) >>> 0;
      if (name !== 0 && name !== 0xffffffff && !this.entries.has(name)) return name;
    }
  }

  newEntry(name = this.allocateName()): IpcEntry {
    const e = new IpcEntry(this, name);
    this.entries.set(name, e);
    return e;
  }

  lookup(name: number): IpcEntry | undefined {
    return this.entries.get(name >>> 0);
  }

  /** Removes an entry whose rights are all gone. */
  removeEntry(e: IpcEntry): void {
    this.entries.delete(e.name);
    if (e.port && this.byPort.get(e.port) === e) this.byPort.delete(e.port);
    if (e.port) e.port.holders.delete(e);
    e.type = 0;
    e.urefs = 0;
  }

  /** Type bits as mach_port_type reports them (with DNREQUEST when a request is armed). */
  typeOf(e: IpcEntry): number {
    return (e.type | (e.dnrequest ? MACH_PORT_TYPE_DNREQUEST : 0)) >>> 0;
  }

  /** The rights of this space, sorted by name: compare two snapshots to find a leak. */
  snapshot(): SpaceSnapshotEntry[] {
    return [...this.entries.values()]
      .map((e) => ({ name: e.name, type: this.typeOf(e), urefs: e.urefs }))
      .sort((a, b) => a.name - b.name);
  }
}

export function hasType(e: IpcEntry | undefined, bits: number): e is IpcEntry {
  return e !== undefined && (e.type & bits) !== 0;
}

export const ENTRY_SEND = MACH_PORT_TYPE_SEND;
export const ENTRY_RECEIVE = MACH_PORT_TYPE_RECEIVE;
export const ENTRY_SEND_ONCE = MACH_PORT_TYPE_SEND_ONCE;
export const ENTRY_DEAD = MACH_PORT_TYPE_DEAD_NAME;
export const ENTRY_PSET = MACH_PORT_TYPE_PORT_SET;
