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
  let items: BodyItem[] = [];
  const moved: Port[] = [];
  const oolNames = new Map<BodyItem, number[]>();
  if (complex) {
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
  const rights: CarriedRight[] = [];
  const ool: OolRegion[] = [];
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
    const names = oolNames.get(it);
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

/** The receive half: the oldest message of the port (or of any member of the set). */
export function machMsgReceive(
  ctx: MsgContext,
  option: number,
  rcvSize: number,
  rcvName: number,
  timeout: number,
): ReceiveOutcome | Promise<ReceiveOutcome> {
  const { space } = ctx;
  const e = space.active ? space.lookup(rcvName) : undefined;
  let list: ReceiveWaiter[];
  let kick: () => void;
  if (e && e.type & ENTRY_RECEIVE) {
    const port = e.port!;
    if (port.set) return { code: MACH_RCV_IN_SET };
    list = port.receivers;
    kick = () => deliverPort(port);
  } else if (e && e.type & ENTRY_PSET) {
    const set = e.pset!;
    list = set.receivers;
    kick = () => deliverSet(set);
  } else {
    return { code: MACH_RCV_INVALID_NAME };
  }
  let outcome: ReceiveOutcome | null = null;
  let resolveLater: ((o: ReceiveOutcome) => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settle = (o: ReceiveOutcome) => {
    if (outcome) return;
    outcome = o;
    if (timer) clearTimeout(timer);
    ctx.pending.delete(cancel);
    if (resolveLater) resolveLater(o);
  };
  const waiter: ReceiveWaiter = {
    space,
    rcvSize,
    large: (option & MACH_RCV_LARGE) !== 0,
    deliver(kmsg, code, size) {
      if (kmsg) settle({ code: MACH_MSG_SUCCESS, msg: copyoutKmsg(ctx, kmsg) });
      else settle(code === MACH_RCV_TOO_LARGE ? { code, size } : { code });
    },
  };
  const cancel = () => {
    cancelReceiver(list, waiter);
    settle({ code: MACH_RCV_INVALID_NAME });
  };
  list.push(waiter);
  kick();
  if (outcome) return outcome;
  if (option & MACH_RCV_TIMEOUT && timeout === 0) {
    cancelReceiver(list, waiter);
    return { code: MACH_RCV_TIMED_OUT };
  }
  ctx.pending.add(cancel);
  if (option & MACH_RCV_TIMEOUT) {
    timer = setTimeout(() => {
      cancelReceiver(list, waiter);
      settle({ code: MACH_RCV_TIMED_OUT });
    }, timeout);
  }
  return new Promise<ReceiveOutcome>((resolve) => {
    if (outcome) resolve(outcome);
    else resolveLater = resolve;
  });
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
  kmsg.rights = [];
  kmsg.ool = [];
  return bytes;
}

/**
 * mach_msg(msg, option, send_size, rcv_size, rcv_name, timeout, notify): the message buffer is
 * in and out, as in C. Returns the Mach return code.
 */
export async function machMsg(
  ctx: MsgContext,
  buf: Uint8Array,
  option: number,
  sendSize: number,
  rcvSize: number,
  rcvName: number,
  timeout = 0,
): Promise<number> {
  if (option & MACH_SEND_MSG) {
    const s = machMsgSend(ctx, buf, option, sendSize, timeout);
    const code = typeof s === "number" ? s : await s;
    if (code !== MACH_MSG_SUCCESS) return code;
  }
  if (option & MACH_RCV_MSG) {
    if (!Number.isInteger(rcvSize) || rcvSize < 0 || rcvSize > buf.length)
      return MACH_RCV_INVALID_DATA;
    const r = machMsgReceive(ctx, option, rcvSize, rcvName, timeout);
    const o = r instanceof Promise ? await r : r;
    if (o.msg) buf.set(o.msg);
    else if (o.code === MACH_RCV_TOO_LARGE && buf.length >= 8) writeU32(buf, 4, o.size ?? 0);
    return o.code;
  }
  return MACH_MSG_SUCCESS;
}
