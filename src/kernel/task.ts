// A task: an IPC space plus execution. In-thread tasks run async code on the kernel's event
// loop; their system calls go straight to the kernel objects. Killing a task destroys its rights
// (sending every notification they owe) and fails its pending calls.
import { IpcSpace } from "./ipc-space.js";
import { VmMap, type TaskVm } from "./vm-map.js";
import { machMsg, type MsgContext } from "./mach-msg.js";
import { PendingCalls } from "./pending-call.js";
import {
  KERN_INVALID_TASK,
  MACH_RCV_INVALID_NAME,
  MACH_SEND_INVALID_DEST,
  type kern_return_t,
} from "./kern-return.js";
import { destroySpace } from "./ipc-right.js";
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
import type { TaskApi } from "./task-api.js";
import { MACH_SEND_MSG } from "./msg-type.js";
import { MappingTable, localMapping } from "./vm-mappings.js";
import type { MemoryMapping } from "./memory-mapping.js";
import { VM_PROT_READ } from "./devices/device-codes.js";

export type TaskState = "running" | "dead";

/** The kernel's record of a task (either mode). */
export class Task implements TaskApi, MsgContext {
  readonly space: IpcSpace;
  readonly vm: TaskVm;
  /** The kernel's table of memory-object mappings (vm_map), shared by every task of a kernel. */
  readonly mappings: MappingTable;
  readonly pending = new PendingCalls();
  state: TaskState = "running";
  /** How the task runs: on the kernel's event loop, or in a worker thread of its own. */
  mode: "in-thread" | "isolated" = "in-thread";
  /** Why the task died (killed, threw, worker exit). */
  deathReason = "";
  private readonly deathListeners: ((reason: string) => void)[] = [];

  constructor(
    readonly name: string,
    private readonly registry: Set<Port>,
    vm?: TaskVm,
    mappings?: MappingTable,
  ) {
    this.space = new IpcSpace(name);
    this.vm = vm ?? new VmMap();
    this.mappings = mappings ?? new MappingTable();
  }

  get alive(): boolean {
    return this.state === "running";
  }

  /** Destroys the task's rights and memory and fails its pending calls; idempotent. */
  terminate(reason = "terminated"): void {
    if (this.state === "dead") return;
    this.state = "dead";
    this.deathReason = reason;
    this.pending.cancelAll();
    destroySpace(this.space);
    this.vm.clear();
    for (const l of this.deathListeners.splice(0)) l(reason);
  }

  onDeath(listener: (reason: string) => void): void {
    if (this.state === "dead") listener(this.deathReason);
    else this.deathListeners.push(listener);
  }

  mach_msg(
    buf: Uint8Array,
    option: number,
    send_size: number,
    rcv_size: number,
    rcv_name: number,
    timeout = 0,
  ): Promise<number> {
    if (!this.alive)
      return Promise.resolve(
        option & MACH_SEND_MSG ? MACH_SEND_INVALID_DEST : MACH_RCV_INVALID_NAME,
      );
    return machMsg(this, buf, option, send_size, rcv_size, rcv_name, timeout);
  }
  mach_port_allocate(right: number) {
    return Promise.resolve(portAllocate(this.space, this.registry, right));
  }
  mach_port_deallocate(name: number) {
    return Promise.resolve(portDeallocate(this.space, name));
  }
  mach_port_destroy(name: number) {
    return Promise.resolve(portDestroy(this.space, name));
  }
  mach_port_mod_refs(name: number, right: number, delta: number) {
    return Promise.resolve(portModRefs(this.space, name, right, delta));
  }
  mach_port_insert_right(name: number, poly: number, polyPoly: number) {
    return Promise.resolve(portInsertRight(this.space, name, this.space, poly, polyPoly));
  }
  mach_port_extract_right(name: number, msgt_name: number) {
    const r = portExtractRight(this.space, name, msgt_name, this.space);
    return Promise.resolve({ kr: r.kr, poly: r.name, polyPoly: r.type });
  }
  mach_port_request_notification(
    name: number,
    variant: number,
    sync: number,
    notify: number,
    notifyPoly: number,
  ) {
    return Promise.resolve(
      portRequestNotification(this.space, name, variant, sync, notify, notifyPoly),
    );
  }
  mach_port_get_refs(name: number, right: number) {
    return Promise.resolve(portGetRefs(this.space, name, right));
  }
  mach_port_set_qlimit(name: number, qlimit: number) {
    return Promise.resolve(portSetQlimit(this.space, name, qlimit));
  }
  mach_port_move_member(member: number, after: number) {
    return Promise.resolve(portMoveMember(this.space, member, after));
  }
  mach_port_names() {
    return Promise.resolve(portNames(this.space));
  }
  mach_port_type(name: number) {
    return Promise.resolve(portType(this.space, name));
  }
  mach_port_get_receive_status(name: number) {
    return Promise.resolve(portGetReceiveStatus(this.space, name));
  }
  vm_allocate(size: number): Promise<{ kr: kern_return_t; address: number }> {
    if (!this.alive) return Promise.resolve({ kr: KERN_INVALID_TASK, address: 0 });
    const r = this.vm.allocate(size);
    return Promise.resolve({ kr: r.kr, address: r.addr });
  }
  vm_deallocate(address: number): Promise<kern_return_t> {
    return Promise.resolve(this.alive ? this.vm.deallocate(address) : KERN_INVALID_TASK);
  }
  vm_region(address: number): Uint8Array | undefined {
    return this.vm.region(address);
  }
  vm_address(view: Uint8Array): number | undefined {
    return this.vm.addressOf(view);
  }
  vm_map_array(data: Uint8Array): number | undefined {
    if (!this.alive || !(this.vm instanceof VmMap) || !(data instanceof Uint8Array))
      return undefined;
    return this.vm.map(data);
  }
  vm_map(
    memory_object: number,
    offset: number,
    size: number,
    prot = VM_PROT_READ,
  ): Promise<{ kr: kern_return_t; mapping?: MemoryMapping }> {
    const r = this.mappings.map(this, memory_object, offset, size, prot);
    return Promise.resolve(
      r.record ? { kr: r.kr, mapping: localMapping(this.mappings, r.record) } : { kr: r.kr },
    );
  }
}
