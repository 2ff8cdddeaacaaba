// The PCI glue over a MachineBackend, for drivers linked straight into a program: configuration
// mechanism #1 at 0xCF8/0xCFC, BARs through MMIO, interrupts through onInterrupt/endOfInterrupt.
import type { AccessWidth, MachineBackend, PhysAddr } from "../machine/backend.js";
import type {
  DmaRegion,
  MmioRegion,
  PciAddress,
  PciInterruptHandle,
  PciInterruptHandler,
  RumpPciUser,
} from "./pci-user.js";
import { RumpMutex } from "./rumpuser.js";
import { zeroFill } from "../kernel/zero-fill.js";

const CONFIG_ADDRESS = 0xcf8;
const CONFIG_DATA = 0xcfc;
const PCI_INTERRUPT_LINE = 0x3c;
/** ICH9: LPC bridge 00:1f.0 holds RCBA; D31IR (device 31's INTx → PIRQ routing) is at +0x3140. */
const ICH9_LPC: PciAddress = { bus: 0, dev: 31, fn: 0 };
const ICH9_RCBA = 0xf0;
const ICH9_D31IR = 0x3140;

function checkAddress(a: PciAddress, reg: number): void {
  const bad =
    !Number.isInteger(a.bus) ||
    a.bus < 0 ||
    a.bus > 255 ||
    !Number.isInteger(a.dev) ||
    a.dev < 0 ||
    a.dev > 31 ||
    !Number.isInteger(a.fn) ||
    a.fn < 0 ||
    a.fn > 7 ||
    !Number.isInteger(reg) ||
    reg < 0 ||
    reg > 0xfc ||
    reg % 4 !== 0;
  if (bad) throw new RangeError(`bad PCI configuration address ${JSON.stringify(a)} reg ${reg}`);
}

export interface BackendPciOptions {
  /**
   * Interrupt routing override: the GSI for a function's pin. Default: on QEMU's q35 the ICH9's
   * D31IR routing for device 31 (PIRQn → GSI 16+n), elsewhere the firmware's interrupt line.
   */
  irqRoute?: (addr: PciAddress, pin: number) => number | Promise<number>;
}

/** RumpPciUser directly over a MachineBackend (sim or QEMU), without any server in between. */
export class BackendPciUser implements RumpPciUser {
  /** Mechanism #1 is an address/data pair: one access at a time. */
  private readonly configLock = new RumpMutex();
  private readonly shared: Uint8Array | undefined;
  private readonly ram: readonly (readonly [PhysAddr, PhysAddr])[];

  constructor(
    readonly backend: MachineBackend,
    private readonly options: BackendPciOptions = {},
  ) {
    const sab = backend.sharedMemory?.();
    this.shared = sab ? new Uint8Array(sab) : undefined;
    this.ram = backend.ramRanges();
  }

  private static cf8(a: PciAddress, reg: number): number {
    return (0x8000_0000 | (a.bus << 16) | (a.dev << 11) | (a.fn << 8) | reg) >>> 0;
  }

  async confRead(addr: PciAddress, reg: number): Promise<number> {
    checkAddress(addr, reg);
    return this.configLock.with(async () => {
      await this.backend.portWrite(CONFIG_ADDRESS, 4, BackendPciUser.cf8(addr, reg));
      return (await this.backend.portRead(CONFIG_DATA, 4)) >>> 0;
    });
  }

  async confWrite(addr: PciAddress, reg: number, value: number): Promise<void> {
    checkAddress(addr, reg);
    await this.configLock.with(async () => {
      await this.backend.portWrite(CONFIG_ADDRESS, 4, BackendPciUser.cf8(addr, reg));
      await this.backend.portWrite(CONFIG_DATA, 4, value >>> 0);
    });
  }

  async map(phys: PhysAddr, size: number): Promise<MmioRegion> {
    if (!Number.isSafeInteger(phys) || phys <= 0 || !Number.isSafeInteger(size) || size <= 0)
      throw new RangeError(`cannot map ${size} bytes at ${phys}`);
    const b = this.backend;
    const check = (off: number, width: number) => {
      if (!Number.isInteger(off) || off < 0 || off + width > size)
        throw new RangeError(`MMIO offset 0x${off.toString(16)} outside the ${size}-byte region`);
    };
    // Registers the machine keeps in a shared page are read there (no trip to the model).
    const shadow = b.registerShadow?.(phys, size);
    const words = shadow && shadow.byteOffset % 4 === 0 ? new Int32Array(shadow.buffer) : undefined;
    const base = shadow ? shadow.byteOffset / 4 : 0;
    return {
      phys,
      size,
      read: (off: number, width: AccessWidth) => (check(off, width), b.mmioRead(phys + off, width)),
      write: (off: number, width: AccessWidth, v: number) => (
        check(off, width),
        b.mmioWrite(phys + off, width, v >>> 0)
      ),
      read32: async (off: number) => {
        check(off, 4);
        if (words && off % 4 === 0) return Atomics.load(words, base + off / 4) >>> 0;
        return (await b.mmioRead(phys + off, 4)) >>> 0;
      },
      write32: (off: number, v: number) => (check(off, 4), b.mmioWrite(phys + off, 4, v >>> 0)),
    };
  }

  async irqMap(addr: PciAddress, pin: number): Promise<number> {
    if (this.options.irqRoute) return this.options.irqRoute(addr, pin);
    if (this.backend.kind === "qemu" && addr.bus === 0 && addr.dev === 31 && pin >= 1 && pin <= 4) {
      const rcba = ((await this.confRead(ICH9_LPC, ICH9_RCBA)) & ~0x3fff) >>> 0;
      if (rcba !== 0) {
        const d31ir = await this.backend.mmioRead(rcba + ICH9_D31IR, 2);
        return 16 + ((d31ir >> (4 * (pin - 1))) & 0x7);
      }
    }
    return (await this.confRead(addr, PCI_INTERRUPT_LINE)) & 0xff;
  }

  async irqEstablish(line: number, handler: PciInterruptHandler): Promise<PciInterruptHandle> {
    const b = this.backend;
    let running = false;
    let again = false;
    let live = true;
    const run = async (): Promise<void> => {
      running = true;
      do {
        again = false;
        try {
          await handler();
        } catch {
          /* the driver reports its own errors; the line must still be acknowledged */
        }
      } while (again && live);
      running = false;
      if (live && b.endOfInterrupt) await b.endOfInterrupt(line).catch(() => undefined);
    };
    const off = b.onInterrupt((l) => {
      if (l !== line || !live) return;
      if (running) again = true;
      else void run();
    });
    return {
      line,
      disestablish() {
        live = false;
        off();
      },
    };
  }

  async dmaAlloc(size: number, align: number): Promise<DmaRegion> {
    const phys = await this.backend.allocDma(size, align);
    const shared = this.shared?.subarray(phys, phys + size);
    if (shared) zeroFill(shared);
    return { phys, size, shared };
  }

  async dmaFree(region: DmaRegion): Promise<void> {
    await this.backend.freeDma(region.phys);
  }

  dmaRead(phys: PhysAddr, length: number): Promise<Uint8Array> {
    return this.backend.memRead(phys, length);
  }

  dmaWrite(phys: PhysAddr, data: Uint8Array): Promise<void> {
    return this.backend.memWrite(phys, data);
  }

  physOf(buf: Uint8Array): PhysAddr | undefined {
    const s = this.shared;
    if (!s || buf.buffer !== s.buffer) return undefined;
    const start = buf.byteOffset;
    const end = start + buf.byteLength;
    return this.ram.some(([a, z]) => start >= a && end <= z) ? start : undefined;
  }
}
