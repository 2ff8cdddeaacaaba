// The one interface through which servers and drivers reach hardware: the simulated PC,
// a real QEMU PC over qtest, or (read-only) this Linux host. Every access is asynchronous.

/** Width of a port I/O or MMIO access in bytes. */
export type AccessWidth = 1 | 2 | 4;

/** Physical addresses are plain numbers: below 2^53, which covers every machine here. */
export type PhysAddr = number;

export type BackendKind = "sim" | "qemu" | "host";

/** Raised for a write to a read-only backend, or an access the backend cannot perform. */
export class BackendAccessError extends Error {
  constructor(
    readonly reason: "read-only" | "unsupported" | "out-of-range" | "closed",
    message: string,
  ) {
    super(message);
    this.name = "BackendAccessError";
  }
}

export interface MachineBackend {
  readonly kind: BackendKind;
  /** False for the host backend: every write is refused with BackendAccessError("read-only"). */
  readonly writable: boolean;

  /** x86 port I/O: PCI configuration mechanism #1 lives at 0xCF8 (address) / 0xCFC (data). */
  portRead(port: number, width: AccessWidth): Promise<number>;
  portWrite(port: number, width: AccessWidth, value: number): Promise<void>;

  /** Memory-mapped device registers (BARs, ECAM, the IOAPIC, HPET, ...). */
  mmioRead(addr: PhysAddr, width: AccessWidth): Promise<number>;
  mmioWrite(addr: PhysAddr, width: AccessWidth, value: number): Promise<void>;

  /** Guest physical memory (RAM and firmware areas): DMA buffers, ACPI tables, the BIOS area. */
  memRead(addr: PhysAddr, length: number): Promise<Uint8Array>;
  memWrite(addr: PhysAddr, data: Uint8Array): Promise<void>;

  /** Physical RAM ranges [start, end): the `mem` device refuses to map these. */
  ramRanges(): readonly (readonly [PhysAddr, PhysAddr])[];

  /**
   * Interrupt delivery: `listener(line)` is called when a global system interrupt (GSI/IRQ line)
   * is raised. Returns a function that removes the listener.
   */
  onInterrupt(listener: (line: number) => void): () => void;

  /**
   * Optional: end of interrupt for a line (the kernel calls it when device_intr_ack unmasks the
   * line). A level-triggered line that is still asserted is delivered to the listeners again, so
   * an interrupt raised while the previous one was being handled is not lost.
   */
  endOfInterrupt?(line: number): Promise<void>;

  /**
   * Optional: guest RAM as one SharedArrayBuffer (byte N is physical address N), where devices
   * and tasks share memory (the simulated PC). Undefined where RAM is remote (QEMU) or absent.
   */
  sharedMemory?(): SharedArrayBuffer;

  /**
   * Optional: makes `bytes` (shared memory: the kernel's out-of-line pool) guest RAM from
   * physical address `start`, so devices DMA into tasks' regions in place. Returns the start
   * address used, or undefined where RAM cannot be extended (remote RAM, no room).
   */
  attachSharedBank?(bytes: Uint8Array): PhysAddr | undefined;

  /**
   * Optional: device registers at [addr, addr+length) that reads may take from shared memory
   * (a page the device model keeps current, one dword per register at its offset), where the
   * model offers one (the simulated AHCI's ABAR). Writes must still go through mmioWrite.
   */
  registerShadow?(
    addr: PhysAddr,
    length: number,
  ): { readonly buffer: SharedArrayBuffer; readonly byteOffset: number } | undefined;

  /**
   * Firmware tables by signature, for backends that cannot expose the BIOS area (the host reads
   * /sys/firmware/acpi/tables). Undefined where the RSDP is found by scanning memory.
   */
  firmwareTables?(): Promise<ReadonlyMap<string, Uint8Array>>;

  /** Allocate device-visible (DMA-able) RAM; returns its physical address. */
  allocDma(length: number, align?: number): Promise<PhysAddr>;
  freeDma(addr: PhysAddr): Promise<void>;

  /** ACPI sleep state S5 (power off) and orderly shutdown of the backend. */
  powerOff(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a server that drives hardware uses of a machine: port I/O, MMIO and memory reads (and the
 * host's firmware files). A MachineBackend is one; so is a task's view through the kernel's "io"
 * and "mem" devices (src/kernel/devices/task-hardware.ts), which is how isolated servers get it.
 */
export type HardwareAccess = Pick<
  MachineBackend,
  "writable" | "portRead" | "portWrite" | "mmioRead" | "mmioWrite" | "memRead" | "firmwareTables"
>;
