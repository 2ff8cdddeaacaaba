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
import { decodeFields, fieldWireSize, needsComplex, serializeField, writeFields, type MigValues, type SerializedField } from "./codec.js";
import { destroyMessage } from "./destroy.js";
import type { MigField, MigRoutineSpec } from "./spec.js";

/** A routine's outcome: its out arguments, or the error code (KERN_*, MACH_*, MIG_*, D_*...). */
export type MigResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: kern_return_t };

/** Per-call options: the mach_msg timeout (ms, as a routine's waittime) and extra options. */
export interface MigCallOptions {
  readonly timeout?: number;
  readonly msgOption?: number;
}

/** sizeof(mig_reply_header_t): header plus RetCode. */
export const MIG_REPLY_HEADER_SIZE = 40;

const RETCODE_TYPE = 0x10012002; // INTEGER_32, 32 bits, 1, inline
const freeReplyPorts = new WeakMap<TaskApi, number[]>();

/** mig_get_reply_port: a receive right of the task for one call (reused after a clean reply). */
export async function mig_get_reply_port(task: TaskApi): Promise<{ kr: kern_return_t; name: number }> {
  const free = freeReplyPorts.get(task);
  const name = free?.pop();
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

interface BuiltRequest {
  readonly buf: Uint8Array;
  readonly size: number;
  readonly temps: readonly number[];
}

/** Serializes the request's fields, copies out-of-line data into fresh regions, writes the body. */
async function buildBody(
  task: TaskApi,
  fields: readonly MigField[],
  values: MigValues,
  capacity: number,
): Promise<{ buf: Uint8Array; size: number; temps: number[]; serialized: SerializedField[] } | number> {
  const serialized: SerializedField[] = [];
  let size = MACH_MSG_HEADER_SIZE;
  for (const f of fields) {
    const s = serializeField(f, values[f.name]);
    if (typeof s === "number") return s;
    serialized.push(s);
    size += fieldWireSize(s);
  }
  const ool = new Map<SerializedField, number>();
  const temps: number[] = [];
  for (const s of serialized) {
    if (s.inline || s.data.length === 0) continue;
    const r = await task.vm_allocate(s.data.length);
    if (r.kr !== KERN_SUCCESS) {
      for (const t of temps) await task.vm_deallocate(t);
      return r.kr;
    }
    task.vm_region(r.address)!.set(s.data);
    ool.set(s, r.address);
    if (!s.field.dealloc) temps.push(r.address);
  }
  const buf = new Uint8Array(Math.max(size, capacity));
  writeFields(buf, serialized, ool);
  return { buf, size, temps, serialized };
}

async function buildRequest(
  task: TaskApi,
  r: MigRoutineSpec,
  dest: number,
  replyPort: number,
  replyDisposition: number,
  values: MigValues,
): Promise<BuiltRequest | number> {
  const capacity = r.reply ? Math.max(r.reply.maxSize, MIG_REPLY_HEADER_SIZE) : 0;
  const body = await buildBody(task, r.request.fields, values, capacity);
  if (typeof body === "number") return body;
  const complex = needsComplex(r.request, body.serialized) ? MACH_MSGH_BITS_COMPLEX : 0;
  writeHeader(body.buf, {
    bits: (MACH_MSGH_BITS(r.requestDisposition, replyPort === MACH_PORT_NULL ? 0 : replyDisposition) | complex) >>> 0,
    size: body.size,
    remote: dest,
    local: replyPort,
    seqno: 0,
    id: r.id,
  });
  return { buf: body.buf, size: body.size, temps: body.temps };
}

async function freeTemps(task: TaskApi, temps: readonly number[]): Promise<void> {
  for (const t of temps) await task.vm_deallocate(t);
}

/** A simpleroutine: the request is sent, nothing comes back. Returns mach_msg's code. */
export async function migSend(task: TaskApi, r: MigRoutineSpec, dest: number, values: MigValues, options: MigCallOptions = {}): Promise<kern_return_t> {
  const replyPort = (values["@reply"] as number | undefined) ?? MACH_PORT_NULL;
  const built = await buildRequest(task, r, dest, replyPort, r.userReplyDisposition ?? 0, values);
  if (typeof built === "number") return built;
  const option = MACH_SEND_MSG | (options.timeout !== undefined ? MACH_SEND_TIMEOUT : 0) | (options.msgOption ?? 0);
  const kr = await task.mach_msg(built.buf, option, built.size, 0, MACH_PORT_NULL, options.timeout ?? 0);
  await freeTemps(task, built.temps);
  return kr;
}

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
  options: MigCallOptions = {},
): Promise<MigResult<MigValues>> {
  const reply = r.reply;
  if (!reply) return { ok: false, code: MIG_TYPE_ERROR };
  const userReply = values["@reply"] as number | undefined;
  let replyPort: number;
  if (userReply !== undefined) replyPort = userReply;
  else {
    const got = await mig_get_reply_port(task);
    if (got.kr !== KERN_SUCCESS) return { ok: false, code: got.kr };
    replyPort = got.name;
  }
  const disposition = userReply !== undefined ? (r.userReplyDisposition ?? MACH_MSG_TYPE_MAKE_SEND_ONCE) : MACH_MSG_TYPE_MAKE_SEND_ONCE;
  const built = await buildRequest(task, r, dest, replyPort, disposition, values);
  if (typeof built === "number") {
    if (userReply === undefined) mig_put_reply_port(task, replyPort);
    return { ok: false, code: built };
  }
  const timed = options.timeout !== undefined;
  const option = MACH_SEND_MSG | MACH_RCV_MSG | (timed ? MACH_RCV_TIMEOUT : 0) | (options.msgOption ?? 0);
  const { buf } = built;
  const mr = await task.mach_msg(buf, option, built.size, buf.length, replyPort, options.timeout ?? 0);
  await freeTemps(task, built.temps);
  if (mr !== MACH_MSG_SUCCESS) {
    if (userReply === undefined) await mig_dealloc_reply_port(task, replyPort);
    return { ok: false, code: mr };
  }
  const id = readU32(buf, 28) | 0;
  if (id !== r.id + 100) {
    await destroyMessage(task, buf);
    if (id === MACH_NOTIFY_SEND_ONCE) {
      if (userReply === undefined) mig_put_reply_port(task, replyPort);
      return { ok: false, code: MIG_SERVER_DIED };
    }
    if (userReply === undefined) await mig_dealloc_reply_port(task, replyPort);
    return { ok: false, code: MIG_REPLY_MISMATCH };
  }
  if (userReply === undefined) mig_put_reply_port(task, replyPort);
  const out = await decodeReply(task, buf, reply.fields, reply.complex, r.countInOut ? limitsOf(r, values) : undefined);
  if (!out.ok) {
    await destroyMessage(task, buf);
  }
  return out;
}

function limitsOf(r: MigRoutineSpec, values: MigValues): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [array, count] of Object.entries(r.countInOut ?? {})) {
    const v = values[count];
    if (typeof v === "number") limits[array] = v;
  }
  return limits;
}

/** The user stub's reply TypeCheck; fields[0] is RetCode. */
async function decodeReply(
  task: TaskApi,
  buf: Uint8Array,
  fields: readonly MigField[],
  complex: "yes" | "no" | "dynamic",
  limits: Record<string, number> | undefined,
): Promise<MigResult<MigValues>> {
  const size = readU32(buf, 4);
  const bits = readU32(buf, 0);
  const simple = (bits & MACH_MSGH_BITS_COMPLEX) === 0;
  if (size < MIG_REPLY_HEADER_SIZE || size > buf.length) return { ok: false, code: MIG_TYPE_ERROR };
  if (readU32(buf, 32) !== RETCODE_TYPE) return { ok: false, code: MIG_TYPE_ERROR };
  const retCode = readU32(buf, 36) | 0;
  if (retCode !== KERN_SUCCESS && size === MIG_REPLY_HEADER_SIZE && simple) return { ok: false, code: retCode };
  if ((complex === "yes" && simple) || (complex === "no" && !simple)) return { ok: false, code: MIG_TYPE_ERROR };
  if (retCode !== KERN_SUCCESS) return { ok: false, code: retCode };
  const region = (addr: number, length: number) => {
    const reg = task.vm_region(addr);
    return reg && reg.length >= length ? reg.subarray(0, length) : undefined;
  };
  let d: ReturnType<typeof decodeFields>;
  try {
    d = decodeFields(buf, size, fields.slice(1), region, MIG_REPLY_HEADER_SIZE, limits);
  } catch {
    d = { ok: false, tooLarge: false };
  }
  if (!d.ok) return { ok: false, code: d.tooLarge ? MIG_ARRAY_TOO_LARGE : MIG_TYPE_ERROR };
  for (const a of d.oolAddresses) await task.vm_deallocate(a);
  return { ok: true, value: d.values };
}
