// rumpdisk's PCI glue as on the Hurd: configuration space through the pci-arbiter, BARs mapped
// with device_map on the kernel's "mem" device (or pci-arbiter's region files), interrupt routing
// from acpi_get_pci_irq, interrupts as device_intr_notify from the kernel's "irq" device.
import { acpi_get_pci_irq } from "../../../generated/acpi.js";
import {
  device_intr_ack,
  device_intr_register,
  device_map,
  device_open,
} from "../../../generated/device.js";
import { D_READ, D_WRITE, VM_PROT_READ, VM_PROT_WRITE } from "../../kernel/devices/device-codes.js";
import type { MapResult } from "../../kernel/devices/device-master.js";
import { intrNotificationId } from "../../kernel/devices/intr-notification.js";
import type { PhysicalMapping } from "../../kernel/devices/physical-mapping.js";
import { shadowRead } from "../../kernel/memory-mapping.js";
import { KERN_SUCCESS, MACH_MSG_SUCCESS, kernReturnName } from "../../kernel/kern-return.js";
import { polyRight, type SendRight, type TaskApi } from "../../kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND, MACH_RCV_MSG } from "../../kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../kernel/port-right.js";
import type { AccessWidth, PhysAddr } from "../../machine/backend.js";
import type { PciConfigPort } from "../acpi/hardware-regions.js";
import {
  formatPciAddress,
  type DmaRegion,
  MmioRegion,
  type PciAddress,
  type PciInterruptHandle,
  type PciInterruptHandler,
  type RumpPciUser,
} from "../../rump/pci-user.js";

/** The ports rumpdisk got at boot, and what stands in for vm_map and contiguous memory. */
export interface HurdPciPorts {
  readonly task: TaskApi;
  /** The master device port (for "mem" and "irq"). */
  readonly master: SendRight;
  /** Configuration space through the pci-arbiter (its root port, looked up per function). */
  readonly config: PciConfigPort;
  /** The acpi translator's root port. */
  readonly acpi: SendRight;
  /** How BARs are mapped: the mem device (in-thread) or pci-arbiter's region files (isolated). */
  readonly bars: BarMapper;
  /**
   * DMA-able memory: gnumach's vm_allocate_contiguous with its physical address; here the
   * machine's allocator (shared guest RAM on the simulated PC, guest RAM over qtest on QEMU).
   */
  readonly dma: Pick<RumpPciUser, "dmaAlloc" | "dmaFree" | "dmaRead" | "dmaWrite" | "physOf">;
  /** Console for what the glue sets up (interrupt routes). */
  readonly log?: (line: string) => void;
}

function check<T>(r: { ok: true; value: T } | { ok: false; code: number }, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${kernReturnName(r.code)}`);
  return r.value;
}

/** Maps `size` bytes of device memory at `phys` (a BAR the driver read from config space). */
export type BarMapper = (phys: PhysAddr, size: number) => Promise<MmioRegion>;

/** An MmioRegion over register reads and writes that answer as values. */
export function mmioRegion(
  phys: PhysAddr,
  size: number,
  read: (off: number, width: AccessWidth) => Promise<number>,
  write: (off: number, width: AccessWidth, value: number) => Promise<void>,
): MmioRegion {
  return {
    phys,
    size,
    read,
    write,
    read32: async (off) => (await read(off, 4)) >>> 0,
    write32: (off, v) => write(off, 4, v),
  };
}

/**
 * BARs through the kernel's "mem" device: device_map of the range, then the kernel's mapping of
 * the pager (what vm_map does for a task in its own address space).
 */
export function memDeviceBars(
  task: TaskApi,
  master: SendRight,
  vmMap: (pager: SendRight) => MapResult,
): BarMapper {
  let mem: SendRight | undefined;
  return async (phys, size) => {
    mem ??= check(
      await device_open(task, master, D_READ | D_WRITE, "mem"),
      'device_open("mem")',
    ).device;
    const m = await device_map(
      task,
      mem,
      VM_PROT_READ | VM_PROT_WRITE,
      BigInt(phys),
      BigInt(size),
      0,
    );
    const pager = check(m, `device_map of mem at 0x${phys.toString(16)}`).pager;
    const mapped = vmMap(pager);
    await task.mach_port_deallocate(pager);
    if (!mapped.ok || mapped.value.kind !== "mem")
      throw new Error(`vm_map of the mem pager at 0x${phys.toString(16)} failed`);
    const mapping: PhysicalMapping = mapped.value.mapping;
    // Registers the machine keeps in a shared page are read there, without a trip to the model.
    const shadow = mapping.registerShadow();
    return mmioRegion(
      phys,
      size,
      async (off, width) =>
        shadow && off % width === 0 && off >= 0 && off + width <= size
          ? shadowRead(shadow, off, width)
          : check(await mapping.readRegister(off, width), "MMIO read"),
      async (off, width, v) => {
        check(await mapping.writeRegister(off, width, v >>> 0), "MMIO write");
      },
    );
  };
}

/**
 * BARs mapped into the task itself, as a Hurd driver does it: device_open of "mem" on the master
 * device port, device_map of the range, vm_map of the pager. Works for isolated tasks too: a
 * register read comes from the device's shared register page where the machine keeps one (else
 * it is a VM_MAPPING_READ system call); a write is one VM_MAPPING_WRITE, started at once and in
 * order, so the driver may post it.
 */
export function vmMapBars(task: TaskApi, master: SendRight): BarMapper {
  let mem: SendRight | undefined;
  return async (phys, size) => {
    mem ??= check(
      await device_open(task, master, D_READ | D_WRITE, "mem"),
      'device_open("mem")',
    ).device;
    const prot = VM_PROT_READ | VM_PROT_WRITE;
    const m = await device_map(task, mem, prot, BigInt(phys), BigInt(size), 0);
    const pager = check(m, `device_map of mem at 0x${phys.toString(16)}`).pager;
    const mapped = await task.vm_map(pager, phys, size, prot);
    await task.mach_port_deallocate(pager);
    const mapping = mapped.mapping;
    if (mapped.kr !== KERN_SUCCESS || !mapping)
      throw new Error(`vm_map of mem at 0x${phys.toString(16)}: ${kernReturnName(mapped.kr)}`);
    const kr = (r: number, what: string) => {
      if (r !== KERN_SUCCESS) throw new Error(`${what}: ${kernReturnName(r)}`);
    };
    return mmioRegion(
      phys,
      size,
      async (off, width) => {
        const r =
          width === 1
            ? await mapping.read8(off)
            : width === 2
              ? await mapping.read16(off)
              : await mapping.read32(off);
        return check(r, "MMIO read");
      },
      async (off, width, v) =>
        kr(
          await (width === 1
            ? mapping.write8(off, v)
            : width === 2
              ? mapping.write16(off, v)
              : mapping.write32(off, v >>> 0)),
          "MMIO write",
        ),
    );
  };
}

export class HurdPciUser implements RumpPciUser {
  private irq: SendRight | undefined;

  constructor(private readonly ports: HurdPciPorts) {}

  private async irqDevice(): Promise<SendRight> {
    this.irq ??= check(
      await device_open(this.ports.task, this.ports.master, D_READ | D_WRITE, "irq"),
      'device_open("irq")',
    ).device;
    return this.irq;
  }

  confRead(addr: PciAddress, reg: number): Promise<number> {
    return this.ports.config.read(addr.bus, addr.dev, addr.fn, reg, 4);
  }

  confWrite(addr: PciAddress, reg: number, value: number): Promise<void> {
    return this.ports.config.write(addr.bus, addr.dev, addr.fn, reg, 4, value >>> 0);
  }

  map(phys: PhysAddr, size: number): Promise<MmioRegion> {
    return this.ports.bars(phys, size);
  }

  async irqMap(addr: PciAddress, pin: number): Promise<number> {
    const r = await acpi_get_pci_irq(this.ports.task, this.ports.acpi, addr.bus, addr.dev, addr.fn);
    const irq = check(r, `acpi_get_pci_irq(${addr.bus}, ${addr.dev}, ${addr.fn})`).irq;
    this.ports.log?.(
      `rumpdisk: ${formatPciAddress(addr)} INT${"ABCD"[pin - 1] ?? "?"}# routed to GSI ${irq} by acpi (_PRT)`,
    );
    return irq;
  }

  /**
   * device_intr_register on "irq" with a port of our own, then a loop: receive
   * device_intr_notify, run the handler, device_intr_ack (which unmasks the line).
   */
  async irqEstablish(line: number, handler: PciInterruptHandler): Promise<PciInterruptHandle> {
    const task = this.ports.task;
    const irq = await this.irqDevice();
    const p = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (p.kr !== KERN_SUCCESS) throw new Error(`mach_port_allocate: ${kernReturnName(p.kr)}`);
    const port = p.name;
    check(
      await device_intr_register(task, irq, line, 0, polyRight(port, MACH_MSG_TYPE_MAKE_SEND)),
      `device_intr_register(${line})`,
    );
    this.ports.log?.(
      `rumpdisk: interrupts of GSI ${line} arrive as device_intr_notify from the kernel's irq device`,
    );
    let live = true;
    void (async () => {
      const buf = new Uint8Array(64);
      while (live) {
        const kr = await task.mach_msg(buf, MACH_RCV_MSG, 0, buf.length, port);
        if (kr !== MACH_MSG_SUCCESS) return;
        if (intrNotificationId(buf) === undefined) continue;
        // The notification carried a send right to our own port; it merged into the receive right.
        try {
          await handler();
        } catch {
          /* the driver reports its own errors; the line must still be acknowledged */
        }
        if (!live) return;
        // The acknowledgement follows the handler's (posted) register writes on the way to the
        // kernel; its reply is not waited for before the next notification is received.
        void device_intr_ack(task, irq, polyRight(port, MACH_MSG_TYPE_MAKE_SEND));
      }
    })();
    return {
      line,
      disestablish: () => {
        live = false;
        void task.mach_port_mod_refs(port, MACH_PORT_RIGHT_RECEIVE, -1);
      },
    };
  }

  dmaAlloc(size: number, align: number): Promise<DmaRegion> {
    return this.ports.dma.dmaAlloc(size, align);
  }
  dmaFree(region: DmaRegion): Promise<void> {
    return this.ports.dma.dmaFree(region);
  }
  dmaRead(phys: PhysAddr, length: number): Promise<Uint8Array> {
    return this.ports.dma.dmaRead(phys, length);
  }
  dmaWrite(phys: PhysAddr, data: Uint8Array): Promise<void> {
    return this.ports.dma.dmaWrite(phys, data);
  }
  physOf(buf: Uint8Array): PhysAddr | undefined {
    return this.ports.dma.physOf(buf);
  }
}
