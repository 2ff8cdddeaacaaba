// A server task's way to the hardware, in either kind of task: port I/O through io_perms of the
// kernel's "io" device, MMIO and firmware memory through "mem", each device_map'ed and vm_map'ed.
import { device_map, device_open } from "../../../generated/device.js";
import {
  BackendAccessError,
  type AccessWidth,
  type HardwareAccess,
  type PhysAddr,
} from "../../machine/backend.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
  kernReturnName,
  type kern_return_t,
} from "../kern-return.js";
import type { MemoryMapping } from "../memory-mapping.js";
import type { SendRight, TaskApi } from "../mig/index.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_READ,
  D_READ_ONLY,
  D_WRITE,
  deviceReturnName,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "./device-codes.js";
import { IO_PORT_DEVICE_NAME, IO_PORT_SPACE } from "./io-port-device.js";

const PAGE = 4096;
/** Ports mapped at once for an access outside every declared range. */
const PORT_WINDOW = 0x100;
/** MMIO pages kept mapped (the oldest is given back beyond this). */
const MAX_MMIO_PAGES = 64;

/** Why an access failed, as the backend error the servers already handle. */
function accessError(code: kern_return_t, what: string): BackendAccessError {
  const name = deviceReturnName(code) ?? kernReturnName(code);
  if (code === D_READ_ONLY || code === KERN_PROTECTION_FAILURE)
    return new BackendAccessError("read-only", `${what}: ${name}`);
  if (code === KERN_INVALID_ADDRESS || code === D_INVALID_SIZE || code === D_INVALID_OPERATION)
    return new BackendAccessError("out-of-range", `${what}: ${name}`);
  return new BackendAccessError("unsupported", `${what}: ${name}`);
}

export type TaskHardwareResult =
  | { readonly ok: true; readonly value: TaskHardware }
  | { readonly ok: false; readonly code: kern_return_t; readonly message: string };

/** A mapped range: `base` is the object offset (port number or physical address) of byte 0. */
interface Window {
  readonly base: number;
  readonly size: number;
  readonly mapping: MemoryMapping;
}

export class TaskHardware implements HardwareAccess {
  private readonly ports: Window[] = [];
  private readonly pages = new Map<number, Promise<Window>>();
  private readonly pendingPorts = new Map<number, Promise<Window>>();

  private constructor(
    private readonly task: TaskApi,
    private readonly io: SendRight,
    private readonly mem: SendRight,
    /** False where the machine refuses writes (the kernel refused a writable io_perm). */
    readonly writable: boolean,
  ) {}

  /**
   * Opens "io" and "mem" through `master` (a send right to the master device port: the privilege)
   * and takes io_perms for `ports` ([from, count] ranges, at least one), as a Hurd server calls
   * i386_io_perm_create and i386_io_perm_modify at start. Whether the machine takes writes is
   * learnt from the first: a writable io_perm refused with D_READ_ONLY makes this read-only.
   */
  static async open(
    task: TaskApi,
    master: SendRight,
    ports: readonly (readonly [number, number])[],
  ): Promise<TaskHardwareResult> {
    const io = await device_open(task, master, D_READ | D_WRITE, IO_PORT_DEVICE_NAME);
    if (!io.ok) return { ok: false, code: io.code, message: `device_open("io") refused` };
    const mem = await device_open(task, master, D_READ | D_WRITE, "mem");
    if (!mem.ok) return { ok: false, code: mem.code, message: `device_open("mem") refused` };
    const [first, ...rest] = ports;
    if (!first) return { ok: false, code: D_INVALID_SIZE, message: "no I/O ports asked for" };
    let writable = true;
    let w = await TaskHardware.mapPorts(task, io.value.device, first[0], first[1], true);
    if (typeof w === "number" && w === D_READ_ONLY) {
      writable = false;
      w = await TaskHardware.mapPorts(task, io.value.device, first[0], first[1], false);
    }
    if (typeof w === "number")
      return { ok: false, code: w, message: `io_perm for ports 0x${first[0].toString(16)}` };
    const hw = new TaskHardware(task, io.value.device, mem.value.device, writable);
    hw.ports.push(w);
    for (const [from, count] of rest) {
      const r = await hw.ioPerm(from, count);
      if (typeof r === "number")
        return { ok: false, code: r, message: `io_perm for ports 0x${from.toString(16)}` };
    }
    return { ok: true, value: hw };
  }

  /** device_map of an io range (the io_perm), then vm_map of it (enabling in/out on it). */
  private static async mapPorts(
    task: TaskApi,
    io: SendRight,
    from: number,
    count: number,
    write: boolean,
  ): Promise<Window | kern_return_t> {
    const prot = write ? VM_PROT_READ | VM_PROT_WRITE : VM_PROT_READ;
    const perm = await device_map(task, io, prot, BigInt(from), BigInt(count), 0);
    if (!perm.ok) return perm.code;
    const m = await task.vm_map(perm.value.pager, from, count, prot);
    await task.mach_port_deallocate(perm.value.pager);
    if (m.kr !== KERN_SUCCESS || !m.mapping) return m.kr;
    return { base: from, size: count, mapping: m.mapping };
  }

  /** Takes an io_perm for ports [from, from+count) (kept for the life of the task). */
  async ioPerm(from: number, count: number): Promise<true | kern_return_t> {
    const w = await TaskHardware.mapPorts(this.task, this.io, from, count, this.writable);
    if (typeof w === "number") return w;
    this.ports.push(w);
    return true;
  }

  /** The port window holding [port, port+width): a declared range, or a window mapped now. */
  private async portWindow(port: number, width: number): Promise<Window> {
    if (!Number.isInteger(port) || port < 0 || port + width > IO_PORT_SPACE)
      throw accessError(KERN_INVALID_ADDRESS, `port 0x${port.toString(16)}`);
    const have = this.ports.find((w) => port >= w.base && port + width <= w.base + w.size);
    if (have) return have;
    const base = port - (port % PORT_WINDOW);
    // An access straddling two windows gets a window of its own.
    const [from, count] = port + width <= base + PORT_WINDOW ? [base, PORT_WINDOW] : [port, width];
    let pending = this.pendingPorts.get(from);
    if (!pending) {
      pending = TaskHardware.mapPorts(this.task, this.io, from, count, this.writable).then((w) => {
        if (typeof w === "number") throw accessError(w, `io_perm for port 0x${port.toString(16)}`);
        this.ports.push(w);
        return w;
      });
      pending.finally(() => this.pendingPorts.delete(from)).catch(() => undefined);
      this.pendingPorts.set(from, pending);
    }
    return pending;
  }

  async portRead(port: number, width: AccessWidth): Promise<number> {
    const w = await this.portWindow(port, width);
    return readWindow(w, port - w.base, width, () => `in from port 0x${port.toString(16)}`);
  }

  async portWrite(port: number, width: AccessWidth, value: number): Promise<void> {
    const w = await this.portWindow(port, width);
    await writeWindow(w, port - w.base, width, value, () => `out to port 0x${port.toString(16)}`);
  }

  /** device_map and vm_map of "mem" over [start, start+size) (page-aligned). */
  private async mapMem(start: number, size: number, write: boolean): Promise<Window> {
    const prot = write ? VM_PROT_READ | VM_PROT_WRITE : VM_PROT_READ;
    const what = `mem 0x${start.toString(16)}+0x${size.toString(16)}`;
    const pager = await device_map(this.task, this.mem, prot, BigInt(start), BigInt(size), 0);
    if (!pager.ok) throw accessError(pager.code, what);
    const m = await this.task.vm_map(pager.value.pager, start, size, prot);
    await this.task.mach_port_deallocate(pager.value.pager);
    if (m.kr !== KERN_SUCCESS || !m.mapping) throw accessError(m.kr, what);
    return { base: start, size, mapping: m.mapping };
  }

  /** The mapped page of MMIO holding [addr, addr+width). */
  private page(addr: PhysAddr, width: number): Promise<Window> {
    const base = addr - (addr % PAGE);
    if (!Number.isSafeInteger(addr) || addr < 0 || addr + width > base + PAGE)
      return Promise.reject(accessError(KERN_INVALID_ADDRESS, `MMIO at 0x${addr.toString(16)}`));
    let w = this.pages.get(base);
    if (!w) {
      w = this.mapMem(base, PAGE, this.writable);
      this.pages.set(base, w);
      w.catch(() => this.pages.delete(base));
      if (this.pages.size > MAX_MMIO_PAGES) {
        const [oldest, old] = this.pages.entries().next().value as [number, Promise<Window>];
        this.pages.delete(oldest);
        void old.then((x) => x.mapping.unmap()).catch(() => undefined);
      }
    }
    return w;
  }

  async mmioRead(addr: PhysAddr, width: AccessWidth): Promise<number> {
    const w = await this.page(addr, width);
    return readWindow(w, addr - w.base, width, () => `MMIO read at 0x${addr.toString(16)}`);
  }

  async mmioWrite(addr: PhysAddr, width: AccessWidth, value: number): Promise<void> {
    const w = await this.page(addr, width);
    await writeWindow(w, addr - w.base, width, value, () => `MMIO write at 0x${addr.toString(16)}`);
  }

  /** Bytes of a firmware area (the BIOS area, ACPI tables): mapped read-only, copied, unmapped. */
  async memRead(addr: PhysAddr, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length) || addr < 0 || length < 0)
      throw accessError(KERN_INVALID_ADDRESS, `memory at 0x${addr}`);
    if (length === 0) return new Uint8Array(0);
    const start = addr - (addr % PAGE);
    const end = Math.ceil((addr + length) / PAGE) * PAGE;
    const w = await this.mapMem(start, end - start, false);
    try {
      const r = await w.mapping.readBytes(addr - start, length);
      if (!r.ok) throw accessError(r.code, `memory at 0x${addr.toString(16)}`);
      return r.value;
    } finally {
      await w.mapping.unmap();
    }
  }
}

/** A read of `width` bytes at offset `o` of a mapped window; a failure throws what `what` says. */
async function readWindow(
  w: Window,
  o: number,
  width: AccessWidth,
  what: () => string,
): Promise<number> {
  const m = w.mapping;
  const r = width === 1 ? await m.read8(o) : width === 2 ? await m.read16(o) : await m.read32(o);
  if (!r.ok) throw accessError(r.code, what());
  return r.value;
}

/** A write of `width` bytes at offset `o` of a mapped window; a failure throws what `what` says. */
async function writeWindow(
  w: Window,
  o: number,
  width: AccessWidth,
  value: number,
  what: () => string,
): Promise<void> {
  const m = w.mapping;
  const kr =
    width === 1
      ? await m.write8(o, value)
      : width === 2
        ? await m.write16(o, value)
        : await m.write32(o, value);
  if (kr !== KERN_SUCCESS) throw accessError(kr, what());
}
