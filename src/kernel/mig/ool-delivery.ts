// How a task's MIG stubs hand over the out-of-line byte arrays they receive: copied into fresh
// memory (the default), or mapped as Mach does, a view of the received region itself that the
// task gives back with mig_deallocate when done (no copy at all, and the caller's duty).
import { KERN_INVALID_ADDRESS, type kern_return_t } from "../kern-return.js";
import type { TaskApi } from "../task-api.js";

/** "copy": arrays are the task's own memory; "map": views of received regions, given back. */
export type OolDelivery = "copy" | "map";

const deliveries = new WeakMap<TaskApi, OolDelivery>();
/** Mapped arrays handed to callers, and the region each one is a view of. */
const mapped = new WeakMap<Uint8Array, { readonly task: TaskApi; readonly address: number }>();

/**
 * Sets how `task`'s stubs deliver out-of-line byte arrays from now on. With "map", every such
 * array is a view of a region of the task's memory: it stays valid until mig_deallocate(task,
 * array) (or the task's death), and must not be used after that.
 */
export function setOolDelivery(task: TaskApi, how: OolDelivery): void {
  deliveries.set(task, how);
}

export function oolDelivery(task: TaskApi): OolDelivery {
  return deliveries.get(task) ?? "copy";
}

/** Records that `view` is the region at `address` of `task`, handed to the caller. */
export function lendRegion(task: TaskApi, view: Uint8Array, address: number): void {
  mapped.set(view, { task, address });
}

/** Forgets that `view` was lent: its region left the task (moved away in a message). */
export function forgetRegion(view: Uint8Array): void {
  mapped.delete(view);
}

/**
 * Gives back the region a mapped array (from a stub of a task in "map" delivery) is a view of:
 * vm_deallocate, as C code does with what MIG handed it. KERN_INVALID_ADDRESS for an array that
 * is not a mapped one of `task`, or was given back already.
 */
export async function mig_deallocate(task: TaskApi, data: Uint8Array): Promise<kern_return_t> {
  const m = mapped.get(data);
  if (!m || m.task !== task) return KERN_INVALID_ADDRESS;
  mapped.delete(data);
  return task.vm_deallocate(m.address);
}
