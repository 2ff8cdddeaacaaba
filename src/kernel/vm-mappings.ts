// The kernel's record of memory-object mappings (vm_map of what device_map returned), for tasks of
// either kind: which task holds which range with which protection. A task's mappings die with it.
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_INVALID_TASK,
  KERN_NO_SPACE,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
  type kern_return_t,
} from "./kern-return.js";
import type {
  AccessResult,
  MemoryObjectSource,
  RegisterAccess,
  SharedBacking,
} from "./memory-object.js";
import type { Task } from "./task.js";
import { MemoryMapping, shadowRead } from "./memory-mapping.js";
import { VM_PROT_ALL, VM_PROT_READ, VM_PROT_WRITE } from "./devices/device-codes.js";
import type { AccessWidth } from "../machine/backend.js";

/** Mappings one task may hold at once (each costs the kernel a record). */
export const MAX_MAPPINGS_PER_TASK = 4096;

/** One mapping: `size` bytes from object offset `offset`, seen by `task` with `prot`. */
export interface MappingRecord {
  readonly id: number;
  readonly task: Task;
  readonly offset: number;
  readonly size: number;
  readonly prot: number;
  /** Shared memory holding exactly the mapped bytes, where there is. */
  readonly shared: SharedBacking | undefined;
  /** Kernel-side accesses; offsets are from the mapping's first byte. */
  readonly registers: RegisterAccess | undefined;
  /** Registers readable in shared memory (writes still go to `registers`), where there are. */
  readonly shadow: SharedBacking | undefined;
}

export type VmMapResult =
  | { readonly kr: typeof KERN_SUCCESS; readonly record: MappingRecord }
  | { readonly kr: kern_return_t; readonly record?: undefined };

/** Shifts a source's register accesses so that offset 0 is the mapping's first byte. */
function shifted(r: RegisterAccess, by: number): RegisterAccess {
  if (by === 0) return r;
  return {
    readRegister: (o, w) => r.readRegister(o + by, w),
    writeRegister: (o, w, v) => r.writeRegister(o + by, w, v),
    read: (o, n) => r.read(o + by, n),
    ...(r.write ? { write: (o: number, d: Uint8Array) => r.write!(o + by, d) } : {}),
  };
}

export class MappingTable {
  private readonly sources = new Set<MemoryObjectSource>();
  /** Every live mapping. Invariant: a record leaves this map exactly when unmapped or its task dies. */
  private readonly live = new Map<number, MappingRecord>();
  private readonly byTask = new Map<Task, Map<number, MappingRecord>>();
  private nextId = 1;

  /** Registers a source of memory objects; returns the function that removes it. */
  addSource(source: MemoryObjectSource): () => void {
    this.sources.add(source);
    return () => void this.sources.delete(source);
  }

  /** Live mappings, of every task or of one. */
  count(task?: Task): number {
    return task ? (this.byTask.get(task)?.size ?? 0) : this.live.size;
  }

  /** Every live mapping (for audits and listings). */
  records(): MappingRecord[] {
    return [...this.live.values()];
  }

  /**
   * vm_map: maps [offset, offset+size) of the memory object `pager` (a send right in `task`'s
   * space; offsets are the object's, the physical address for "mem") with `prot`.
   */
  map(task: Task, pager: number, offset: number, size: number, prot: number): VmMapResult {
    if (!task.alive) return { kr: KERN_INVALID_TASK };
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(size) ||
      offset < 0 ||
      size <= 0 ||
      !Number.isSafeInteger(offset + size)
    )
      return { kr: KERN_INVALID_ARGUMENT };
    if (!Number.isInteger(prot) || prot <= 0 || (prot & ~VM_PROT_ALL) !== 0)
      return { kr: KERN_INVALID_ARGUMENT };
    let range;
    for (const s of this.sources) {
      const r = s.resolveMemoryObject(task, pager);
      if (r.ok) {
        range = r.value;
        break;
      }
    }
    if (!range) return { kr: KERN_INVALID_ARGUMENT };
    if (offset < range.start || offset + size > range.start + range.size)
      return { kr: KERN_INVALID_ARGUMENT };
    if ((prot & range.maxProt) !== prot) return { kr: KERN_PROTECTION_FAILURE };
    let mine = this.byTask.get(task);
    if ((mine?.size ?? 0) >= MAX_MAPPINGS_PER_TASK) return { kr: KERN_NO_SPACE };
    const at = offset - range.start;
    const record: MappingRecord = {
      id: this.nextId++,
      task,
      offset,
      size,
      prot,
      shared: range.shared && {
        buffer: range.shared.buffer,
        byteOffset: range.shared.byteOffset + at,
      },
      registers: range.registers && shifted(range.registers, at),
      shadow: range.shadow && {
        buffer: range.shadow.buffer,
        byteOffset: range.shadow.byteOffset + at,
      },
    };
    if (!mine) {
      mine = new Map();
      this.byTask.set(task, mine);
      task.onDeath(() => this.releaseTask(task));
    }
    mine.set(record.id, record);
    this.live.set(record.id, record);
    return { kr: KERN_SUCCESS, record };
  }

  /** The mapping `id` of `task`, if it holds it. */
  lookup(task: Task, id: number): MappingRecord | undefined {
    return this.byTask.get(task)?.get(id);
  }

  /** vm_deallocate of a mapping: KERN_INVALID_ADDRESS when `task` holds none by that id. */
  unmap(task: Task, id: number): kern_return_t {
    const mine = this.byTask.get(task);
    if (!mine?.delete(id)) return KERN_INVALID_ADDRESS;
    this.live.delete(id);
    return KERN_SUCCESS;
  }

  /**
   * A task's access to its mapping `id` through the kernel (an isolated task's read of a device
   * register): `width` 1, 2 or 4 reads a register, 0 reads `length` bytes of memory.
   */
  async read(
    task: Task,
    id: number,
    offset: number,
    width: number,
    length: number,
  ): Promise<AccessResult<number | Uint8Array>> {
    const n = width === 0 ? length : width;
    const r = this.accessible(task, id, offset, n, width, VM_PROT_READ);
    if (!("record" in r)) return { ok: false, code: r.code };
    const { record } = r;
    if (record.shadow && width !== 0 && offset % width === 0)
      return { ok: true, value: shadowRead(record.shadow, offset, width) };
    if (record.registers)
      return width === 0
        ? record.registers.read(offset, length)
        : record.registers.readRegister(offset, width as AccessWidth);
    // Shared memory the task could read itself: answered from it all the same.
    const s = record.shared!;
    const bytes = new Uint8Array(s.buffer, s.byteOffset + offset, n);
    if (width === 0) return { ok: true, value: bytes.slice() };
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
    return { ok: true, value: v };
  }

  /** A task's register write through the kernel (`width` 1, 2 or 4). */
  async write(
    task: Task,
    id: number,
    offset: number,
    width: number,
    value: number,
  ): Promise<kern_return_t> {
    const r = this.accessible(task, id, offset, width, width, VM_PROT_WRITE);
    if (!("record" in r)) return r.code;
    const { record } = r;
    if (record.registers) {
      const w = await record.registers.writeRegister(offset, width as AccessWidth, value >>> 0);
      return w.ok ? KERN_SUCCESS : w.code;
    }
    const s = record.shared!;
    const bytes = new Uint8Array(s.buffer, s.byteOffset + offset, width);
    for (let i = 0; i < width; i++) bytes[i] = (value >>> (8 * i)) & 0xff;
    return KERN_SUCCESS;
  }

  /**
   * A task's write of bytes through the kernel (memory it cannot share, e.g. QEMU's guest RAM).
   * The write starts before this returns its promise, so writes keep the order they were asked in.
   */
  writeBytes(task: Task, id: number, offset: number, data: Uint8Array): Promise<kern_return_t> {
    const r = this.accessible(task, id, offset, data.length, 0, VM_PROT_WRITE);
    if (!("record" in r)) return Promise.resolve(r.code);
    const { record } = r;
    if (record.registers) {
      const w = record.registers.write?.(offset, data);
      if (!w) return Promise.resolve(KERN_INVALID_ADDRESS);
      return w.then((x) => (x.ok ? KERN_SUCCESS : x.code));
    }
    const s = record.shared!;
    new Uint8Array(s.buffer, s.byteOffset + offset, data.length).set(data);
    return Promise.resolve(KERN_SUCCESS);
  }

  private accessible(
    task: Task,
    id: number,
    offset: number,
    length: number,
    width: number,
    want: number,
  ): { record: MappingRecord } | { code: kern_return_t } {
    const record = this.lookup(task, id);
    if (!record) return { code: KERN_INVALID_ADDRESS };
    if (width !== 0 && width !== 1 && width !== 2 && width !== 4)
      return { code: KERN_INVALID_ARGUMENT };
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length <= 0 ||
      offset + length > record.size
    )
      return { code: KERN_INVALID_ADDRESS };
    if ((record.prot & want) !== want) return { code: KERN_PROTECTION_FAILURE };
    if (!record.registers && !record.shared) return { code: KERN_INVALID_ADDRESS };
    return { record };
  }

  /** Drops every mapping of a task (it died). */
  private releaseTask(task: Task): void {
    const mine = this.byTask.get(task);
    if (!mine) return;
    for (const id of mine.keys()) this.live.delete(id);
    this.byTask.delete(task);
  }
}

const noRegisters: RegisterAccess = {
  readRegister: async () => ({ ok: false, code: KERN_INVALID_ADDRESS }),
  writeRegister: async () => ({ ok: false, code: KERN_INVALID_ADDRESS }),
  read: async () => ({ ok: false, code: KERN_INVALID_ADDRESS }),
};

/** The task-side mapping of an in-thread task: accesses go straight to the kernel's record. */
export function localMapping(table: MappingTable, record: MappingRecord): MemoryMapping {
  const regs = record.registers ?? noRegisters;
  const live = (): boolean => table.lookup(record.task, record.id) === record;
  const gone = { ok: false, code: KERN_INVALID_ADDRESS } as const;
  return new MemoryMapping({
    id: record.id,
    offset: record.offset,
    size: record.size,
    prot: record.prot,
    shared: record.shared,
    shadow: record.shadow,
    port: {
      readRegister: async (o, w) => (live() ? regs.readRegister(o, w) : gone),
      writeRegister: async (o, w, v) => (live() ? regs.writeRegister(o, w, v) : gone),
      read: async (o, n) => (live() ? regs.read(o, n) : gone),
      write: async (o, d) => (!live() ? gone : regs.write ? regs.write(o, d) : gone),
      unmap: async () => table.unmap(record.task, record.id),
    },
  });
}
