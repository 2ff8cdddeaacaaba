// The AHCI host bus adapter (AHCI 1.3.1), an ICH9-like 8086:2922 at 00:1f.2 with ABAR in BAR5:
// global and per-port registers, command lists, command tables, received FISes, PRDT DMA. The
// ABAR's registers are also kept current in a shared page that tasks may read without a trap.
import { dwordRegisters, type RegisterHandler } from "./io-bus.js";
import {
  PciFunction,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_MEMORY,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
} from "./pci-bus.js";
import type { PhysicalMemory } from "./physical-memory.js";
import {
  AtaDisk,
  ATA_STATUS_BSY,
  ATA_STATUS_DRQ,
  ATA_STATUS_ERR,
  isNcq,
  type AtaTaskFile,
} from "./ata-disk.js";

export const AHCI_VENDOR = 0x8086;
export const AHCI_DEVICE = 0x2922;
export const AHCI_CLASS = 0x010601;
export const AHCI_ABAR_INDEX = 5;
export const AHCI_IDP_INDEX = 4;
export const AHCI_ABAR_SIZE = 0x1000;
export const AHCI_SLOTS = 32;

// Generic host control.
export const HBA_CAP = 0x00;
export const HBA_GHC = 0x04;
export const HBA_IS = 0x08;
export const HBA_PI = 0x0c;
export const HBA_VS = 0x10;
export const HBA_CCC_CTL = 0x14;
export const HBA_CCC_PORTS = 0x18;
export const HBA_EM_LOC = 0x1c;
export const HBA_EM_CTL = 0x20;
export const HBA_CAP2 = 0x24;
export const HBA_BOHC = 0x28;
export const CAP_S64A = 1 << 31;
export const CAP_SNCQ = 1 << 30;
export const CAP_SCLO = 1 << 24;
export const CAP_SAM = 1 << 18;
export const GHC_AE = 1 << 31;
export const GHC_IE = 1 << 1;
export const GHC_HR = 1 << 0;
export const AHCI_VERSION_1_3_1 = 0x00010301;

// Port registers, at 0x100 + port * 0x80.
export const PORT_BASE = 0x100;
export const PORT_STRIDE = 0x80;
export const PX_CLB = 0x00;
export const PX_CLBU = 0x04;
export const PX_FB = 0x08;
export const PX_FBU = 0x0c;
export const PX_IS = 0x10;
export const PX_IE = 0x14;
export const PX_CMD = 0x18;
export const PX_TFD = 0x20;
export const PX_SIG = 0x24;
export const PX_SSTS = 0x28;
export const PX_SCTL = 0x2c;
export const PX_SERR = 0x30;
export const PX_SACT = 0x34;
export const PX_CI = 0x38;
export const PX_SNTF = 0x3c;
export const PX_FBS = 0x40;
export const PX_DEVSLP = 0x44;

export const PXIS_DHRS = 1 << 0;
export const PXIS_PSS = 1 << 1;
export const PXIS_DSS = 1 << 2;
export const PXIS_SDBS = 1 << 3;
export const PXIS_UFS = 1 << 4;
export const PXIS_DPS = 1 << 5;
export const PXIS_PCS = 1 << 6;
export const PXIS_PRCS = 1 << 22;
export const PXIS_OFS = 1 << 24;
export const PXIS_IFS = 1 << 27;
export const PXIS_HBDS = 1 << 28;
export const PXIS_HBFS = 1 << 29;
export const PXIS_TFES = 1 << 30;
const PXIS_VALID = 0xfdc000ff;

export const PXCMD_ST = 1 << 0;
export const PXCMD_SUD = 1 << 1;
export const PXCMD_POD = 1 << 2;
export const PXCMD_CLO = 1 << 3;
export const PXCMD_FRE = 1 << 4;
export const PXCMD_FR = 1 << 14;
export const PXCMD_CR = 1 << 15;
const PXCMD_WRITABLE =
  PXCMD_ST |
  PXCMD_POD |
  PXCMD_FRE |
  (1 << 22) |
  (1 << 23) |
  (1 << 24) |
  (1 << 25) |
  (1 << 26) |
  (1 << 27);

export const SERR_ERR_E = 1 << 11; // internal error
export const SERR_DIAG_N = 1 << 16; // PhyRdy change
export const SERR_DIAG_X = 1 << 26; // exchanged

export const SATA_SIG_ATA = 0x00000101;
export const SSTS_DET_PRESENT = 0x3;

// Received FIS area offsets.
export const RFIS_DSFIS = 0x00;
export const RFIS_PSFIS = 0x20;
export const RFIS_RFIS = 0x40;
export const RFIS_SDBFIS = 0x58;
export const FIS_TYPE_REG_H2D = 0x27;
export const FIS_TYPE_REG_D2H = 0x34;
export const FIS_TYPE_PIO_SETUP = 0x5f;
export const FIS_TYPE_SET_DEVICE_BITS = 0xa1;

export interface AhciOptions {
  memory: PhysicalMemory;
  /** Ports implemented (ICH9 has 6). */
  ports: number;
  /** The disk on each port, if any. */
  disks: ReadonlyMap<number, AtaDisk>;
  /** Drives the controller's INTx line. */
  setIrq(asserted: boolean): void;
  /**
   * Runs deferred command processing. Default: soon (see soonDefer): a microtask, so that a
   * command issued by a register write runs as soon as the write's handler returns, even while
   * the kernel's system-call loop keeps the event loop busy polling; but never more than a few
   * times in a row without letting the event loop turn.
   */
  defer?: (work: () => void) => void;
}

interface Port {
  index: number;
  disk: AtaDisk | undefined;
  clb: number;
  clbu: number;
  fb: number;
  fbu: number;
  is: number;
  ie: number;
  cmd: number;
  tfd: number;
  sig: number;
  ssts: number;
  sctl: number;
  serr: number;
  sact: number;
  ci: number;
  sntf: number;
  /** Halted by a fatal error until software clears ST. */
  halted: boolean;
  /** The signature D2H FIS of the last link-up is in the received-FIS area. */
  signaturePosted: boolean;
  /** Queued commands finished but not yet reported in a Set Device Bits FIS. */
  ncqDone: number;
  scheduled: boolean;
}

/** Microtask runs allowed before one waits for the event loop's next turn (setImmediate). */
const MICROTASK_RUNS_PER_TURN = 4;

/**
 * A scheduler for device work: a microtask while fewer than MICROTASK_RUNS_PER_TURN have run
 * since the event loop last turned, else setImmediate, so a driver in the same thread that
 * keeps the device busy cannot starve timers and I/O.
 */
export function soonDefer(): (work: () => void) => void {
  let runs = 0;
  let turnArmed = false;
  return (work) => {
    if (runs >= MICROTASK_RUNS_PER_TURN) {
      setImmediate(work);
      return;
    }
    runs++;
    if (!turnArmed) {
      turnArmed = true;
      setImmediate(() => {
        turnArmed = false;
        runs = 0;
      });
    }
    queueMicrotask(work);
  };
}

function rw(old: number, value: number, mask: number): number {
  return ((old & ~mask) | (value & mask)) >>> 0;
}

export class AhciController {
  readonly pci: PciFunction;
  private readonly mem: PhysicalMemory;
  private readonly ports: Port[] = [];
  private readonly cap: number;
  private ghc = GHC_AE;
  private is = 0;
  private idpIndex = 0;
  private irqLevel = false;
  private readonly defer: (work: () => void) => void;
  /**
   * The register shadow: the ABAR's 4 KiB as reads would return them, one dword per register at
   * its own offset, stored with Atomics after every change (before an interrupt is raised), so
   * another thread's Atomics.load of a status register sees the guest RAM the device wrote.
   */
  private readonly shadowBuffer = new SharedArrayBuffer(AHCI_ABAR_SIZE);
  private readonly shadow = new Int32Array(this.shadowBuffer);
  /** Commands completed, per ATA command opcode (diagnostics). */
  readonly completed = new Map<number, number>();

  constructor(private readonly options: AhciOptions) {
    const n = options.ports;
    if (!Number.isInteger(n) || n < 1 || n > 32)
      throw new RangeError(`AHCI port count ${n} must be 1..32`);
    this.mem = options.memory;
    this.defer = options.defer ?? soonDefer();
    this.cap =
      (CAP_S64A | CAP_SNCQ | CAP_SCLO | (3 << 20) | CAP_SAM | ((AHCI_SLOTS - 1) << 8) | (n - 1)) >>>
      0;
    for (let i = 0; i < n; i++) {
      this.ports.push({
        index: i,
        disk: options.disks.get(i),
        clb: 0,
        clbu: 0,
        fb: 0,
        fbu: 0,
        is: 0,
        ie: 0,
        cmd: 0,
        tfd: 0x7f,
        sig: 0xffffffff,
        ssts: 0,
        sctl: 0,
        serr: 0,
        sact: 0,
        ci: 0,
        sntf: 0,
        halted: false,
        signaturePosted: false,
        ncqDone: 0,
        scheduled: false,
      });
    }
    this.pci = new PciFunction({
      vendor: AHCI_VENDOR,
      device: AHCI_DEVICE,
      classCode: AHCI_CLASS,
      revision: 0x02,
      subsystemVendor: 0x1af4,
      subsystem: 0x1100,
      interruptPin: 1,
    });
    this.pci.addBar({
      name: "ahci-idp",
      index: AHCI_IDP_INDEX,
      kind: "io",
      size: 0x20,
      handler: this.idpRegisters(),
    });
    this.pci.addBar({
      name: "ahci-abar",
      index: AHCI_ABAR_INDEX,
      kind: "memory",
      size: AHCI_ABAR_SIZE,
      handler: this.registers(),
    });
    // PCI power management (D0/D3hot), then the SATA capability pointing at the IDP in BAR4.
    this.pci.addCapability(0x80, 0x01, Uint8Array.of(0x03, 0x40, 0x00, 0x00, 0x00, 0x00), [
      { offset: 4, length: 1, mask: 0x03 },
    ]);
    this.pci.addCapability(0xa8, 0x12, Uint8Array.of(0x10, 0x00, 0x48, 0x00, 0x00, 0x00));
    this.pci.onConfigWrite = () => this.updateIrq();
    this.resetHba();
  }

  /**
   * The ABAR's registers as shared memory (byte N is ABAR offset N; read-only to everyone but
   * this model). Reads of it equal register reads; writes must still go to the registers.
   */
  registerShadow(): SharedArrayBuffer {
    return this.shadowBuffer;
  }

  /** Where the ABAR decodes now (BAR5 as software programmed it); 0 while it does not decode. */
  get abarBase(): number {
    if (!(this.pci.command & PCI_COMMAND_MEMORY)) return 0;
    return this.pci.barAddress(AHCI_ABAR_INDEX);
  }

  private publishGlobal(): void {
    const s = this.shadow;
    Atomics.store(s, HBA_CAP >> 2, this.cap | 0);
    Atomics.store(s, HBA_GHC >> 2, this.ghc | 0);
    Atomics.store(s, HBA_PI >> 2, this.read32(HBA_PI) | 0);
    Atomics.store(s, HBA_VS >> 2, AHCI_VERSION_1_3_1);
    Atomics.store(s, HBA_IS >> 2, this.is | 0);
  }

  private publishPort(p: Port): void {
    const s = this.shadow;
    const base = (PORT_BASE + p.index * PORT_STRIDE) >> 2;
    for (let reg = 0; reg <= PX_SNTF; reg += 4)
      Atomics.store(s, base + (reg >> 2), this.readPort(p, reg) | 0);
  }

  private publishAll(): void {
    for (const p of this.ports) this.publishPort(p);
    this.publishGlobal();
  }

  /** The ABAR register block (BAR5). */
  registers(): RegisterHandler {
    return dwordRegisters(
      (off) => this.read32(off),
      (off, value, mask) => this.write32(off, value, mask),
    );
  }

  /** Index/data pair in BAR4: index at 0x10, data at 0x14 reaches any ABAR register. */
  private idpRegisters(): RegisterHandler {
    return dwordRegisters(
      (off) =>
        off === 0x10 ? this.idpIndex : off === 0x14 ? this.read32(this.idpIndex) : 0xffffffff,
      (off, value, mask) => {
        if (off === 0x10) this.idpIndex = rw(this.idpIndex, value, mask) & (AHCI_ABAR_SIZE - 4);
        else if (off === 0x14) this.write32(this.idpIndex, value, mask);
      },
    );
  }

  private read32(off: number): number {
    if (off >= PORT_BASE) {
      const p = this.ports[(off - PORT_BASE) >> 7];
      return p ? this.readPort(p, (off - PORT_BASE) & 0x7f) : 0;
    }
    switch (off) {
      case HBA_CAP:
        return this.cap;
      case HBA_GHC:
        return this.ghc;
      case HBA_IS:
        return this.is;
      case HBA_PI:
        return this.ports.length === 32 ? 0xffffffff : (1 << this.ports.length) - 1;
      case HBA_VS:
        return AHCI_VERSION_1_3_1;
      default:
        return 0; // CCC, EM, CAP2 (nothing optional), BOHC
    }
  }

  private write32(off: number, value: number, mask: number): void {
    if (off >= PORT_BASE) {
      const p = this.ports[(off - PORT_BASE) >> 7];
      if (p) {
        this.writePort(p, (off - PORT_BASE) & 0x7f, value, mask);
        this.publishPort(p);
        this.publishGlobal();
      }
      return;
    }
    if (off === HBA_GHC) {
      const v = rw(this.ghc, value, mask);
      if (v & GHC_HR) {
        this.resetHba();
        return;
      }
      this.ghc = ((v & GHC_IE) | GHC_AE) >>> 0;
      this.updateIrq();
    } else if (off === HBA_IS) {
      this.is &= ~(value & mask);
      this.updateIrq();
    }
    this.publishGlobal();
  }

  private readPort(p: Port, reg: number): number {
    switch (reg) {
      case PX_CLB:
        return p.clb;
      case PX_CLBU:
        return p.clbu;
      case PX_FB:
        return p.fb;
      case PX_FBU:
        return p.fbu;
      case PX_IS:
        return p.is >>> 0;
      case PX_IE:
        return p.ie >>> 0;
      case PX_CMD:
        return p.cmd >>> 0;
      case PX_TFD:
        return p.tfd;
      case PX_SIG:
        return p.sig >>> 0;
      case PX_SSTS:
        return p.ssts;
      case PX_SCTL:
        return p.sctl;
      case PX_SERR:
        return p.serr >>> 0;
      case PX_SACT:
        return p.sact >>> 0;
      case PX_CI:
        return p.ci >>> 0;
      case PX_SNTF:
        return p.sntf;
      default:
        return 0;
    }
  }

  private writePort(p: Port, reg: number, value: number, mask: number): void {
    switch (reg) {
      case PX_CLB:
        p.clb = rw(p.clb, value, mask) & ~0x3ff;
        break;
      case PX_CLBU:
        p.clbu = rw(p.clbu, value, mask);
        break;
      case PX_FB:
        p.fb = rw(p.fb, value, mask) & ~0xff;
        break;
      case PX_FBU:
        p.fbu = rw(p.fbu, value, mask);
        break;
      case PX_IS: {
        // PCS and PRCS mirror PxSERR.DIAG.X / DIAG.N and are cleared there, not here.
        p.is = (p.is & ~(value & mask & ~(PXIS_PCS | PXIS_PRCS))) >>> 0;
        this.updateIrq();
        break;
      }
      case PX_IE:
        p.ie = (rw(p.ie, value, mask) & PXIS_VALID) >>> 0;
        this.updateIrq();
        break;
      case PX_CMD:
        this.writeCommand(p, rw(p.cmd, value, mask));
        break;
      case PX_SCTL:
        this.writeSctl(p, rw(p.sctl, value, mask) & 0xfff);
        break;
      case PX_SERR: {
        p.serr = (p.serr & ~(value & mask)) >>> 0;
        if (!(p.serr & SERR_DIAG_X)) p.is &= ~PXIS_PCS;
        if (!(p.serr & SERR_DIAG_N)) p.is &= ~PXIS_PRCS;
        this.updateIrq();
        break;
      }
      case PX_SACT:
        if (p.cmd & PXCMD_ST) p.sact = (p.sact | (value & mask)) >>> 0;
        break;
      case PX_CI:
        if (p.cmd & PXCMD_ST) {
          p.ci = (p.ci | (value & mask)) >>> 0;
          this.schedule(p);
        }
        break;
      case PX_SNTF:
        p.sntf = (p.sntf & ~(value & mask)) >>> 0;
        break;
      default:
        break;
    }
  }

  private writeCommand(p: Port, v: number): void {
    const old = p.cmd;
    let cmd = (old & ~PXCMD_WRITABLE) | (v & PXCMD_WRITABLE) | PXCMD_SUD;
    if (v & PXCMD_CLO) p.tfd &= ~(ATA_STATUS_BSY | ATA_STATUS_DRQ);
    if (cmd & PXCMD_FRE) cmd |= PXCMD_FR;
    else cmd &= ~PXCMD_FR;
    const receiveStarted = (cmd & PXCMD_FR) !== 0 && !(old & PXCMD_FR);
    if (cmd & PXCMD_ST) {
      cmd |= PXCMD_CR;
    } else {
      cmd &= ~(PXCMD_CR | (0x1f << 8));
      p.ci = 0;
      p.sact = 0;
      p.ncqDone = 0;
      p.halted = false;
    }
    p.cmd = cmd >>> 0;
    // The device's signature FIS, held since link-up, lands once FIS receive is enabled.
    if (receiveStarted && p.disk && (p.ssts & 0xf) === SSTS_DET_PRESENT && !p.signaturePosted) {
      this.postD2h(p, p.tfd & 0xff, 0x01, { lba: 1, count: 1, interrupt: false });
      p.signaturePosted = true;
    }
    if (cmd & PXCMD_ST && !(old & PXCMD_ST) && p.ci) this.schedule(p);
  }

  private writeSctl(p: Port, v: number): void {
    const oldDet = p.sctl & 0xf;
    p.sctl = v;
    const det = v & 0xf;
    if (det === 1) {
      // COMRESET asserted: link down.
      p.ssts = 0;
      p.tfd = 0x7f;
      p.sig = 0xffffffff;
    } else if (det === 4) {
      p.ssts = 0x4;
    } else if (det === 0 && oldDet !== 0) {
      this.linkUp(p);
    }
  }

  /** The device answers COMRESET: PHY ready, then its signature in a D2H Register FIS. */
  private linkUp(p: Port): void {
    if (!p.disk) {
      p.ssts = 0;
      p.tfd = 0x7f;
      p.sig = 0xffffffff;
      return;
    }
    p.ssts = 0x100 | (3 << 4) | SSTS_DET_PRESENT; // active, Gen3, device present
    p.serr = (p.serr | SERR_DIAG_X | SERR_DIAG_N) >>> 0;
    p.is = (p.is | PXIS_PCS | PXIS_PRCS) >>> 0;
    p.sig = SATA_SIG_ATA;
    p.tfd = 0x50;
    p.signaturePosted = (p.cmd & PXCMD_FR) !== 0;
    if (p.signaturePosted) this.postD2h(p, 0x50, 0x01, { lba: 1, count: 1, interrupt: false });
    this.updateIrq();
  }

  private resetHba(): void {
    this.ghc = GHC_AE;
    this.is = 0;
    for (const p of this.ports) {
      p.is = 0;
      p.ie = 0;
      p.cmd = PXCMD_SUD | PXCMD_POD;
      p.sact = 0;
      p.ci = 0;
      p.sntf = 0;
      p.serr = 0;
      p.sctl = 0;
      p.ncqDone = 0;
      p.halted = false;
      this.linkUp(p);
    }
    this.publishAll();
    this.updateIrq();
  }

  private updateIrq(): void {
    for (const p of this.ports) if (p.is & p.ie) this.is = (this.is | (1 << p.index)) >>> 0;
    Atomics.store(this.shadow, HBA_IS >> 2, this.is | 0);
    const pending = (this.ghc & GHC_IE) !== 0 && this.is !== 0;
    const c = this.pci.config;
    c[PCI_STATUS] = pending
      ? c[PCI_STATUS]! | PCI_STATUS_INTERRUPT
      : c[PCI_STATUS]! & ~PCI_STATUS_INTERRUPT;
    const level = pending && !(this.pci.command & PCI_COMMAND_INTX_DISABLE);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.options.setIrq(level);
    }
  }

  private schedule(p: Port): void {
    if (p.scheduled) return;
    p.scheduled = true;
    this.defer(() => {
      p.scheduled = false;
      this.processPort(p);
    });
  }

  private hostBusFatal(p: Port, why: number): void {
    p.serr = (p.serr | why) >>> 0;
    p.is = (p.is | PXIS_HBFS) >>> 0;
    p.halted = true;
    this.publishPort(p);
    this.updateIrq();
  }

  /** Runs every issued command of a port: NCQ completions are reported in one SDB FIS. */
  private processPort(p: Port): void {
    if (!(p.cmd & PXCMD_ST) || p.halted || !p.disk) return;
    const disk = p.disk;
    if (!this.pci.busMaster) {
      // No bus mastering: the HBA cannot fetch its command list.
      this.hostBusFatal(p, SERR_ERR_E);
      return;
    }
    let pending = p.ci;
    while (pending && !p.halted && p.cmd & PXCMD_ST) {
      const slot = 31 - Math.clz32(pending & -pending);
      pending &= ~(1 << slot);
      this.execute(p, disk, slot);
    }
    this.completeQueued(p);
    this.publishPort(p);
    this.updateIrq();
  }

  /** Reports the queued commands finished so far in one Set Device Bits FIS. */
  private completeQueued(p: Port): void {
    const done = p.ncqDone;
    if (!done) return;
    p.ncqDone = 0;
    p.sact = (p.sact & ~done) >>> 0;
    this.postSdb(p, 0x50, 0, done, true);
    p.is = (p.is | PXIS_SDBS) >>> 0;
  }

  private execute(p: Port, disk: AtaDisk, slot: number): void {
    const mem = this.mem;
    const header = p.clb + p.clbu * 0x1_0000_0000 + slot * 32;
    if (!mem.isRam(header, 32)) return this.hostBusFatal(p, SERR_ERR_E);
    const dw0 = mem.read32(header);
    const cfl = dw0 & 0x1f;
    const prdtl = dw0 >>> 16;
    const ctba = ((mem.read32(header + 8) & ~0x7f) >>> 0) + mem.read32(header + 12) * 0x1_0000_0000;
    if (!mem.isRam(ctba, 0x80 + prdtl * 16)) return this.hostBusFatal(p, SERR_ERR_E);
    p.cmd = ((p.cmd & ~(0x1f << 8)) | (slot << 8)) >>> 0;
    const fis = mem.window(ctba, 20);
    if (fis[0] !== FIS_TYPE_REG_H2D || !(fis[1]! & 0x80) || cfl < 5) {
      // Not a command FIS: the device rejects it.
      return this.deviceError(p, slot, 0x04, false);
    }
    const tf: AtaTaskFile = {
      command: fis[2]!,
      features: fis[3]! | (fis[11]! << 8),
      lba:
        fis[4]! +
        fis[5]! * 0x100 +
        fis[6]! * 0x10000 +
        fis[8]! * 0x1000000 +
        fis[9]! * 0x100000000 +
        fis[10]! * 0x10000000000,
      device: fis[7]!,
      count: fis[12]! | (fis[13]! << 8),
    };
    // Gather the PRDT, merging physically contiguous entries into one view.
    const segments: Uint8Array[] = [];
    let dps = false;
    let runStart = -1;
    let runLen = 0;
    for (let i = 0; i < prdtl; i++) {
      const e = ctba + 0x80 + i * 16;
      const dba = ((mem.read32(e) & ~1) >>> 0) + mem.read32(e + 4) * 0x1_0000_0000;
      const dw3 = mem.read32(e + 12);
      const len = (dw3 & 0x3fffff) + 1;
      if (dw3 & 0x80000000) dps = true;
      if (!mem.isRam(dba, len)) return this.hostBusFatal(p, SERR_ERR_E);
      if (runStart >= 0 && runStart + runLen === dba) runLen += len;
      else {
        if (runStart >= 0) segments.push(mem.window(runStart, runLen));
        runStart = dba;
        runLen = len;
      }
    }
    if (runStart >= 0) segments.push(mem.window(runStart, runLen));
    const ncq = isNcq(tf.command);
    if (ncq && ((tf.count >> 3) & 0x1f) !== slot) return this.deviceError(p, slot, 0x04, true);
    const out = disk.execute(tf, segments, slot);
    this.completed.set(tf.command, (this.completed.get(tf.command) ?? 0) + 1);
    mem.write32(header + 4, out.bytes);
    if (out.overflow) {
      p.is = (p.is | PXIS_OFS) >>> 0;
      p.halted = true;
      return;
    }
    if (out.status & ATA_STATUS_ERR) return this.deviceError(p, slot, out.error, ncq);
    if (dps) p.is = (p.is | PXIS_DPS) >>> 0;
    if (ncq) {
      p.ci = (p.ci & ~(1 << slot)) >>> 0;
      p.tfd = out.status;
      p.ncqDone = (p.ncqDone | (1 << slot)) >>> 0;
      return;
    }
    p.tfd = (out.error << 8) | out.status;
    if (out.pio) {
      this.postPioSetup(p, out.status, out.bytes);
      p.is = (p.is | PXIS_PSS) >>> 0;
    } else {
      this.postD2h(p, out.status, out.error, { lba: out.lba, count: out.count, interrupt: true });
      p.is = (p.is | PXIS_DHRS) >>> 0;
    }
    p.ci = (p.ci & ~(1 << slot)) >>> 0;
  }

  /** A command failed in the device: TFD shows ERR, PxIS.TFES, the port halts with CI kept. */
  private deviceError(p: Port, slot: number, error: number, ncq: boolean): void {
    const status = 0x41 | 0x10;
    p.tfd = (error << 8) | status;
    if (ncq) {
      this.completeQueued(p);
      this.postSdb(p, status, error, 0, true);
      p.is = (p.is | PXIS_SDBS) >>> 0;
    } else {
      this.postD2h(p, status, error, { lba: 0, count: 0, interrupt: true });
      p.is = (p.is | PXIS_DHRS) >>> 0;
    }
    p.is = (p.is | PXIS_TFES) >>> 0;
    p.cmd = ((p.cmd & ~(0x1f << 8)) | (slot << 8)) >>> 0;
    p.halted = true;
  }

  private fisArea(p: Port, offset: number, length: number): Uint8Array | undefined {
    if (!(p.cmd & PXCMD_FR)) return undefined;
    const base = p.fb + p.fbu * 0x1_0000_0000 + offset;
    return this.mem.isRam(base, length) ? this.mem.window(base, length) : undefined;
  }

  private postD2h(
    p: Port,
    status: number,
    error: number,
    r: { lba: number; count: number; interrupt: boolean },
  ): void {
    const f = this.fisArea(p, RFIS_RFIS, 20);
    if (!f) return;
    f.fill(0);
    f[0] = FIS_TYPE_REG_D2H;
    f[1] = r.interrupt ? 0x40 : 0;
    f[2] = status;
    f[3] = error;
    for (let i = 0; i < 3; i++) f[4 + i] = Math.floor(r.lba / 2 ** (8 * i)) & 0xff;
    f[7] = 0x40;
    for (let i = 0; i < 3; i++) f[8 + i] = Math.floor(r.lba / 2 ** (8 * (i + 3))) & 0xff;
    f[12] = r.count & 0xff;
    f[13] = (r.count >> 8) & 0xff;
  }

  private postPioSetup(p: Port, status: number, bytes: number): void {
    const f = this.fisArea(p, RFIS_PSFIS, 20);
    if (!f) return;
    f.fill(0);
    f[0] = FIS_TYPE_PIO_SETUP;
    f[1] = 0x40 | 0x20; // interrupt, device-to-host
    f[2] = status;
    f[15] = status; // E_Status
    f[16] = bytes & 0xff;
    f[17] = (bytes >> 8) & 0xff;
  }

  private postSdb(
    p: Port,
    status: number,
    error: number,
    active: number,
    interrupt: boolean,
  ): void {
    const f = this.fisArea(p, RFIS_SDBFIS, 8);
    if (!f) return;
    f[0] = FIS_TYPE_SET_DEVICE_BITS;
    f[1] = interrupt ? 0x40 : 0;
    f[2] = status & 0x77;
    f[3] = error;
    new DataView(f.buffer, f.byteOffset, 8).setUint32(4, active >>> 0, true);
  }
}
