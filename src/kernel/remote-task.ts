// The task API inside an isolated task's worker: each call is a system-call record written into
// the request channel (ringing the kernel's doorbell) and answered through the reply channel.
// Waiting for a reply spins briefly, then parks with Atomics.waitAsync on the task's doorbell
// (the worker's event loop keeps running). mach_msg takes a fast RPC lane (fast-lane-runtime.ts)
// when the kernel granted one that fits the message.
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
import { MACH_RCV_MSG, MACH_SEND_MSG } from "./msg-type.js";
import type { PortStatus } from "./port-ops.js";
import { POOL_VM_BASE } from "./pool-vm.js";
import { zeroFill } from "./zero-fill.js";
import { SpinPolicy } from "./spin-policy.js";
import { MemoryMapping, type MappingPort } from "./memory-mapping.js";
import type { SharedBufferInbox } from "./shared-buffers.js";
import { VM_PROT_READ } from "./devices/device-codes.js";
import type { AccessResult } from "./memory-object.js";
import { LaneRuntime } from "./fast-lane-runtime.js";
import { BELL_COUNT, BELL_PARKED } from "./fast-lane.js";
import { parkAsync } from "./shm-channel.js";
import { copyBytes } from "./shared-copy.js";

/** Bytes one read of a mapping through the kernel asks for at most. */
const READ_CHUNK = 32 * 1024;
/** Bytes one write to a mapping through the kernel carries at most. */
const WRITE_CHUNK = 32 * 1024;

interface Reply {
  code: number;
  args: number[];
}

/**
 * How long a wait for a system call's reply spins before parking, by default. Long enough to
 * catch a device's answer: an I/O through the kernel's device model (a PxCI write, the DMA, the
 * interrupt) takes 100-300 us, and waking a parked thread costs the waker and the sleeper 30-150
 * us each on a VM. Spinning 40 us, 1 MiB disk reads in steady state ran at 2.6-3.2 GB/s against
 * 4.8-5.5 with this; a spin that stops paying shrinks (spin-policy.ts).
 */
const REPLY_SPIN_MICROS = 400;
/** How long a fast-lane wait spins by default (lanes answer in microseconds or not soon). */
const LANE_SPIN_MICROS = 40;

export interface RemoteTaskOptions {
  /**
   * Microseconds to spin for a reply before parking: a system call's (default
   * REPLY_SPIN_MICROS) and a fast lane's (default 40).
   */
  spinMicros?: number;
  /** Where the kernel's shared buffers arrive (vm_map of shared memory needs it). */
  buffers?: SharedBufferInbox;
  /**
   * This task's doorbell (fast-lane.ts): the kernel rings it with each reply, lane peers with
   * each lane message. With it the task waits on the bell and can use fast RPC lanes.
   */
  bell?: Int32Array;
  /** This task's owner tag in the shared pool: lets it free its own regions in place. */
  poolOwner?: number;
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
  private readonly bell: Int32Array | undefined;
  /** Fast RPC lanes (null without a doorbell). */
  private readonly lanes: LaneRuntime | null;
  private readonly poolOwner: number;

  constructor(
    readonly name: string,
    private readonly requests: ShmChannel,
    private readonly replies: ShmChannel,
    private readonly doorbell: Int32Array,
    private readonly pool: ShmPool | null,
    options: RemoteTaskOptions = {},
  ) {
    this.spinMs = (options.spinMicros ?? REPLY_SPIN_MICROS) / 1000;
    this.spin = new SpinPolicy(this.spinMs);
    this.buffers = options.buffers;
    this.bell = options.bell;
    this.lanes = options.bell
      ? new LaneRuntime(
          {
            kernelMachMsg: (b, o, s, r, n, t) => this.kernelMachMsg(b, o, s, r, n, t),
            laneCall: async (id, action, name) =>
              (await this.call(SysOp.LANE, [id, action, name])).code,
          },
          options.bell,
          options.buffers,
          options.spinMicros ?? LANE_SPIN_MICROS,
          pool,
          options.poolOwner ?? 0,
        )
      : null;
    this.poolOwner = options.poolOwner ?? 0;
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
    const lanes = this.lanes;
    if (lanes && op !== SysOp.MACH_MSG && op !== SysOp.LANE && lanes.holdsAny(args))
      // A port operation on a lane reply name: the kernel makes it a real right first.
      return lanes
        .materialize(args)
        .then(() => this.call(op, args, payload, payloadLength, onPayload));
    if (this.seq === 0) this.seq = 1; // seq 0 marks the kernel's unsolicited records
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

  /** Where this task's mach_msg calls went: fast RPC lanes or the kernel (diagnostics). */
  laneStats(): Readonly<Record<string, number>> | null {
    return this.lanes ? { ...this.lanes.stats } : null;
  }

  /** Reads replies while calls are outstanding: spin first, then park. */
  private async pump(): Promise<void> {
    this.pumping = true;
    // Set once a reply was handed over: before spinning again, the task's own code gets to run
    // (the continuations of what was answered), or the spin would hold up what it waits for.
    let answered = false;
    try {
      while (this.waiting.size > 0) {
        if (answered && !this.replies.readable()) {
          answered = false;
          await new Promise((r) => setImmediate(r));
          continue;
        }
        if (!this.replies.readable()) {
          const spin = this.spin.next();
          if (spin > 0) {
            const end = performance.now() + spin;
            let i = 0;
            while (!this.replies.readable() && (++i & 63 || performance.now() < end));
            this.spin.record(spin, this.replies.readable());
          }
        }
        const bell = this.bell;
        if (bell && !this.replies.readable()) {
          // Park on the doorbell: the kernel rings it after each reply and when it closes.
          const seen = Atomics.load(bell, BELL_COUNT);
          Atomics.add(bell, BELL_PARKED, 1);
          if (!this.replies.readable() && !this.replies.closed)
            await parkAsync(bell, BELL_COUNT, seen, Infinity);
          Atomics.sub(bell, BELL_PARKED, 1);
          if (!this.replies.readable() && !this.replies.closed) continue;
        }
        const v = this.replies.readable() ? this.replies.peek(0) : await this.replies.peekAsync();
        if (typeof v === "number") {
          // The kernel closed the channel: the task is dead. Fail every pending call.
          for (const [, w] of this.waiting) w.resolve({ code: MACH_SEND_INVALID_DEST, args: [] });
          this.waiting.clear();
          return;
        }
        const rec = decodeRecord(v)!;
        if (rec.seq === 0) {
          if (rec.op === SysOp.LANE) this.lanes?.grant(rec.args);
          this.replies.consume();
          continue;
        }
        const w = this.waiting.get(rec.seq);
        if (w) {
          this.waiting.delete(rec.seq);
          if (w.onPayload && rec.payload.length > 0) w.onPayload(rec.payload);
          w.resolve({ code: rec.op, args: rec.args });
          answered = true;
        }
        this.replies.consume();
      }
    } finally {
      this.pumping = false;
    }
  }

  mach_msg(
    buf: Uint8Array,
    option: number,
    send_size: number,
    rcv_size: number,
    rcv_name: number,
    timeout = 0,
  ): Promise<number> {
    if (rcv_size > buf.length) return Promise.resolve(MACH_RCV_INVALID_DATA);
    const lanes = this.lanes;
    if (lanes?.active) return lanes.machMsg(buf, option, send_size, rcv_size, rcv_name, timeout);
    return this.kernelMachMsgNoting(buf, option, send_size, rcv_size, rcv_name, timeout);
  }

  /** mach_msg through the kernel, noting received sequence numbers for lanes to come. */
  private async kernelMachMsgNoting(
    buf: Uint8Array,
    option: number,
    send_size: number,
    rcv_size: number,
    rcv_name: number,
    timeout: number,
  ): Promise<number> {
    const lanes = this.lanes;
    const code = await this.kernelMachMsg(buf, option, send_size, rcv_size, rcv_name, timeout);
    if (lanes && code === MACH_MSG_SUCCESS && option & MACH_RCV_MSG) lanes.noteReceived(buf);
    return code;
  }

  /** mach_msg as one system call. */
  private async kernelMachMsg(
    buf: Uint8Array,
    option: number,
    send_size: number,
    rcv_size: number,
    rcv_name: number,
    timeout: number,
  ): Promise<number> {
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
    // Reply rights held on lanes become real ones first, so the listing shows every right.
    await this.lanes?.materializeAll();
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
    // Taken from the shared pool in place, tagged with this task as owner (the kernel adopts it
    // on first use), and zero-filled here: no kernel round trip, and not on the kernel's thread.
    const a = this.allocateInPool(size);
    if (a) {
      zeroFill(this.pool!.bytes, a.offset, a.offset + a.size);
      return { kr: KERN_SUCCESS, address: POOL_VM_BASE + a.offset };
    }
    const r = await this.call(SysOp.VM_ALLOCATE, [size]);
    return { kr: r.code, address: wordsAddr(r.args[0]!, r.args[1]!) };
  }
  /**
   * A pool region left as it is (TaskApi.vm_allocate_nozero). A 1 MiB zero fill costs this
   * thread 50-270 us, and leaves the region's lines modified in this core's cache, where a
   * device's copy into the region on the kernel's thread must fetch them one by one.
   */
  async vm_allocate_nozero(size: number) {
    const a = this.allocateInPool(size);
    return a ? { kr: KERN_SUCCESS, address: POOL_VM_BASE + a.offset } : this.vm_allocate(size);
  }
  private allocateInPool(size: number): { offset: number; size: number } | undefined {
    const pool = this.pool;
    if (!pool || !this.poolOwner || !Number.isSafeInteger(size) || size <= 0) return undefined;
    const a = pool.allocate(size, this.poolOwner);
    return a.ok ? a : undefined;
  }
  async vm_deallocate(address: number) {
    // A region of this task's in the shared pool is freed in place (no kernel round trip): the
    // pool's owner tags are the authority, and the kernel's view of the task checks them.
    const pool = this.pool;
    const o = address - POOL_VM_BASE;
    if (pool && this.poolOwner && o >= 0 && pool.ownerOf(o) === this.poolOwner)
      return pool.free(o) === KERN_SUCCESS ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
    return (await this.call(SysOp.VM_DEALLOCATE, addrWords(address))).code;
  }
  /** Regions live in the shared pool: the worker reads and writes them in place. */
  vm_region(address: number): Uint8Array | undefined {
    if (!this.pool) return undefined;
    const off = address - POOL_VM_BASE;
    // Only this task's own regions: one it moved away in a message is the receiver's now.
    if (this.poolOwner && this.pool.ownerOf(off) !== this.poolOwner) return undefined;
    const size = this.pool.regionSize(off);
    if (size === 0) return undefined;
    const v = this.pool.view(off, size);
    return v === KERN_INVALID_ADDRESS ? undefined : v;
  }

  /** A region of this task's in the pool that `view` starts: its address, read in place. */
  vm_address(view: Uint8Array): number | undefined {
    const pool = this.pool;
    if (!pool || !this.poolOwner || view.buffer !== pool.buffer) return undefined;
    const off = view.byteOffset - pool.bytes.byteOffset;
    if (off < 0 || pool.ownerOf(off) !== this.poolOwner) return undefined;
    return view.byteLength <= pool.regionSize(off) ? POOL_VM_BASE + off : undefined;
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
    const [id, bufferId, lo, hi, shadowId, shadowOffset] = r.args as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    let shared: { buffer: SharedArrayBuffer; byteOffset: number } | undefined;
    if (bufferId !== 0) {
      const buffer = await this.buffers?.get(bufferId);
      if (!buffer) {
        await this.call(SysOp.VM_UNMAP, [id]);
        return { kr: KERN_RESOURCE_SHORTAGE };
      }
      shared = { buffer, byteOffset: wordsAddr(lo, hi) };
    }
    // A register shadow is an optimisation: without its buffer, reads go to the kernel.
    const shadowBuffer = shadowId !== 0 ? await this.buffers?.get(shadowId) : undefined;
    const shadow = shadowBuffer && { buffer: shadowBuffer, byteOffset: shadowOffset };
    return {
      kr: KERN_SUCCESS,
      mapping: new MemoryMapping({
        id,
        offset,
        size,
        prot,
        shared,
        ...(shadow ? { shadow } : {}),
        port: this.mappingPort(id),
      }),
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
    // Bytes come back in chunks, all asked for at once (as writes go out): one round trip to
    // the machine's backend rather than one per chunk.
    const read = async (off: number, length: number): Promise<AccessResult<Uint8Array>> => {
      const out = new Uint8Array(length);
      const calls: Promise<Reply>[] = [];
      for (let done = 0; done < length; done += READ_CHUNK) {
        const n = Math.min(READ_CHUNK, length - done);
        const at = done;
        calls.push(
          this.call(SysOp.VM_MAPPING_READ, [id, ...addrWords(off + at), 0, n], undefined, 0, (p) =>
            copyBytes(out, p.subarray(0, n), at),
          ),
        );
      }
      for (const r of await Promise.all(calls))
        if (r.code !== KERN_SUCCESS) return { ok: false, code: r.code };
      return { ok: true, value: out };
    };
    // Bytes go out in chunks, all asked for at once: the kernel starts them in order.
    const write = async (off: number, data: Uint8Array): Promise<AccessResult<number>> => {
      const calls: Promise<Reply>[] = [];
      for (let done = 0; done < data.length; done += WRITE_CHUNK) {
        const n = Math.min(WRITE_CHUNK, data.length - done);
        calls.push(
          this.call(
            SysOp.VM_MAPPING_WRITE,
            [id, ...addrWords(off + done), 0, n],
            data.subarray(done, done + n),
          ),
        );
      }
      for (const r of await Promise.all(calls))
        if (r.code !== KERN_SUCCESS) return { ok: false, code: r.code };
      return { ok: true, value: data.length };
    };
    return {
      readRegister,
      read,
      write,
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
