// The server side of MIG subsystems: a demux that TypeChecks each request as GNU MIG's server
// stubs do (MIG_BAD_ARGUMENTS, MIG_BAD_ID), calls the implementation and sends the reply, with
// deferred replies (MIG_NO_REPLY) for routines that take their reply port (sreplyport).
import {
  KERN_SUCCESS,
  MACH_MSG_SUCCESS,
  MACH_RCV_TOO_LARGE,
  MACH_SEND_INVALID_DEST,
  MIG_BAD_ARGUMENTS,
  MIG_BAD_ID,
  MIG_NO_REPLY,
  MIG_REMOTE_ERROR,
  type kern_return_t,
} from "../kern-return.js";
import { readHeader, writeHeader, writeU32, type MachMsgHeader } from "../message.js";
import { MACH_MSGH_BITS, MACH_MSGH_BITS_COMPLEX, MACH_MSGH_BITS_REMOTE, MACH_PORT_NULL, MACH_RCV_MSG, MACH_RCV_TIMEOUT, MACH_SEND_MSG } from "../msg-type.js";
import type { TaskApi } from "../task-api.js";
import { decodeFields, fieldWireSize, needsComplex, serializeField, writeFields, type MigValues, type SerializedField } from "./codec.js";
import { MIG_REPLY_HEADER_SIZE } from "./client.js";
import { destroyMessage } from "./destroy.js";
import type { SendOnceRight } from "./rights.js";
import type { MigRoutineSpec, MigSubsystemSpec } from "./spec.js";

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
  readonly invoke: (args: MigValues, info: MigRequestInfo) => MaybePromise<MigValues | kern_return_t>;
}

/** A subsystem's server: its id range and routines by slot (undefined for a skipped slot). */
export interface MigSubsystemServer {
  readonly subsystem: MigSubsystemSpec;
  readonly routines: readonly (MigServerRoutine | undefined)[];
}

interface EncodedReply {
  readonly buf: Uint8Array;
  readonly temps: readonly number[];
}

function errorReply(req: MachMsgHeader, code: kern_return_t): Uint8Array {
  const buf = new Uint8Array(MIG_REPLY_HEADER_SIZE);
  writeHeader(buf, {
    bits: MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(req.bits), 0),
    size: MIG_REPLY_HEADER_SIZE,
    remote: req.remote,
    local: MACH_PORT_NULL,
    seqno: 0,
    id: req.id + 100,
  });
  writeU32(buf, 32, 0x10012002);
  writeU32(buf, 36, code >>> 0);
  return buf;
}

async function encodeReply(task: TaskApi, spec: MigRoutineSpec, req: MachMsgHeader, values: MigValues): Promise<EncodedReply | kern_return_t> {
  const reply = spec.reply!;
  const serialized: SerializedField[] = [];
  let size = MIG_REPLY_HEADER_SIZE;
  for (const f of reply.fields.slice(1)) {
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
  const buf = errorReply(req, KERN_SUCCESS);
  const full = new Uint8Array(size);
  full.set(buf);
  writeFields(full, serialized, ool, MIG_REPLY_HEADER_SIZE);
  const complex = needsComplex(reply, serialized) ? MACH_MSGH_BITS_COMPLEX : 0;
  writeHeader(full, {
    bits: (MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(req.bits), 0) | complex) >>> 0,
    size,
    remote: req.remote,
    local: MACH_PORT_NULL,
    seqno: 0,
    id: req.id + 100,
  });
  return { buf: full, temps };
}

/** Sends a reply; on failure destroys what it would have moved (as mach_msg_server does). */
async function sendReply(task: TaskApi, r: EncodedReply): Promise<kern_return_t> {
  const kr = await task.mach_msg(r.buf, MACH_SEND_MSG, r.buf.length, 0, MACH_PORT_NULL);
  if (kr !== MACH_MSG_SUCCESS) await destroyMessage(task, r.buf, { header: false });
  else for (const t of r.temps) await task.vm_deallocate(t);
  return kr;
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
    for (const s of servers) for (const r of s.routines) if (r) max = Math.max(max, r.spec.request.maxSize);
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
    const h = readHeader(msg);
    const routine = this.find(h.id);
    const refuse = async (code: kern_return_t): Promise<kern_return_t> => {
      const replyTo = h.remote;
      await destroyMessage(task, msg, { header: false });
      if (replyTo !== MACH_PORT_NULL) await sendReply(task, { buf: errorReply(h, code), temps: [] });
      return code;
    };
    if (!routine) return refuse(MIG_BAD_ID);
    const spec = routine.spec;
    const complexBit = (h.bits & MACH_MSGH_BITS_COMPLEX) !== 0;
    const size = Math.min(h.size, msg.length);
    if ((spec.request.complex === "yes" && !complexBit) || (spec.request.complex === "no" && complexBit) || h.size > msg.length) {
      return refuse(MIG_BAD_ARGUMENTS);
    }
    const region = (addr: number, length: number) => {
      const reg = task.vm_region(addr);
      return reg && reg.length >= length ? reg.subarray(0, length) : undefined;
    };
    let d: ReturnType<typeof decodeFields>;
    try {
      d = decodeFields(msg, size, spec.request.fields, region);
    } catch {
      d = { ok: false, tooLarge: false };
    }
    if (!d.ok) return refuse(MIG_BAD_ARGUMENTS);
    for (const a of d.oolAddresses) await task.vm_deallocate(a);
    const args: MigValues = { ...d.values, "@request": h.local, "@seqno": h.seqno };
    let replied = false;
    const replyTo = h.remote;
    if (spec.reply && replyTo !== MACH_PORT_NULL) {
      const deferred: MigReply<MigValues> = {
        port: replyTo as SendOnceRight,
        send: async (value) => {
          if (replied) return MACH_SEND_INVALID_DEST;
          replied = true;
          const enc = await encodeReply(task, spec, h, value);
          return sendReply(task, typeof enc === "number" ? { buf: errorReply(h, enc), temps: [] } : enc);
        },
        fail: async (code) => {
          if (replied) return MACH_SEND_INVALID_DEST;
          replied = true;
          return sendReply(task, { buf: errorReply(h, code), temps: [] });
        },
      };
      args["@reply"] = deferred;
    }
    let result: MigValues | kern_return_t;
    try {
      result = await routine.invoke(args, { task, header: h });
    } catch {
      // A handler that throws is a server bug: the client gets an error, the server goes on.
      result = MIG_REMOTE_ERROR;
    }
    if (result === MIG_NO_REPLY) return MIG_NO_REPLY;
    const reply = args["@reply"] as MigReply<MigValues> | undefined;
    if (!reply) {
      // A simpleroutine sent with a reply right anyway: nobody will answer it, so release it.
      if (!spec.reply && replyTo !== MACH_PORT_NULL) await task.mach_port_deallocate(replyTo);
      return typeof result === "number" ? result : KERN_SUCCESS;
    }
    if (typeof result === "number") {
      if (result !== KERN_SUCCESS || spec.reply!.fields.length > 1) {
        await reply.fail(result === KERN_SUCCESS ? MIG_BAD_ARGUMENTS : result);
        return result;
      }
      await reply.send({});
      return KERN_SUCCESS;
    }
    await reply.send(result);
    return KERN_SUCCESS;
  }
}

/** mach_msg_server: receives on `port` (a receive right or a port set) and dispatches until the
 * port goes away; returns the receive error that ended the loop. */
export async function mach_msg_server(task: TaskApi, demux: MigDemux, port: number, options: { readonly bufferSize?: number } = {}): Promise<kern_return_t> {
  const size = Math.max(options.bufferSize ?? 0, demux.maxRequestSize, 8192);
  for (;;) {
    const buf = new Uint8Array(size);
    const kr = await task.mach_msg(buf, MACH_RCV_MSG, 0, size, port);
    if (kr === MACH_RCV_TOO_LARGE) continue;
    if (kr !== MACH_MSG_SUCCESS) return kr;
    await demux.dispatch(task, buf);
  }
}

/** Handles exactly one request on `port` (for tests and hand-driven loops). */
export async function mach_msg_server_once(task: TaskApi, demux: MigDemux, port: number, timeout?: number): Promise<kern_return_t> {
  const size = Math.max(demux.maxRequestSize, 8192);
  const buf = new Uint8Array(size);
  const kr = await task.mach_msg(buf, MACH_RCV_MSG | (timeout !== undefined ? MACH_RCV_TIMEOUT : 0), 0, size, port, timeout ?? 0);
  if (kr !== MACH_MSG_SUCCESS) return kr;
  return demux.dispatch(task, buf);
}
