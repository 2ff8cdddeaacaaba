// The server side of MIG subsystems: a demux that TypeChecks each request as GNU MIG's server
// stubs do (MIG_BAD_ARGUMENTS, MIG_BAD_ID), calls the implementation and sends the reply, with
// deferred replies (MIG_NO_REPLY) for routines that take their reply port (sreplyport).
import {
  KERN_SUCCESS,
  MACH_MSG_SUCCESS,
  MACH_RCV_IN_PROGRESS,
  MACH_RCV_TOO_LARGE,
  MACH_SEND_IN_PROGRESS,
  MACH_SEND_INVALID_DEST,
  MIG_BAD_ARGUMENTS,
  MIG_BAD_ID,
  MIG_NO_REPLY,
  MIG_REMOTE_ERROR,
  type kern_return_t,
} from "../kern-return.js";
import {
  parseBody,
  readHeader,
  readPointer,
  writeHeader,
  writeU32,
  type MachMsgHeader,
} from "../message.js";
import {
  MACH_MSG_TYPE_PORT_ANY,
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
  MACH_MSGH_BITS_REMOTE,
  MACH_PORT_NULL,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
} from "../msg-type.js";
import type { TaskApi } from "../task-api.js";
import { forgetRegion, lendRegion, mig_deallocate, oolDelivery } from "./ool-delivery.js";
import {
  decodeFields,
  fieldWireSize,
  needsComplex,
  serializeField,
  writeFields,
  type MigValues,
  type SerializedField,
} from "./codec.js";
import { MIG_REPLY_HEADER_SIZE } from "./client.js";
import { destroyMessage } from "./destroy.js";
import type { SendOnceRight } from "./rights.js";
import type { MigMessageSpec, MigRoutineSpec, MigSubsystemSpec } from "./spec.js";
import { copyBytes } from "../shared-copy.js";

export type MaybePromise<T> = T | Promise<T>;

/**
 * The reply of a routine whose handler takes its reply port (sreplyport): the handler may answer
 * now (return its out arguments) or later (return MIG_NO_REPLY, then call send or fail once).
 */
export interface MigReply<T> {
  /** The send-once right the reply goes to. */
  readonly port: SendOnceRight;
  /** Sends the out arguments; returns mach_msg's code. */
  send(value: T): Promise<kern_return_t>;
  /** Sends an error reply carrying `code`. */
  fail(code: kern_return_t): Promise<kern_return_t>;
}

/** What a request carries besides its arguments. */
export interface MigRequestInfo {
  readonly task: TaskApi;
  readonly header: Readonly<MachMsgHeader>;
}

/** One routine of a subsystem as the dispatcher calls it (generated code builds these). */
export interface MigServerRoutine {
  readonly spec: MigRoutineSpec;
  /** Calls the implementation with decoded arguments; returns out arguments or a return code. */
  readonly invoke: (
    args: MigValues,
    info: MigRequestInfo,
  ) => MaybePromise<MigValues | kern_return_t>;
}

/** A subsystem's server: its id range and routines by slot (undefined for a skipped slot). */
export interface MigSubsystemServer {
  readonly subsystem: MigSubsystemSpec;
  readonly routines: readonly (MigServerRoutine | undefined)[];
}

/** A reply ready to go: its first `size` bytes of `buf`, and regions to free once it is sent. */
interface EncodedReply {
  readonly buf: Uint8Array;
  readonly size: number;
  readonly temps: readonly number[];
}

/**
 * What handling one request produced: the routine's code, the reply still to send, and whether
 * the routine refused the request (returned an error), so that what it carries is destroyed.
 */
interface Handled {
  readonly code: kern_return_t;
  readonly reply: EncodedReply | null;
  readonly refused?: true;
}

const NO_TEMPS: readonly number[] = [];
const RETCODE_TYPE = 0x10012002; // INTEGER_32, 32 bits, 1, inline

function isPromiseLike<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** The reply header and RetCode (mig_reply_header_t) for request `req`, written into `buf`. */
function writeReplyHeader(
  buf: Uint8Array,
  req: MachMsgHeader,
  size: number,
  complex: number,
  code: kern_return_t,
): void {
  writeHeader(buf, {
    bits: (MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(req.bits), 0) | complex) >>> 0,
    size,
    remote: req.remote,
    local: MACH_PORT_NULL,
    seqno: 0,
    id: req.id + 100,
  });
  writeU32(buf, 32, RETCODE_TYPE);
  writeU32(buf, 36, code >>> 0);
}

function errorReply(req: MachMsgHeader, code: kern_return_t, into?: Uint8Array): EncodedReply {
  const buf =
    into && into.length >= MIG_REPLY_HEADER_SIZE ? into : new Uint8Array(MIG_REPLY_HEADER_SIZE);
  writeReplyHeader(buf, req, MIG_REPLY_HEADER_SIZE, 0, code);
  return { buf, size: MIG_REPLY_HEADER_SIZE, temps: NO_TEMPS };
}

/**
 * Encodes a routine's reply, into `into` when it is large enough. Synchronous unless the reply
 * carries out-of-line data (which needs vm_allocate); a field that cannot be encoded gives its
 * error code.
 */
function encodeReply(
  task: TaskApi,
  spec: MigRoutineSpec,
  req: MachMsgHeader,
  values: MigValues,
  into?: Uint8Array,
): MaybePromise<EncodedReply | kern_return_t> {
  const reply = spec.reply!;
  const fields = reply.fields;
  // RetCode alone (fields[0]): nothing to serialize, so nothing allocated.
  const serialized: SerializedField[] = fields.length > 1 ? [] : NO_SERIALIZED;
  let size = MIG_REPLY_HEADER_SIZE;
  let ool = false;
  let moved: Map<SerializedField, number> | undefined;
  for (let i = 1; i < fields.length; i++) {
    const f = fields[i]!;
    const v = values[f.name];
    const region = f.dealloc ? ownRegion(task, v) : undefined;
    const s = serializeField(f, v, region === undefined);
    if (typeof s === "number") {
      if (moved) void freeRegions(task, moved.values());
      if (region !== undefined) void task.vm_deallocate(region);
      return s;
    }
    serialized.push(s);
    size += fieldWireSize(s);
    if (!s.inline && s.data.length > 0) ool = true;
    if (region !== undefined) (moved ??= new Map()).set(s, region);
  }
  if (ool) return encodeOolReply(task, reply, req, serialized, size, moved);
  const buf = into && into.length >= size ? into : new Uint8Array(size);
  const complex = needsComplex(reply, serialized) ? MACH_MSGH_BITS_COMPLEX : 0;
  writeReplyHeader(buf, req, size, complex, KERN_SUCCESS);
  if (serialized.length > 0) writeFields(buf, serialized, NO_OOL, MIG_REPLY_HEADER_SIZE);
  // Sent in-line after all (copied into the message just now): the regions go back.
  if (moved) void freeRegions(task, moved.values());
  return { buf, size, temps: NO_TEMPS };
}

const NO_OOL: ReadonlyMap<SerializedField, number> = new Map();
const NO_SERIALIZED = Object.freeze([]) as unknown as SerializedField[];

/**
 * A `dealloc` out-of-line value that starts a region of the server's own memory (vm_allocate'd,
 * filled in place): its address. The reply then carries that region itself, moved to the
 * receiver as C MIG's dealloc does, with no copy; the handler has given it up.
 */
function ownRegion(task: TaskApi, v: unknown): number | undefined {
  if (!(v instanceof Uint8Array) || v.length === 0) return undefined;
  const address = task.vm_address?.(v);
  // A mapped request array sent back this way leaves the task: no give-back may follow.
  if (address !== undefined) forgetRegion(v);
  return address;
}

async function freeRegions(task: TaskApi, addresses: Iterable<number>): Promise<void> {
  for (const a of addresses) await task.vm_deallocate(a);
}

/**
 * encodeReply's out-of-line case: each region is copied into fresh task memory first, except
 * the handler's own regions in `moved`, which go as they are.
 */
async function encodeOolReply(
  task: TaskApi,
  reply: MigMessageSpec,
  req: MachMsgHeader,
  serialized: readonly SerializedField[],
  size: number,
  moved?: ReadonlyMap<SerializedField, number>,
): Promise<EncodedReply | kern_return_t> {
  const ool = new Map<SerializedField, number>(moved);
  const temps: number[] = [];
  for (const s of serialized) {
    if (s.inline || s.data.length === 0 || ool.has(s)) continue;
    const r = await task.vm_allocate(s.data.length);
    if (r.kr !== KERN_SUCCESS) {
      for (const t of temps) await task.vm_deallocate(t);
      if (moved) await freeRegions(task, moved.values());
      return r.kr;
    }
    copyBytes(task.vm_region(r.address)!, s.data);
    ool.set(s, r.address);
    if (!s.field.dealloc) temps.push(r.address);
  }
  const buf = new Uint8Array(size);
  const complex = needsComplex(reply, serialized) ? MACH_MSGH_BITS_COMPLEX : 0;
  writeReplyHeader(buf, req, size, complex, KERN_SUCCESS);
  writeFields(buf, serialized, ool, MIG_REPLY_HEADER_SIZE);
  // A moved region whose field went in-line was copied into the message: it goes back now.
  if (moved) for (const [s, a] of moved) if (s.inline) await task.vm_deallocate(a);
  return { buf, size, temps };
}

/** Sends a reply; on failure destroys what it would have moved (as mach_msg_server does). */
async function sendReply(task: TaskApi, r: EncodedReply): Promise<kern_return_t> {
  const kr = await task.mach_msg(r.buf, MACH_SEND_MSG, r.size, 0, MACH_PORT_NULL);
  await afterSend(task, r, kr);
  return kr;
}

/** What follows a reply's send: its regions are freed, or on failure its contents destroyed. */
async function afterSend(task: TaskApi, r: EncodedReply, kr: kern_return_t): Promise<void> {
  if (kr !== MACH_MSG_SUCCESS) await destroyMessage(task, r.buf, { header: false });
  else for (const t of r.temps) await task.vm_deallocate(t);
}

/**
 * The reply port of one request as the handler sees it (MigReply): the reply goes out once, now
 * (the dispatcher sends what the handler returns) or later (the handler returned MIG_NO_REPLY).
 */
class RequestReply implements MigReply<MigValues> {
  replied = false;
  constructor(
    private readonly task: TaskApi,
    private readonly spec: MigRoutineSpec,
    private readonly req: MachMsgHeader,
    readonly port: SendOnceRight,
  ) {}
  async send(value: MigValues): Promise<kern_return_t> {
    if (this.replied) return MACH_SEND_INVALID_DEST;
    this.replied = true;
    const enc = await encodeReply(this.task, this.spec, this.req, value);
    return sendReply(this.task, typeof enc === "number" ? errorReply(this.req, enc) : enc);
  }
  async fail(code: kern_return_t): Promise<kern_return_t> {
    if (this.replied) return MACH_SEND_INVALID_DEST;
    this.replied = true;
    return sendReply(this.task, errorReply(this.req, code));
  }
}

/**
 * Serves the routines of one or more subsystems (MIG's demux, `device_server` and friends):
 * `dispatch` handles one received request and sends its reply.
 */
export class MigDemux {
  private readonly servers: readonly MigSubsystemServer[];
  /** Largest request any routine accepts in-line, for receive buffers. */
  readonly maxRequestSize: number;

  constructor(...servers: MigSubsystemServer[]) {
    this.servers = servers;
    let max = MIG_REPLY_HEADER_SIZE;
    for (const s of servers)
      for (const r of s.routines) if (r) max = Math.max(max, r.spec.request.maxSize);
    this.maxRequestSize = max;
  }

  private find(id: number): MigServerRoutine | undefined {
    for (const s of this.servers) {
      if (id >= s.subsystem.base && id < s.subsystem.end) return s.routines[id - s.subsystem.base];
    }
    return undefined;
  }

  /**
   * Handles one request received by `task`. Returns the code the routine produced (what GNU MIG
   * stores in the reply's RetCode): MIG_BAD_ID, MIG_BAD_ARGUMENTS, MIG_NO_REPLY, or the
   * implementation's. The request's rights are destroyed when it is refused.
   */
  async dispatch(task: TaskApi, msg: Uint8Array): Promise<kern_return_t> {
    const h = await this.handle(task, msg);
    if (h.reply) await sendReply(task, h.reply);
    return h.code;
  }

  /**
   * Handles one request up to its reply, which is returned, not sent (mach_msg_server sends it
   * with its next receive, as GNU's does). The reply is encoded into `replyBuf` when it fits.
   * Synchronous when the handler is and nothing goes out of line.
   */
  handle(task: TaskApi, msg: Uint8Array, replyBuf?: Uint8Array): MaybePromise<Handled> {
    const h = readHeader(msg);
    const routine = this.find(h.id);
    if (!routine) return refuse(task, msg, h, MIG_BAD_ID);
    const spec = routine.spec;
    const complexBit = (h.bits & MACH_MSGH_BITS_COMPLEX) !== 0;
    const size = Math.min(h.size, msg.length);
    if (
      (spec.request.complex === "yes" && !complexBit) ||
      (spec.request.complex === "no" && complexBit) ||
      h.size > msg.length
    ) {
      return refuse(task, msg, h, MIG_BAD_ARGUMENTS);
    }
    let d: ReturnType<typeof decodeFields>;
    // With "map" delivery the handler gets its out-of-line arrays as the received regions and
    // gives them back itself (mig_deallocate), as a C server does with what MIG hands it.
    const map = oolDelivery(task) === "map";
    try {
      d = decodeFields(msg, size, spec.request.fields, regionOf(task), undefined, undefined, map);
    } catch {
      d = { ok: false, tooLarge: false };
    }
    if (!d.ok) return refuse(task, msg, h, MIG_BAD_ARGUMENTS);
    const lent = d.mapped;
    if (lent) for (const [view, address] of lent) lendRegion(task, view, address);
    if (d.oolAddresses.length === 0) {
      const handled = invokeRoutine(task, routine, h, d.values, replyBuf);
      if (isPromiseLike(handled))
        return handled.then((hd) => settle(task, msg, NO_TEMPS, lent, hd));
      return settle(task, msg, NO_TEMPS, lent, handled);
    }
    // The routine has copies: data regions go back before it runs; regions of port names stay
    // until it is done, where a refusal reads the rights to release from them.
    const values = d.values;
    const holding = rightRegions(msg, size);
    const early = d.oolAddresses.filter((a) => !holding.has(a));
    const late = d.oolAddresses.filter((a) => holding.has(a));
    return (async () => {
      for (const a of early) await task.vm_deallocate(a);
      return settle(task, msg, late, lent, await invokeRoutine(task, routine, h, values, replyBuf));
    })();
  }
}

/** The addresses of a request's out-of-line arrays of ports. */
function rightRegions(msg: Uint8Array, size: number): ReadonlySet<number> {
  const parsed = parseBody(msg, size);
  const out = new Set<number>();
  if (!parsed.ok) return out;
  for (const it of parsed.items)
    if (!it.inline && MACH_MSG_TYPE_PORT_ANY(it.name)) out.add(readPointer(msg, it.dataOffset));
  return out;
}

/**
 * What follows a routine, as GNU's mach_msg_server does it: a request the routine refused (it
 * returned an error, not MIG_NO_REPLY) still owns what it carried, so its rights are released
 * and its out-of-line memory freed, lent regions included unless the routine gave them back.
 * `ool` (regions of port names the decode copied) is freed either way. The reply right stays.
 */
function settle(
  task: TaskApi,
  msg: Uint8Array,
  ool: readonly number[],
  lent: ReadonlyMap<Uint8Array, number> | undefined,
  hd: Handled,
): MaybePromise<Handled> {
  if (!hd.refused && ool.length === 0) return hd;
  return (async () => {
    if (hd.refused) await destroyMessage(task, msg, { header: false, memory: false });
    for (const a of ool) await task.vm_deallocate(a);
    if (hd.refused && lent) for (const view of lent.keys()) await mig_deallocate(task, view);
    return hd;
  })();
}

/** The region reader decodeFields needs, over a task's out-of-line memory. */
function regionOf(task: TaskApi): (addr: number, length: number) => Uint8Array | undefined {
  return (addr, length) => {
    const reg = task.vm_region(addr);
    return reg && reg.length >= length ? reg.subarray(0, length) : undefined;
  };
}

/** A refused request: its rights are destroyed and an error reply goes back if one can. */
async function refuse(
  task: TaskApi,
  msg: Uint8Array,
  h: MachMsgHeader,
  code: kern_return_t,
): Promise<Handled> {
  await destroyMessage(task, msg, { header: false });
  return { code, reply: h.remote !== MACH_PORT_NULL ? errorReply(h, code) : null };
}

/** Calls the implementation with the decoded arguments; the reply follows from its result. */
function invokeRoutine(
  task: TaskApi,
  routine: MigServerRoutine,
  h: MachMsgHeader,
  args: MigValues,
  replyBuf: Uint8Array | undefined,
): MaybePromise<Handled> {
  const spec = routine.spec;
  args["@request"] = h.local;
  args["@seqno"] = h.seqno;
  const replyTo = h.remote;
  const reply =
    spec.reply && replyTo !== MACH_PORT_NULL
      ? new RequestReply(task, spec, h, replyTo as SendOnceRight)
      : undefined;
  if (reply) args["@reply"] = reply;
  let result: MaybePromise<MigValues | kern_return_t>;
  try {
    result = routine.invoke(args, { task, header: h });
  } catch {
    // A handler that throws is a server bug: the client gets an error, the server goes on.
    result = MIG_REMOTE_ERROR;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (r) => afterInvoke(task, spec, h, reply, r, replyBuf),
      () => afterInvoke(task, spec, h, reply, MIG_REMOTE_ERROR, replyBuf),
    );
  }
  return afterInvoke(task, spec, h, reply, result, replyBuf);
}

/** The reply a handler's result calls for (none if it deferred it or already replied). */
function afterInvoke(
  task: TaskApi,
  spec: MigRoutineSpec,
  h: MachMsgHeader,
  reply: RequestReply | undefined,
  result: MigValues | kern_return_t,
  replyBuf: Uint8Array | undefined,
): MaybePromise<Handled> {
  if (result === MIG_NO_REPLY) return { code: MIG_NO_REPLY, reply: null };
  const code = typeof result === "number" ? result : KERN_SUCCESS;
  if (!reply) {
    const done: Handled =
      code === KERN_SUCCESS ? { code, reply: null } : { code, reply: null, refused: true };
    // A simpleroutine sent with a reply right anyway: nobody will answer it, so release it.
    if (!spec.reply && h.remote !== MACH_PORT_NULL)
      return task.mach_port_deallocate(h.remote).then(() => done);
    return done;
  }
  // The handler answered through its reply port already: what the request carried is its own.
  if (reply.replied)
    return {
      code:
        typeof result === "number" && (result !== KERN_SUCCESS || spec.reply!.fields.length > 1)
          ? result
          : KERN_SUCCESS,
      reply: null,
    };
  reply.replied = true;
  if (typeof result === "number" && (result !== KERN_SUCCESS || spec.reply!.fields.length > 1)) {
    const failed = errorReply(h, result === KERN_SUCCESS ? MIG_BAD_ARGUMENTS : result, replyBuf);
    return result === KERN_SUCCESS
      ? { code: result, reply: failed }
      : { code: result, reply: failed, refused: true };
  }
  const enc = encodeReply(task, spec, h, typeof result === "number" ? NO_VALUES : result, replyBuf);
  if (isPromiseLike(enc)) return enc.then((e) => encoded(h, e, replyBuf));
  return encoded(h, enc, replyBuf);
}

/** No out arguments (a routine whose handler returned just KERN_SUCCESS). */
const NO_VALUES: MigValues = Object.freeze({});

/** The outcome of a successful routine: its encoded reply, or an error reply if encoding failed. */
function encoded(
  h: MachMsgHeader,
  e: EncodedReply | kern_return_t,
  replyBuf: Uint8Array | undefined,
): Handled {
  return { code: KERN_SUCCESS, reply: typeof e === "number" ? errorReply(h, e, replyBuf) : e };
}

/** Whether a combined send-and-receive failed in its send half (MACH_SEND_*). */
function isSendError(kr: kern_return_t): boolean {
  return kr >= MACH_SEND_IN_PROGRESS && kr < MACH_RCV_IN_PROGRESS;
}

/** mach_msg_server: receives on `port` (a receive right or a port set) and dispatches until the
 * port goes away; returns the receive error that ended the loop. As GNU's, it sends each reply
 * and receives the next request in one mach_msg, and reuses its two buffers. */
export async function mach_msg_server(
  task: TaskApi,
  demux: MigDemux,
  port: number,
  options: { readonly bufferSize?: number } = {},
): Promise<kern_return_t> {
  const size = Math.max(options.bufferSize ?? 0, demux.maxRequestSize, 8192);
  let req = new Uint8Array(size);
  let spare = new Uint8Array(size);
  let kr = await task.mach_msg(req, MACH_RCV_MSG, 0, size, port);
  for (;;) {
    if (kr === MACH_RCV_TOO_LARGE) {
      kr = await task.mach_msg(req, MACH_RCV_MSG, 0, size, port);
      continue;
    }
    if (kr !== MACH_MSG_SUCCESS) return kr;
    const handled = demux.handle(task, req, spare);
    const { reply } = isPromiseLike(handled) ? await handled : handled;
    if (!reply) {
      kr = await task.mach_msg(req, MACH_RCV_MSG, 0, size, port);
      continue;
    }
    if (reply.temps.length > 0 || reply.size > size) {
      await sendReply(task, reply);
      kr = await task.mach_msg(req, MACH_RCV_MSG, 0, size, port);
      continue;
    }
    if (reply.buf !== spare) spare.set(reply.buf.subarray(0, reply.size));
    kr = await task.mach_msg(spare, MACH_SEND_MSG | MACH_RCV_MSG, reply.size, size, port);
    if (isSendError(kr)) {
      // The reply could not go: destroy what it carries, then receive as usual.
      await destroyMessage(task, spare, { header: false });
      kr = await task.mach_msg(req, MACH_RCV_MSG, 0, size, port);
      continue;
    }
    // The next request (or a receive error) is in `spare`: the buffers swap roles.
    const t = req;
    req = spare;
    spare = t;
  }
}

/** Handles exactly one request on `port` (for tests and hand-driven loops). */
export async function mach_msg_server_once(
  task: TaskApi,
  demux: MigDemux,
  port: number,
  timeout?: number,
): Promise<kern_return_t> {
  const size = Math.max(demux.maxRequestSize, 8192);
  const buf = new Uint8Array(size);
  const kr = await task.mach_msg(
    buf,
    MACH_RCV_MSG | (timeout !== undefined ? MACH_RCV_TIMEOUT : 0),
    0,
    size,
    port,
    timeout ?? 0,
  );
  if (kr !== MACH_MSG_SUCCESS) return kr;
  return demux.dispatch(task, buf);
}
