// What vm_map gives a task, in either mode: a typed mapping with read8/16/32 and write8/16/32.
// Shared memory (the time page, the simulated PC's memory) is read in place and offered as a
// Uint8Array; device registers go to the kernel, which forwards each access to the machine,
// except reads of registers the device keeps in a shared page (its register shadow).
import type { AccessWidth } from "../machine/backend.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
  type kern_return_t,
} from "./kern-return.js";
import type { AccessResult, RegisterAccess } from "./memory-object.js";
import { VM_PROT_READ, VM_PROT_WRITE } from "./devices/device-codes.js";

/** How a mapping reaches what is not shared, and how it is given back. */
export interface MappingPort extends RegisterAccess {
  /** vm_deallocate of the mapping. */
  unmap(): Promise<kern_return_t>;
}

export interface MemoryMappingInit {
  /** The kernel's id of the mapping (unique while it lives). */
  readonly id: number;
  /** Object offset of byte 0 (the physical address for "mem"). */
  readonly offset: number;
  readonly size: number;
  readonly prot: number;
  /** Shared memory holding the mapped bytes, where there is. */
  readonly shared?: { readonly buffer: SharedArrayBuffer; readonly byteOffset: number };
  /**
   * Device registers readable in shared memory: register reads come from it (no system call);
   * writes still go through `port`. Byte 0 is the mapping's first byte; dword aligned.
   */
  readonly shadow?: { readonly buffer: SharedArrayBuffer; readonly byteOffset: number };
  readonly port: MappingPort;
}

/**
 * A register read from a register shadow: the dword holding it loaded with Atomics (so what the
 * device wrote to memory before it updated the register is visible), then the bytes asked for.
 */
export function shadowRead(
  shadow: { readonly buffer: SharedArrayBuffer; readonly byteOffset: number },
  offset: number,
  width: number,
): number {
  const at = shadow.byteOffset + offset;
  const dword = Atomics.load(new Int32Array(shadow.buffer, at & ~3, 1), 0) >>> 0;
  const v = dword >>> (8 * (at & 3));
  return width === 4 ? v >>> 0 : width === 2 ? v & 0xffff : v & 0xff;
}

const fail = (code: kern_return_t): { ok: false; code: kern_return_t } => ({ ok: false, code });

export class MemoryMapping {
  readonly id: number;
  readonly offset: number;
  readonly size: number;
  readonly prot: number;
  private readonly sharedBuffer: SharedArrayBuffer | undefined;
  private readonly view: Uint8Array | undefined;
  private readonly data: DataView | undefined;
  private readonly port: MappingPort;
  /** The register shadow as dwords, and the dword index of the mapping's byte 0. */
  private readonly shadowWords: Int32Array | undefined;
  private readonly shadowBase: number = 0;
  private unmapped = false;

  constructor(init: MemoryMappingInit) {
    this.id = init.id;
    this.offset = init.offset;
    this.size = init.size;
    this.prot = init.prot;
    this.port = init.port;
    if (init.shared) {
      this.sharedBuffer = init.shared.buffer;
      this.view = new Uint8Array(init.shared.buffer, init.shared.byteOffset, init.size);
      this.data = new DataView(init.shared.buffer, init.shared.byteOffset, init.size);
    } else if (init.shadow && init.shadow.byteOffset % 4 === 0) {
      this.shadowWords = new Int32Array(init.shadow.buffer);
      this.shadowBase = init.shadow.byteOffset / 4;
    }
  }

  /** True when register reads come from the device's shared register page (no system call). */
  get shadowed(): boolean {
    return this.shadowWords !== undefined && !this.unmapped;
  }

  /** True while the mapping is shared memory (read and written in place, no system call). */
  get shared(): boolean {
    return this.view !== undefined && !this.unmapped;
  }

  /**
   * The mapped bytes where they are shared memory; undefined for device registers and after
   * unmap. Writes through it are not checked against `prot`: only write with VM_PROT_WRITE.
   */
  get bytes(): Uint8Array | undefined {
    return this.unmapped ? undefined : this.view;
  }

  /** The whole SharedArrayBuffer behind `bytes` (the time page's reader takes it). */
  get buffer(): SharedArrayBuffer | undefined {
    return this.unmapped ? undefined : this.sharedBuffer;
  }

  private check(offset: number, length: number, want: number): kern_return_t | undefined {
    if (this.unmapped) return KERN_INVALID_ADDRESS;
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    )
      return KERN_INVALID_ADDRESS;
    return (this.prot & want) === want ? undefined : KERN_PROTECTION_FAILURE;
  }

  private async read(offset: number, width: AccessWidth): Promise<AccessResult<number>> {
    const bad = this.check(offset, width, VM_PROT_READ);
    if (bad !== undefined) return fail(bad);
    const d = this.data;
    if (!d) {
      const s = this.shadowWords;
      if (!s) return this.port.readRegister(offset, width);
      if (offset % width !== 0) return fail(KERN_INVALID_ADDRESS);
      const dword = Atomics.load(s, this.shadowBase + (offset >> 2)) >>> 0;
      const v = dword >>> (8 * (offset & 3));
      return { ok: true, value: width === 4 ? v >>> 0 : width === 2 ? v & 0xffff : v & 0xff };
    }
    const value =
      width === 1
        ? d.getUint8(offset)
        : width === 2
          ? d.getUint16(offset, true)
          : d.getUint32(offset, true);
    return { ok: true, value };
  }

  private async write(offset: number, width: AccessWidth, value: number): Promise<kern_return_t> {
    const bad = this.check(offset, width, VM_PROT_WRITE);
    if (bad !== undefined) return bad;
    if (!Number.isInteger(value)) return KERN_INVALID_ADDRESS;
    const d = this.data;
    if (!d) {
      const r = await this.port.writeRegister(offset, width, value >>> 0);
      return r.ok ? KERN_SUCCESS : r.code;
    }
    if (width === 1) d.setUint8(offset, value & 0xff);
    else if (width === 2) d.setUint16(offset, value & 0xffff, true);
    else d.setUint32(offset, value >>> 0, true);
    return KERN_SUCCESS;
  }

  read8(offset: number): Promise<AccessResult<number>> {
    return this.read(offset, 1);
  }
  read16(offset: number): Promise<AccessResult<number>> {
    return this.read(offset, 2);
  }
  read32(offset: number): Promise<AccessResult<number>> {
    return this.read(offset, 4);
  }
  write8(offset: number, value: number): Promise<kern_return_t> {
    return this.write(offset, 1, value);
  }
  write16(offset: number, value: number): Promise<kern_return_t> {
    return this.write(offset, 2, value);
  }
  write32(offset: number, value: number): Promise<kern_return_t> {
    return this.write(offset, 4, value);
  }

  /** A copy of [offset, offset+length): from shared memory, or read by the kernel. */
  async readBytes(offset: number, length: number): Promise<AccessResult<Uint8Array>> {
    const bad = this.check(offset, length, VM_PROT_READ);
    if (bad !== undefined) return fail(bad);
    if (this.view) return { ok: true, value: this.view.slice(offset, offset + length) };
    return this.port.read(offset, length);
  }

  /** Writes `data` at `offset`: into shared memory, or by the kernel (needs VM_PROT_WRITE). */
  async writeBytes(offset: number, data: Uint8Array): Promise<kern_return_t> {
    const bad = this.check(offset, data.length, VM_PROT_WRITE);
    if (bad !== undefined) return bad;
    if (this.view) {
      this.view.set(data, offset);
      return KERN_SUCCESS;
    }
    if (!this.port.write) return KERN_INVALID_ADDRESS;
    const r = await this.port.write(offset, data);
    return r.ok ? KERN_SUCCESS : r.code;
  }

  /** vm_deallocate: gives the mapping back; later accesses fail with KERN_INVALID_ADDRESS. */
  async unmap(): Promise<kern_return_t> {
    if (this.unmapped) return KERN_INVALID_ADDRESS;
    this.unmapped = true;
    return this.port.unmap();
  }
}
