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
  HDR_LOCAL,
  HDR_REMOTE,
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
import type { Port, ReceiveWaiter } from "./port.js";
import { CopyinTally, copyinRight, copyoutRight, releaseSend } from "./ipc-right.js";
import type { CarriedRight, KMsg, OolRegion } from "./kmsg.js";
import {
  cancelReceiver,
  deliverPort,
  deliverSet,
  enqueueKmsg,
  queueFull,
} from "./message-queue.js";

/** Largest message accepted (inline bytes); bigger data goes out of line. */
export const MACH_MSG_SIZE_LIMIT = 16 * 1024 * 1024;

/** What a task's mach_msg works against: its own space and memory, and its pending waits. */
export interface MsgContext {
  readonly space: IpcSpace;
  readonly vm: TaskVm;
  /** Cancels every wait of the task (run when it dies). */
  readonly pending: Set<() => void>;
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

  const tally = new CopyinTally();
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
  const bytes = buf.slice(0, sendSize);
  writeU32(bytes, 4, sendSize);
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
  return new Promise<number>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let port = first.full;
    const finish = (code: number) => {
      if (timer) clearTimeout(timer);
      ctx.pending.delete(cancel);
      resolve(code);
    };
    const waiter = {
      wake: () => {
        const r = trySend(ctx, saved, sendSize);
        if (typeof r === "number") return finish(r);
        port = r.full;
        port.senders.unshift(waiter); // keep its place at the head of the line
      },
    };
    const cancel = () => {
      const i = port.senders.indexOf(waiter);
      if (i >= 0) port.senders.splice(i, 1);
      finish(MACH_SEND_INVALID_DEST);
    };
    port.senders.push(waiter);
    ctx.pending.add(cancel);
    if (option & MACH_SEND_TIMEOUT) {
      timer = setTimeout(() => {
        const i = port.senders.indexOf(waiter);
        if (i >= 0) port.senders.splice(i, 1);
        finish(MACH_SEND_TIMED_OUT);
      }, timeout);
    }
  });
}

/** How a receive ends: the copied-out message (success), or an error code and a size. */
type ReceiveDone = (code: number, msg: Uint8Array | null, size: number) => void;

/**
 * A receive in progress: queued on a port's or a set's receivers until a message (or an error)
 * is handed over, the timeout fires or the task dies. One object per blocked receive.
 */
class ReceiveWait implements ReceiveWaiter {
  readonly space: IpcSpace;
  readonly large: boolean;
  settled = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Registered in ctx.pending while blocked: the task's death cancels the receive. */
  readonly cancel = (): void => {
    cancelReceiver(this.list, this);
    this.settle(MACH_RCV_INVALID_NAME, null, 0);
  };
  constructor(
    private readonly ctx: MsgContext,
    private readonly list: ReceiveWaiter[],
    readonly rcvSize: number,
    option: number,
    private readonly done: ReceiveDone,
  ) {
    this.space = ctx.space;
    this.large = (option & MACH_RCV_LARGE) !== 0;
  }
  deliver(kmsg: KMsg | null, code: number, size: number): void {
    if (kmsg) this.settle(MACH_MSG_SUCCESS, copyoutKmsg(this.ctx, kmsg), 0);
    else this.settle(code, null, code === MACH_RCV_TOO_LARGE ? size : 0);
  }
  settle(code: number, msg: Uint8Array | null, size: number): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.ctx.pending.delete(this.cancel);
    this.done(code, msg, size);
  }
}

/**
 * Starts a receive; `done` runs exactly once, synchronously if a message (or an error) is
 * there at once, else when one arrives, the timeout fires or the task dies.
 */
function receive(
  ctx: MsgContext,
  option: number,
  rcvSize: number,
  rcvName: number,
  timeout: number,
  done: ReceiveDone,
): void {
  const { space } = ctx;
  const e = space.active ? space.lookup(rcvName) : undefined;
  let port: Port | null = null;
  let list: ReceiveWaiter[];
  if (e && e.type & ENTRY_RECEIVE) {
    port = e.port!;
    if (port.set) return done(MACH_RCV_IN_SET, null, 0);
    list = port.receivers;
  } else if (e && e.type & ENTRY_PSET) {
    list = e.pset!.receivers;
  } else {
    return done(MACH_RCV_INVALID_NAME, null, 0);
  }
  const w = new ReceiveWait(ctx, list, rcvSize, option, done);
  list.push(w);
  if (port) deliverPort(port);
  else deliverSet(e.pset!);
  if (w.settled) return;
  if (option & MACH_RCV_TIMEOUT && timeout === 0) {
    cancelReceiver(list, w);
    w.settled = true;
    return done(MACH_RCV_TIMED_OUT, null, 0);
  }
  ctx.pending.add(w.cancel);
  if (option & MACH_RCV_TIMEOUT) {
    w.timer = setTimeout(() => {
      cancelReceiver(list, w);
      w.settle(MACH_RCV_TIMED_OUT, null, 0);
    }, timeout);
  }
}

function outcomeOf(code: number, msg: Uint8Array | null, size: number): ReceiveOutcome {
  if (msg) return { code, msg };
  return code === MACH_RCV_TOO_LARGE ? { code, size } : { code };
}

/** The receive half: the oldest message of the port (or of any member of the set). */
export function machMsgReceive(
  ctx: MsgContext,
  option: number,
  rcvSize: number,
  rcvName: number,
  timeout: number,
): ReceiveOutcome | Promise<ReceiveOutcome> {
  let now: ReceiveOutcome | null = null;
  let later: ((o: ReceiveOutcome) => void) | null = null;
  receive(ctx, option, rcvSize, rcvName, timeout, (code, msg, size) => {
    const o = outcomeOf(code, msg, size);
    if (later) later(o);
    else now = o;
  });
  if (now) return now;
  return new Promise<ReceiveOutcome>((resolve) => (later = resolve));
}

/** Copyout: the message's rights get names in the receiver's space, its regions addresses. */
export function copyoutKmsg(ctx: MsgContext, kmsg: KMsg): Uint8Array {
  const { space } = ctx;
  const bytes = kmsg.bytes;
  const dest = kmsg.dest;
  const destName = dest.receiverEntry?.name ?? MACH_PORT_NULL;
  if (kmsg.destType === MACH_MSG_TYPE_PORT_SEND) releaseSend(dest);
  else dest.sorights--; // the send-once right is used up by this delivery
  const replyName = kmsg.replyType
    ? copyoutRight(space, kmsg.reply, kmsg.replyType)
    : MACH_PORT_NULL;
  const oldBits = readU32(bytes, 0);
  writeU32(
    bytes,
    0,
    MACH_MSGH_BITS(kmsg.replyType, kmsg.destType) | (oldBits & MACH_MSGH_BITS_COMPLEX),
  );
  writeU32(bytes, HDR_REMOTE, replyName);
  writeU32(bytes, HDR_LOCAL, destName);
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
  let now = -1;
  let later: ((code: number) => void) | null = null;
  receive(ctx, option, rcvSize, rcvName, timeout, (code, msg, size) => {
    if (msg) buf.set(msg);
    else if (code === MACH_RCV_TOO_LARGE && buf.length >= 8) writeU32(buf, 4, size);
    if (later) later(code);
    else now = code;
  });
  if (now !== -1) return Promise.resolve(now);
  return new Promise<number>((resolve) => (later = resolve));
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
