// The AHCI host bus adapter: finding it on PCI, HBA reset (GHC.HR) and AHCI enable (GHC.AE),
// port attach, the shared interrupt handler (IS → ports), and the watchdog for lost interrupts.
import { BusDmaTag } from "../bus-dma.js";
import { EIO, ENXIO, describeThrown, fail, ok, type RumpResult } from "../errno.js";
import {
  formatPciAddress,
  type MmioRegion,
  type PciAddress,
  type PciInterruptHandle,
  type RumpPciUser,
} from "../pci-user.js";
import { monotonicMs, type RumpUser } from "../rumpuser.js";
import {
  AHCI_CAP,
  AHCI_CAP_NCS_SHIFT,
  AHCI_CAP_NP,
  AHCI_CAP_S64A,
  AHCI_CAP_SCLO,
  AHCI_CAP_SNCQ,
  AHCI_GHC,
  AHCI_GHC_AE,
  AHCI_GHC_HR,
  AHCI_GHC_IE,
  AHCI_IS,
  AHCI_PI,
  AHCI_PORT_BASE,
  AHCI_PORT_SIZE,
  AHCI_SIG_ATA,
  AHCI_VS,
} from "./ahcireg.js";
import { AhciDrive } from "./drive.js";
import { AhciPort } from "./port.js";

/** PCI class 01 (mass storage), subclass 06 (SATA), interface 01 (AHCI 1.0). */
export const PCI_CLASS_AHCI = 0x010601;
const PCI_ID = 0x00;
const PCI_COMMAND_STATUS = 0x04;
const PCI_CLASS_REV = 0x08;
const PCI_HEADER = 0x0c;
const PCI_INTERRUPT = 0x3c;
const PCI_COMMAND_MEMORY = 1 << 1;
const PCI_COMMAND_MASTER = 1 << 2;
const PCI_COMMAND_INTX_DISABLE = 1 << 10;
/** ABAR: BAR5. */
const AHCI_ABAR = 0x24;

export interface AhciAttachOptions {
  ru: RumpUser;
  pci: RumpPciUser;
  /** The function to drive; default: the first AHCI found on bus 0. */
  address?: PciAddress;
  /** Interrupt-driven completion (default). False: polled, for hosts without interrupts. */
  interrupts?: boolean;
  /** Queued commands when both sides support them (default true). */
  ncq?: boolean;
  /** Command timeout (default: getparam AHCISATA_TIMEOUT_MS, or 30 s). */
  timeoutMs?: number;
  /** Controller unit number (ahcisataN). */
  unit?: number;
}

/** PCI functions of class AHCI on bus 0, found through configuration space. */
export async function findAhci(pci: RumpPciUser): Promise<PciAddress[]> {
  const found: PciAddress[] = [];
  for (let dev = 0; dev < 32; dev++) {
    for (let fn = 0; fn < 8; fn++) {
      const a = { bus: 0, dev, fn };
      const id = await pci.confRead(a, PCI_ID);
      if (id === 0xffffffff || (id & 0xffff) === 0xffff) {
        if (fn === 0) break;
        continue;
      }
      if ((await pci.confRead(a, PCI_CLASS_REV)) >>> 8 === PCI_CLASS_AHCI) found.push(a);
      if (fn === 0 && !((await pci.confRead(a, PCI_HEADER)) & 0x0080_0000)) break;
    }
  }
  return found;
}

export class AhciHba {
  readonly drives: AhciDrive[] = [];
  readonly ports: AhciPort[] = [];
  /** Interrupts handled (diagnostics, tests). */
  interrupts = 0;
  private irq: PciInterruptHandle | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private detached = false;

  private constructor(
    readonly name: string,
    readonly address: PciAddress,
    readonly abar: MmioRegion,
    readonly cap: number,
    readonly version: number,
    private readonly ru: RumpUser,
    private readonly pci: RumpPciUser,
  ) {}

  get ncqCapable(): boolean {
    return (this.cap & AHCI_CAP_SNCQ) !== 0;
  }
  get slots(): number {
    return ((this.cap >>> AHCI_CAP_NCS_SHIFT) & 0x1f) + 1;
  }
  get irqLine(): number | undefined {
    return this.irq?.line;
  }

  /** Attaches the HBA and every ATA disk on its ports (ahcisata_attach). */
  static async attach(o: AhciAttachOptions): Promise<RumpResult<AhciHba>> {
    const { ru, pci } = o;
    const name = `ahcisata${o.unit ?? 0}`;
    const log = (s: string) => ru.dprintf(s);
    try {
      let address = o.address;
      if (!address) {
        const all = await findAhci(pci);
        address = all[o.unit ?? 0];
        if (!address) return fail(ENXIO, "no AHCI controller on PCI bus 0");
      }
      const cls = (await pci.confRead(address, PCI_CLASS_REV)) >>> 8;
      if (cls !== PCI_CLASS_AHCI)
        return fail(ENXIO, `${formatPciAddress(address)} is not an AHCI controller`);
      // Memory space and bus mastering on, INTx enabled.
      const cmd = await pci.confRead(address, PCI_COMMAND_STATUS);
      await pci.confWrite(
        address,
        PCI_COMMAND_STATUS,
        ((cmd & 0xffff & ~PCI_COMMAND_INTX_DISABLE) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) >>>
          0,
      );
      const bar = await pci.confRead(address, AHCI_ABAR);
      const base = (bar & ~0xf) >>> 0;
      if (bar & 1 || base === 0) return fail(ENXIO, `${name}: BAR5 (ABAR) is not a memory BAR`);
      const early = await pci.map(base, AHCI_PORT_BASE);
      const np = ((await early.read32(AHCI_CAP)) & AHCI_CAP_NP) + 1;
      const abar = await pci.map(base, AHCI_PORT_BASE + np * AHCI_PORT_SIZE);
      // HBA reset: AE, then HR, wait for HR to clear (1 s), AE again.
      await abar.write32(AHCI_GHC, AHCI_GHC_AE);
      await abar.write32(AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_HR);
      const end = monotonicMs(ru) + 1000;
      while ((await abar.read32(AHCI_GHC)) & AHCI_GHC_HR) {
        if (monotonicMs(ru) > end) return fail(EIO, `${name}: HBA reset did not complete`);
        await ru.clockSleep(1);
      }
      await abar.write32(AHCI_GHC, AHCI_GHC_AE);
      const cap = await abar.read32(AHCI_CAP);
      const vs = await abar.read32(AHCI_VS);
      const pi = await abar.read32(AHCI_PI);
      const hba = new AhciHba(name, address, abar, cap, vs, ru, pci);
      const ncs = hba.slots;
      log(
        `${name} at pci ${formatPciAddress(address)}: AHCI ${vs >>> 16}.${(vs >> 8) & 0xff}${vs & 0xff ? `.${vs & 0xff}` : ""}, ${np} ports, ${ncs} slots${cap & AHCI_CAP_SNCQ ? ", NCQ" : ""}${cap & AHCI_CAP_S64A ? ", 64-bit DMA" : ""}`,
      );
      const dma = new BusDmaTag(pci);
      const param = Number(ru.getparam("AHCISATA_TIMEOUT_MS"));
      const timeoutMs = o.timeoutMs ?? (Number.isFinite(param) && param > 0 ? param : 30_000);
      for (let i = 0; i < 32; i++) {
        if (!(pi & (1 << i))) continue;
        const port = new AhciPort({
          ru,
          dma,
          abar,
          index: i,
          slots: ncs,
          s64a: (cap & AHCI_CAP_S64A) !== 0,
          sclo: (cap & AHCI_CAP_SCLO) !== 0,
          timeoutMs,
          log,
        });
        const up = await port.attach();
        if (!up.ok) {
          log(`${name} port ${i}: ${up.message}`);
          continue;
        }
        if (!up.value) continue;
        if (port.signature !== AHCI_SIG_ATA) {
          log(
            `${name} port ${i}: device signature 0x${(port.signature >>> 0).toString(16)} not supported`,
          );
          await port.detach();
          continue;
        }
        hba.ports.push(port);
      }
      // Interrupts: route INTA#, establish the handler, clear IS, GHC.IE.
      const useIrq = o.interrupts ?? true;
      if (useIrq) {
        const pin = ((await pci.confRead(address, PCI_INTERRUPT)) >> 8) & 0xff;
        const line = await pci.irqMap(address, pin || 1);
        hba.irq = await pci.irqEstablish(line, () => hba.intr());
      }
      await abar.write32(AHCI_IS, 0xffffffff);
      await abar.write32(AHCI_GHC, AHCI_GHC_AE | (useIrq ? AHCI_GHC_IE : 0));
      hba.startWatchdog(useIrq ? 50 : 1);
      for (const port of hba.ports) {
        const loc = `${name} port ${port.index}`;
        const d = await AhciDrive.identify(loc, port, hba.ncqCapable && (o.ncq ?? true));
        if (!d.ok) {
          log(`${loc}: ${d.message}`);
          continue;
        }
        const id = d.value.identity;
        log(
          `${loc}: <${id.model}> serial ${id.serial || "-"} firmware ${id.firmware}, ${id.sectors} sectors of ${id.sectorSize} bytes${d.value.ncq ? `, NCQ depth ${id.queueDepth}` : ""}`,
        );
        hba.drives.push(d.value);
      }
      return ok(hba);
    } catch (e) {
      return fail(EIO, `${name}: ${describeThrown(e)}`);
    }
  }

  /** The interrupt handler: service every port whose IS bit is set, then clear those bits. */
  async intr(): Promise<void> {
    if (this.detached) return;
    this.interrupts++;
    const is = await this.abar.read32(AHCI_IS);
    if (!is) return;
    await Promise.all(this.ports.filter((p) => is & (1 << p.index)).map((p) => p.service()));
    // Posted: it reaches the HBA before the glue's end of interrupt, which comes after it.
    try {
      this.abar.write32(AHCI_IS, is).catch(() => undefined);
    } catch {
      /* a region that refuses the access: the watchdog polls the ports */
    }
  }

  private startWatchdog(periodMs: number): void {
    let running = false;
    this.watchdog = setInterval(() => {
      if (running || this.detached) return;
      const busy = this.ports.filter((p) => p.busy);
      if (!busy.length) return;
      running = true;
      void (async () => {
        try {
          // Polling is the fallback for a lost (or absent) interrupt, then the timeouts.
          for (const p of busy) {
            await p.service();
            await p.checkTimeouts();
          }
        } catch (e) {
          this.ru.dprintf(`${this.name}: watchdog: ${describeThrown(e)}`);
        } finally {
          running = false;
        }
      })();
    }, periodMs);
    this.watchdog.unref();
  }

  /** Stops every port, turns interrupts off, frees DMA memory. */
  async detach(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.irq?.disestablish();
    for (const p of this.ports) await p.detach().catch(() => undefined);
    await this.abar.write32(AHCI_GHC, AHCI_GHC_AE).catch(() => undefined);
  }
}
