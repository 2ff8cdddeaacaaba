// The system-call surface a task sees, identical for in-thread and isolated tasks: mach_msg,
// the mach_port_* operations on its own space, and vm_* calls for out-of-line memory.
import type { kern_return_t } from "./kern-return.js";
import type { PortStatus } from "./port-ops.js";
import type { MemoryMapping } from "./memory-mapping.js";

export interface TaskApi {
  /** Task name, for logs and `portinfo`. */
  readonly name: string;
  mach_msg(
    buf: Uint8Array,
    option: number,
    send_size: number,
    rcv_size: number,
    rcv_name: number,
    timeout?: number,
    notify?: number,
  ): Promise<number>;
  mach_port_allocate(right: number): Promise<{ kr: kern_return_t; name: number }>;
  mach_port_deallocate(name: number): Promise<kern_return_t>;
  mach_port_destroy(name: number): Promise<kern_return_t>;
  mach_port_mod_refs(name: number, right: number, delta: number): Promise<kern_return_t>;
  /** Inserts, under `name`, the right `poly` of this task taken with disposition `polyPoly`. */
  mach_port_insert_right(name: number, poly: number, polyPoly: number): Promise<kern_return_t>;
  mach_port_extract_right(
    name: number,
    msgt_name: number,
  ): Promise<{ kr: kern_return_t; poly: number; polyPoly: number }>;
  mach_port_request_notification(
    name: number,
    variant: number,
    sync: number,
    notify: number,
    notifyPoly: number,
  ): Promise<{ kr: kern_return_t; previous: number }>;
  mach_port_get_refs(name: number, right: number): Promise<{ kr: kern_return_t; refs: number }>;
  mach_port_set_qlimit(name: number, qlimit: number): Promise<kern_return_t>;
  mach_port_move_member(member: number, after: number): Promise<kern_return_t>;
  mach_port_names(): Promise<{ kr: kern_return_t; names: number[]; types: number[] }>;
  mach_port_type(name: number): Promise<{ kr: kern_return_t; type: number }>;
  mach_port_get_receive_status(name: number): Promise<{ kr: kern_return_t; status?: PortStatus }>;
  /** vm_allocate: zero-filled memory for out-of-line data; returns its address. */
  vm_allocate(size: number): Promise<{ kr: kern_return_t; address: number }>;
  /**
   * vm_allocate without the zero fill (not a Mach call): the region holds whatever its memory
   * held last. For a buffer the caller overwrites whole before anyone else sees it, such as a
   * device's DMA target; whatever it does not overwrite, it must zero before the region leaves
   * the task. Only where it saves work (regions of the shared pool); undefined elsewhere.
   */
  vm_allocate_nozero?(size: number): Promise<{ kr: kern_return_t; address: number }>;
  vm_deallocate(address: number): Promise<kern_return_t>;
  /** The bytes of a region this task owns (a view: writes go to the region). */
  vm_region(address: number): Uint8Array | undefined;
  /**
   * The inverse of vm_region: the address of the region of this task's own memory that `view`
   * starts (a view from vm_region, or a prefix of one); undefined for any other array.
   */
  vm_address?(view: Uint8Array): number | undefined;
  /**
   * Makes the caller's own array a region of this task as it is (no copy), as a C pointer into
   * the caller's memory would be; vm_deallocate forgets it and leaves the array alone. Only
   * where a task's memory is ordinary arrays (in-thread tasks); undefined elsewhere.
   */
  vm_map_array?(data: Uint8Array): number | undefined;
  /**
   * vm_map of a memory object (the pager device_map returned, a send right of this task):
   * [offset, offset+size) in the object's offsets (the physical address for "mem", 0 for
   * "time"), with `prot` (vm_prot_t, default VM_PROT_READ). The mapping reads and writes in
   * place where the memory is shared, and through the kernel for device registers.
   */
  vm_map(
    memory_object: number,
    offset: number,
    size: number,
    prot?: number,
  ): Promise<{ kr: kern_return_t; mapping?: MemoryMapping }>;
}
