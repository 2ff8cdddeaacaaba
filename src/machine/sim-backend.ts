// SimBackend: the simulated PC behind MachineBackend. Builds memory, the I/O bus, the chipset,
// AHCI controllers with their disk images, the IOAPIC and the ACPI tables; powers off via S5.
import {
  BackendAccessError,
  type AccessWidth,
  type MachineBackend,
  type PhysAddr,
} from "./backend.js";
import { buildAcpiTables, defaultRoute, type AcpiTableSet } from "./acpi-tables.js";
import { AcpiPm, PM1A_CNT_BLK, PM1_CNT_SLP_EN, SLP_TYP_S5 } from "./acpi-pm.js";
import { AHCI_ABAR_SIZE, AhciController } from "./ahci.js";
import { AtaDisk } from "./ata-disk.js";
import { DiskImage } from "./disk-image.js";
import { DmaAllocator } from "./dma-allocator.js";
import { IOAPIC_BASE, IOAPIC_WINDOW, InterruptController } from "./interrupt-controller.js";
import { IoBus } from "./io-bus.js";
import { createLpcBridge } from "./lpc-bridge.js";
import {
  validateMachineDescription,
  type DescriptionError,
  type MachineDescription,
} from "./machine-description.js";
import { ECAM_BASE, ECAM_BUSES, PciBus } from "./pci-bus.js";
import { createHostBridge } from "./pci-host-bridge.js";
import { BIOS_AREA_END, HIGH_BANK_BASE, PhysicalMemory } from "./physical-memory.js";

export type SimCreateResult =
  { ok: true; value: SimBackend } | { ok: false; errors: DescriptionError[] };

function checkWidth(width: number): asserts width is AccessWidth {
  if (width !== 1 && width !== 2 && width !== 4)
    throw new BackendAccessError("unsupported", `access width ${width} is not 1, 2 or 4`);
}

export class SimBackend implements MachineBackend {
  readonly kind = "sim" as const;
  readonly writable = true;
  readonly memory: PhysicalMemory;
  readonly io = new IoBus();
  readonly pci = new PciBus();
  readonly ioapic = new InterruptController();
  readonly ahci: AhciController[] = [];
  readonly acpi: AcpiTableSet;
  readonly pm: AcpiPm;
  /** Resolves when the machine powers off (ACPI S5 or close). */
  readonly whenPoweredOff: Promise<void>;
  private readonly dma: DmaAllocator;
  private readonly disks: DiskImage[] = [];
  private closed = false;
  private resolveOff!: () => void;

  private constructor(
    readonly description: MachineDescription,
    disks: Map<string, DiskImage>,
  ) {
    this.whenPoweredOff = new Promise((r) => (this.resolveOff = r));
    this.memory = new PhysicalMemory(description.memory);
    this.dma = new DmaAllocator(BIOS_AREA_END, description.memory);
    this.pm = new AcpiPm((typ) => {
      if (typ === SLP_TYP_S5) this.shutdown();
    });
    this.pci.add(0, 0, createHostBridge());
    this.pci.add(31, 0, createLpcBridge());
    const names: [string, number, number][] = [];
    description.devices.forEach((d, i) => {
      const attached = new Map<number, AtaDisk>();
      d.disks.forEach((disk, j) => {
        const image = disks.get(`${i}.${j}`)!;
        this.disks.push(image);
        attached.set(
          disk.port,
          new AtaDisk(image, {
            model: disk.model,
            serial: disk.serial ?? "",
            firmware: disk.firmware,
          }),
        );
      });
      // INTA# of this slot, wired to its GSI on the board (the interrupt line register is only
      // the firmware's note of it: software rewriting it changes no wiring).
      const gsi = defaultRoute(d.dev, 1);
      const ctl = new AhciController({
        memory: this.memory,
        ports: d.ports,
        disks: attached,
        setIrq: (level) => this.ioapic.setLevel(gsi, level),
      });
      this.ahci.push(ctl);
      this.pci.add(d.dev, d.fn, ctl.pci);
      names.push([i === 0 ? "SATA" : `SAT${i}`, d.dev, d.fn]);
    });
    // What the firmware does: BARs, interrupt lines, ACPI tables in the BIOS area.
    this.pci.assignResources(defaultRoute);
    this.pci.attach(this.io);
    this.io.mapMmio("ioapic", IOAPIC_BASE, IOAPIC_WINDOW, this.ioapic.registers());
    this.pm.attach(this.io);
    this.acpi = buildAcpiTables({
      ioapicBase: IOAPIC_BASE,
      ecamBase: ECAM_BASE,
      ecamEndBus: ECAM_BUSES - 1,
      route: defaultRoute,
      devices: names,
    });
    for (const t of this.acpi.tables) this.memory.loadFirmware(t.address, t.bytes);
    this.memory.loadFirmware(this.acpi.rsdpAddress, this.acpi.rsdp);
  }

  /** Builds the machine from a description (validated here if it is not already). */
  static create(input: unknown, baseDir?: string): SimCreateResult {
    const v = validateMachineDescription(input, baseDir);
    if (!v.ok) return v;
    const description = v.value;
    const disks = new Map<string, DiskImage>();
    const errors: DescriptionError[] = [];
    description.devices.forEach((d, i) =>
      d.disks.forEach((disk, j) => {
        const r = DiskImage.open(disk.image, {
          readOnly: disk.readOnly,
          sectorSize: disk.sectorSize,
        });
        if (r.ok) disks.set(`${i}.${j}`, r.value);
        else
          errors.push({
            code: "KERN_INVALID_ARGUMENT",
            field: `devices[${i}].disks[${j}].image`,
            value: disk.image,
            message: `devices[${i}].disks[${j}].image: ${r.error.message}`,
          });
      }),
    );
    if (errors.length) {
      for (const d of disks.values()) d.close();
      return { ok: false, errors };
    }
    return { ok: true, value: new SimBackend(description, disks) };
  }

  private live(): void {
    if (this.closed) throw new BackendAccessError("closed", "the simulated machine is powered off");
  }

  async portRead(port: number, width: AccessWidth): Promise<number> {
    this.live();
    checkWidth(width);
    if (!Number.isInteger(port) || port < 0 || port + width > 0x10000)
      throw new BackendAccessError("out-of-range", `I/O port ${port} is outside 0..0xffff`);
    return this.io.portRead(port, width);
  }

  async portWrite(port: number, width: AccessWidth, value: number): Promise<void> {
    this.live();
    checkWidth(width);
    if (!Number.isInteger(port) || port < 0 || port + width > 0x10000)
      throw new BackendAccessError("out-of-range", `I/O port ${port} is outside 0..0xffff`);
    this.io.portWrite(port, width, value);
  }

  async mmioRead(addr: PhysAddr, width: AccessWidth): Promise<number> {
    this.live();
    checkWidth(width);
    if (!Number.isSafeInteger(addr) || addr < 0)
      throw new BackendAccessError("out-of-range", `physical address ${addr} is invalid`);
    const v = this.io.mmioRead(addr, width);
    if (v !== undefined) return v;
    if (this.memory.contains(addr, width)) {
      const w = this.memory.window(addr, width);
      return width === 1 ? w[0]! : width === 2 ? w[0]! | (w[1]! << 8) : this.memory.read32(addr);
    }
    return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
  }

  async mmioWrite(addr: PhysAddr, width: AccessWidth, value: number): Promise<void> {
    this.live();
    checkWidth(width);
    if (!Number.isSafeInteger(addr) || addr < 0)
      throw new BackendAccessError("out-of-range", `physical address ${addr} is invalid`);
    if (this.io.mmioWrite(addr, width, value)) return;
    if (this.memory.isRam(addr, width)) {
      const b = new Uint8Array(width);
      for (let i = 0; i < width; i++) b[i] = (value >>> (8 * i)) & 0xff;
      this.memory.write(addr, b);
    }
  }

  async memRead(addr: PhysAddr, length: number): Promise<Uint8Array> {
    this.live();
    return this.memory.read(addr, length);
  }

  async memWrite(addr: PhysAddr, data: Uint8Array): Promise<void> {
    this.live();
    this.memory.write(addr, data);
  }

  ramRanges(): readonly (readonly [PhysAddr, PhysAddr])[] {
    return this.memory.ramRanges();
  }

  onInterrupt(listener: (line: number) => void): () => void {
    return this.ioapic.onInterrupt((line) => queueMicrotask(() => listener(line)));
  }

  /** Optional MachineBackend member: end of interrupt, re-delivering a line still asserted. */
  async endOfInterrupt(line: number): Promise<void> {
    this.live();
    try {
      this.ioapic.endOfInterrupt(line);
    } catch (e) {
      throw new BackendAccessError("out-of-range", e instanceof Error ? e.message : String(e));
    }
  }

  /** Optional MachineBackend member: guest RAM as shared memory, byte N = physical address N. */
  sharedMemory(): SharedArrayBuffer {
    return this.memory.buffer;
  }

  /** Optional MachineBackend member: `bytes` become RAM at HIGH_BANK_BASE (once). */
  attachSharedBank(bytes: Uint8Array): PhysAddr | undefined {
    return this.memory.attachBank(HIGH_BANK_BASE, bytes) ? HIGH_BANK_BASE : undefined;
  }

  /** Optional MachineBackend member: the AHCI ABAR's register shadow, where [addr, +length) lies in it. */
  registerShadow(
    addr: PhysAddr,
    length: number,
  ): { readonly buffer: SharedArrayBuffer; readonly byteOffset: number } | undefined {
    for (const ctl of this.ahci) {
      const base = ctl.abarBase;
      if (base !== 0 && addr >= base && addr + length <= base + AHCI_ABAR_SIZE)
        return { buffer: ctl.registerShadow(), byteOffset: addr - base };
    }
    return undefined;
  }

  async allocDma(length: number, align?: number): Promise<PhysAddr> {
    this.live();
    return this.dma.alloc(length, align);
  }

  async freeDma(addr: PhysAddr): Promise<void> {
    this.live();
    this.dma.release(addr);
  }

  /** Enters S5 the way an OS does: SLP_TYP(S5) | SLP_EN into PM1a_CNT. */
  async powerOff(): Promise<void> {
    if (this.closed) return;
    this.io.portWrite(PM1A_CNT_BLK, 2, (SLP_TYP_S5 << 10) | PM1_CNT_SLP_EN);
    await this.whenPoweredOff;
  }

  async close(): Promise<void> {
    this.shutdown();
  }

  get poweredOff(): boolean {
    return this.closed;
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.disks) d.close();
    this.resolveOff();
  }
}
