// The PCI glue a rump driver is written against, in the spirit of NetBSD's rumpcomp PCI user
// interface: configuration space, BAR mapping, interrupt routing and delivery, DMA-safe memory.
import type { AccessWidth, PhysAddr } from "../machine/backend.js";

/** A PCI function: bus, device (slot) and function number. */
export interface PciAddress {
  readonly bus: number;
  readonly dev: number;
  readonly fn: number;
}

export function formatPciAddress(a: PciAddress): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, "0");
  return `${h(a.bus, 2)}:${h(a.dev, 2)}.${a.fn}`;
}

/**
 * A mapped memory BAR (rumpcomp_pci_map): register accesses at offsets into the region. Every
 * access is started before its call returns, so accesses reach the device in call order; a
 * driver may therefore leave a write's promise unawaited (a posted write, as on PCI) and still
 * know that a later access, or an interrupt acknowledgement, comes after it.
 */
export interface MmioRegion {
  readonly phys: PhysAddr;
  readonly size: number;
  read(offset: number, width: AccessWidth): Promise<number>;
  write(offset: number, width: AccessWidth, value: number): Promise<void>;
  read32(offset: number): Promise<number>;
  write32(offset: number, value: number): Promise<void>;
}

/**
 * An interrupt handler. The glue runs one handler call at a time per line and acknowledges the
 * line (end of interrupt) when the returned promise settles.
 */
export type PciInterruptHandler = () => void | Promise<void>;

export interface PciInterruptHandle {
  /** The global system interrupt the function's pin is routed to. */
  readonly line: number;
  disestablish(): void;
}

/** Device-visible memory: its physical (bus) address and, where memory is shared, a local view. */
export interface DmaRegion {
  readonly phys: PhysAddr;
  readonly size: number;
  /** A view of the device-visible bytes themselves (shared memory), or undefined (remote). */
  readonly shared: Uint8Array | undefined;
}

export interface RumpPciUser {
  /** Reads a dword of configuration space (reg is 4-aligned, below 256). */
  confRead(addr: PciAddress, reg: number): Promise<number>;
  confWrite(addr: PciAddress, reg: number, value: number): Promise<void>;
  /** Maps `size` bytes of device memory at physical `phys` (read from a BAR by the driver). */
  map(phys: PhysAddr, size: number): Promise<MmioRegion>;
  /** The GSI that the function's interrupt pin (1 = INTA#) reaches (rumpcomp_pci_irq_map). */
  irqMap(addr: PciAddress, pin: number): Promise<number>;
  /** Calls `handler` for each interrupt on `line` (rumpcomp_pci_irq_establish). */
  irqEstablish(line: number, handler: PciInterruptHandler): Promise<PciInterruptHandle>;
  /** DMA-safe memory, zeroed (rumpcomp_pci_dmalloc). */
  dmaAlloc(size: number, align: number): Promise<DmaRegion>;
  dmaFree(region: DmaRegion): Promise<void>;
  /** Copy between device-visible memory and local memory (what bus_dmamap_sync does remotely). */
  dmaRead(phys: PhysAddr, length: number): Promise<Uint8Array>;
  dmaWrite(phys: PhysAddr, data: Uint8Array): Promise<void>;
  /**
   * The physical address of a caller's buffer when it lies in device-visible shared memory (so a
   * transfer needs no bounce copy), else undefined.
   */
  physOf(buf: Uint8Array): PhysAddr | undefined;
}
