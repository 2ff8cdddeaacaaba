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
  /** When the entry joined its table: the table lists entries in this order, as a Map would. */
  seq = 0;
  constructor(
    readonly space: IpcSpace,
    /** The entry's name; changes only when a recycled entry object takes a fresh name. */
    public name: number,
  ) {}
}

/**
 * A space's names to entries: an open-addressing table keyed by the entries' own names (linear
 * probing, deletion by backward shift). Every RPC names a fresh send-once right and drops it; a
 * Map given an ever-new key each time rehashes over and over, this table just reuses its slots.
 * It iterates in insertion order, as a Map does.
 */
export class EntryTable {
  private slots: (IpcEntry | null)[] = new Array<IpcEntry | null>(16).fill(null);
  private mask = 15;
  private shift = 28;
  private count = 0;
  private nextSeq = 0;

  get size(): number {
    return this.count;
  }

  private home(name: number): number {
    return Math.imul(name, 0x9e3779b1) >>> this.shift;
  }

  private indexOf(name: number): number {
    const { slots, mask } = this;
    for (let i = this.home(name); ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === null) return -1;
      if (e!.name === name) return i;
    }
  }

  get(name: number): IpcEntry | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.slots[i]!;
  }

  has(name: number): boolean {
    return this.indexOf(name) >= 0;
  }

  /** Adds `e` under its name (replacing an entry of that name, which keeps its place). */
  add(e: IpcEntry): void {
    const at = this.indexOf(e.name);
    if (at >= 0) {
      e.seq = this.slots[at]!.seq;
      this.slots[at] = e;
      return;
    }
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    e.seq = this.nextSeq++;
    this.place(e);
    this.count++;
  }

  private place(e: IpcEntry): void {
    const { slots, mask } = this;
    let i = this.home(e.name);
    while (slots[i] !== null) i = (i + 1) & mask;
    slots[i] = e;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<IpcEntry | null>(old.length * 2).fill(null);
    this.mask = this.slots.length - 1;
    this.shift--;
    for (const e of old) if (e) this.place(e);
  }

  /** Removes the entry named `name`; false if there is none. */
  delete(name: number): boolean {
    let i = this.indexOf(name);
    if (i < 0) return false;
    const { slots, mask } = this;
    slots[i] = null;
    this.count--;
    // Backward shift: pull later entries of the run into the hole they would have probed past.
    for (let j = (i + 1) & mask; slots[j] !== null; j = (j + 1) & mask) {
      const h = this.home(slots[j]!.name);
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      slots[i] = slots[j]!;
      slots[j] = null;
      i = j;
    }
    return true;
  }

  /** The entries, oldest first (a snapshot: the table may change while it is walked). */
  values(): IpcEntry[] {
    const out: IpcEntry[] = [];
    for (const e of this.slots) if (e) out.push(e);
    return out.sort((a, b) => a.seq - b.seq);
  }

  clear(): void {
    this.slots.fill(null);
    this.count = 0;
  }
}

/** How many spent entry objects a space keeps for reuse. */
const MAX_SPARE_ENTRIES = 8;

/** One line of a space snapshot: enough to compare rights before and after a test. */
export interface SpaceSnapshotEntry {
  name: number;
  type: number;
  urefs: number;
}

export class IpcSpace {
  /**
   * The number of the task whose space this is, as ps and portinfo show it: a kernel numbers
   * its tasks 1, 2, ... in the order it makes them (0 for a space outside any kernel).
   */
  id = 0;
  active = true;
  readonly entries = new EntryTable();
  /**
   * The entry holding receive and/or send rights for a port. Invariant: a space names a port's
   * receive and send rights with one single name; send-once rights each get their own name.
   */
  readonly byPort = new Map<Port, IpcEntry>();
  private nextIndex = 1;
  /** Entry objects out of the table that no one references any more, ready for reuse. */
  private readonly spare: IpcEntry[] = [];

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
    const e = this.spare.pop();
    if (!e) {
      const fresh = new IpcEntry(this, name);
      this.entries.add(fresh);
      return fresh;
    }
    e.name = name;
    this.entries.add(e);
    return e;
  }

  /**
   * Gives back the object of an entry already removed, for a later newEntry (under a fresh name:
   * names are never reused). Only for a caller that holds the last reference to it, as mach_msg
   * does for the send-once right a reply consumes; anything else just lets removed entries go.
   */
  recycleEntry(e: IpcEntry): void {
    // Removed entries have no type left (removeEntry clears it) and hold no port.
    if (e.type !== 0 || e.holderOf) return;
    if (this.spare.length >= MAX_SPARE_ENTRIES) return;
    e.port = null;
    e.pset = null;
    e.dnrequest = null;
    this.spare.push(e);
  }

  lookup(name: number): IpcEntry | undefined {
    return this.entries.get(name >>> 0);
  }

  /** Removes an entry whose rights are all gone. */
  removeEntry(e: IpcEntry): void {
    this.entries.delete(e.name);
    // Send-once rights each have their own name, never the port's byPort entry.
    if (e.port && e.type !== MACH_PORT_TYPE_SEND_ONCE && this.byPort.get(e.port) === e)
      this.byPort.delete(e.port);
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
