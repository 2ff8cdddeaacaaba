// The DMA arena the boot chain sets aside in guest RAM, as a memory object rumpdisk can vm_map:
// what vm_allocate_contiguous gives a Hurd driver, where the RAM is reached only by the kernel.
import { VM_PROT_READ, VM_PROT_WRITE } from "../kernel/devices/device-codes.js";
import { PhysicalMapping } from "../kernel/devices/physical-mapping.js";
import { KERN_INVALID_ARGUMENT, KERN_SUCCESS } from "../kernel/kern-return.js";
import type { Kernel } from "../kernel/kernel.js";
import type { MemoryObjectResolution, MemoryObjectSource } from "../kernel/memory-object.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE, MACH_PORT_TYPE_SEND } from "../kernel/port-right.js";
import type { Task } from "../kernel/task.js";
import type { MachineBackend, PhysAddr } from "../machine/backend.js";

/**
 * A pager port (its receive right held by `owner`) standing for [phys, phys+size) of the
 * machine's RAM, read and written through the backend; offsets are physical addresses. The
 * kernel's vm_map asks it, with the device master, what a pager is.
 */
export class DmaArenaObject implements MemoryObjectSource {
  private removeSource: (() => void) | undefined;

  private constructor(
    private readonly owner: Task,
    /** The pager's receive right in `owner`'s space. */
    readonly pager: number,
    private readonly mapping: PhysicalMapping,
  ) {}

  /** Makes the pager in `owner` and registers it with the kernel's vm_map; undefined on failure. */
  static async create(
    kernel: Kernel,
    owner: Task,
    backend: MachineBackend,
    phys: PhysAddr,
    size: number,
  ): Promise<DmaArenaObject | undefined> {
    const r = await owner.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (r.kr !== KERN_SUCCESS) return undefined;
    if ((await owner.mach_port_insert_right(r.name, r.name, MACH_MSG_TYPE_MAKE_SEND)) !== 0) {
      await owner.mach_port_mod_refs(r.name, MACH_PORT_RIGHT_RECEIVE, -1);
      return undefined;
    }
    const prot = VM_PROT_READ | VM_PROT_WRITE;
    const obj = new DmaArenaObject(owner, r.name, new PhysicalMapping(backend, phys, size, prot));
    obj.removeSource = kernel.mappings.addSource(obj);
    return obj;
  }

  resolveMemoryObject(task: Task, pager: number): MemoryObjectResolution {
    const mine = this.owner.alive ? this.owner.space.lookup(this.pager)?.port : undefined;
    const e = task.alive ? task.space.lookup(pager) : undefined;
    if (!mine || !e || !(e.type & MACH_PORT_TYPE_SEND) || e.port !== mine)
      return { ok: false, code: KERN_INVALID_ARGUMENT };
    const m = this.mapping;
    return { ok: true, value: { start: m.base, size: m.size, maxProt: m.prot, registers: m } };
  }

  /** Stops answering for the pager and destroys it (mappings already made stay until unmapped). */
  async destroy(): Promise<void> {
    this.removeSource?.();
    this.removeSource = undefined;
    if (this.owner.alive) await this.owner.mach_port_destroy(this.pager).catch(() => undefined);
  }
}
