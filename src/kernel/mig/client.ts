// The client side of a MIG routine: builds the request, sends it and waits on a reply port
// (MAKE_SEND_ONCE) in one mach_msg, then checks the reply as GNU MIG's user stubs do.
import {
  KERN_SUCCESS,
  MACH_MSG_SUCCESS,
  MIG_ARRAY_TOO_LARGE,
  MIG_REPLY_MISMATCH,
  MIG_SERVER_DIED,
  MIG_TYPE_ERROR,
  type kern_return_t,
} from "../kern-return.js";
import { MACH_MSG_HEADER_SIZE, readU32, writeHeader } from "../message.js";
import {
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
  MACH_PORT_NULL,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
  MACH_SEND_TIMEOUT,
} from "../msg-type.js";
import { MACH_NOTIFY_SEND_ONCE } from "../notify.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../port-right.js";
import type { TaskApi } from "../task-api.js";
import { lendRegion, oolDelivery } from "./ool-delivery.js";
import {
  decodeFields,
  fieldWireSize,
  needsComplex,
  serializeField,
  writeFields,
  type MigValues,
  type SerializedField,
} from "./codec.js";
import { destroyMessage } from "./destroy.js";
import type { MigField, MigMessageSpec, MigRoutineSpec } from "./spec.js";
import type { MaybePromise } from "./server.js";
import { copyBytes } from "../shared-copy.js";

/** A routine's outcome: its out arguments, or the error code (KERN_*, MACH_*, MIG_*, D_*...). */
export type MigResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: kern_return_t };

/** Per-call options: the mach_msg timeout (ms, as a routine's waittime) and extra options. */
export interface MigCallOptions {
  readonly timeout?: number;
  readonly msgOption?: number;
}

/** sizeof(mig_reply_header_t): header plus RetCode. */
export const MIG_REPLY_HEADER_SIZE = 40;

const RETCODE_TYPE = 0x10012002; // INTEGER_32, 32 bits, 1, inline
const freeReplyPorts = new WeakMap<TaskApi, number[]>();

/** A cached reply port of `task`, if one is free (the synchronous half of mig_get_reply_port). */
function takeReplyPort(task: TaskApi): number | undefined {
  return freeReplyPorts.get(task)?.pop();
}

/** mig_get_reply_port: a receive right of the task for one call (reused after a clean reply). */
export async function mig_get_reply_port(
  task: TaskApi,
): Promise<{ kr: kern_return_t; name: number }> {
  const name = takeReplyPort(task);
  if (name !== undefined) return { kr: KERN_SUCCESS, name };
  return task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
}

/** mig_put_reply_port: the port is clean and may serve the next call. */
export function mig_put_reply_port(task: TaskApi, name: number): void {
  let free = freeReplyPorts.get(task);
  if (!free) freeReplyPorts.set(task, (free = []));
  if (free.length < 8) free.push(name);
  else void task.mach_port_mod_refs(name, MACH_PORT_RIGHT_RECEIVE, -1);
}

/** mig_dealloc_reply_port: the port may hold a stray message; destroy it. */
export async function mig_dealloc_reply_port(task: TaskApi, name: number): Promise<void> {
  await task.mach_port_mod_refs(name, MACH_PORT_RIGHT_RECEIVE, -1);
}

/** Releases every reply port cached for `task` (for rights accounting at the end of a test). */
export async function mig_release_reply_ports(task: TaskApi): Promise<void> {
  const free = freeReplyPorts.get(task) ?? [];
  freeReplyPorts.delete(task);
  for (const name of free) await mig_dealloc_reply_port(task, name);
}

// Message buffers of calls in flight: a call takes one and gives it back once the reply is
// decoded (decoding copies every value out), so a steady stream of calls allocates none.
const POOLED_BUFFER_SIZE = 1024;
const freeBuffers: Uint8Array[] = [];

function takeBuffer(length: number): Uint8Array {
  if (length > POOLED_BUFFER_SIZE) return new Uint8Array(length);
  return freeBuffers.pop() ?? new Uint8Array(POOLED_BUFFER_SIZE);
}

function giveBuffer(buf: Uint8Array): void {
  if (buf.length === POOLED_BUFFER_SIZE && freeBuffers.length < 16) freeBuffers.push(buf);
}

interface BuiltRequest {
  /** The message (its first `size` bytes); the buffer may be longer, from the pool. */
  readonly buf: Uint8Array;
  readonly size: number;
  /** Bytes the reply may take (the receive size): the request's or the reply's maximum. */
  readonly rcvSize: number;
  readonly temps: readonly number[];
}

const NO_TEMPS: readonly number[] = [];
const NO_SERIALIZED = Object.freeze([]) as unknown as SerializedField[];
const NO_OOL: ReadonlyMap<SerializedField, number> = new Map();

/**
 * Builds a request: serializes the fields, copies out-of-line data into fresh regions, writes
 * header and body. Synchronous unless something goes out of line (vm_allocate); an argument that
 * cannot be encoded gives its error code.
 */
function buildRequest(
  task: TaskApi,
  r: MigRoutineSpec,
  dest: number,
  replyPort: number,
  replyDisposition: number,
  values: MigValues,
): MaybePromise<BuiltRequest | number> {
  const capacity = r.reply ? Math.max(r.reply.maxSize, MIG_REPLY_HEADER_SIZE) : 0;
  const fields = r.request.fields;
  // No arguments: nothing to serialize, so nothing allocated.
  const serialized: SerializedField[] = fields.length > 0 ? [] : NO_SERIALIZED;
  let size = MACH_MSG_HEADER_SIZE;
  let ool = false;
  for (const f of fields) {
    const s = serializeField(f, values[f.name]);
    if (typeof s === "number") return s;
    serialized.push(s);
    size += fieldWireSize(s);
    if (!s.inline && s.data.length > 0) ool = true;
  }
  const rcvSize = Math.max(size, capacity);
  if (ool)
    return buildOolRequest(task, r, dest, replyPort, replyDisposition, serialized, size, rcvSize);
  const buf = takeBuffer(rcvSize);
  writeRequest(buf, r, dest, replyPort, replyDisposition, serialized, NO_OOL, size);
  return { buf, size, rcvSize, temps: NO_TEMPS };
}

/**
 * buildRequest's out-of-line case: each array is copied into fresh task memory first, except
 * where the kernel copies at send anyway (no dealloc) and the task can address the array in
 * place (in-thread tasks): then it goes as it is, as a C stub passes the caller's pointer.
 */
async function buildOolRequest(
  task: TaskApi,
  r: MigRoutineSpec,
  dest: number,
  replyPort: number,
  replyDisposition: number,
  serialized: readonly SerializedField[],
  size: number,
  rcvSize: number,
): Promise<BuiltRequest | number> {
  const ool = new Map<SerializedField, number>();
  const temps: number[] = [];
  for (const s of serialized) {
    if (s.inline || s.data.length === 0) continue;
    const inPlace = s.field.dealloc ? undefined : task.vm_map_array?.(s.data);
    if (inPlace !== undefined) {
      ool.set(s, inPlace);
      temps.push(inPlace);
      continue;
    }
    const a = await task.vm_allocate(s.data.length);
    if (a.kr !== KERN_SUCCESS) {
      for (const t of temps) await task.vm_deallocate(t);
      return a.kr;
    }
    copyBytes(task.vm_region(a.address)!, s.data);
    ool.set(s, a.address);
    if (!s.field.dealloc) temps.push(a.address);
  }
  const buf = takeBuffer(rcvSize);
  writeRequest(buf, r, dest, replyPort, replyDisposition, serialized, ool, size);
  return { buf, size, rcvSize, temps };
}

function writeRequest(
  buf: Uint8Array,
  r: MigRoutineSpec,
  dest: number,
  replyPort: number,
  replyDisposition: number,
  serialized: readonly SerializedField[],
  ool: ReadonlyMap<SerializedField, number>,
  size: number,
): void {
  if (serialized.length > 0) writeFields(buf, serialized, ool);
  const complex = needsComplex(r.request, serialized) ? MACH_MSGH_BITS_COMPLEX : 0;
  writeHeader(buf, {
    bits:
      (MACH_MSGH_BITS(r.requestDisposition, replyPort === MACH_PORT_NULL ? 0 : replyDisposition) |
        complex) >>>
      0,
    size,
    remote: dest,
    local: replyPort,
    seqno: 0,
    id: r.id,
  });
}

async function freeTemps(task: TaskApi, temps: readonly number[]): Promise<void> {
  for (const t of temps) await task.vm_deallocate(t);
}

/** A simpleroutine: the request is sent, nothing comes back. Returns mach_msg's code. */
export async function migSend(
  task: TaskApi,
  r: MigRoutineSpec,
  dest: number,
  values: MigValues,
  options: MigCallOptions = {},
): Promise<kern_return_t> {
  const replyPort = (values["@reply"] as number | undefined) ?? MACH_PORT_NULL;
  let built = buildRequest(task, r, dest, replyPort, r.userReplyDisposition ?? 0, values);
  if (isPromiseLike(built)) built = await built;
  if (typeof built === "number") return built;
  const option =
    MACH_SEND_MSG |
    (options.timeout !== undefined ? MACH_SEND_TIMEOUT : 0) |
    (options.msgOption ?? 0);
  const kr = await task.mach_msg(
    built.buf,
    option,
    built.size,
    0,
    MACH_PORT_NULL,
    options.timeout ?? 0,
  );
  giveBuffer(built.buf);
  if (built.temps.length > 0) await freeTemps(task, built.temps);
  return kr;
}

const NO_OPTIONS: MigCallOptions = {};

/**
 * A routine: sends the request with a send-once right to a reply port and receives the reply on
 * it, then TypeChecks the reply. MIG_SERVER_DIED when the send-once right came back as a
 * notification; MIG_REPLY_MISMATCH for another id; MIG_TYPE_ERROR for a malformed reply;
 * MIG_ARRAY_TOO_LARGE when an array exceeds what the caller accepts.
 */
export async function migCall(
  task: TaskApi,
  r: MigRoutineSpec,
  dest: number,
  values: MigValues,
  options: MigCallOptions = NO_OPTIONS,
): Promise<MigResult<MigValues>> {
  const reply = r.reply;
  if (!reply) return { ok: false, code: MIG_TYPE_ERROR };
  const userReply = values["@reply"] as number | undefined;
  let replyPort: number;
  if (userReply !== undefined) replyPort = userReply;
  else {
    const cached = takeReplyPort(task);
    if (cached !== undefined) replyPort = cached;
    else {
      const got = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      if (got.kr !== KERN_SUCCESS) return { ok: false, code: got.kr };
      replyPort = got.name;
    }
  }
  const disposition =
    userReply !== undefined
      ? (r.userReplyDisposition ?? MACH_MSG_TYPE_MAKE_SEND_ONCE)
      : MACH_MSG_TYPE_MAKE_SEND_ONCE;
  let built = buildRequest(task, r, dest, replyPort, disposition, values);
  if (isPromiseLike(built)) built = await built;
  if (typeof built === "number") {
    if (userReply === undefined) mig_put_reply_port(task, replyPort);
    return { ok: false, code: built };
  }
  const timed = options.timeout !== undefined;
  const option =
    MACH_SEND_MSG | MACH_RCV_MSG | (timed ? MACH_RCV_TIMEOUT : 0) | (options.msgOption ?? 0);
  const { buf } = built;
  const mr = await task.mach_msg(
    buf,
    option,
    built.size,
    built.rcvSize,
    replyPort,
    options.timeout ?? 0,
  );
  if (built.temps.length > 0) await freeTemps(task, built.temps);
  let out: MigResult<MigValues>;
  try {
    const checked = checkReply(task, r, reply, values, userReply, replyPort, buf, mr);
    out = isPromiseLike(checked) ? await checked : checked;
  } finally {
    giveBuffer(buf);
  }
  return out;
}

/** What the call's mach_msg brought back, checked as GNU MIG's user stubs check a reply. */
function checkReply(
  task: TaskApi,
  r: MigRoutineSpec,
  reply: MigMessageSpec,
  values: MigValues,
  userReply: number | undefined,
  replyPort: number,
  buf: Uint8Array,
  mr: kern_return_t,
): MaybePromise<MigResult<MigValues>> {
  if (mr !== MACH_MSG_SUCCESS) {
    if (userReply !== undefined) return { ok: false, code: mr };
    return mig_dealloc_reply_port(task, replyPort).then(() => ({ ok: false, code: mr }));
  }
  const id = readU32(buf, 28) | 0;
  if (id !== r.id + 100) return mismatchedReply(task, userReply, replyPort, buf, id);
  if (userReply === undefined) mig_put_reply_port(task, replyPort);
  const out = decodeReply(task, buf, reply, r.countInOut ? limitsOf(r, values) : undefined);
  if (isPromiseLike(out))
    return out.then((o) => (o.ok ? o : destroyMessage(task, buf).then(() => o)));
  if (!out.ok) return destroyMessage(task, buf).then(() => out);
  return out;
}

/** A reply of another id: a send-once notification (the server died) or a stray message. */
async function mismatchedReply(
  task: TaskApi,
  userReply: number | undefined,
  replyPort: number,
  buf: Uint8Array,
  id: number,
): Promise<MigResult<MigValues>> {
  await destroyMessage(task, buf);
  if (id === MACH_NOTIFY_SEND_ONCE) {
    if (userReply === undefined) mig_put_reply_port(task, replyPort);
    return { ok: false, code: MIG_SERVER_DIED };
  }
  if (userReply === undefined) await mig_dealloc_reply_port(task, replyPort);
  return { ok: false, code: MIG_REPLY_MISMATCH };
}

function limitsOf(r: MigRoutineSpec, values: MigValues): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [array, count] of Object.entries(r.countInOut ?? {})) {
    const v = values[count];
    if (typeof v === "number") limits[array] = v;
  }
  return limits;
}

function isPromiseLike<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** The result of a routine without out arguments (shared: it is immutable). */
const NOTHING_OUT: MigResult<MigValues> = Object.freeze({ ok: true, value: Object.freeze({}) });

// The reply fields after RetCode, per reply spec (decodeReply checks RetCode itself).
const bodyFieldsOf = new WeakMap<MigMessageSpec, readonly MigField[]>();

function replyBodyFields(reply: MigMessageSpec): readonly MigField[] {
  let f = bodyFieldsOf.get(reply);
  if (!f) bodyFieldsOf.set(reply, (f = reply.fields.slice(1)));
  return f;
}

/** The user stub's reply TypeCheck; fields[0] is RetCode. Synchronous unless out-of-line data
 * arrived (its regions are deallocated once decoded). */
function decodeReply(
  task: TaskApi,
  buf: Uint8Array,
  reply: MigMessageSpec,
  limits: Record<string, number> | undefined,
): MaybePromise<MigResult<MigValues>> {
  const size = readU32(buf, 4);
  const bits = readU32(buf, 0);
  const simple = (bits & MACH_MSGH_BITS_COMPLEX) === 0;
  const complex = reply.complex;
  if (size < MIG_REPLY_HEADER_SIZE || size > buf.length) return { ok: false, code: MIG_TYPE_ERROR };
  if (readU32(buf, 32) !== RETCODE_TYPE) return { ok: false, code: MIG_TYPE_ERROR };
  const retCode = readU32(buf, 36) | 0;
  if (retCode !== KERN_SUCCESS && size === MIG_REPLY_HEADER_SIZE && simple)
    return { ok: false, code: retCode };
  if ((complex === "yes" && simple) || (complex === "no" && !simple))
    return { ok: false, code: MIG_TYPE_ERROR };
  if (retCode !== KERN_SUCCESS) return { ok: false, code: retCode };
  const fields = replyBodyFields(reply);
  if (fields.length === 0 && size === MIG_REPLY_HEADER_SIZE) return NOTHING_OUT;
  const region = (addr: number, length: number) => {
    const reg = task.vm_region(addr);
    return reg && reg.length >= length ? reg.subarray(0, length) : undefined;
  };
  let d: ReturnType<typeof decodeFields>;
  const map = oolDelivery(task) === "map";
  try {
    d = decodeFields(buf, size, fields, region, MIG_REPLY_HEADER_SIZE, limits, map);
  } catch {
    d = { ok: false, tooLarge: false };
  }
  if (!d.ok) return { ok: false, code: d.tooLarge ? MIG_ARRAY_TOO_LARGE : MIG_TYPE_ERROR };
  const value = d.values;
  if (d.mapped) for (const [view, address] of d.mapped) lendRegion(task, view, address);
  if (d.oolAddresses.length === 0) return { ok: true, value };
  const addresses = d.oolAddresses;
  return (async () => {
    for (const a of addresses) await task.vm_deallocate(a);
    return { ok: true, value } as const;
  })();
}
