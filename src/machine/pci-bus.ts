// The simulated PCI bus: type-0 configuration headers with write masks, BAR sizing by writing
// all-ones, capability lists, interrupt line/pin, configuration mechanism #1 and ECAM.
import type { AccessWidth } from "./backend.js";
import { allOnes, type IoBus, type IoMapping, type RegisterHandler } from "./io-bus.js";

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
/** ECAM window, where QEMU's q35 puts it: 256 buses of 1 MiB. */
export const ECAM_BASE = 0xb000_0000;
export const ECAM_BUSES = 256;
export const ECAM_SIZE = ECAM_BUSES << 20;

/** Standard header offsets. */
export const PCI_VENDOR_ID = 0x00;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR = 0x2c;
export const PCI_CAPABILITY_POINTER = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_IO = 1 << 0;
export const PCI_COMMAND_MEMORY = 1 << 1;
export const PCI_COMMAND_MASTER = 1 << 2;
export const PCI_COMMAND_INTX_DISABLE = 1 << 10;
export const PCI_STATUS_INTERRUPT = 1 << 3;
export const PCI_STATUS_CAPABILITIES = 1 << 4;

export interface PciIdentity {
  vendor: number;
  device: number;
  /** 24 bits: class << 16 | subclass << 8 | programming interface. */
  classCode: number;
  revision: number;
  subsystemVendor?: number;
  subsystem?: number;
  /** 0 none, 1..4 INTA#..INTD#. */
  interruptPin?: number;
  /** Sets bit 7 of the header type: the device has functions besides 0. */
  multiFunction?: boolean;
}

export interface BarSpec {
  name: string;
  index: number;
  kind: "memory" | "io";
  /** Power of two, at least 16 (memory) or 4 (I/O). */
  size: number;
  is64?: boolean;
  prefetchable?: boolean;
  handler: RegisterHandler;
}

interface BarState {
  spec: BarSpec;
  mapping?: IoMapping;
}

export class PciFunction {
  readonly config = new Uint8Array(4096);
  private readonly wmask = new Uint8Array(4096);
  private readonly w1cmask = new Uint8Array(4096);
  private readonly bars: BarState[] = [];
  private lastCapability = 0;
  private io: IoBus | undefined;
  /** Called after every configuration write (offset of the dword written, byte mask). */
  onConfigWrite: ((offset: number) => void) | undefined;

  constructor(readonly identity: PciIdentity) {
    const c = new DataView(this.config.buffer);
    c.setUint16(PCI_VENDOR_ID, identity.vendor, true);
    c.setUint16(0x02, identity.device, true);
    c.setUint8(PCI_REVISION, identity.revision);
    c.setUint8(0x09, identity.classCode & 0xff);
    c.setUint8(0x0a, (identity.classCode >> 8) & 0xff);
    c.setUint8(0x0b, (identity.classCode >> 16) & 0xff);
    c.setUint8(PCI_HEADER_TYPE, identity.multiFunction ? 0x80 : 0x00);
    c.setUint16(PCI_SUBSYSTEM_VENDOR, identity.subsystemVendor ?? 0, true);
    c.setUint16(0x2e, identity.subsystem ?? 0, true);
    c.setUint8(PCI_INTERRUPT_PIN, identity.interruptPin ?? 0);
    // Command: I/O, memory, bus master, SERR, INTx disable are writable.
    this.setWmask(PCI_COMMAND, 2, 0x0547);
    // Status: the error bits are write-one-to-clear.
    this.w1cmask[PCI_STATUS + 1] = 0xf9;
    this.setWmask(0x0c, 1, 0xff); // cache line size
    this.setWmask(0x0d, 1, 0xff); // latency timer
    this.setWmask(PCI_INTERRUPT_LINE, 1, 0xff);
  }

  get command(): number {
    return this.config[PCI_COMMAND]! | (this.config[PCI_COMMAND + 1]! << 8);
  }
  get busMaster(): boolean {
    return (this.command & PCI_COMMAND_MASTER) !== 0;
  }
  get interruptLine(): number {
    return this.config[PCI_INTERRUPT_LINE]!;
  }
  get interruptPin(): number {
    return this.config[PCI_INTERRUPT_PIN]!;
  }

  /** Marks bytes [offset, offset+length) writable under the given mask (little-endian). */
  setWmask(offset: number, length: number, mask: number): void {
    for (let i = 0; i < length; i++) this.wmask[offset + i] = (mask >>> (8 * i)) & 0xff;
  }
  setW1cmask(offset: number, length: number, mask: number): void {
    for (let i = 0; i < length; i++) this.w1cmask[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  addBar(spec: BarSpec): void {
    const { index, kind, size } = spec;
    if (index < 0 || index > 5 || (spec.is64 && index > 4))
      throw new RangeError(`BAR${index} is not a valid BAR`);
    if (size & (size - 1) || size < (kind === "io" ? 4 : 16))
      throw new RangeError(`BAR size ${size} is not a power of two`);
    const off = PCI_BAR0 + 4 * index;
    const flags = kind === "io" ? 1 : (spec.is64 ? 0x4 : 0) | (spec.prefetchable ? 0x8 : 0);
    new DataView(this.config.buffer).setUint32(off, flags, true);
    const addrMask = kind === "io" ? ~(size - 1) & 0xfffffffc : ~(size - 1) & 0xfffffff0;
    this.setWmask(off, 4, addrMask >>> 0);
    if (spec.is64) this.setWmask(off + 4, 4, 0xffffffff);
    this.bars.push({ spec });
  }

  /** Places a capability at `offset` (dword aligned) and links it at the end of the list. */
  addCapability(
    offset: number,
    id: number,
    body: Uint8Array,
    writable?: { offset: number; length: number; mask: number }[],
  ): void {
    if (offset < 0x40 || offset & 3 || offset + 2 + body.length > 0x100)
      throw new RangeError(`capability at 0x${offset.toString(16)} does not fit`);
    this.config[offset] = id;
    this.config[offset + 1] = 0;
    this.config.set(body, offset + 2);
    if (this.lastCapability === 0) this.config[PCI_CAPABILITY_POINTER] = offset;
    else this.config[this.lastCapability + 1] = offset;
    this.lastCapability = offset;
    this.config[PCI_STATUS] = this.config[PCI_STATUS]! | PCI_STATUS_CAPABILITIES;
    for (const w of writable ?? []) this.setWmask(offset + w.offset, w.length, w.mask);
  }

  /** The current base address of a BAR (0 when not programmed). */
  barAddress(index: number): number {
    const c = new DataView(this.config.buffer);
    const off = PCI_BAR0 + 4 * index;
    const low = c.getUint32(off, true);
    if (low & 1) return (low & 0xfffffffc) >>> 0;
    const is64 = (low & 0x6) === 0x4;
    return ((low & 0xfffffff0) >>> 0) + (is64 ? c.getUint32(off + 4, true) * 0x1_0000_0000 : 0);
  }

  /** Sets a BAR's address as firmware does (bypassing the write mask of the low bits). */
  setBarAddress(index: number, addr: number): void {
    const c = new DataView(this.config.buffer);
    const off = PCI_BAR0 + 4 * index;
    const flags = c.getUint32(off, true) & (c.getUint32(off, true) & 1 ? 0x3 : 0xf);
    c.setUint32(off, ((addr & 0xffffffff) | flags) >>> 0, true);
    const bar = this.bars.find((b) => b.spec.index === index);
    if (bar?.spec.is64) c.setUint32(off + 4, Math.floor(addr / 0x1_0000_0000), true);
    this.remap();
  }

  barSpecs(): readonly BarSpec[] {
    return this.bars.map((b) => b.spec);
  }

  /** Connects the BARs to the I/O bus; they decode once programmed and enabled. */
  attach(io: IoBus): void {
    this.io = io;
    for (const b of this.bars) {
      const map = b.spec.kind === "io" ? io.mapPorts.bind(io) : io.mapMmio.bind(io);
      b.mapping = map(b.spec.name, 0, b.spec.size, b.spec.handler);
      b.mapping.relocate(0, false);
    }
    this.remap();
  }

  private remap(): void {
    if (!this.io) return;
    const cmd = this.command;
    for (const b of this.bars) {
      const addr = this.barAddress(b.spec.index);
      const on =
        b.spec.kind === "io" ? (cmd & PCI_COMMAND_IO) !== 0 : (cmd & PCI_COMMAND_MEMORY) !== 0;
      const limit = b.spec.kind === "io" ? 0x10000 : 2 ** 52;
      b.mapping?.relocate(addr, on && addr !== 0 && addr + b.spec.size <= limit);
    }
  }

  configRead(offset: number, width: AccessWidth): number {
    if (offset < 0 || offset + width > 4096) return allOnes(width);
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = (v << 8) | this.config[offset + i]!;
    return v >>> 0;
  }

  configWrite(offset: number, width: AccessWidth, value: number): void {
    if (offset < 0 || offset + width > 4096) return;
    for (let i = 0; i < width; i++) {
      const o = offset + i;
      const b = (value >>> (8 * i)) & 0xff;
      const w = this.wmask[o]!;
      const c = this.w1cmask[o]!;
      this.config[o] = ((this.config[o]! & ~w & ~(b & c)) | (b & w)) & 0xff;
    }
    if (offset < 0x40 && offset + width > PCI_COMMAND) this.remap();
    this.onConfigWrite?.(offset & ~3);
  }
}

/** PCI bus 0 of the simulated PC (bridges are not modelled). */
export class PciBus {
  private readonly functions = new Map<number, PciFunction>();
  private configAddress = 0;

  static key(bus: number, dev: number, fn: number): number {
    return (bus << 8) | (dev << 3) | fn;
  }

  add(dev: number, fn: number, f: PciFunction): void {
    if (dev < 0 || dev > 31 || fn < 0 || fn > 7)
      throw new RangeError(`PCI address ${dev}.${fn} is invalid`);
    const k = PciBus.key(0, dev, fn);
    if (this.functions.has(k))
      throw new RangeError(`PCI slot 00:${dev.toString(16)}.${fn} is taken`);
    this.functions.set(k, f);
  }

  get(bus: number, dev: number, fn: number): PciFunction | undefined {
    return this.functions.get(PciBus.key(bus, dev, fn));
  }

  list(): { bus: number; dev: number; fn: number; device: PciFunction }[] {
    return [...this.functions.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([k, f]) => ({ bus: k >> 8, dev: (k >> 3) & 31, fn: k & 7, device: f }));
  }

  read(bus: number, dev: number, fn: number, offset: number, width: AccessWidth): number {
    const f = this.get(bus, dev, fn);
    return f ? f.configRead(offset, width) : allOnes(width);
  }

  write(
    bus: number,
    dev: number,
    fn: number,
    offset: number,
    width: AccessWidth,
    value: number,
  ): void {
    this.get(bus, dev, fn)?.configWrite(offset, width, value);
  }

  /** Configuration mechanism #1: 0xCF8 address (dword only), 0xCFC-0xCFF data. */
  attach(io: IoBus): void {
    io.mapPorts("pci-config-address", PCI_CONFIG_ADDRESS, 4, {
      read: (off, width) => (width === 4 && off === 0 ? this.configAddress : allOnes(width)),
      write: (off, width, value) => {
        if (width === 4 && off === 0) this.configAddress = (value & 0x80fffffc) >>> 0;
      },
    });
    io.mapPorts("pci-config-data", PCI_CONFIG_DATA, 4, {
      read: (off, width) => {
        const a = this.configAddress;
        if (!(a & 0x80000000)) return allOnes(width);
        return this.read((a >> 16) & 0xff, (a >> 11) & 31, (a >> 8) & 7, (a & 0xfc) + off, width);
      },
      write: (off, width, value) => {
        const a = this.configAddress;
        if (!(a & 0x80000000)) return;
        this.write((a >> 16) & 0xff, (a >> 11) & 31, (a >> 8) & 7, (a & 0xfc) + off, width, value);
      },
    });
    io.mapMmio("pci-ecam", ECAM_BASE, ECAM_SIZE, {
      read: (off, width) =>
        this.read(off >>> 20, (off >>> 15) & 31, (off >>> 12) & 7, off & 0xfff, width),
      write: (off, width, value) =>
        this.write(off >>> 20, (off >>> 15) & 31, (off >>> 12) & 7, off & 0xfff, width, value),
    });
    for (const { device } of this.list()) device.attach(io);
  }

  /**
   * What the BIOS does before any OS runs: assigns every BAR an address (memory from 0xC0000000,
   * I/O from 0xC000), enables decoding, and writes the interrupt line from the routing.
   */
  assignResources(route: (dev: number, pin: number) => number): void {
    let mem = 0xc000_0000;
    let port = 0xc000;
    for (const { dev, device } of this.list()) {
      let cmd = device.command;
      for (const spec of [...device.barSpecs()].sort((a, b) => b.size - a.size)) {
        if (spec.kind === "io") {
          port = Math.ceil(port / spec.size) * spec.size;
          device.setBarAddress(spec.index, port);
          port += spec.size;
          cmd |= PCI_COMMAND_IO;
        } else {
          mem = Math.ceil(mem / spec.size) * spec.size;
          device.setBarAddress(spec.index, mem);
          mem += spec.size;
          cmd |= PCI_COMMAND_MEMORY;
        }
      }
      if (device.interruptPin) device.config[PCI_INTERRUPT_LINE] = route(dev, device.interruptPin);
      device.configWrite(PCI_COMMAND, 2, cmd);
    }
  }
}
