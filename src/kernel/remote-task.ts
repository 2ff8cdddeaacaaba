// The task API inside an isolated task's worker: each call is a system-call record written into
// the request channel (ringing the kernel's doorbell) and answered through the reply channel.
// Waiting for a reply spins briefly, then parks with Atomics.waitAsync (the worker's event loop
// keeps running).
import { performance } from "node:perf_hooks";
import type { ShmChannel } from "./shm-channel.js";
import type { ShmPool } from "./shm-pool.js";
import type { TaskApi } from "./task-api.js";
import type { kern_return_t } from "./kern-return.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  MACH_RCV_TOO_LARGE,
  MACH_SEND_INVALID_DEST,
  MACH_SEND_NO_BUFFER,
  MACH_MSG_SUCCESS,
  MACH_RCV_INVALID_DATA,
} from "./kern-return.js";
import {
  decodeRecord,
  encodeRecord,
  SYSCALL_HEADER,
  SysOp,
  addrWords,
  wordsAddr,
} from "./syscall-abi.js";
import { DOORBELL_PARKED, DOORBELL_RUNG } from "./syscall-server.js";
import { MACH_SEND_MSG } from "./msg-type.js";
import type { PortStatus } from "./port-ops.js";
import { POOL_VM_BASE } from "./pool-vm.js";
import { SpinPolicy } from "./spin-policy.js";
import { MemoryMapping, type MappingPort } from "./memory-mapping.js";
import type { SharedBufferInbox } from "./shared-buffers.js";
import { VM_PROT_READ } from "./devices/device-codes.js";
import type { AccessResult } from "./memory-object.js";

/** Bytes one read of a mapping through the kernel asks for at most. */
const READ_CHUNK = 32 * 1024;

interface Reply {
  code: number;
  args: number[];
}

export interface RemoteTaskOptions {
  /** Microseconds to spin for a reply before parking (default 40). */
  spinMicros?: number;
  /** Where the kernel's shared buffers arrive (vm_map of shared memory needs it). */
  buffers?: SharedBufferInbox;
}

export class RemoteTask implements TaskApi {
  private seq = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (r: Reply) => void; onPayload: ((p: Uint8Array) => void) | undefined }
  >();
  private pumping = false;
  private readonly spinMs: number;
  private readonly spin: SpinPolicy;
  private readonly buffers: SharedBufferInbox | undefined;

  constructor(
    readonly name: string,
    private readonly requests: ShmChannel,
    private readonly replies: ShmChannel,
    private readonly doorbell: Int32Array,
    private readonly pool: ShmPool | null,
    options: RemoteTaskOptions = {},
  ) {
    this.spinMs = (options.spinMicros ?? 40) / 1000;
    this.spin = new SpinPolicy(this.spinMs);
    this.buffers = options.buffers;
  }

  /**
   * Issues one system call; `payload` is copied into the channel. `onPayload` runs while the
   * reply's payload view is valid (before the record is freed) to copy out what it needs.
   */
  call(
    op: number,
    args: readonly number[],
    payload?: Uint8Array,
    payloadLength?: number,
    onPayload?: (p: Uint8Array) => void,
  ): Promise<Reply> {
    const seq = this.seq++ >>> 0;
    const len = SYSCALL_HEADER + (payloadLength ?? payload?.length ?? 0);
    if (len > this.requests.maxMessageSize)
      return Promise.resolve({ code: MACH_SEND_NO_BUFFER, args: [] });
    const r = this.requests.sendWith(len, (dst, off) =>
      encodeRecord(dst, off, seq, op, args, payload, payloadLength),
    );
    if (r !== MACH_MSG_SUCCESS) return Promise.resolve({ code: MACH_SEND_INVALID_DEST, args: [] });
    Atomics.add(this.doorbell, DOORBELL_RUNG, 1);
    if (Atomics.load(this.doorbell, DOORBELL_PARKED) !== 0)
      Atomics.notify(this.doorbell, DOORBELL_RUNG);
    const p = new Promise<Reply>((resolve) => this.waiting.set(seq, { resolve, onPayload }));
    if (!this.pumping) void this.pump();
    return p;
  }

  /** Reads replies while calls are outstanding: spin first, then park. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiting.size > 0) {
        if (!this.replies.readable()) {
          const spin = this.spin.next();
          if (spin > 0) {
            const end = performance.now() + spin;
            let i = 0;
            while (!this.replies.readable() && (++i & 63 || performance.now() < end));
            this.spin.record(spin, this.replies.readable());
          }
        }
        const v = this.replies.readable() ? this.replies.peek(0) : await this.replies.peekAsync();
        if (typeof v === "number") {
          // The kernel closed the channel: the task is dead. Fail every pending call.
          for (const [, w] of this.waiting) w.resolve({ code: MACH_SEND_INVALID_DEST, args: [] });
          this.waiting.clear();
          return;
        }
        const rec = decodeRecord(v)!;
        const w = this.waiting.get(rec.seq);
        if (w) {
          this.waiting.delete(rec.seq);
          if (w.onPayload && rec.payload.length > 0) w.onPayload(rec.payload);
          w.resolve({ code: rec.op, args: rec.args });
        }
        this.replies.consume();
      }
    } finally {
      this.pumping = false;
    }
  }

  async mach_msg(
    buf: Uint8Array,
    option: number,
    send_size: number,
    rcv_size: number,
    rcv_name: number,
    timeout = 0,
  ): Promise<number> {
    if (rcv_size > buf.length) return MACH_RCV_INVALID_DATA;
    const sendLen = option & MACH_SEND_MSG ? Math.min(send_size, buf.length) : 0;
    const r = await this.call(
      SysOp.MACH_MSG,
      [option, send_size, rcv_size, rcv_name, timeout],
      buf,
      sendLen,
      (p) => buf.set(p),
    );
    if (r.code === MACH_RCV_TOO_LARGE && buf.length >= 8)
      new DataView(buf.buffer, buf.byteOffset).setUint32(4, r.args[0]!, true);
    return r.code;
  }
  async mach_port_allocate(right: number) {
    const r = await this.call(SysOp.PORT_ALLOCATE, [right]);
    return { kr: r.code, name: r.args[0]! };
  }
  async mach_port_deallocate(name: number) {
    return (await this.call(SysOp.PORT_DEALLOCATE, [name])).code;
  }
  async mach_port_destroy(name: number) {
    return (await this.call(SysOp.PORT_DESTROY, [name])).code;
  }
  async mach_port_mod_refs(name: number, right: number, delta: number) {
    return (await this.call(SysOp.PORT_MOD_REFS, [name, right, delta])).code;
  }
  async mach_port_insert_right(name: number, poly: number, polyPoly: number) {
    return (await this.call(SysOp.PORT_INSERT_RIGHT, [name, poly, polyPoly])).code;
  }
  async mach_port_extract_right(name: number, msgt_name: number) {
    const r = await this.call(SysOp.PORT_EXTRACT_RIGHT, [name, msgt_name]);
    return { kr: r.code, poly: r.args[0]!, polyPoly: r.args[1]! };
  }
  async mach_port_request_notification(
    name: number,
    variant: number,
    sync: number,
    notify: number,
    notifyPoly: number,
  ) {
    const r = await this.call(SysOp.PORT_REQUEST_NOTIFICATION, [
      name,
      variant,
      sync,
      notify,
      notifyPoly,
    ]);
    return { kr: r.code, previous: r.args[0]! };
  }
  async mach_port_get_refs(name: number, right: number) {
    const r = await this.call(SysOp.PORT_GET_REFS, [name, right]);
    return { kr: r.code, refs: r.args[0]! };
  }
  async mach_port_set_qlimit(name: number, qlimit: number) {
    return (await this.call(SysOp.PORT_SET_QLIMIT, [name, qlimit])).code;
  }
  async mach_port_move_member(member: number, after: number) {
    return (await this.call(SysOp.PORT_MOVE_MEMBER, [member, after])).code;
  }
  async mach_port_names() {
    let bytes = new Uint8Array(0);
    const r = await this.call(SysOp.PORT_NAMES, [], undefined, 0, (p) => (bytes = p.slice()));
    const v = new DataView(bytes.buffer);
    const names: number[] = [];
    const types: number[] = [];
    for (let i = 0; i < r.args[0]!; i++) {
      names.push(v.getUint32(i * 8, true));
      types.push(v.getUint32(i * 8 + 4, true));
    }
    return { kr: r.code, names, types };
  }
  async mach_port_type(name: number) {
    const r = await this.call(SysOp.PORT_TYPE, [name]);
    return { kr: r.code, type: r.args[0]! };
  }
  async mach_port_get_receive_status(
    name: number,
  ): Promise<{ kr: kern_return_t; status?: PortStatus }> {
    const r = await this.call(SysOp.PORT_GET_RECEIVE_STATUS, [name]);
    if (r.code !== 0) return { kr: r.code };
    const [pset, seqno, mscount, qlimit, msgcount, w] = r.args as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    return {
      kr: r.code,
      status: {
        mps_pset: pset,
        mps_seqno: seqno,
        mps_mscount: mscount,
        mps_qlimit: qlimit,
        mps_msgcount: msgcount,
        mps_sorights: w & 0x1fffffff,
        mps_srights: (w & (1 << 29)) !== 0,
        mps_pdrequest: (w & (1 << 30)) !== 0,
        mps_nsrequest: (w & (1 << 31)) !== 0,
      },
    };
  }
  async vm_allocate(size: number) {
    const r = await this.call(SysOp.VM_ALLOCATE, [size]);
    return { kr: r.code, address: wordsAddr(r.args[0]!, r.args[1]!) };
  }
  async vm_deallocate(address: number) {
    return (await this.call(SysOp.VM_DEALLOCATE, addrWords(address))).code;
  }
  /** Regions live in the shared pool: the worker reads and writes them in place. */
  vm_region(address: number): Uint8Array | undefined {
    if (!this.pool) return undefined;
    const off = address - POOL_VM_BASE;
    const size = this.pool.regionSize(off);
    if (size === 0) return undefined;
    const v = this.pool.view(off, size);
    return v === KERN_INVALID_ADDRESS ? undefined : v;
  }

  async vm_map(
    memory_object: number,
    offset: number,
    size: number,
    prot = VM_PROT_READ,
  ): Promise<{ kr: kern_return_t; mapping?: MemoryMapping }> {
    const word = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
    if (
      !word(memory_object) ||
      !word(prot) ||
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(size) ||
      offset < 0 ||
      size <= 0
    )
      return { kr: KERN_INVALID_ARGUMENT };
    const r = await this.call(SysOp.VM_MAP, [
      memory_object,
      ...addrWords(offset),
      ...addrWords(size),
      prot,
    ]);
    if (r.code !== KERN_SUCCESS) return { kr: r.code };
    const [id, bufferId, lo, hi] = r.args as [number, number, number, number];
    let shared: { buffer: SharedArrayBuffer; byteOffset: number } | undefined;
    if (bufferId !== 0) {
      const buffer = await this.buffers?.get(bufferId);
      if (!buffer) {
        await this.call(SysOp.VM_UNMAP, [id]);
        return { kr: KERN_RESOURCE_SHORTAGE };
      }
      shared = { buffer, byteOffset: wordsAddr(lo, hi) };
    }
    return {
      kr: KERN_SUCCESS,
      mapping: new MemoryMapping({ id, offset, size, prot, shared, port: this.mappingPort(id) }),
    };
  }

  /** A mapping's accesses as system calls the kernel forwards to the machine. */
  private mappingPort(id: number): MappingPort {
    const readRegister = async (off: number, width: number): Promise<AccessResult<number>> => {
      const r = await this.call(SysOp.VM_MAPPING_READ, [id, ...addrWords(off), width, 0]);
      return r.code === KERN_SUCCESS
        ? { ok: true, value: r.args[0]! }
        : { ok: false, code: r.code };
    };
    const read = async (off: number, length: number): Promise<AccessResult<Uint8Array>> => {
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = Math.min(READ_CHUNK, length - done);
        const r = await this.call(
          SysOp.VM_MAPPING_READ,
          [id, ...addrWords(off + done), 0, n],
          undefined,
          0,
          (p) => out.set(p.subarray(0, n), done),
        );
        if (r.code !== KERN_SUCCESS) return { ok: false, code: r.code };
        done += n;
      }
      return { ok: true, value: out };
    };
    return {
      readRegister,
      read,
      writeRegister: async (off, width, value) => {
        const r = await this.call(SysOp.VM_MAPPING_WRITE, [id, ...addrWords(off), width, value]);
        return r.code === KERN_SUCCESS ? { ok: true, value: width } : { ok: false, code: r.code };
      },
      unmap: async () => (await this.call(SysOp.VM_UNMAP, [id])).code,
    };
  }

  /** Tells the kernel the task's main finished (ok or not). */
  exit(ok: boolean): Promise<Reply> {
    return this.call(SysOp.EXIT, [ok ? 0 : 1]);
  }
}
