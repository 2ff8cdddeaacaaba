// A mapping of physical addresses that are not RAM (device registers, the BIOS area with the
// firmware tables), made by device_map on "mem": every access goes to the machine backend.
import {
  BackendAccessError,
  type AccessWidth,
  type MachineBackend,
} from "../../machine/backend.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_PROTECTION_FAILURE,
  type kern_return_t,
} from "../kern-return.js";
import { D_IO_ERROR, D_READ_ONLY, VM_PROT_READ, VM_PROT_WRITE } from "./device-codes.js";
import type { AccessResult } from "../memory-object.js";

/** An access's outcome: the value, or the error code (the kernel's vm_map uses the same type). */
export type { AccessResult };

function failure(e: unknown): { ok: false; code: kern_return_t } {
  if (e instanceof BackendAccessError) {
    if (e.reason === "read-only") return { ok: false, code: D_READ_ONLY };
    if (e.reason === "out-of-range") return { ok: false, code: KERN_INVALID_ADDRESS };
  }
  return { ok: false, code: D_IO_ERROR };
}

export class PhysicalMapping {
  constructor(
    private readonly backend: MachineBackend,
    /** Physical address of byte 0 of the mapping. */
    readonly base: number,
    readonly size: number,
    readonly prot: number,
  ) {}

  private check(offset: number, length: number, want: number): kern_return_t | undefined {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      return KERN_INVALID_ADDRESS;
    }
    if ((this.prot & want) !== want) return KERN_PROTECTION_FAILURE;
    return undefined;
  }

  /**
   * The mapped bytes as shared memory, where the machine keeps its physical memory in a
   * SharedArrayBuffer (the simulated PC) and the range lies inside it; undefined elsewhere. A view
   * can be handed to an isolated task; device registers still need readRegister/writeRegister.
   */
  sharedView(): Uint8Array | undefined {
    const buffer = this.backend.sharedMemory?.();
    if (!buffer || this.base + this.size > buffer.byteLength) return undefined;
    return new Uint8Array(buffer, this.base, this.size);
  }

  /**
   * The mapped registers as a shared page the device model keeps current, where the machine
   * offers one for this range (the simulated AHCI's ABAR): reads may come from it, writes may not.
   */
  registerShadow():
    { readonly buffer: SharedArrayBuffer; readonly byteOffset: number } | undefined {
    return this.backend.registerShadow?.(this.base, this.size);
  }

  /** Bytes of a firmware area (the BIOS area, ACPI tables): the backend's memRead. */
  async read(offset: number, length: number): Promise<AccessResult<Uint8Array>> {
    const bad = this.check(offset, length, VM_PROT_READ);
    if (bad !== undefined) return { ok: false, code: bad };
    try {
      return { ok: true, value: await this.backend.memRead(this.base + offset, length) };
    } catch (e) {
      return failure(e);
    }
  }

  /** Writes bytes through the backend's memWrite (needs VM_PROT_WRITE). */
  async write(offset: number, data: Uint8Array): Promise<AccessResult<number>> {
    const bad = this.check(offset, data.length, VM_PROT_WRITE);
    if (bad !== undefined) return { ok: false, code: bad };
    try {
      await this.backend.memWrite(this.base + offset, data);
      return { ok: true, value: data.length };
    } catch (e) {
      return failure(e);
    }
  }

  /** A device register read of 1, 2 or 4 bytes: the backend's mmioRead. */
  async readRegister(offset: number, width: AccessWidth): Promise<AccessResult<number>> {
    const bad =
      this.check(offset, width, VM_PROT_READ) ??
      (offset % width === 0 ? undefined : KERN_INVALID_ADDRESS);
    if (bad !== undefined) return { ok: false, code: bad };
    try {
      return { ok: true, value: await this.backend.mmioRead(this.base + offset, width) };
    } catch (e) {
      return failure(e);
    }
  }

  /** A device register write of 1, 2 or 4 bytes: the backend's mmioWrite (needs VM_PROT_WRITE). */
  async writeRegister(
    offset: number,
    width: AccessWidth,
    value: number,
  ): Promise<AccessResult<number>> {
    const bad =
      this.check(offset, width, VM_PROT_WRITE) ??
      (offset % width === 0 ? undefined : KERN_INVALID_ADDRESS);
    if (bad !== undefined) return { ok: false, code: bad };
    try {
      await this.backend.mmioWrite(this.base + offset, width, value);
      return { ok: true, value: width };
    } catch (e) {
      return failure(e);
    }
  }
}
