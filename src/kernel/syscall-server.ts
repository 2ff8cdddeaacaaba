// The kernel's side of isolated tasks: serves the system calls every worker writes into its
// request channel. One loop on the kernel's event loop drains all channels, spins briefly while
// work keeps arriving, and otherwise parks on a shared doorbell with Atomics.waitAsync (no core
// burnt while idle). Replies go back through each task's reply channel.
import { performance } from "node:perf_hooks";
import { alignedSharedBuffer } from "./aligned-buffer.js";
import type { ShmChannel } from "./shm-channel.js";
import type { Task } from "./task.js";
import {
  decodeRecord,
  encodeRecord,
  SYSCALL_HEADER,
  SysOp,
  addrWords,
  wordsAddr,
} from "./syscall-abi.js";
import { machMsgReceive, machMsgSend, type ReceiveOutcome } from "./mach-msg.js";
import {
  MACH_RCV_INVALID_DATA,
  MACH_RCV_TOO_LARGE,
  KERN_INVALID_ARGUMENT,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  MACH_MSG_SUCCESS,
} from "./kern-return.js";
import { MACH_RCV_MSG, MACH_SEND_MSG } from "./msg-type.js";
import {
  portAllocate,
  portDeallocate,
  portDestroy,
  portExtractRight,
  portGetReceiveStatus,
  portGetRefs,
  portInsertRight,
  portModRefs,
  portMoveMember,
  portNames,
  portRequestNotification,
  portSetQlimit,
  portType,
} from "./port-ops.js";
import type { Port } from "./port.js";
import type { MappingTable } from "./vm-mappings.js";
import { SpinPolicy } from "./spin-policy.js";
import { LaneTable } from "./fast-lane-kernel.js";
import { ringBell } from "./fast-lane.js";
import type { IpcSpace } from "./ipc-space.js";

/** Doorbell words: [0] rung count, [1] 1 while the kernel is parked. */
export const DOORBELL_RUNG = 0;
export const DOORBELL_PARKED = 1;

type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (
  Atomics as unknown as {
    waitAsync?: (a: Int32Array, i: number, v: number, t?: number) => WaitAsyncResult;
  }
).waitAsync;

export interface SyscallClient {
  readonly task: Task;
  readonly requests: ShmChannel;
  readonly replies: ShmChannel;
  /** Replies that did not fit in the reply channel yet. */
  readonly backlog: Uint8Array[];
  /** Called for an EXIT request (the task's main returned or threw). */
  onExit(ok: boolean): void;
  /** Hands the task a SharedArrayBuffer (once) and returns its number there; 0 if it cannot. */
  shareBuffer?(buffer: SharedArrayBuffer): number;
  /** The task's doorbell (fast-lane.ts): rung with every reply; the task parks on it. */
  readonly bell?: Int32Array;
}

export interface SyscallServerOptions {
  /**
   * Microseconds to keep polling after the last request before parking (default 400). A task
   * that drives a device writes its registers some 10-100 us after the kernel's last answer, and
   * a worker's ring that must wake this thread costs both sides 30-150 us on a VM. Polling here
   * lets the rest of the kernel's thread run between looks, and the adaptive policy stops
   * polling where it does not pay.
   */
  spinMicros?: number;
  /** The kernel's memory-object mappings (vm_map); without it VM_MAP is refused. */
  mappings?: MappingTable;
  /**
   * Grant fast RPC lanes between isolated tasks (fast-lane-kernel.ts). Default: on, unless the
   * environment sets TSMACH_FAST_LANES=0 (to compare with the kernel path alone).
   */
  fastLanes?: boolean;
}

export class SyscallServer {
  readonly doorbell = new Int32Array(alignedSharedBuffer(8), 0, 2);
  /** Doorbells to ring at the end of the current burst (ringSoon). */
  private readonly bells = new Set<Int32Array>();
  private readonly clients = new Set<SyscallClient>();
  private running = false;
  private readonly spinMs: number;
  private readonly spin: SpinPolicy;
  private readonly mappings: MappingTable | undefined;
  private readonly bySpace = new Map<IpcSpace, SyscallClient>();
  /** Fast RPC lanes between isolated tasks (null when disabled). */
  readonly lanes: LaneTable | null;

  constructor(
    private readonly registry: Set<Port>,
    options: SyscallServerOptions = {},
  ) {
    this.spinMs = (options.spinMicros ?? 400) / 1000;
    this.spin = new SpinPolicy(this.spinMs);
    this.mappings = options.mappings;
    this.lanes =
      (options.fastLanes ?? process.env.TSMACH_FAST_LANES !== "0") === false
        ? null
        : new LaneTable(
            (to, op, args) => this.reply(to as SyscallClient, 0, op, args),
            (space) => this.bySpace.get(space),
          );
  }

  add(c: SyscallClient): void {
    this.clients.add(c);
    this.bySpace.set(c.task.space, c);
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
  }

  remove(c: SyscallClient): void {
    this.clients.delete(c);
    if (this.bySpace.get(c.task.space) === c) this.bySpace.delete(c.task.space);
    Atomics.add(this.doorbell, DOORBELL_RUNG, 1);
    Atomics.notify(this.doorbell, DOORBELL_RUNG);
  }

  private drain(): boolean {
    let worked = false;
    for (const c of this.clients) {
      if (c.backlog.length > 0) {
        while (c.backlog.length > 0 && c.replies.send(c.backlog[0]!, 0) === MACH_MSG_SUCCESS)
          c.backlog.shift();
        if (c.bell) ringBell(c.bell);
      }
      for (let n = 0; n < 64 && c.requests.readable(); n++) {
        const v = c.requests.peek(0);
        if (typeof v === "number") break;
        const rec = decodeRecord(v);
        if (rec) this.handle(c, rec.seq, rec.op, rec.args, rec.payload);
        c.requests.consume();
        worked = true;
      }
    }
    return worked;
  }

  private async loop(): Promise<void> {
    let lastWork = performance.now();
    let sinceYield = 0;
    // The spin of the current idle stretch (0 while there is work).
    let spin = 0;
    while (this.clients.size > 0) {
      if (this.drain()) {
        if (spin > 0) this.spin.record(spin, true);
        spin = 0;
        lastWork = performance.now();
        // Let promise continuations (deliveries to in-thread tasks, replies) run.
        await null;
        if (++sinceYield >= 256) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
        continue;
      }
      if (spin === 0) spin = this.spin.next();
      if (performance.now() - lastWork < spin) {
        // Poll, letting the rest of this thread run between looks (timers, I/O, in-thread
        // tasks): a spin of promise hops alone would hold them up for the whole window.
        if (++sinceYield & 15) await null;
        else await new Promise((r) => setImmediate(r));
        continue;
      }
      this.spin.record(spin, false);
      spin = 0;
      // Park: announce it, re-check (a worker rings after publishing), then wait.
      const seen = Atomics.load(this.doorbell, DOORBELL_RUNG);
      Atomics.store(this.doorbell, DOORBELL_PARKED, 1);
      if (!this.anyReadable() && waitAsync) {
        const r = waitAsync(this.doorbell, DOORBELL_RUNG, seen, 1000);
        if (r.async) await r.value;
      } else if (!waitAsync) {
        await new Promise((r) => setTimeout(r, 1));
      }
      Atomics.store(this.doorbell, DOORBELL_PARKED, 0);
      // Woken as a task of its own: other macrotasks had their turn; drain at once.
      sinceYield = 0;
      lastWork = performance.now();
    }
    this.running = false;
  }

  /**
   * Rings `bell` once the current burst of work is done (a microtask later): replies made in one
   * pass to a task cost one ring, and a wake-up of a parked thread costs its waker tens of
   * microseconds on some machines, paid again by every ring until the thread runs.
   */
  private ringSoon(bell: Int32Array): void {
    this.bells.add(bell);
    if (this.bells.size > 1) return;
    queueMicrotask(() => {
      for (const b of this.bells) ringBell(b);
      this.bells.clear();
    });
  }

  private anyReadable(): boolean {
    for (const c of this.clients) if (c.requests.readable()) return true;
    return false;
  }

  private reply(
    c: SyscallClient,
    seq: number,
    code: number,
    results: readonly number[] = [],
    payload?: Uint8Array,
  ): void {
    if (!this.clients.has(c)) return;
    const len = SYSCALL_HEADER + (payload?.length ?? 0);
    // Never block the kernel on a task that does not read its replies: queue them instead.
    if (
      c.backlog.length === 0 &&
      c.replies.sendWith(
        len,
        (dst, off) => encodeRecord(dst, off, seq, code, results, payload),
        0,
      ) === MACH_MSG_SUCCESS
    ) {
      if (c.bell) this.ringSoon(c.bell);
      return;
    }
    const rec = new Uint8Array(len);
    encodeRecord(rec, 0, seq, code, results, payload);
    c.backlog.push(rec);
  }

  private handle(
    c: SyscallClient,
    seq: number,
    op: number,
    a: number[],
    payload: Uint8Array,
  ): void {
    const t = c.task;
    const s = t.space;
    const lanes = this.lanes;
    if (lanes && lanes.size > 0) lanes.beforeSyscall(c, op, a, payload);
    switch (op) {
      case SysOp.MACH_MSG: {
        const [option, sendSize, rcvSize, rcvName, timeout] = a as [
          number,
          number,
          number,
          number,
          number,
        ];
        const finishReceive = () => {
          if (!(option & MACH_RCV_MSG)) return this.reply(c, seq, MACH_MSG_SUCCESS);
          if (rcvSize > c.replies.maxMessageSize - SYSCALL_HEADER)
            return this.reply(c, seq, MACH_RCV_INVALID_DATA);
          const r = t.alive
            ? machMsgReceive(t, option, rcvSize, rcvName, timeout)
            : { code: MACH_RCV_INVALID_DATA };
          const done = (o: ReceiveOutcome) => {
            if (lanes && lanes.size > 0) lanes.afterReceive(c);
            this.reply(c, seq, o.code, [o.code === MACH_RCV_TOO_LARGE ? (o.size ?? 0) : 0], o.msg);
          };
          if (r instanceof Promise) void r.then(done);
          else done(r);
        };
        if (lanes && option & MACH_SEND_MSG && option & MACH_RCV_MSG)
          lanes.maybeGrant(c, option, sendSize, rcvName, payload);
        if (option & MACH_SEND_MSG) {
          // The payload view dies when the record is consumed: the send copies what it keeps.
          const sr = machMsgSend(t, payload, option, sendSize, timeout);
          if (typeof sr === "number") {
            if (sr !== MACH_MSG_SUCCESS) return this.reply(c, seq, sr);
            return finishReceive();
          }
          void sr.then((code) =>
            code !== MACH_MSG_SUCCESS ? this.reply(c, seq, code) : finishReceive(),
          );
          return;
        }
        return finishReceive();
      }
      case SysOp.PORT_ALLOCATE: {
        const r = portAllocate(s, this.registry, a[0]!);
        return this.reply(c, seq, r.kr, [r.name]);
      }
      case SysOp.PORT_DEALLOCATE:
        return this.reply(c, seq, portDeallocate(s, a[0]!));
      case SysOp.PORT_DESTROY:
        return this.reply(c, seq, portDestroy(s, a[0]!));
      case SysOp.PORT_MOD_REFS:
        return this.reply(c, seq, portModRefs(s, a[0]!, a[1]!, a[2]! | 0));
      case SysOp.PORT_INSERT_RIGHT:
        return this.reply(c, seq, portInsertRight(s, a[0]!, s, a[1]!, a[2]!));
      case SysOp.PORT_EXTRACT_RIGHT: {
        const r = portExtractRight(s, a[0]!, a[1]!, s);
        return this.reply(c, seq, r.kr, [r.name, r.type]);
      }
      case SysOp.PORT_REQUEST_NOTIFICATION: {
        const r = portRequestNotification(s, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!);
        return this.reply(c, seq, r.kr, [r.previous]);
      }
      case SysOp.PORT_GET_REFS: {
        const r = portGetRefs(s, a[0]!, a[1]!);
        return this.reply(c, seq, r.kr, [r.refs]);
      }
      case SysOp.PORT_SET_QLIMIT:
        return this.reply(c, seq, portSetQlimit(s, a[0]!, a[1]!));
      case SysOp.PORT_MOVE_MEMBER:
        return this.reply(c, seq, portMoveMember(s, a[0]!, a[1]!));
      case SysOp.PORT_NAMES: {
        const r = portNames(s);
        const out = new Uint8Array(r.names.length * 8);
        const v = new DataView(out.buffer);
        r.names.forEach((n, i) => {
          v.setUint32(i * 8, n, true);
          v.setUint32(i * 8 + 4, r.types[i]!, true);
        });
        return this.reply(c, seq, r.kr, [r.names.length], out);
      }
      case SysOp.PORT_TYPE: {
        const r = portType(s, a[0]!);
        return this.reply(c, seq, r.kr, [r.type]);
      }
      case SysOp.PORT_GET_RECEIVE_STATUS: {
        const r = portGetReceiveStatus(s, a[0]!);
        const st = r.status;
        const words = st
          ? [
              st.mps_pset,
              st.mps_seqno,
              st.mps_mscount,
              st.mps_qlimit,
              st.mps_msgcount,
              st.mps_sorights |
                (st.mps_srights ? 1 << 29 : 0) |
                (st.mps_pdrequest ? 1 << 30 : 0) |
                (st.mps_nsrequest ? 1 << 31 : 0),
            ]
          : [];
        return this.reply(c, seq, r.kr, words);
      }
      case SysOp.VM_ALLOCATE: {
        const r = t.vm.allocate(a[0]!);
        return this.reply(c, seq, r.kr, addrWords(r.addr));
      }
      case SysOp.VM_DEALLOCATE:
        return this.reply(c, seq, t.vm.deallocate(wordsAddr(a[0]!, a[1]!)));
      case SysOp.VM_MAP: {
        const table = this.mappings;
        if (!table) return this.reply(c, seq, KERN_INVALID_ARGUMENT);
        const r = table.map(t, a[0]!, wordsAddr(a[1]!, a[2]!), wordsAddr(a[3]!, a[4]!), a[5]!);
        if (!r.record) return this.reply(c, seq, r.kr);
        const rec = r.record;
        const shared = rec.shared && c.shareBuffer ? c.shareBuffer(rec.shared.buffer) : 0;
        if (!shared && !rec.registers) {
          // Memory only reachable by sharing it, and this task cannot be handed the buffer.
          table.unmap(t, rec.id);
          return this.reply(c, seq, KERN_RESOURCE_SHORTAGE);
        }
        // Registers the device keeps in a shared page: the task reads them there.
        const shadow = rec.shadow && c.shareBuffer ? c.shareBuffer(rec.shadow.buffer) : 0;
        return this.reply(c, seq, KERN_SUCCESS, [
          rec.id,
          shared,
          ...addrWords(shared ? rec.shared!.byteOffset : 0),
          shadow,
          shadow ? rec.shadow!.byteOffset : 0,
        ]);
      }
      case SysOp.VM_MAPPING_READ: {
        const table = this.mappings;
        if (!table) return this.reply(c, seq, KERN_INVALID_ARGUMENT);
        const width = a[3]!;
        const length = a[4]!;
        if (width === 0 && length > c.replies.maxMessageSize - SYSCALL_HEADER)
          return this.reply(c, seq, KERN_INVALID_ARGUMENT);
        void table.read(t, a[0]!, wordsAddr(a[1]!, a[2]!), width, length).then((r) => {
          if (!r.ok) return this.reply(c, seq, r.code);
          if (typeof r.value === "number") return this.reply(c, seq, KERN_SUCCESS, [r.value]);
          return this.reply(c, seq, KERN_SUCCESS, [r.value.length], r.value);
        });
        return;
      }
      case SysOp.VM_MAPPING_WRITE: {
        const table = this.mappings;
        if (!table) return this.reply(c, seq, KERN_INVALID_ARGUMENT);
        if (a[3] === 0) {
          // Bytes: the payload is copied (its view dies with the record); started in order.
          const length = a[4]!;
          if (length === 0 || length > payload.length)
            return this.reply(c, seq, KERN_INVALID_ARGUMENT);
          void table
            .writeBytes(t, a[0]!, wordsAddr(a[1]!, a[2]!), payload.slice(0, length))
            .then((kr) => this.reply(c, seq, kr));
          return;
        }
        void table
          .write(t, a[0]!, wordsAddr(a[1]!, a[2]!), a[3]!, a[4]!)
          .then((kr) => this.reply(c, seq, kr));
        return;
      }
      case SysOp.VM_UNMAP:
        return this.reply(
          c,
          seq,
          this.mappings ? this.mappings.unmap(t, a[0]!) : KERN_INVALID_ARGUMENT,
        );
      case SysOp.LANE:
        return this.reply(c, seq, lanes ? lanes.laneCall(c, a) : KERN_INVALID_ARGUMENT);
      case SysOp.EXIT:
        this.reply(c, seq, KERN_SUCCESS);
        return c.onExit(a[0] === 0);
      default:
        return this.reply(c, seq, KERN_INVALID_ARGUMENT);
    }
  }
}
