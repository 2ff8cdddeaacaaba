// The kernel's side of fast RPC lanes: grants a lane when an isolated client makes a simple RPC
// to a port an isolated server receives, keeps each lane's kernel-queue words current, revokes
// a lane before any operation that could change the rights it stands for, and on a task's death
// turns what the lane still holds into what the kernel path would have produced (the request
// queued on the port, or a send-once notification for every reply right the server held).
import type { Task } from "./task.js";
import type { Port } from "./port.js";
import type { IpcSpace } from "./ipc-space.js";
import { ENTRY_DEAD, ENTRY_RECEIVE, ENTRY_SEND, ENTRY_SEND_ONCE } from "./ipc-space.js";
import type { KMsg } from "./kmsg.js";
import { enqueueKmsg } from "./message-queue.js";
import { notifySendOnce } from "./notify.js";
import { parseBody, readPointer, readU32, writeU32 } from "./message.js";
import type { OolRegion } from "./kmsg.js";
import { KERNEL_POOL_OWNER, POOL_VM_BASE, PoolVm } from "./pool-vm.js";
import {
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_ANY,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_SEND_MSG,
} from "./msg-type.js";
import {
  KERN_INVALID_ARGUMENT,
  KERN_INVALID_NAME,
  KERN_NAME_EXISTS,
  KERN_SUCCESS,
} from "./kern-return.js";
import { SysOp } from "./syscall-abi.js";
import {
  L_CLIENT_READY,
  L_HEAD_POSTED,
  L_OWED,
  L_PQ,
  L_REQ_WAIT,
  L_TAKEN,
  L_PSEQ,
  L_PSEQ_INIT,
  L_REP,
  L_REQ,
  L_RQ,
  L_RSEQ,
  L_RSEQ_INIT,
  L_CLIENT_OWNER,
  L_SERVER_OWNER,
  L_STATE,
  LANE_ACTIVE,
  LANE_DEAD,
  LANE_REVOKED,
  LANE_ROLE_CLIENT,
  LANE_ROLE_SERVER,
  LANE_SLOT_BYTES,
  LaneMemory,
  lanePosted,
  type LaneSlot,
  SLOT_BUSY,
  SLOT_CLOSED,
  SLOT_EMPTY,
  SLOT_FULL,
  isLaneName,
  laneMessageOk,
  ringBell,
} from "./fast-lane.js";

/** A pool region's owner tag and size, seen through a task's memory. */
function regionOf(vm: PoolVm, address: number): { owner: number; size: number } | undefined {
  const o = address - POOL_VM_BASE;
  const owner = vm.pool.ownerOf(o);
  return owner === undefined ? undefined : { owner, size: vm.pool.regionSize(o) };
}

/** Actions of the LANE system call: [lane id, action, name]. */
export const LaneAction = {
  /** The server's runtime needs a real send-once right under a lane reply name. */
  MATERIALIZE: 1,
  /** The server destroys a lane reply right unused: a send-once notification goes to R. */
  DESTROY_REPLY: 2,
  /** Move the request slot's message into P's kernel queue (too large for the receiver). */
  DRAIN_REQUEST: 3,
  /** Move the reply slot's message into R's kernel queue (too large for the receiver). */
  DRAIN_REPLY: 4,
} as const;

/** A task taking part in lanes: the syscall server's record of an isolated task. */
export interface LaneParty {
  readonly task: Task;
  /** The task's doorbell; without one the task gets no lanes. */
  readonly bell?: Int32Array;
  shareBuffer?(buffer: SharedArrayBuffer): number;
}

/** Most lanes one task may take part in (beyond it RPCs simply take the kernel path). */
const MAX_LANES_PER_TASK = 64;

interface KernelLane {
  readonly id: number;
  readonly mem: LaneMemory;
  readonly client: LaneParty;
  readonly server: LaneParty;
  /** The server's port P and the client's reply port R. */
  readonly port: Port;
  readonly reply: Port;
  /** Names: N (send right to P) and R in the client's space, P in the server's. */
  readonly sendName: number;
  readonly replyName: number;
  readonly portName: number;
  /** Set while a slot could not be closed yet (its consumer was copying). */
  retry: ReturnType<typeof setTimeout> | null;
}

export class LaneTable {
  private nextId = 1;
  private readonly lanes = new Map<number, KernelLane>();
  private readonly byTask = new Map<Task, Set<KernelLane>>();
  /** Lanes still open, by the port whose queue they watch. */
  private readonly byPort = new Map<Port, Set<KernelLane>>();
  private readonly byReply = new Map<Port, KernelLane>();
  private readonly watch = (p: Port): void => this.onEnqueue(p);

  constructor(
    /** Writes an unsolicited record (seq 0) into a task's reply channel. */
    private readonly post: (to: LaneParty, op: number, args: number[]) => void,
    /** The isolated task whose space this is, if any. */
    private readonly partyOf: (space: IpcSpace) => LaneParty | undefined,
  ) {}

  /** Number of lanes alive (open or revoked with reply rights still owed). */
  get size(): number {
    return this.lanes.size;
  }

  /** Lane reply rights servers hold, over every lane (diagnostics). */
  owed(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += Atomics.load(l.mem.words, L_OWED);
    return n;
  }

  // ------------------------------------------------------------------ grant

  /**
   * Called before the kernel serves an isolated task's SEND|RCV: when the message is a simple
   * COPY_SEND to a port an isolated server receives, with MAKE_SEND_ONCE of the receive port,
   * both tasks get a lane for the next calls. The message itself still takes the kernel path.
   */
  maybeGrant(
    c: LaneParty,
    option: number,
    sendSize: number,
    rcvName: number,
    msg: Uint8Array,
  ): void {
    if ((option & (MACH_SEND_MSG | MACH_RCV_MSG)) !== (MACH_SEND_MSG | MACH_RCV_MSG)) return;
    if (sendSize < 32 || sendSize > LANE_SLOT_BYTES || sendSize % 4 !== 0 || msg.length < 32)
      return;
    const bits = readU32(msg, 0);
    const shape = (bits & ~MACH_MSGH_BITS_COMPLEX) >>> 0;
    if (shape !== MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE)) return;
    if (bits & MACH_MSGH_BITS_COMPLEX) {
      // Out-of-line data may travel on a lane; rights in the body may not.
      const body = parseBody(msg, Math.min(sendSize, msg.length));
      if (!body.ok || body.items.some((it) => MACH_MSG_TYPE_PORT_ANY(it.name))) return;
    }
    const sendName = readU32(msg, 8);
    if (readU32(msg, 16) !== rcvName || !c.bell || !c.shareBuffer) return;
    const cspace = c.task.space;
    const re = cspace.lookup(rcvName);
    if (!re || !(re.type & ENTRY_RECEIVE)) return;
    const reply = re.port!;
    if (this.byReply.has(reply) || reply.set || reply.queue.length > 0) return;
    const se = cspace.lookup(sendName);
    if (!se || !(se.type & ENTRY_SEND) || se.type & ENTRY_DEAD) return;
    const port = se.port!;
    if (!port.active || port.set || !port.receiver || port === reply) return;
    const s = this.partyOf(port.receiver);
    if (!s || s === c || !s.bell || !s.shareBuffer || !s.task.alive || !c.task.alive) return;
    const open = this.byPort.get(port);
    if (port.qlimit <= (open?.size ?? 0) + 1) return;
    if (this.count(c.task) >= MAX_LANES_PER_TASK || this.count(s.task) >= MAX_LANES_PER_TASK)
      return;
    const mem = LaneMemory.create();
    const bufC = c.shareBuffer(mem.buffer);
    const bufS = s.shareBuffer(mem.buffer);
    const bellS = c.shareBuffer(s.bell.buffer as SharedArrayBuffer);
    const bellC = s.shareBuffer(c.bell.buffer as SharedArrayBuffer);
    if (!bufC || !bufS || !bellS || !bellC) return;
    const lane: KernelLane = {
      id: this.nextId++,
      mem,
      client: c,
      server: s,
      port,
      reply,
      sendName,
      replyName: rcvName,
      portName: port.receiverEntry!.name,
      retry: null,
    };
    const w = mem.words;
    Atomics.store(w, L_PQ, port.queue.length);
    Atomics.store(w, L_HEAD_POSTED, 0);
    Atomics.store(w, L_RQ, 0);
    Atomics.store(w, L_PSEQ_INIT, port.seqno);
    Atomics.store(w, L_RSEQ_INIT, reply.seqno);
    // Out-of-line data on a lane: the client places it in pool regions tagged as the server's.
    if (c.task.vm instanceof PoolVm && s.task.vm instanceof PoolVm) {
      Atomics.store(w, L_CLIENT_OWNER, c.task.vm.owner);
      Atomics.store(w, L_SERVER_OWNER, s.task.vm.owner);
    }
    Atomics.store(w, L_STATE, LANE_ACTIVE);
    this.lanes.set(lane.id, lane);
    this.index(lane);
    for (const t of [c.task, s.task]) {
      let set = this.byTask.get(t);
      if (!set) {
        set = new Set();
        this.byTask.set(t, set);
        t.onDeath(() => this.taskDied(t));
      }
      set.add(lane);
    }
    // The server learns first: its grant record precedes the delivery of this very message.
    this.post(s, SysOp.LANE, [lane.id, LANE_ROLE_SERVER, bufS, bellC, lane.portName, 0]);
    this.post(c, SysOp.LANE, [lane.id, LANE_ROLE_CLIENT, bufC, bellS, sendName, rcvName]);
  }

  private count(t: Task): number {
    return this.byTask.get(t)?.size ?? 0;
  }

  private index(lane: KernelLane): void {
    let set = this.byPort.get(lane.port);
    if (!set) {
      set = new Set();
      this.byPort.set(lane.port, set);
    }
    set.add(lane);
    this.byReply.set(lane.reply, lane);
    lane.port.laneWatch = this.watch;
    lane.reply.laneWatch = this.watch;
  }

  private unindex(lane: KernelLane): void {
    const set = this.byPort.get(lane.port);
    if (set?.delete(lane) && set.size === 0) this.byPort.delete(lane.port);
    if (this.byReply.get(lane.reply) === lane) this.byReply.delete(lane.reply);
    for (const p of [lane.port, lane.reply])
      if (!this.byPort.has(p) && !this.byReply.has(p) && p.laneWatch === this.watch)
        p.laneWatch = null;
  }

  // ------------------------------------------------------------------ kernel words

  /** A message was queued on a port lanes watch: publish the queue length, wake the receiver. */
  private onEnqueue(p: Port): void {
    const set = this.byPort.get(p);
    if (set) {
      // Arrival order: which lane requests were posted before this message.
      const m = p.queue[p.queue.length - 1];
      if (m) {
        const posted = new Map<number, number>();
        for (const l of set) posted.set(l.id, lanePosted(l.mem.words));
        m.lanePosted = posted;
      }
      for (const l of set) {
        publishHead(l);
        ringBell(l.server.bell!);
      }
    }
    const l = this.byReply.get(p);
    if (l) {
      Atomics.store(l.mem.words, L_RQ, p.queue.length);
      ringBell(l.client.bell!);
    }
  }

  /**
   * Before the kernel serves any system call of a task with lanes: fold the lanes' dequeues into
   * the ports' sequence numbers, and revoke lanes the call could change the rights of.
   */
  beforeSyscall(c: LaneParty, op: number, a: readonly number[], payload: Uint8Array): void {
    const set = this.byTask.get(c.task);
    if (!set || set.size === 0) return;
    for (const l of set) this.fold(l);
    const names = namesTouched(op, a, payload);
    if (!names) return;
    for (const l of [...set]) {
      if (Atomics.load(l.mem.words, L_STATE) !== LANE_ACTIVE) continue;
      const hit =
        names === "all" ||
        (l.client === c
          ? names.has(l.sendName) || names.has(l.replyName)
          : l.server === c && names.has(l.portName));
      if (hit) this.revoke(l);
    }
  }

  /** After a receive of a task with lanes: its ports' queue lengths changed. */
  afterReceive(c: LaneParty): void {
    const set = this.byTask.get(c.task);
    if (!set) return;
    for (const l of set) {
      if (l.server === c) publishHead(l);
      if (l.client === c) Atomics.store(l.mem.words, L_RQ, l.reply.queue.length);
    }
  }

  private fold(l: KernelLane): void {
    const w = l.mem.words;
    const p = Atomics.exchange(w, L_PSEQ, 0);
    if (p) l.port.seqno = (l.port.seqno + p) >>> 0;
    const r = Atomics.exchange(w, L_RSEQ, 0);
    if (r) l.reply.seqno = (l.reply.seqno + r) >>> 0;
  }

  // ------------------------------------------------------------------ the LANE system call

  /** The LANE system call of `c`: [lane id, action, name]. */
  laneCall(c: LaneParty, a: readonly number[]): number {
    const l = this.lanes.get(a[0]!);
    if (!l) return KERN_INVALID_ARGUMENT;
    const w = l.mem.words;
    switch (a[1]) {
      case LaneAction.MATERIALIZE:
      case LaneAction.DESTROY_REPLY: {
        if (l.server !== c) return KERN_INVALID_ARGUMENT;
        const name = a[2]! >>> 0;
        if (!isLaneName(name)) return KERN_INVALID_NAME;
        if (Atomics.load(w, L_OWED) <= 0) return KERN_INVALID_NAME;
        const space = c.task.space;
        if (a[1] === LaneAction.MATERIALIZE && space.lookup(name)) return KERN_NAME_EXISTS;
        Atomics.sub(w, L_OWED, 1);
        const r = l.reply;
        if (a[1] === LaneAction.DESTROY_REPLY) {
          if (r.active) {
            r.sorights++;
            notifySendOnce(r);
          }
        } else {
          const e = space.newEntry(name);
          e.urefs = 1;
          if (r.active) {
            e.port = r;
            e.type = ENTRY_SEND_ONCE;
            r.holders.add(e);
            r.sorights++;
          } else {
            e.type = ENTRY_DEAD;
          }
        }
        this.forgetIfDone(l);
        return KERN_SUCCESS;
      }
      case LaneAction.DRAIN_REQUEST:
        if (l.server !== c) return KERN_INVALID_ARGUMENT;
        this.fold(l);
        if (l.mem.claim(L_REQ)) {
          this.queueRequest(l);
          l.mem.release(L_REQ);
          // Counted once out of the slot (lanePosted): queued, it was counted as posted.
          Atomics.add(l.mem.words, L_TAKEN, 1);
          if (Atomics.load(l.mem.words, L_REQ_WAIT) !== 0) ringBell(l.client.bell!);
        }
        return KERN_SUCCESS;
      case LaneAction.DRAIN_REPLY:
        if (l.client !== c) return KERN_INVALID_ARGUMENT;
        this.fold(l);
        if (l.mem.claim(L_REP)) {
          this.queueReply(l);
          l.mem.release(L_REP);
        }
        return KERN_SUCCESS;
      default:
        return KERN_INVALID_ARGUMENT;
    }
  }

  // ------------------------------------------------------------------ turning slots into kmsgs

  /** The request slot's message (claimed) goes to P's kernel queue, as the client sent it. */
  private queueRequest(l: KernelLane): void {
    const len = l.mem.slotLength(L_REQ);
    const vm = l.server.task.vm;
    const bytes = l.mem.slotBytes(L_REQ, len).slice(0, Math.max(0, Math.min(len, LANE_SLOT_BYTES)));
    const { port: p, reply: r } = l;
    const ok =
      vm instanceof PoolVm
        ? laneMessageOk(bytes, len, vm.owner, (a) => regionOf(vm, a))
        : laneMessageOk(bytes, len, -1, () => undefined);
    if (!ok) {
      // Not a message the client's runtime could have posted: destroyed, as a send would have
      // been refused; its reply right is used up.
      if (r.active) {
        r.sorights++;
        notifySendOnce(r);
      }
      return;
    }
    writeU32(bytes, 4, len);
    if (!p.active) {
      // As if the message had been destroyed with the port: its reply right is used up.
      for (const o of this.oolOf(l, bytes)) o.data.release?.();
      if (r.active) {
        r.sorights++;
        notifySendOnce(r);
      }
      return;
    }
    p.srights++;
    if (r.active) r.sorights++;
    const kmsg: KMsg = {
      bytes,
      dest: p,
      destType: MACH_MSG_TYPE_PORT_SEND,
      reply: r.active ? r : "dead",
      replyType: MACH_MSG_TYPE_PORT_SEND_ONCE,
      rights: [],
      ool: this.oolOf(l, bytes),
      stamp: 0,
    };
    enqueueKmsg(kmsg);
  }

  /**
   * The out-of-line regions of a lane request (pool regions the client tagged as the server's)
   * become the kernel's, as if they had been copied in by a send.
   */
  private oolOf(l: KernelLane, bytes: Uint8Array): OolRegion[] {
    if (!(readU32(bytes, 0) & MACH_MSGH_BITS_COMPLEX)) return [];
    const vm = l.server.task.vm;
    const body = parseBody(bytes, bytes.length);
    if (!body.ok || !(vm instanceof PoolVm)) return [];
    const pool = vm.pool;
    const out: OolRegion[] = [];
    for (const it of body.items) {
      if (it.inline) continue;
      const o = readPointer(bytes, it.dataOffset) - POOL_VM_BASE;
      const view =
        it.byteLength > 0 && pool.ownerOf(o) === vm.owner ? pool.view(o, it.byteLength) : 0;
      // The check and the hand-over are one step under the pool's lock (expected owner).
      if (
        typeof view === "number" ||
        pool.transfer(o, KERNEL_POOL_OWNER, vm.owner) !== KERN_SUCCESS
      ) {
        out.push({ pointerOffset: it.dataOffset, data: { bytes: new Uint8Array(0) } });
        continue;
      }
      out.push({
        pointerOffset: it.dataOffset,
        data: { bytes: view, poolOffset: o, release: () => void pool.free(o, KERNEL_POOL_OWNER) },
      });
    }
    return out;
  }

  /** The reply slot's message (claimed) goes to R's kernel queue. */
  private queueReply(l: KernelLane): void {
    const r = l.reply;
    const len = l.mem.slotLength(L_REP);
    if (!r.active || !laneMessageOk(l.mem.slotBytes(L_REP, len), len, -1, () => undefined)) return;
    const bytes = l.mem.slotBytes(L_REP, len).slice(0, len);
    writeU32(bytes, 4, len);
    // A lane reply carries no rights: whatever its bits say, it arrives simple.
    writeU32(bytes, 0, readU32(bytes, 0) & ~MACH_MSGH_BITS_COMPLEX);
    r.sorights++;
    enqueueKmsg({
      bytes,
      dest: r,
      destType: MACH_MSG_TYPE_PORT_SEND_ONCE,
      reply: null,
      replyType: 0,
      rights: [],
      ool: [],
      stamp: 0,
    });
  }

  /**
   * Closes a slot: a published message is handed to `drain` (or left to its consumer when
   * `drain` is null and `keepFull`); false while the consumer is copying it out.
   */
  private closeSlot(
    l: KernelLane,
    slot: LaneSlot,
    drain: ((l: KernelLane) => void) | null,
    keepFull = false,
  ): boolean {
    const w = l.mem.words;
    for (;;) {
      const s = Atomics.load(w, slot);
      if (s === SLOT_CLOSED) return true;
      if (s === SLOT_BUSY) return false;
      if (s === SLOT_EMPTY) {
        if (Atomics.compareExchange(w, slot, SLOT_EMPTY, SLOT_CLOSED) === SLOT_EMPTY) return true;
        continue;
      }
      if (keepFull) return true;
      if (Atomics.compareExchange(w, slot, SLOT_FULL, SLOT_BUSY) !== SLOT_FULL) continue;
      drain?.(l);
      Atomics.store(w, slot, SLOT_CLOSED);
      return true;
    }
  }

  /**
   * No new lane messages: what the slots hold becomes kernel messages (the request on P's
   * queue, the reply on R's), in the order the lane would have delivered them.
   */
  revoke(l: KernelLane): void {
    const w = l.mem.words;
    if (Atomics.load(w, L_STATE) === LANE_ACTIVE) Atomics.store(w, L_STATE, LANE_REVOKED);
    this.fold(l);
    const req = this.closeSlot(l, L_REQ, (x) => this.queueRequest(x));
    const rep = this.closeSlot(l, L_REP, (x) => this.queueReply(x));
    ringBell(l.client.bell!);
    ringBell(l.server.bell!);
    if (!req || !rep) {
      // A consumer is copying a message out: close the slot once it is done.
      l.retry ??= setTimeout(() => {
        l.retry = null;
        if (Atomics.load(w, L_STATE) === LANE_REVOKED) this.revoke(l);
      }, 0);
      return;
    }
    this.unindex(l);
    this.forgetIfDone(l);
  }

  /** A revoked lane whose server holds no more reply names is gone for good. */
  private forgetIfDone(l: KernelLane): void {
    const w = l.mem.words;
    if (Atomics.load(w, L_STATE) === LANE_ACTIVE || Atomics.load(w, L_OWED) > 0 || l.retry) return;
    this.unindex(l);
    this.lanes.delete(l.id);
    for (const t of [l.client.task, l.server.task]) this.byTask.get(t)?.delete(l);
  }

  /** A task died (its space is already destroyed): settle each lane it took part in. */
  private taskDied(t: Task): void {
    const set = this.byTask.get(t);
    this.byTask.delete(t);
    if (!set) return;
    for (const l of set) {
      const w = l.mem.words;
      if (l.retry) clearTimeout(l.retry);
      l.retry = null;
      Atomics.store(w, L_STATE, LANE_DEAD);
      this.fold(l);
      if (l.server.task === t) {
        // Every reply right the server held dies unused: send-once notifications to R. A
        // request still in the slot (or being copied out) counts as held.
        const req = Atomics.exchange(w, L_REQ, SLOT_CLOSED);
        const n = Atomics.exchange(w, L_OWED, 0) + (req === SLOT_FULL ? 1 : 0);
        for (let i = 0; i < n && l.reply.active; i++) {
          l.reply.sorights++;
          notifySendOnce(l.reply);
        }
        // A reply already published stays for the client to take.
        this.closeSlot(l, L_REP, null, true);
        // Out-of-line regions a client placed for the server while it was dying.
        if (t.vm instanceof PoolVm) t.vm.pool.reclaim(t.vm.owner);
      } else {
        // The client's request (if the server has not taken it) still reaches the server,
        // its reply right now dead; replies not yet taken die with R.
        this.closeSlot(l, L_REQ, (x) => this.queueRequest(x));
        Atomics.store(w, L_REP, SLOT_CLOSED);
      }
      ringBell(l.client.bell!);
      ringBell(l.server.bell!);
      this.unindex(l);
      // A surviving server may still hold reply names: the lane stays for MATERIALIZE (and is
      // settled when the server dies too).
      if (l.server.task === t || Atomics.load(w, L_OWED) <= 0) {
        this.lanes.delete(l.id);
        const other = l.server.task === t ? l.client.task : l.server.task;
        this.byTask.get(other)?.delete(l);
      }
    }
  }
}

/** Dispositions that take a right out of the sender's space. */
function moves(disposition: number): boolean {
  return disposition >= MACH_MSG_TYPE_MOVE_RECEIVE && disposition <= MACH_MSG_TYPE_MOVE_SEND_ONCE;
}

/**
 * The names a system call could take rights away from (null: none; "all": cannot tell).
 * mach_msg: names the message moves (header or body); copies and makes leave the sender's
 * rights as they are. Port operations: the names they take.
 */
function namesTouched(
  op: number,
  a: readonly number[],
  payload: Uint8Array,
): Set<number> | "all" | null {
  switch (op) {
    case SysOp.MACH_MSG: {
      const option = a[0]!;
      if (!(option & MACH_SEND_MSG) || payload.length < 32) return null;
      const bits = readU32(payload, 0);
      let names: Set<number> | null = null;
      const add = (n: number) => (names ??= new Set()).add(n);
      if (moves(bits & 0xff)) add(readU32(payload, 8));
      if (moves((bits >>> 8) & 0xff)) add(readU32(payload, 16));
      if (bits & MACH_MSGH_BITS_COMPLEX) {
        const body = parseBody(payload, Math.min(a[1]!, payload.length));
        if (!body.ok) return null; // refused by the kernel: moves nothing
        for (const it of body.items) {
          if (!MACH_MSG_TYPE_PORT_ANY(it.name) || !moves(it.name)) continue;
          if (!it.inline) return "all";
          for (let i = 0; i < it.number; i++) add(readU32(payload, it.dataOffset + i * 4));
        }
      }
      return names;
    }
    case SysOp.PORT_DEALLOCATE:
    case SysOp.PORT_DESTROY:
    case SysOp.PORT_MOD_REFS:
    case SysOp.PORT_EXTRACT_RIGHT:
    case SysOp.PORT_SET_QLIMIT:
    case SysOp.PORT_MOVE_MEMBER:
      return new Set([a[0]!]);
    case SysOp.PORT_INSERT_RIGHT:
      return new Set([a[0]!, a[1]!]);
    case SysOp.PORT_REQUEST_NOTIFICATION:
      return new Set([a[0]!, a[3]!]);
    default:
      return null;
  }
}

/**
 * Publishes P's kernel queue to a lane's server: its length, and how many of the lane's requests
 * were posted before its head was queued (all of them for a message older than the lane).
 */
function publishHead(l: KernelLane): void {
  const w = l.mem.words;
  const head = l.port.queue[0];
  Atomics.store(w, L_HEAD_POSTED, head?.lanePosted?.get(l.id) ?? 0);
  Atomics.store(w, L_PQ, l.port.queue.length);
}
