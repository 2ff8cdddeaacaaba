// The isolated task's side of fast RPC lanes: mach_msg takes a lane the kernel granted when the
// message fits it (a client's simple request, a server's simple reply to a lane reply name) and
// the kernel path otherwise, with the same results as the kernel path would give. Receives on
// a port with lanes watch the lane slots and the kernel's queue-length word at once, waiting on
// the task's single doorbell; they never block inside the kernel while a lane may deliver.
import { performance } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";
import {
  KERN_SUCCESS,
  MACH_MSG_SUCCESS,
  MACH_RCV_TIMED_OUT,
  MACH_RCV_TOO_LARGE,
} from "./kern-return.js";
import {
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_ANY,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
  MACH_RCV_LARGE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
} from "./msg-type.js";
import { parseBody, readPointer, readU32, writePointer, writeU32 } from "./message.js";
import type { ShmPool } from "./shm-pool.js";
import { POOL_VM_BASE } from "./pool-vm.js";
import {
  BELL_COUNT,
  BELL_PARKED,
  L_CLIENT_READY,
  L_HEAD_POSTED,
  L_OWED,
  L_PQ,
  L_REQ_WAIT,
  L_TAKEN,
  SLOT_WATCHED,
  L_PSEQ,
  L_PSEQ_INIT,
  L_REP,
  L_REQ,
  L_RQ,
  L_RSEQ,
  L_RSEQ_INIT,
  L_SERVER_OWNER,
  L_SERVER_READY,
  L_STATE,
  LANE_ACTIVE,
  LANE_NAME_BASE,
  LANE_ROLE_CLIENT,
  LANE_ROLE_SERVER,
  LANE_SLOT_BYTES,
  LaneMemory,
  SLOT_CLOSED,
  SLOT_EMPTY,
  SLOT_FULL,
  laneMessageOk,
  ringBell,
  type LaneSlot,
} from "./fast-lane.js";
import { LaneAction } from "./fast-lane-kernel.js";
import { HeldReplyNames } from "./held-reply-names.js";
import { parkAsync } from "./shm-channel.js";
import type { SharedBufferInbox } from "./shared-buffers.js";
import { copyWithinBytes } from "./shared-copy.js";

/** What the runtime needs from the task's system-call layer. */
export interface LaneHost {
  /** mach_msg through the kernel (the ordinary system call). */
  kernelMachMsg(
    buf: Uint8Array,
    option: number,
    sendSize: number,
    rcvSize: number,
    rcvName: number,
    timeout: number,
  ): Promise<number>;
  /** The LANE system call: [lane id, action, name]. */
  laneCall(laneId: number, action: number, name: number): Promise<number>;
}

/**
 * After a failed spin, a lane wait blocks the worker's thread in Atomics.wait for at most this
 * long before it parks asynchronously (a blocked thread wakes faster than an event loop; the
 * bound keeps the worker's timers and messages late by at most this much).
 */
const SYNC_PARK_MS = 1;
/** The shortest spin before blocking, in milliseconds. */
const SPIN_FLOOR_MS = 0.004;
/**
 * A wait that blocked but was rung within this long (ms) teaches the spin budget: the next
 * spins last up to twice that wait. A peer that answers after tens of microseconds of work (a
 * MiB copied) is then met spinning, not woken through a futex, which costs the waker about 40
 * us here; an idle peer still parks after one such spin.
 */
const SPIN_LEARN_MAX_MS = 0.25;

const REQUEST_BITS = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
const REPLY_BITS = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
/** Header bits a received lane request / reply carries (as the kernel's copyout writes them). */
const RECEIVED_REQUEST_BITS = MACH_MSGH_BITS(MACH_MSG_TYPE_PORT_SEND_ONCE, MACH_MSG_TYPE_PORT_SEND);
const RECEIVED_REPLY_BITS = MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND_ONCE);

interface Lane {
  readonly id: number;
  readonly role: typeof LANE_ROLE_CLIENT | typeof LANE_ROLE_SERVER;
  mem: LaneMemory | null;
  peer: Int32Array | null;
  /** Client: N and R. Server: P (in `a`). */
  readonly a: number;
  readonly b: number;
  /** Server: SERVER_READY published. */
  ready: boolean;
}

function validSize(buf: Uint8Array, size: number): boolean {
  return (
    Number.isInteger(size) &&
    size >= 32 &&
    size % 4 === 0 &&
    size <= buf.length &&
    size <= LANE_SLOT_BYTES
  );
}

export class LaneRuntime {
  /** Client lanes by reply port name R. */
  private readonly clients = new Map<number, Lane>();
  /** Server lanes by port name P. */
  private readonly servers = new Map<number, Lane[]>();
  /** Lane reply names the server holds (virtual send-once rights to some client's R). */
  private readonly held = new HeldReplyNames<Lane>();
  /** Per served port: where the next scan of its lanes starts (round-robin). */
  private readonly rotor = new Map<number, number>();
  /** Next sequence number of ports received on (kept for ports that have lanes). */
  private readonly seqs = new Map<number, number>();
  /** Blocking kernel receives outstanding, by name. */
  private readonly kernelRcv = new Map<number, number>();
  /** Kernel-path sends outstanding, by destination name. */
  private readonly kernelSend = new Map<number, number>();
  private readonly spinMax: number;
  private spinBudget: number;
  /**
   * A slot marked watched ahead of the wait for it (armWatch): the words and the slot, or null.
   * Only this task sets and clears the watched words of the slots it consumes.
   */
  private early: Int32Array | null = null;
  private earlySlot = 0;
  /** Atomics.wait is allowed (a worker thread). */
  private readonly canBlock = !isMainThread;
  /** What went where (for tests and diagnostics). */
  readonly stats = {
    requestsSent: 0,
    repliesSent: 0,
    requestsTaken: 0,
    repliesTaken: 0,
    kernelCalls: 0,
    parks: 0,
    blocks: 0,
    spinsPaid: 0,
  };

  constructor(
    private readonly host: LaneHost,
    private readonly bell: Int32Array,
    private readonly buffers: SharedBufferInbox | undefined,
    spinMicros: number,
    /** The shared pool and this task's owner tag there (out-of-line data on lanes). */
    private readonly pool: ShmPool | null = null,
    private readonly owner = 0,
  ) {
    this.spinMax = Math.max(0, spinMicros / 1000);
    this.spinBudget = this.spinMax;
  }

  /** True when some lane exists (mach_msg must look at lanes). */
  get active(): boolean {
    return this.clients.size > 0 || this.servers.size > 0 || this.held.size > 0;
  }

  /** True when one of `names` is a lane reply name this task holds. */
  holdsAny(names: readonly number[]): boolean {
    if (this.held.size === 0) return false;
    for (const n of names) if (this.held.has(n >>> 0)) return true;
    return false;
  }

  /** A message received through the kernel: its port's next sequence number. */
  noteReceived(buf: Uint8Array): void {
    if (buf.length >= 32) this.seqs.set(readU32(buf, 16), (readU32(buf, 24) + 1) >>> 0);
  }

  // ------------------------------------------------------------------ grants

  /** An unsolicited grant record: [lane id, role, lane buffer, peer bell buffer, name, name]. */
  grant(args: readonly number[]): void {
    const [id, role, bufId, bellId, a, b] = args as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (role !== LANE_ROLE_CLIENT && role !== LANE_ROLE_SERVER) return;
    if (!this.buffers) return;
    const lane: Lane = { id, role, mem: null, peer: null, a, b, ready: false };
    if (role === LANE_ROLE_CLIENT) this.clients.set(b, lane);
    else {
      const list = this.servers.get(a) ?? [];
      list.push(lane);
      this.servers.set(a, list);
    }
    void this.attach(lane, bufId, bellId);
  }

  private async attach(lane: Lane, bufId: number, bellId: number): Promise<void> {
    const [buf, bell] = await Promise.all([this.buffers!.get(bufId), this.buffers!.get(bellId)]);
    const mem = buf ? LaneMemory.attach(buf) : null;
    if (!mem || !bell) return this.drop(lane);
    lane.peer = new Int32Array(bell);
    lane.mem = mem;
    const w = mem.words;
    if (lane.role === LANE_ROLE_CLIENT) {
      if (!this.seqs.has(lane.b)) this.seqs.set(lane.b, Atomics.load(w, L_RSEQ_INIT) >>> 0);
      Atomics.store(w, L_CLIENT_READY, 1);
    } else if (!this.seqs.has(lane.a)) {
      this.seqs.set(lane.a, Atomics.load(w, L_PSEQ_INIT) >>> 0);
    }
  }

  private drop(lane: Lane): void {
    if (lane.role === LANE_ROLE_CLIENT) {
      if (this.clients.get(lane.b) === lane) this.clients.delete(lane.b);
      return;
    }
    const list = this.servers.get(lane.a);
    if (!list) return;
    const i = list.indexOf(lane);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.servers.delete(lane.a);
  }

  // ------------------------------------------------------------------ mach_msg

  /** mach_msg for a task with lanes (no extra promise on the lane path). */
  machMsg(
    buf: Uint8Array,
    option: number,
    sendSize: number,
    rcvSize: number,
    rcvName: number,
    timeout: number,
  ): Promise<number> {
    try {
      if (option & MACH_SEND_MSG && !this.trySendOnLane(buf, option, sendSize, rcvName))
        return this.kernelSendThenReceive(buf, option, sendSize, rcvSize, rcvName, timeout);
      return this.receivePart(buf, option, rcvSize, rcvName, timeout);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The receive half, once the send half is done. */
  private receivePart(
    buf: Uint8Array,
    option: number,
    rcvSize: number,
    rcvName: number,
    timeout: number,
  ): Promise<number> {
    if (!(option & MACH_RCV_MSG)) return SUCCEEDED;
    const rcvLanes = this.receiveMode(rcvName);
    if (!rcvLanes) return this.kernel(buf, option & ~MACH_SEND_MSG, 0, rcvSize, rcvName, timeout);
    const deadline =
      option & MACH_RCV_TIMEOUT ? performance.now() + Math.max(0, timeout) : Infinity;
    return this.laneReceive(rcvLanes === "server", buf, option, rcvSize, rcvName, deadline);
  }

  /** A send that takes the kernel path, then the receive half. */
  private async kernelSendThenReceive(
    buf: Uint8Array,
    option: number,
    sendSize: number,
    rcvSize: number,
    rcvName: number,
    timeout: number,
  ): Promise<number> {
    // The kernel path. Counted at once, before any wait: a lane request issued meanwhile to
    // the same destination must not overtake this message.
    const dest = buf.length >= 32 ? readU32(buf, 8) : -1;
    bump(this.kernelSend, dest, 1);
    try {
      await this.prepareKernelSend(buf, sendSize);
      if (!(option & MACH_RCV_MSG) || !this.receiveMode(rcvName))
        return await this.kernel(buf, option, sendSize, rcvSize, rcvName, timeout);
      // The receive half watches the lanes: the send goes alone.
      const code = await this.kernel(buf, option & ~MACH_RCV_MSG, sendSize, 0, 0, timeout);
      if (code !== MACH_MSG_SUCCESS) return code;
    } finally {
      bump(this.kernelSend, dest, -1);
    }
    return this.receivePart(buf, option, rcvSize, rcvName, timeout);
  }

  /** The kernel path, with the bookkeeping lanes need (outstanding calls, sequence numbers). */
  private async kernel(
    buf: Uint8Array,
    option: number,
    sendSize: number,
    rcvSize: number,
    rcvName: number,
    timeout: number,
    poll = false,
  ): Promise<number> {
    const rcv = option & MACH_RCV_MSG && !poll ? rcvName : -1;
    if (rcv >= 0) bump(this.kernelRcv, rcv, 1);
    this.stats.kernelCalls++;
    try {
      const code = await this.host.kernelMachMsg(buf, option, sendSize, rcvSize, rcvName, timeout);
      if (code === MACH_MSG_SUCCESS && option & MACH_RCV_MSG)
        this.seqs.set(readU32(buf, 16), (readU32(buf, 24) + 1) >>> 0);
      return code;
    } finally {
      if (rcv >= 0) bump(this.kernelRcv, rcv, -1);
    }
  }

  /** A receive through the kernel that never blocks (the queue-length word said non-empty). */
  private pollKernel(buf: Uint8Array, option: number, rcvSize: number, name: number) {
    const opt = (option & MACH_RCV_LARGE) | MACH_RCV_MSG | MACH_RCV_TIMEOUT;
    return this.kernel(buf, opt, 0, rcvSize, name, 0, true);
  }

  /** The rest of a receive through the kernel (a blocking one), keeping the deadline. */
  private blockingKernel(
    buf: Uint8Array,
    option: number,
    rcvSize: number,
    name: number,
    deadline: number,
  ): Promise<number> {
    const opt = option & ~MACH_SEND_MSG;
    const left = deadline === Infinity ? 0 : Math.max(0, Math.ceil(deadline - performance.now()));
    return this.kernel(buf, opt, 0, rcvSize, name, left);
  }

  private receiveMode(name: number): "client" | "server" | null {
    if (this.clients.get(name)?.mem) return "client";
    const list = this.servers.get(name);
    if (list) for (const l of list) if (l.mem) return "server";
    return null;
  }

  /** Posts the message on a lane if it has a lane's shape and the lane can take it now. */
  private trySendOnLane(buf: Uint8Array, option: number, size: number, rcvName: number): boolean {
    if (buf.length < 32) return false;
    const bits = readU32(buf, 0);
    if ((bits & ~MACH_MSGH_BITS_COMPLEX) >>> 0 === REQUEST_BITS) {
      if (!(option & MACH_RCV_MSG)) return false;
      const l = this.clients.get(rcvName);
      const mem = l?.mem;
      if (!l || !mem || !validSize(buf, size)) return false;
      if (readU32(buf, 8) !== l.a || readU32(buf, 16) !== rcvName) return false;
      const w = mem.words;
      if (
        Atomics.load(w, L_STATE) !== LANE_ACTIVE ||
        Atomics.load(w, L_SERVER_READY) === 0 ||
        Atomics.load(w, L_PQ) !== 0 ||
        (this.kernelSend.size > 0 && (this.kernelSend.get(l.a) ?? 0) > 0)
      )
        return false;
      // The reply is what this task waits for next: watched from now, the server skips the bell.
      this.armWatch(w, L_REP);
      if (
        !(bits & MACH_MSGH_BITS_COMPLEX
          ? this.postComplex(mem, buf, size)
          : mem.post(L_REQ, buf, size))
      )
        return false;
      this.stats.requestsSent++;
      // A server spinning on the request slot has seen it already (waitBell).
      if (Atomics.load(w, L_REQ + SLOT_WATCHED) === 0) ringBell(l.peer!);
      return true;
    }
    if (bits === REPLY_BITS) {
      const dest = readU32(buf, 8);
      const l = this.held.get(dest);
      const mem = l?.mem;
      if (!l || !mem || readU32(buf, 16) !== 0 || !validSize(buf, size)) return false;
      // FIFO on R: never overtake a reply (or anything) already on R's kernel queue.
      if (Atomics.load(mem.words, L_RQ) !== 0) return false;
      // A server whose next receive is on this lane's port, its only lane, waits for the next
      // request there: watched from now, a client that posts it skips the bell.
      if (option & MACH_RCV_MSG) {
        const list = this.servers.get(rcvName);
        if (list?.length === 1 && list[0] === l) this.armWatch(mem.words, L_REQ);
      }
      if (!mem.post(L_REP, buf, size)) return false;
      this.held.delete(dest);
      this.stats.repliesSent++;
      Atomics.sub(mem.words, L_OWED, 1);
      if (Atomics.load(mem.words, L_REP + SLOT_WATCHED) === 0) ringBell(l.peer!);
      return true;
    }
    return false;
  }

  /**
   * Posts a request with out-of-line data (and no rights in its body): each region is copied
   * into a pool region tagged as the server's (or, sent with deallocate, handed over whole), so
   * the server finds it mapped; false (with nothing changed) when anything does not fit.
   */
  private postComplex(mem: LaneMemory, buf: Uint8Array, size: number): boolean {
    const pool = this.pool;
    const server = Atomics.load(mem.words, L_SERVER_OWNER);
    if (!pool || !this.owner || !server || mem.slotState(L_REQ) !== SLOT_EMPTY) return false;
    const body = parseBody(buf, size);
    if (!body.ok) return false;
    const pointers: number[] = [];
    const undo: (() => void)[] = [];
    const fail = () => {
      for (const u of undo) u();
      return false;
    };
    for (const it of body.items) {
      if (MACH_MSG_TYPE_PORT_ANY(it.name)) return fail();
      if (it.inline) continue;
      if (it.byteLength === 0) {
        pointers.push(it.dataOffset, 0);
        continue;
      }
      const o = readPointer(buf, it.dataOffset) - POOL_VM_BASE;
      if (!(o >= 0) || pool.ownerOf(o) !== this.owner || pool.regionSize(o) < it.byteLength)
        return fail(); // the kernel path reports the bad memory
      // Ownership changes are checked under the pool's lock (expected owner): if the server
      // dies meanwhile, its regions are reclaimed and may already be someone else's.
      if (it.deallocate) {
        if (pool.transfer(o, server, this.owner) !== KERN_SUCCESS) return fail();
        undo.push(() => void pool.transfer(o, this.owner, server));
        pointers.push(it.dataOffset, POOL_VM_BASE + o);
        continue;
      }
      // Copied while still this task's, then handed over: a reclaim of the server's regions
      // cannot free it under the copy.
      const a = pool.allocate(it.byteLength, this.owner);
      if (!a.ok) return fail();
      const b = pool.bytes;
      copyWithinBytes(b, a.offset, o, o + it.byteLength);
      b.fill(0, a.offset + it.byteLength, a.offset + a.size);
      if (pool.transfer(a.offset, server, this.owner) !== KERN_SUCCESS) {
        pool.free(a.offset, this.owner);
        return fail();
      }
      undo.push(() => void pool.free(a.offset, server));
      pointers.push(it.dataOffset, POOL_VM_BASE + a.offset);
    }
    const ok = mem.postWith(L_REQ, size, (dst) => {
      dst.set(buf.subarray(0, size));
      for (let i = 0; i < pointers.length; i += 2)
        writePointer(dst, pointers[i]!, pointers[i + 1]!);
    });
    return ok || fail();
  }

  /**
   * Before a message takes the kernel path: lane reply names it names become real send-once
   * rights, and it waits behind this task's own lane request to the same destination.
   */
  private async prepareKernelSend(buf: Uint8Array, size: number): Promise<void> {
    if (buf.length < 32) return;
    if (this.held.size > 0) {
      const names = [readU32(buf, 8), readU32(buf, 16)];
      if (readU32(buf, 0) & MACH_MSGH_BITS_COMPLEX) {
        const body = parseBody(buf, Math.min(size, buf.length));
        if (body.ok)
          for (const it of body.items)
            if (it.inline && MACH_MSG_TYPE_PORT_ANY(it.name))
              for (let i = 0; i < it.number; i++) names.push(readU32(buf, it.dataOffset + i * 4));
      }
      await this.materialize(names);
    }
    const dest = readU32(buf, 8);
    for (const l of this.clients.values()) {
      const mem = l.mem;
      if (l.a !== dest || !mem || mem.slotState(L_REQ) !== SLOT_FULL) continue;
      // FIFO per sender: the kernel-path message may not overtake the lane request. The server
      // (or the kernel, draining it) rings when the slot empties; a lane closed meanwhile rings
      // too, and each wait is bounded all the same.
      Atomics.add(mem.words, L_REQ_WAIT, 1);
      try {
        while (mem.slotState(L_REQ) === SLOT_FULL) {
          const seen = Atomics.load(this.bell, BELL_COUNT);
          if (mem.slotState(L_REQ) !== SLOT_FULL) break;
          const w = this.waitBell(seen, performance.now() + SLOT_RECHECK_MS, null, 0);
          if (w !== AGAIN) await w;
        }
      } finally {
        Atomics.sub(mem.words, L_REQ_WAIT, 1);
      }
    }
  }

  /** Turns every lane reply name this task holds into a real right (before listing its names). */
  materializeAll(): Promise<void> {
    return this.held.size === 0 ? Promise.resolve() : this.materialize(this.held.keys());
  }

  /** Turns the lane reply names among `names` into real rights (before a kernel call names them). */
  async materialize(names: readonly number[]): Promise<void> {
    for (const n of names) {
      const l = this.held.get(n >>> 0);
      if (!l) continue;
      this.held.delete(n >>> 0);
      await this.host.laneCall(l.id, LaneAction.MATERIALIZE, n >>> 0);
    }
  }

  // ------------------------------------------------------------------ receives
  //
  // A receive runs as steps: each step looks at the lanes and the kernel's queue-length words
  // once and either finishes (a code), asks to look again (AGAIN: the doorbell rang during its
  // spin), or hands back a promise to wait for first (a lane system call, a kernel poll, a
  // park). The steps run synchronously while they can, so a reply caught by the spin costs no
  // async function and no extra promise hop; the first promise moves the rest to receiveSlow.

  /** The receive half on a port with lanes (`server`: this task serves the port). */
  private laneReceive(
    server: boolean,
    buf: Uint8Array,
    option: number,
    rcvSize: number,
    name: number,
    deadline: number,
  ): Promise<number> {
    for (;;) {
      const r = server
        ? this.serverStep(buf, option, rcvSize, name, deadline, false)
        : this.clientStep(buf, option, rcvSize, name, deadline, false);
      if (typeof r === "number") {
        if (r === AGAIN) continue;
        return r === MACH_MSG_SUCCESS ? SUCCEEDED : Promise.resolve(r);
      }
      return this.receiveSlow(r, server, buf, option, rcvSize, name, deadline);
    }
  }

  private async receiveSlow(
    first: Promise<number>,
    server: boolean,
    buf: Uint8Array,
    option: number,
    rcvSize: number,
    name: number,
    deadline: number,
  ): Promise<number> {
    let r = await first;
    for (;;) {
      if (r !== AGAIN && r !== AGAIN_POLL) return r;
      const poll = r === AGAIN_POLL;
      const s = server
        ? this.serverStep(buf, option, rcvSize, name, deadline, poll)
        : this.clientStep(buf, option, rcvSize, name, deadline, poll);
      r = typeof s === "number" ? s : await s;
    }
  }

  /** A kernel poll as a step: a message (or error) finishes the receive, an empty queue not. */
  private pollStep(buf: Uint8Array, option: number, rcvSize: number, name: number) {
    return this.pollKernel(buf, option, rcvSize, name).then(again);
  }

  private serverStep(
    buf: Uint8Array,
    option: number,
    rcvSize: number,
    name: number,
    deadline: number,
    forcePoll: boolean,
  ): number | Promise<number> {
    const seen = Atomics.load(this.bell, BELL_COUNT);
    const list = this.servers.get(name);
    const n = list ? list.length : 0;
    // Order: a lane's request goes before the kernel queue's head only if it was posted before
    // that message was queued (so neither path can starve the other, and what one sender saw
    // happen before another's send is received first). Lanes are looked at round-robin, from
    // the one after the lane served last.
    const start = n > 0 ? (this.rotor.get(name) ?? 0) % n : 0;
    let live = false;
    let queued = 0;
    let watch: Int32Array | null = null;
    let closed: Lane[] | null = null;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const l = list![i]!;
      const mem = l.mem;
      if (!mem) continue;
      const w = mem.words;
      if (!l.ready && !((this.kernelRcv.get(name) ?? 0) > 0)) {
        Atomics.store(w, L_SERVER_READY, 1);
        l.ready = true;
      }
      const st = Atomics.load(w, L_REQ);
      if (st !== SLOT_CLOSED) live = true;
      if (
        st === SLOT_FULL &&
        Atomics.load(w, L_PQ) > 0 &&
        Atomics.load(w, L_TAKEN) + 1 > Atomics.load(w, L_HEAD_POSTED)
      ) {
        // Posted after the head of the kernel queue was queued: that message goes first.
        queued = Math.max(queued, Atomics.load(w, L_PQ));
        continue;
      }
      if (st === SLOT_FULL) {
        const len = mem.slotLength(L_REQ);
        if (len > rcvSize) {
          if (option & MACH_RCV_LARGE) {
            if (buf.length >= 8) writeU32(buf, 4, len);
            return MACH_RCV_TOO_LARGE;
          }
          // The kernel applies MACH_RCV_TOO_LARGE's rules once the message is on its queue.
          return this.host.laneCall(l.id, LaneAction.DRAIN_REQUEST, 0).then(againPoll);
        }
        Atomics.add(w, L_OWED, 1);
        if (mem.claim(L_REQ)) {
          mem.copyOut(L_REQ, buf, len);
          mem.release(L_REQ);
          Atomics.add(w, L_TAKEN, 1);
          if (Atomics.load(w, L_REQ_WAIT) !== 0) ringBell(l.peer!);
          if (!this.requestOk(buf, len)) {
            // Not what a client runtime posts (rights in the body, memory not ours): the
            // kernel destroys it, and its reply right with it (named by a fresh lane name,
            // never held here).
            const reply = this.held.add(l);
            this.held.delete(reply);
            return this.host.laneCall(l.id, LaneAction.DESTROY_REPLY, reply).then(againAny);
          }
          const reply = this.held.add(l);
          this.stats.requestsTaken++;
          this.rotor.set(name, i + 1);
          if (closed) for (const c of closed) this.drop(c);
          const seq = this.seqs.get(name) ?? 0;
          this.seqs.set(name, (seq + 1) >>> 0);
          Atomics.add(w, L_PSEQ, 1);
          writeU32(buf, 0, RECEIVED_REQUEST_BITS | (readU32(buf, 0) & MACH_MSGH_BITS_COMPLEX));
          writeU32(buf, 4, len);
          writeU32(buf, 8, reply);
          writeU32(buf, 16, name);
          writeU32(buf, 24, seq);
          return MACH_MSG_SUCCESS;
        }
        Atomics.sub(w, L_OWED, 1);
      }
      if (st === SLOT_CLOSED) {
        (closed ??= []).push(l);
        continue;
      }
      watch = n === 1 ? w : null;
      queued = Math.max(queued, Atomics.load(w, L_PQ));
    }
    if (closed) for (const c of closed) this.drop(c);
    if (!live) return this.blockingKernel(buf, option, rcvSize, name, deadline);
    if (queued > 0 || forcePoll) return this.pollStep(buf, option, rcvSize, name);
    if (deadline !== Infinity && performance.now() >= deadline) return MACH_RCV_TIMED_OUT;
    return this.waitBell(seen, deadline, watch, L_REQ);
  }

  private clientStep(
    buf: Uint8Array,
    option: number,
    rcvSize: number,
    name: number,
    deadline: number,
    forcePoll: boolean,
  ): number | Promise<number> {
    const seen = Atomics.load(this.bell, BELL_COUNT);
    const l = this.clients.get(name);
    const mem = l?.mem;
    if (!l || !mem) return this.blockingKernel(buf, option, rcvSize, name, deadline);
    const w = mem.words;
    const st = Atomics.load(w, L_REP);
    if (st === SLOT_FULL) {
      const len = mem.slotLength(L_REP);
      if (len > rcvSize || !laneMessageOk(mem.slotBytes(L_REP, len), len, -1, noRegion)) {
        if (len <= LANE_SLOT_BYTES && len > rcvSize && option & MACH_RCV_LARGE) {
          if (buf.length >= 8) writeU32(buf, 4, len);
          return MACH_RCV_TOO_LARGE;
        }
        // The kernel applies MACH_RCV_TOO_LARGE's rules (or drops a malformed reply).
        return this.host.laneCall(l.id, LaneAction.DRAIN_REPLY, 0).then(againPoll);
      }
      if (mem.claim(L_REP)) {
        mem.copyOut(L_REP, buf, len);
        mem.release(L_REP);
        this.stats.repliesTaken++;
        const seq = this.seqs.get(name) ?? 0;
        this.seqs.set(name, (seq + 1) >>> 0);
        Atomics.add(w, L_RSEQ, 1);
        writeU32(buf, 0, RECEIVED_REPLY_BITS);
        writeU32(buf, 4, len);
        writeU32(buf, 8, 0);
        writeU32(buf, 16, name);
        writeU32(buf, 24, seq);
        return MACH_MSG_SUCCESS;
      }
      return AGAIN;
    }
    if (st === SLOT_CLOSED || (st === SLOT_EMPTY && Atomics.load(w, L_STATE) !== LANE_ACTIVE)) {
      // Revoked or dead: whatever the lane held is on R's kernel queue now.
      this.drop(l);
      return this.blockingKernel(buf, option, rcvSize, name, deadline);
    }
    if (Atomics.load(w, L_RQ) > 0 || forcePoll) return this.pollStep(buf, option, rcvSize, name);
    if (deadline !== Infinity && performance.now() >= deadline) return MACH_RCV_TIMED_OUT;
    return this.waitBell(seen, deadline, w, L_REP);
  }

  /** A request copied out of a lane: checked before the server sees it. */
  private requestOk(buf: Uint8Array, len: number): boolean {
    return laneMessageOk(buf, len, this.owner || -1, this.regionOf);
  }

  /** A pool region's owner and size (one function for every request checked). */
  private readonly regionOf = (a: number): { owner: number; size: number } | undefined => {
    const pool = this.pool;
    const o = a - POOL_VM_BASE;
    const owner = pool?.ownerOf(o);
    return owner === undefined ? undefined : { owner, size: pool!.regionSize(o) };
  };

  /**
   * Waits for the doorbell to move past `seen`, or for `watch[index]` (a slot state, or null)
   * to fill: spins while spinning pays (AGAIN when it rang), then blocks briefly, then parks (a
   * promise of AGAIN on the ring or the deadline). With a slot to watch, the spin reads its line
   * too and marks it watched, so that its producer skips the bell: one cache line then crosses
   * between the threads each way instead of three (rpc.null.cross-task about 20% faster). A
   * spin that catches its message keeps the mark (armWatch's, as if set for the next wait): a
   * producer reads the mark just after publishing, and clearing it at once made it ring for
   * nothing on most round trips (about 15% more). Before it sleeps the wait clears the mark
   * and looks at the slot once more: a peer that published without a ring, or has not rung
   * yet, does not cost a sleep.
   */
  private waitBell(
    seen: number,
    deadline: number,
    watch: Int32Array | null,
    index: number,
  ): number | Promise<number> {
    const bell = this.bell;
    const early = this.early;
    // Already marked for this wait (armWatch, or the spin that caught the last message).
    const marked = early !== null;
    if (early !== null) {
      this.early = null;
      if (early !== watch || this.earlySlot !== index) {
        // Marked for a slot this wait does not watch: unmarked, and the slots looked at again
        // (a message posted while it was marked came without a ring).
        Atomics.store(early, this.earlySlot + SLOT_WATCHED, 0);
        return AGAIN;
      }
    }
    // The clock is read only when needed (a deadline, or a spin past its first 64 looks): at
    // about 0.05 us a read, it was a tenth of a null round trip between two spinning tasks.
    let now = deadline === Infinity ? -1 : performance.now();
    const spin = now < 0 ? this.spinBudget : Math.min(this.spinBudget, deadline - now);
    let end = now < 0 ? -1 : now + spin;
    if (spin > 0) {
      let i = 0;
      let rang: boolean;
      if (watch !== null) {
        // Marked watched for the spin: the producer, having published, skips the bell.
        if (!marked) Atomics.store(watch, index + SLOT_WATCHED, 1);
        while (
          Atomics.load(bell, BELL_COUNT) === seen &&
          !moved(watch, index) &&
          (++i & 63 ||
            (end < 0 ? ((end = performance.now() + spin), true) : performance.now() < end))
        );
        if (moved(watch, index)) {
          // Caught: the mark stays (the wait after this message watches the same slot), so a
          // producer that looks at it just after publishing does not ring for nothing.
          this.early = watch;
          this.earlySlot = index;
          rang = true;
        } else {
          // The mark is cleared before anything else; a producer that still saw it set had
          // published before the clear, so the look after it finds the message.
          Atomics.store(watch, index + SLOT_WATCHED, 0);
          rang = Atomics.load(bell, BELL_COUNT) !== seen || moved(watch, index);
        }
      } else {
        while (
          Atomics.load(bell, BELL_COUNT) === seen &&
          (++i & 63 ||
            (end < 0 ? ((end = performance.now() + spin), true) : performance.now() < end))
        );
        rang = Atomics.load(bell, BELL_COUNT) !== seen;
      }
      // Adaptive: doubles after a spin that paid (up to the task's spin, or what a short block
      // taught: SPIN_LEARN_MAX_MS), halves after one that did not, never below the floor (a
      // peer that is running answers within a few microseconds).
      this.spinBudget = rang
        ? Math.min(Math.max(this.spinMax, this.spinBudget), this.spinBudget * 2)
        : Math.max(Math.min(SPIN_FLOOR_MS, this.spinMax), this.spinBudget / 2);
      if (rang) {
        this.stats.spinsPaid++;
        return AGAIN;
      }
    }
    if (watch !== null && Atomics.load(watch, index + SLOT_WATCHED) !== 0) {
      // Still marked (no spin ran to clear it): unmarked before sleeping, then looked at once
      // more, so that a message posted without a ring is not slept through.
      Atomics.store(watch, index + SLOT_WATCHED, 0);
      if (moved(watch, index)) return AGAIN;
    }
    // The wait began when the spin's clock started (learning below counts the spin too).
    const t = performance.now();
    if (now < 0) now = end >= 0 ? end - spin : t;
    const block = Math.min(SYNC_PARK_MS, deadline - t);
    if (this.canBlock && block > 0) {
      this.stats.blocks++;
      Atomics.add(bell, BELL_PARKED, 1);
      const ready = watch !== null && moved(watch, index);
      if (!ready && Atomics.load(bell, BELL_COUNT) === seen)
        Atomics.wait(bell, BELL_COUNT, seen, block);
      Atomics.sub(bell, BELL_PARKED, 1);
      if (ready || Atomics.load(bell, BELL_COUNT) !== seen) {
        const waited = performance.now() - now;
        if (waited < SPIN_LEARN_MAX_MS && this.spinMax > 0)
          this.spinBudget = Math.min(SPIN_LEARN_MAX_MS, Math.max(this.spinBudget, 2 * waited));
        return AGAIN;
      }
    }
    return this.park(seen, deadline);
  }

  /**
   * Marks a slot this task consumes as watched before its wait begins, so that the producer,
   * posting in between, skips the bell. Safe because every wait unmarks before it sleeps and
   * then looks at the slot again (waitBell); a mark left on another slot is cleared at the next
   * wait, which then looks at every slot again first.
   */
  private armWatch(words: Int32Array, slot: LaneSlot): void {
    const prev = this.early;
    if (prev !== null && (prev !== words || this.earlySlot !== slot))
      Atomics.store(prev, this.earlySlot + SLOT_WATCHED, 0);
    Atomics.store(words, slot + SLOT_WATCHED, 1);
    this.early = words;
    this.earlySlot = slot;
  }

  private async park(seen: number, deadline: number): Promise<number> {
    const bell = this.bell;
    this.stats.parks++;
    Atomics.add(bell, BELL_PARKED, 1);
    try {
      if (Atomics.load(bell, BELL_COUNT) !== seen) return AGAIN;
      const left = deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
      if (left > 0) await parkAsync(bell, BELL_COUNT, seen, left);
    } finally {
      Atomics.sub(bell, BELL_PARKED, 1);
    }
    return AGAIN;
  }
}

/** A settled promise is never changed by awaiting it: one serves every successful lane call. */
const SUCCEEDED: Promise<number> = Promise.resolve(MACH_MSG_SUCCESS);

/** The longest a wait for a lane's request slot to empty goes without looking again (ms). */
const SLOT_RECHECK_MS = 20;

/** Receive steps: look again; look again and poll the kernel's queue first. */
const AGAIN = -1;
const AGAIN_POLL = -2;
const again = (r: number): number => (r === MACH_RCV_TIMED_OUT ? AGAIN : r);
const againAny = (): number => AGAIN;
const againPoll = (): number => AGAIN_POLL;
/** A watched slot word that means the receive has something to do. */
const moved = (w: Int32Array, i: number): boolean => {
  const st = Atomics.load(w, i);
  return st === SLOT_FULL || st === SLOT_CLOSED;
};
const noRegion = (): undefined => undefined;

function bump(m: Map<number, number>, k: number, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v <= 0) m.delete(k);
  else m.set(k, v);
}
