// mach_msg: send (copyin of header rights, body port descriptors and out-of-line data, then
// enqueue or block on a full queue), receive (from a port or a port set, with timeouts,
// sequence numbers and MACH_RCV_TOO_LARGE) and the combined send-then-receive.
import {
  MACH_MSG_SUCCESS,
  MACH_RCV_IN_SET,
  MACH_RCV_INVALID_DATA,
  MACH_RCV_INVALID_NAME,
  MACH_RCV_TIMED_OUT,
  MACH_RCV_TOO_LARGE,
  MACH_SEND_INVALID_DATA,
  MACH_SEND_INVALID_DEST,
  MACH_SEND_INVALID_HEADER,
  MACH_SEND_INVALID_MEMORY,
  MACH_SEND_INVALID_REPLY,
  MACH_SEND_INVALID_RIGHT,
  MACH_SEND_INVALID_TYPE,
  MACH_SEND_MSG_TOO_SMALL,
  MACH_SEND_NO_BUFFER,
  MACH_SEND_TIMED_OUT,
} from "./kern-return.js";
import {
  copyinType,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_ANY,
  MACH_MSG_TYPE_PORT_ANY_SEND,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
  MACH_MSGH_BITS_LOCAL,
  MACH_MSGH_BITS_REMOTE,
  MACH_PORT_DEAD,
  MACH_PORT_NULL,
  MACH_RCV_LARGE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
  MACH_SEND_TIMEOUT,
  type PortRightType,
} from "./msg-type.js";
import {
  HDR_ID,
  HDR_LOCAL,
  HDR_REMOTE,
  HDR_SEQNO,
  MACH_MSG_HEADER_SIZE,
  parseBody,
  readPointer,
  readU32,
  writePointer,
  writeU32,
  type BodyItem,
} from "./message.js";
import {
  ENTRY_DEAD,
  ENTRY_PSET,
  ENTRY_RECEIVE,
  type IpcEntry,
  type IpcSpace,
} from "./ipc-space.js";
import type { TaskVm } from "./vm-map.js";
import { PendingCall, type PendingCalls } from "./pending-call.js";
import { Port, type ReceiveWaiter } from "./port.js";
import type { PortSet } from "./port-set.js";
import { CopyinTally, copyinRight, copyoutRight, releaseSend } from "./ipc-right.js";
import type { CarriedPort, CarriedRight, KMsg, OolRegion } from "./kmsg.js";
import {
  cancelReceiver,
  deliverPort,
  deliverSet,
  enqueueKmsg,
  queueFull,
  wakeSender,
} from "./message-queue.js";

/** Largest message accepted (inline bytes); bigger data goes out of line. */
export const MACH_MSG_SIZE_LIMIT = 16 * 1024 * 1024;

/** What a task's mach_msg works against: its own space and memory, and its pending waits. */
export interface MsgContext {
  readonly space: IpcSpace;
  readonly vm: TaskVm;
  /** Every blocked call of the task, cancelled when it dies. */
  readonly pending: PendingCalls;
}

export interface ReceiveOutcome {
  code: number;
  /** The received message (MACH_MSG_SUCCESS). */
  msg?: Uint8Array;
  /** The size of the message that was too large (MACH_RCV_TOO_LARGE). */
  size?: number;
}

type TryResult = number | { full: Port };

const NO_ITEMS: readonly BodyItem[] = [];
const NO_RIGHTS = Object.freeze([]) as unknown as CarriedRight[];
const NO_OOL = Object.freeze([]) as unknown as OolRegion[];
/** One tally serves every send: validation never re-enters itself, and a tally is reset first. */
const sendTally = new CopyinTally();

/**
 * One attempt at a send: validates everything first (header, rights, body, memory) so that a
 * refused message leaves the sender's space untouched, then copies in and enqueues.
 */
function trySend(ctx: MsgContext, buf: Uint8Array, sendSize: number): TryResult {
  if (!Number.isInteger(sendSize) || sendSize < MACH_MSG_HEADER_SIZE || sendSize % 4 !== 0)
    return MACH_SEND_MSG_TOO_SMALL;
  if (sendSize > MACH_MSG_SIZE_LIMIT) return MACH_SEND_NO_BUFFER;
  if (buf.length < sendSize) return MACH_SEND_INVALID_DATA;
  const { space } = ctx;
  const bits = readU32(buf, 0);
  const destDisp = MACH_MSGH_BITS_REMOTE(bits);
  const replyDisp = MACH_MSGH_BITS_LOCAL(bits);
  const destName = readU32(buf, HDR_REMOTE);
  const replyName = readU32(buf, HDR_LOCAL);
  if (!MACH_MSG_TYPE_PORT_ANY_SEND(destDisp)) return MACH_SEND_INVALID_HEADER;
  if (replyDisp === 0 ? replyName !== MACH_PORT_NULL : !MACH_MSG_TYPE_PORT_ANY_SEND(replyDisp))
    return MACH_SEND_INVALID_HEADER;

  const tally = sendTally;
  tally.reset();
  const destEntry = space.lookup(destName);
  if (
    !space.active ||
    !destEntry ||
    destEntry.type & ENTRY_DEAD ||
    !tally.claim(destEntry, destDisp, false)
  )
    return MACH_SEND_INVALID_DEST;
  const dest = destEntry.port!;
  if (!dest.active) return MACH_SEND_INVALID_DEST;
  const destType = copyinType(destDisp);
  if (queueFull(dest, destType)) return { full: dest };

  let replyEntry: IpcEntry | undefined;
  if (replyDisp !== 0 && replyName !== MACH_PORT_NULL && replyName !== MACH_PORT_DEAD) {
    replyEntry = space.lookup(replyName);
    if (!tally.claim(replyEntry, replyDisp, true)) return MACH_SEND_INVALID_REPLY;
  }

  // Body: check every descriptor, right and region before anything moves.
  const complex = (bits & MACH_MSGH_BITS_COMPLEX) !== 0;
  let items: readonly BodyItem[] = NO_ITEMS;
  let oolNames: Map<BodyItem, number[]> | null = null;
  if (complex) {
    const moved: Port[] = [];
    oolNames = new Map();
    const parsed = parseBody(buf, sendSize);
    if (!parsed.ok)
      return parsed.error === "truncated" ? MACH_SEND_MSG_TOO_SMALL : MACH_SEND_INVALID_TYPE;
    items = parsed.items;
    for (const it of items) {
      let names: number[] | null = null;
      if (!it.inline && it.byteLength > 0) {
        const region = ctx.vm.view(readPointer(buf, it.dataOffset), it.byteLength);
        if (!region) return MACH_SEND_INVALID_MEMORY;
        if (MACH_MSG_TYPE_PORT_ANY(it.name)) {
          const dv = new DataView(region.buffer, region.byteOffset, it.byteLength);
          names = Array.from({ length: it.number }, (_, i) => dv.getUint32(i * 4, true));
          oolNames.set(it, names);
        }
      } else if (MACH_MSG_TYPE_PORT_ANY(it.name)) {
        names = Array.from({ length: it.number }, (_, i) => readU32(buf, it.dataOffset + i * 4));
      }
      if (!names) continue;
      for (const n of names) {
        if (n === MACH_PORT_NULL || n === MACH_PORT_DEAD) continue;
        const e = space.lookup(n);
        if (!tally.claim(e, it.name, true)) return MACH_SEND_INVALID_RIGHT;
        if (it.name === MACH_MSG_TYPE_MOVE_RECEIVE) moved.push(e!.port!);
      }
    }
    // A receive right may not travel to itself, nor to a port whose receive right it carries.
    for (const r of moved) {
      for (let d: Port | null = dest; d; d = d.receiver ? null : d.transitDest) {
        if (d === r) return MACH_SEND_INVALID_RIGHT;
      }
    }
  }

  // Commit: nothing below can fail.
  const destPort = copyinRight(space, destEntry, destDisp) as Port;
  let reply: KMsg["reply"] = null;
  let replyType: PortRightType | 0 = 0;
  if (replyDisp !== 0) {
    replyType = copyinType(replyDisp);
    reply =
      replyName === MACH_PORT_DEAD
        ? "dead"
        : replyEntry
          ? copyinRight(space, replyEntry, replyDisp)
          : null;
  }
  // A send-once right moved out of this space took its entry with it: the entry object serves
  // the next right the space gets (an RPC's reply right each round trip), under a fresh name.
  if (destDisp === MACH_MSG_TYPE_MOVE_SEND_ONCE) space.recycleEntry(destEntry);
  if (replyDisp === MACH_MSG_TYPE_MOVE_SEND_ONCE && replyEntry) space.recycleEntry(replyEntry);
  if (!complex) {
    // The in-thread RPC fast path: a simple message to a port whose receiver already waits goes
    // straight into the receiver's buffer (no kernel copy, no queueing), exactly as the queue
    // would have handed it over. Checked after the copyins, whose notifications may have woken
    // that receiver already.
    const w = directReceiver(destPort, sendSize);
    if (w) {
      handOverDirect(w, destPort, destType, reply, replyType, buf, sendSize);
      return MACH_MSG_SUCCESS;
    }
  }
  const bytes = buf.slice(0, sendSize);
  writeU32(bytes, 4, sendSize);
  // A simple message carries nothing: it shares the (frozen) empty lists.
  const rights: CarriedRight[] = complex ? [] : NO_RIGHTS;
  const ool: OolRegion[] = complex ? [] : NO_OOL;
  for (const it of items) {
    const isPort = MACH_MSG_TYPE_PORT_ANY(it.name);
    if (isPort) {
      // The receiver sees the right type, not the sender's disposition.
      const t = copyinType(it.name);
      if (it.longform) new DataView(bytes.buffer).setUint16(it.typeOffset + 4, t, true);
      else bytes[it.typeOffset] = t;
    }
    if (it.inline) {
      if (!isPort) continue;
      for (let i = 0; i < it.number; i++) {
        const off = it.dataOffset + i * 4;
        rights.push({
          offset: off,
          port: carried(ctx.space, readU32(bytes, off), it.name),
          type: copyinType(it.name),
        });
      }
      continue;
    }
    const addr = readPointer(bytes, it.dataOffset);
    if (it.byteLength === 0) {
      ool.push({ pointerOffset: it.dataOffset, data: { bytes: new Uint8Array(0) } });
      continue;
    }
    // takeForSend fails only when shared memory is exhausted: fall back to a private copy.
    const data = ctx.vm.takeForSend(addr, it.byteLength, it.deallocate) ?? {
      bytes: ctx.vm.view(addr, it.byteLength)!.slice(),
    };
    const region: OolRegion = { pointerOffset: it.dataOffset, data };
    const names = oolNames?.get(it);
    if (names)
      region.rights = names.map((n, i) => ({
        offset: i,
        port: carried(ctx.space, n, it.name),
        type: copyinType(it.name),
      }));
    ool.push(region);
  }
  const kmsg: KMsg = { bytes, dest: destPort, destType, reply, replyType, rights, ool, stamp: 0 };
  for (const r of rights)
    if (r.port && r.port !== "dead" && r.type === 16) r.port.transitDest = destPort;
  for (const o of ool)
    for (const r of o.rights ?? [])
      if (r.port && r.port !== "dead" && r.type === 16) r.port.transitDest = destPort;
  enqueueKmsg(kmsg);
  return MACH_MSG_SUCCESS;
}

function carried(space: IpcSpace, name: number, disposition: number): KMsg["reply"] {
  if (name === MACH_PORT_NULL) return null;
  if (name === MACH_PORT_DEAD) return "dead";
  return copyinRight(space, space.lookup(name)!, disposition);
}

/** A send blocked on a full queue: retried when room appears, failed by timeout or death. */
class SendWait extends PendingCall {
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private done = false;
  constructor(
    private readonly ctx: MsgContext,
    private port: Port,
    private readonly saved: Uint8Array,
    private readonly sendSize: number,
    private readonly resolve: (code: number) => void,
  ) {
    super();
  }
  arm(option: number, timeout: number): void {
    this.port.senders.push(this);
    this.ctx.pending.add(this);
    if (option & MACH_SEND_TIMEOUT) {
      this.timer = setTimeout(() => {
        this.leave();
        this.finish(MACH_SEND_TIMED_OUT);
      }, timeout);
    }
  }
  wake(): void {
    if (this.done) return;
    const r = trySend(this.ctx, this.saved, this.sendSize);
    if (typeof r === "number") return this.finish(r);
    this.port = r.full;
    this.port.senders.unshift(this); // keep its place at the head of the line
  }
  cancel(): void {
    this.leave();
    this.finish(MACH_SEND_INVALID_DEST);
  }
  private leave(): void {
    const i = this.port.senders.indexOf(this);
    if (i >= 0) this.port.senders.splice(i, 1);
  }
  private finish(code: number): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.ctx.pending.delete(this);
    this.resolve(code);
  }
}

/** The send half of mach_msg. Blocks (asynchronously) while the destination queue is full. */
export function machMsgSend(
  ctx: MsgContext,
  buf: Uint8Array,
  option: number,
  sendSize: number,
  timeout: number,
): number | Promise<number> {
  const first = trySend(ctx, buf, sendSize);
  if (typeof first === "number") return first;
  if (option & MACH_SEND_TIMEOUT && timeout === 0) return MACH_SEND_TIMED_OUT;
  const saved = buf.slice(0, sendSize); // the caller may reuse its buffer while we wait
  return new Promise<number>((resolve) =>
    new SendWait(ctx, first.full, saved, sendSize, resolve).arm(option, timeout),
  );
}

/**
 * A receive in progress: queued on a port's or a set's receivers until a message (or an error)
 * is handed over, the timeout fires or the task dies. One object per blocked receive; `finish`
 * runs exactly once.
 */
abstract class ReceiveWait extends PendingCall implements ReceiveWaiter {
  space: IpcSpace;
  large: boolean;
  settled = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  constructor(
    public ctx: MsgContext,
    public list: ReceiveWaiter[],
    public rcvSize: number,
    option: number,
  ) {
    super();
    this.space = ctx.space;
    this.large = (option & MACH_RCV_LARGE) !== 0;
  }
  /** The task died while blocked: the receive fails. */
  cancel(): void {
    cancelReceiver(this.list, this);
    this.settle(MACH_RCV_INVALID_NAME, null, 0);
  }
  deliver(kmsg: KMsg | null, code: number, size: number): void {
    if (this.settled) return;
    if (kmsg) this.settle(MACH_MSG_SUCCESS, copyoutKmsg(this.ctx, kmsg), 0);
    else this.settle(code, null, code === MACH_RCV_TOO_LARGE ? size : 0);
  }
  settle(code: number, msg: Uint8Array | null, size: number): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.ctx.pending.delete(this);
    this.finish(code, msg, size);
  }
  protected abstract finish(code: number, msg: Uint8Array | null, size: number): void;
}

/**
 * A receive of an in-thread mach_msg: the message lands straight in the caller's buffer. Its
 * objects are recycled: one that has ended is referenced by no list, timer or task any more.
 */
class BufferReceive extends ReceiveWait {
  /** The code, when the receive ended before anyone waited on it (-1 while pending). */
  code = -1;
  resolve: ((code: number) => void) | null = null;
  constructor(
    ctx: MsgContext,
    list: ReceiveWaiter[],
    public buf: Uint8Array,
    rcvSize: number,
    option: number,
  ) {
    super(ctx, list, rcvSize, option);
  }

  /** A receive object, recycled when one is free. */
  static take(
    ctx: MsgContext,
    list: ReceiveWaiter[],
    buf: Uint8Array,
    rcvSize: number,
    option: number,
  ): BufferReceive {
    const w = freeReceives.pop();
    if (!w) return new BufferReceive(ctx, list, buf, rcvSize, option);
    w.ctx = ctx;
    w.space = ctx.space;
    w.list = list;
    w.buf = buf;
    w.rcvSize = rcvSize;
    w.large = (option & MACH_RCV_LARGE) !== 0;
    w.settled = false;
    w.timer = undefined;
    w.code = -1;
    w.resolve = null;
    return w;
  }

  /** Gives an ended receive back for reuse, dropping what it referenced. */
  recycle(): void {
    if (freeReceives.length >= MAX_FREE_RECEIVES) return;
    this.buf = NO_BUFFER;
    this.list = NO_WAITERS;
    this.resolve = null;
    freeReceives.push(this);
  }

  protected finish(code: number, msg: Uint8Array | null, size: number): void {
    if (msg) this.buf.set(msg);
    else if (code === MACH_RCV_TOO_LARGE && this.buf.length >= 8) writeU32(this.buf, 4, size);
    this.done(code);
  }
  /**
   * Ends a receive whose message (if any) is in `buf`: resolves the caller's promise, or leaves
   * the code for receiveIntoBuffer when it ended before returning.
   */
  done(code: number): void {
    const resolve = this.resolve;
    if (resolve) {
      this.recycle();
      resolve(code);
    } else {
      this.code = code;
    }
  }
}

const MAX_FREE_RECEIVES = 32;
const freeReceives: BufferReceive[] = [];
const NO_BUFFER = new Uint8Array(0);
const NO_WAITERS: ReceiveWaiter[] = [];

// Promise executors that store their resolve function here (one shared closure instead of one
// per blocked call); whoever constructs the promise takes it at once.
let capturedCode: ((code: number) => void) | null = null;
const captureCode = (resolve: (code: number) => void): void => {
  capturedCode = resolve;
};

/** A receive whose message is returned (isolated tasks' system calls). */
class OutcomeReceive extends ReceiveWait {
  outcome: ReceiveOutcome | null = null;
  resolve: ((o: ReceiveOutcome) => void) | null = null;
  protected finish(code: number, msg: Uint8Array | null, size: number): void {
    const o: ReceiveOutcome = msg
      ? { code, msg }
      : code === MACH_RCV_TOO_LARGE
        ? { code, size }
        : { code };
    if (this.resolve) this.resolve(o);
    else this.outcome = o;
  }
}

/** Where a receive on `rcvName` waits: a port (not in a set), a port set, or an error code. */
function receiveSource(ctx: MsgContext, rcvName: number): Port | PortSet | number {
  const { space } = ctx;
  const e = space.active ? space.lookup(rcvName) : undefined;
  if (e && e.type & ENTRY_RECEIVE) {
    const port = e.port!;
    return port.set ? MACH_RCV_IN_SET : port;
  }
  if (e && e.type & ENTRY_PSET) return e.pset!;
  return MACH_RCV_INVALID_NAME;
}

/**
 * Starts a receive: the wait joins its source's receivers and takes a message at once if one is
 * there; else it stays blocked until one arrives, the timeout fires or the task dies.
 */
function startReceive(
  ctx: MsgContext,
  w: ReceiveWait,
  source: Port | PortSet,
  option: number,
  timeout: number,
): void {
  w.list.push(w);
  if (source instanceof Port) deliverPort(source);
  else deliverSet(source);
  if (w.settled) return;
  if (option & MACH_RCV_TIMEOUT && timeout === 0) {
    cancelReceiver(w.list, w);
    w.settle(MACH_RCV_TIMED_OUT, null, 0);
    return;
  }
  ctx.pending.add(w);
  if (option & MACH_RCV_TIMEOUT) {
    w.timer = setTimeout(() => {
      cancelReceiver(w.list, w);
      w.settle(MACH_RCV_TIMED_OUT, null, 0);
    }, timeout);
  }
}

/** The receive half: the oldest message of the port (or of any member of the set). */
export function machMsgReceive(
  ctx: MsgContext,
  option: number,
  rcvSize: number,
  rcvName: number,
  timeout: number,
): ReceiveOutcome | Promise<ReceiveOutcome> {
  const source = receiveSource(ctx, rcvName);
  if (typeof source === "number") return { code: source };
  const w = new OutcomeReceive(ctx, source.receivers, rcvSize, option);
  startReceive(ctx, w, source, option, timeout);
  if (w.outcome) return w.outcome;
  return new Promise<ReceiveOutcome>((resolve) => {
    w.resolve = resolve;
  });
}

/**
 * The receiver a simple message of `size` bytes can be handed to directly: the oldest in-thread
 * receive blocked on `port` (or on its set), when nothing is queued ahead of the message. (A
 * receive blocks on a set only while no member has a message: every enqueue and every join
 * hands messages over to waiting receivers first.)
 */
function directReceiver(port: Port, size: number): BufferReceive | null {
  // Ports that fast lanes watch see every message through enqueueKmsg.
  if (!port.active || port.queue.length !== 0 || port.laneWatch) return null;
  const w = port.set ? port.set.receivers[0] : port.receivers[0];
  return w instanceof BufferReceive && size <= w.rcvSize ? w : null;
}

/**
 * Hands a simple message over to `w` as the queue would: the receiver leaves its list, the
 * message takes the port's sequence number, its rights are copied out into the receiver's
 * space and the receive completes; then a blocked sender may go.
 */
function handOverDirect(
  w: BufferReceive,
  port: Port,
  destType: PortRightType,
  reply: CarriedPort,
  replyType: PortRightType | 0,
  src: Uint8Array,
  size: number,
): void {
  w.list.shift();
  const out = w.buf;
  if (out !== src) {
    // What the copyout leaves as sent: the header's padding words and id, and the body.
    copyWord(out, src, 12);
    copyWord(out, src, 20);
    copyWord(out, src, HDR_ID);
    if (size > MACH_MSG_HEADER_SIZE) copyBytes(out, src, MACH_MSG_HEADER_SIZE, size);
  }
  writeU32(out, 4, size);
  writeU32(out, HDR_SEQNO, port.seqno);
  port.seqno = (port.seqno + 1) >>> 0;
  copyoutHeader(w.space, out, port, destType, reply, replyType, 0);
  w.settled = true;
  if (w.timer) clearTimeout(w.timer);
  w.ctx.pending.delete(w);
  w.done(MACH_MSG_SUCCESS);
  wakeSender(port);
}

function copyWord(out: Uint8Array, src: Uint8Array, at: number): void {
  out[at] = src[at]!;
  out[at + 1] = src[at + 1]!;
  out[at + 2] = src[at + 2]!;
  out[at + 3] = src[at + 3]!;
}

/** Copies bytes [from, to) (4-byte aligned); short runs without a temporary view. */
function copyBytes(out: Uint8Array, src: Uint8Array, from: number, to: number): void {
  if (to - from > 256) {
    out.set(src.subarray(from, to), from);
    return;
  }
  for (let i = from; i < to; i += 4) {
    out[i] = src[i]!;
    out[i + 1] = src[i + 1]!;
    out[i + 2] = src[i + 2]!;
    out[i + 3] = src[i + 3]!;
  }
}

/**
 * Copyout of the header: the destination right is used up, the reply right gets a name in the
 * receiver's space, and bits (keeping `complex`), remote and local are rewritten as the
 * receiver sees them.
 */
function copyoutHeader(
  space: IpcSpace,
  bytes: Uint8Array,
  dest: Port,
  destType: PortRightType,
  reply: CarriedPort,
  replyType: PortRightType | 0,
  complex: number,
): void {
  const destName = dest.receiverEntry?.name ?? MACH_PORT_NULL;
  if (destType === MACH_MSG_TYPE_PORT_SEND) releaseSend(dest);
  else dest.sorights--; // the send-once right is used up by this delivery
  const replyName = replyType ? copyoutRight(space, reply, replyType) : MACH_PORT_NULL;
  writeU32(bytes, 0, MACH_MSGH_BITS(replyType, destType) | complex);
  writeU32(bytes, HDR_REMOTE, replyName);
  writeU32(bytes, HDR_LOCAL, destName);
}

/** Copyout: the message's rights get names in the receiver's space, its regions addresses. */
export function copyoutKmsg(ctx: MsgContext, kmsg: KMsg): Uint8Array {
  const { space } = ctx;
  const bytes = kmsg.bytes;
  const complex = readU32(bytes, 0) & MACH_MSGH_BITS_COMPLEX;
  copyoutHeader(space, bytes, kmsg.dest, kmsg.destType, kmsg.reply, kmsg.replyType, complex);
  for (const r of kmsg.rights) writeU32(bytes, r.offset, copyoutRight(space, r.port, r.type));
  for (const o of kmsg.ool) {
    if (o.data.bytes.length === 0) {
      writePointer(bytes, o.pointerOffset, 0);
      continue;
    }
    if (o.rights) {
      const dv = new DataView(
        o.data.bytes.buffer,
        o.data.bytes.byteOffset,
        o.data.bytes.byteLength,
      );
      for (const r of o.rights)
        dv.setUint32(r.offset * 4, copyoutRight(space, r.port, r.type), true);
    }
    writePointer(bytes, o.pointerOffset, ctx.vm.mapReceived(o.data));
  }
  if (kmsg.rights.length > 0) kmsg.rights = NO_RIGHTS;
  if (kmsg.ool.length > 0) kmsg.ool = NO_OOL;
  return bytes;
}

/** The receive half of an in-thread mach_msg: the message lands straight in `buf`. */
function receiveIntoBuffer(
  ctx: MsgContext,
  buf: Uint8Array,
  option: number,
  rcvSize: number,
  rcvName: number,
  timeout: number,
): Promise<number> {
  if (!Number.isInteger(rcvSize) || rcvSize < 0 || rcvSize > buf.length)
    return Promise.resolve(MACH_RCV_INVALID_DATA);
  const source = receiveSource(ctx, rcvName);
  if (typeof source === "number") return Promise.resolve(source);
  const w = BufferReceive.take(ctx, source.receivers, buf, rcvSize, option);
  startReceive(ctx, w, source, option, timeout);
  if (w.settled) {
    const code = w.code;
    w.recycle();
    return Promise.resolve(code);
  }
  const p = new Promise<number>(captureCode);
  w.resolve = capturedCode;
  capturedCode = null;
  return p;
}

/**
 * mach_msg(msg, option, send_size, rcv_size, rcv_name, timeout, notify): the message buffer is
 * in and out, as in C. Returns the Mach return code. A received message is copied into `buf`
 * as it is handed over, and the promise resolves with the code directly (no intermediate
 * promise per half: this is the in-thread RPC fast path).
 */
export function machMsg(
  ctx: MsgContext,
  buf: Uint8Array,
  option: number,
  sendSize: number,
  rcvSize: number,
  rcvName: number,
  timeout = 0,
): Promise<number> {
  try {
    if (option & MACH_SEND_MSG) {
      const s = machMsgSend(ctx, buf, option, sendSize, timeout);
      if (typeof s !== "number")
        return s.then((code) =>
          code !== MACH_MSG_SUCCESS || !(option & MACH_RCV_MSG)
            ? code
            : receiveIntoBuffer(ctx, buf, option, rcvSize, rcvName, timeout),
        );
      if (s !== MACH_MSG_SUCCESS) return Promise.resolve(s);
    }
    if (option & MACH_RCV_MSG)
      return receiveIntoBuffer(ctx, buf, option, rcvSize, rcvName, timeout);
    return Promise.resolve(MACH_MSG_SUCCESS);
  } catch (e) {
    return Promise.reject(e);
  }
}
