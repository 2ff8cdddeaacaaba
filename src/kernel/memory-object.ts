// Memory objects as vm_map sees them: what a pager port (a memory object that device_map
// returned) stands for — a range of shared memory, device registers reached through the machine, or both.
import type { AccessWidth } from "../machine/backend.js";
import type { kern_return_t } from "./kern-return.js";
import type { Task } from "./task.js";

/** An access's outcome: the value, or the error code. */
export type AccessResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: kern_return_t };

/** Accesses that the kernel performs for a task (device registers, memory it cannot share). */
export interface RegisterAccess {
  /** A register read of 1, 2 or 4 bytes at `offset` from the object range's start. */
  readRegister(offset: number, width: AccessWidth): Promise<AccessResult<number>>;
  writeRegister(offset: number, width: AccessWidth, value: number): Promise<AccessResult<number>>;
  /** Bytes of memory (a firmware area the machine keeps out of reach). */
  read(offset: number, length: number): Promise<AccessResult<Uint8Array>>;
  /** Writes bytes of memory (RAM the machine keeps out of reach), where the object allows it. */
  write?(offset: number, data: Uint8Array): Promise<AccessResult<number>>;
}

/** Shared memory backing a range: object byte `start + i` is byte `byteOffset + i` of `buffer`. */
export interface SharedBacking {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** The range of a memory object a task may map, and what backs it. */
export interface MemoryObjectRange {
  /** Object offset of the first mappable byte (the physical address for "mem", 0 for "time"). */
  readonly start: number;
  readonly size: number;
  /** The most protection a mapping may ask for (the prot device_map granted). */
  readonly maxProt: number;
  /** Shared memory holding the range, where there is (the time page, the simulated PC's memory). */
  readonly shared?: SharedBacking;
  /** Accesses through the kernel (always present for device memory; offsets from `start`). */
  readonly registers?: RegisterAccess;
  /**
   * Device registers readable in shared memory (a page the device model keeps current, one
   * little-endian dword per register): register reads may come from it; writes go to `registers`.
   */
  readonly shadow?: SharedBacking;
}

export type MemoryObjectResolution =
  | { readonly ok: true; readonly value: MemoryObjectRange }
  | { readonly ok: false; readonly code: kern_return_t };

/**
 * Something that hands out memory objects (the device master): resolves `pager`, a send right in
 * `task`'s space, to the range it stands for; KERN_INVALID_ARGUMENT when it is not one of its own.
 */
export interface MemoryObjectSource {
  resolveMemoryObject(task: Task, pager: number): MemoryObjectResolution;
}
