// MachineBackend over this Linux host, read-only: PCI configuration reads (mechanism #1 and ECAM)
// answered from /sys/bus/pci, ACPI tables from /sys/firmware/acpi/tables; every write refused.
import {
  BackendAccessError,
  type AccessWidth,
  type BackendKind,
  type MachineBackend,
  type PhysAddr,
} from "../backend.js";
import {
  CONFIG_ADDRESS_PORT,
  decodeConfigAddress,
  decodeEcam,
  isConfigDataAccess,
  parseMcfg,
  type EcamWindow,
} from "./config-mechanism1.js";
import { readHostRam, PROC_IOMEM, SYSFS_MEMMAP } from "./host-ram.js";
import { readSysfsAcpiTables, SYSFS_ACPI_TABLES } from "./sysfs-acpi.js";
import {
  listSysfsPci,
  pciKey,
  readSysfsConfig,
  SYSFS_PCI_DEVICES,
  type SysfsPciFunction,
} from "./sysfs-pci.js";

/** Where the host backend reads; tests point these at a fake tree. */
export interface HostPaths {
  readonly pciDevices: string;
  readonly acpiTables: string;
  readonly iomem: string;
  readonly memmap: string;
}

export const DEFAULT_HOST_PATHS: HostPaths = {
  pciDevices: SYSFS_PCI_DEVICES,
  acpiTables: SYSFS_ACPI_TABLES,
  iomem: PROC_IOMEM,
  memmap: SYSFS_MEMMAP,
};

const ALL_ONES: Record<AccessWidth, number> = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff };

function checkWidth(width: number): asserts width is AccessWidth {
  if (width !== 1 && width !== 2 && width !== 4) {
    throw new BackendAccessError("out-of-range", `access width ${String(width)} is not 1, 2 or 4`);
  }
}

function checkAddress(addr: number, what: string, limit = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(addr) || addr < 0 || addr > limit) {
    throw new BackendAccessError("out-of-range", `bad ${what} ${String(addr)}`);
  }
}

function readOnly(what: string): BackendAccessError {
  return new BackendAccessError("read-only", `the host backend is read-only: ${what} refused`);
}

export class HostBackend implements MachineBackend {
  readonly kind: BackendKind = "host";
  readonly writable = false;

  /** The CONFIG_ADDRESS latch: a register of this backend, not of the host. */
  private configAddress = 0;
  private closed = false;

  private constructor(
    readonly paths: HostPaths,
    private readonly functions: ReadonlyMap<string, SysfsPciFunction>,
    private readonly ecam: readonly EcamWindow[],
    private readonly ram: readonly (readonly [PhysAddr, PhysAddr])[],
  ) {}

  /**
   * Index the host's PCI functions, its MCFG windows and RAM. Rejects with
   * BackendAccessError("unsupported") when the PCI directory cannot be read at all.
   */
  static async open(paths: Partial<HostPaths> = {}): Promise<HostBackend> {
    const p: HostPaths = { ...DEFAULT_HOST_PATHS, ...paths };
    let list: SysfsPciFunction[];
    try {
      list = await listSysfsPci(p.pciDevices);
    } catch (err) {
      throw new BackendAccessError("unsupported", `cannot read ${p.pciDevices}: ${String(err)}`);
    }
    let ecam: EcamWindow[] = [];
    try {
      const mcfg = (await readSysfsAcpiTables(p.acpiTables)).get("MCFG");
      if (mcfg) ecam = parseMcfg(mcfg);
    } catch {
      ecam = []; // No readable MCFG: ECAM reads are simply not offered.
    }
    const ram = await readHostRam(p.iomem, p.memmap);
    return new HostBackend(p, new Map(list.map((f) => [pciKey(f), f])), ecam, ram);
  }

  /** The functions sysfs lists (all segments; mechanism #1 reaches segment 0 only). */
  get pciFunctions(): readonly SysfsPciFunction[] {
    return [...this.functions.values()];
  }

  /** The host's ECAM windows from its MCFG, which mmioRead answers from sysfs. */
  get ecamWindows(): readonly EcamWindow[] {
    return this.ecam;
  }

  async portRead(port: number, width: AccessWidth): Promise<number> {
    this.checkOpen();
    checkWidth(width);
    checkAddress(port, "port", 0x10000 - width);
    if (port === CONFIG_ADDRESS_PORT && width === 4) return this.configAddress >>> 0;
    if (isConfigDataAccess(port, width)) {
      const target = decodeConfigAddress(this.configAddress, port);
      if (!target) return ALL_ONES[width];
      return this.configRead(0, target.bus, target.device, target.func, target.offset, width);
    }
    throw new BackendAccessError(
      "unsupported",
      `the host backend answers only PCI configuration ports, not port 0x${port.toString(16)}`,
    );
  }

  async portWrite(port: number, width: AccessWidth, value: number): Promise<void> {
    this.checkOpen();
    checkWidth(width);
    checkAddress(port, "port", 0x10000 - width);
    if (port === CONFIG_ADDRESS_PORT && width === 4) {
      checkAddress(value, "CONFIG_ADDRESS value", 0xffff_ffff);
      this.configAddress = value >>> 0; // Latched here; nothing reaches the host.
      return;
    }
    throw readOnly(`write to port 0x${port.toString(16)}`);
  }

  /** Reads inside the host's ECAM windows are configuration reads, answered from sysfs. */
  async mmioRead(addr: PhysAddr, width: AccessWidth): Promise<number> {
    this.checkOpen();
    checkWidth(width);
    checkAddress(addr, "address");
    const t = decodeEcam(this.ecam, addr);
    if (!t || t.offset + width > 4096 || t.offset % width !== 0) {
      throw new BackendAccessError(
        "unsupported",
        `the host backend maps no device registers at 0x${addr.toString(16)}`,
      );
    }
    return this.configRead(t.segment, t.bus, t.device, t.func, t.offset, width);
  }

  async mmioWrite(addr: PhysAddr, _width: AccessWidth, _value: number): Promise<void> {
    throw readOnly(`MMIO write at 0x${Number(addr).toString(16)}`);
  }

  async memRead(addr: PhysAddr, _length: number): Promise<Uint8Array> {
    this.checkOpen();
    throw new BackendAccessError(
      "unsupported",
      `the host backend does not read physical memory (0x${Number(addr).toString(16)}); ` +
        "its ACPI tables come from firmwareTables()",
    );
  }

  async memWrite(addr: PhysAddr, _data: Uint8Array): Promise<void> {
    throw readOnly(`memory write at 0x${Number(addr).toString(16)}`);
  }

  ramRanges(): readonly (readonly [PhysAddr, PhysAddr])[] {
    return this.ram;
  }

  /** The host raises no interrupts for us: listeners are kept and never called. */
  onInterrupt(_listener: (line: number) => void): () => void {
    return () => undefined;
  }

  /** Every table file in /sys/firmware/acpi/tables, keyed by file name (see sysfs-acpi.ts). */
  async firmwareTables(): Promise<ReadonlyMap<string, Uint8Array>> {
    this.checkOpen();
    try {
      return await readSysfsAcpiTables(this.paths.acpiTables);
    } catch (err) {
      throw new BackendAccessError(
        "unsupported",
        `cannot read ${this.paths.acpiTables}: ${String(err)}`,
      );
    }
  }

  async allocDma(_length: number, _align?: number): Promise<PhysAddr> {
    throw readOnly("DMA allocation");
  }

  async freeDma(_addr: PhysAddr): Promise<void> {
    throw readOnly("DMA release");
  }

  /** Never powers the host off. */
  async powerOff(): Promise<void> {
    throw readOnly("power off");
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendAccessError("closed", "the host backend is closed");
  }

  private async configRead(
    segment: number,
    bus: number,
    device: number,
    func: number,
    offset: number,
    width: AccessWidth,
  ): Promise<number> {
    const fn = this.functions.get(pciKey({ domain: segment, bus, device, func }));
    if (!fn) return ALL_ONES[width]; // No function there: the bus reads all ones.
    let bytes: Uint8Array;
    try {
      bytes = await readSysfsConfig(fn, offset, width);
    } catch (err) {
      throw new BackendAccessError("unsupported", `cannot read ${fn.configPath}: ${String(err)}`);
    }
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
    return v;
  }
}
