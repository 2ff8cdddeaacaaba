// The acpi server's logic: publishes every firmware table under tables/, loads the DSDT and
// SSDTs into the AML interpreter, routes PCI interrupts through _PRT (acpi_get_pci_irq), and
// enters sleep states through \_Sx and the FADT's PM1 control blocks (acpi_sleep).
import type { AccessWidth, HardwareAccess } from "../../machine/backend.js";
import { EINVAL, EIO, ENODEV, EOPNOTSUPP, EPERM } from "../netfs/errno.js";
import {
  addChild,
  ioOk,
  makeDir,
  makeFile,
  readWindow,
  type FsDir,
  type IoResult,
} from "../netfs/node.js";
import { readOnlyForAll, Translator } from "../netfs/translator.js";
import {
  AmlInterpreter,
  loadDefinitionBlock,
  routePciIrq,
  setInterruptModel,
} from "./aml/index.js";
import { parseFadt, type Fadt, type GenericAddress } from "./fadt.js";
import {
  tablesFromFiles,
  tablesFromMemory,
  type FirmwareTables,
  type NamedTable,
} from "./firmware-source.js";
import { hardwareRegions, type PciConfigPort } from "./hardware-regions.js";
import { pm1ControlValue, sleepType } from "./sleep.js";
import type { AcpiError, AcpiStatusCode } from "./status.js";
import type { PhysReader } from "./tables.js";

/** ENODEV: no such device (a function without an interrupt pin or a _PRT entry). */
export { ENODEV };

export interface AcpiOptions {
  readonly backend: HardwareAccess;
  /**
   * Physical memory for the RSDP scan and the tables (the kernel's `mem` device in the system;
   * defaults to the backend's memory reads). Unused when the backend has firmwareTables().
   */
  readonly memory?: PhysReader;
  /** PCI configuration access for PCI_Config regions and interrupt pins (the pci-arbiter). */
  readonly pci?: PciConfigPort;
}

/** The Hurd error value for an ACPI status. */
export function acpiErrno(code: AcpiStatusCode): number {
  switch (code) {
    case "AE_NOT_FOUND":
      return ENODEV;
    case "AE_BAD_PARAMETER":
      return EINVAL;
    default:
      return EIO;
  }
}

export class AcpiTranslator {
  readonly fs: Translator;
  /** Problems met while loading AML (the tables are still served). */
  readonly amlProblems: AcpiError[] = [];

  private constructor(
    private readonly options: AcpiOptions,
    readonly firmware: FirmwareTables,
    readonly interp: AmlInterpreter,
    readonly fadt: Fadt | undefined,
  ) {
    const root = makeDir("");
    const tables = addChild(root, makeDir("tables"));
    for (const t of firmware.tables) {
      addChild(
        tables,
        makeFile(
          t.name,
          { read: async (offset, amount) => ioOk(readWindow(t.bytes, offset, amount)) },
          t,
        ),
      );
    }
    this.fs = new Translator(root, readOnlyForAll);
  }

  /** Finds the tables, loads the AML and switches the firmware to APIC interrupt routing. */
  static async start(
    options: AcpiOptions,
  ): Promise<{ ok: true; value: AcpiTranslator } | { ok: false; error: AcpiError }> {
    const b = options.backend;
    let firmware;
    if (b.firmwareTables) {
      try {
        firmware = tablesFromFiles(await b.firmwareTables());
      } catch (e) {
        return {
          ok: false,
          error: { code: "AE_NOT_FOUND", message: e instanceof Error ? e.message : String(e) },
        };
      }
    } else {
      firmware = await tablesFromMemory(options.memory ?? ((addr, len) => b.memRead(addr, len)));
    }
    if (!firmware.ok) return firmware;
    const fw = firmware.value;
    const facp = fw.tables.find((t) => t.signature === "FACP");
    const fadt = facp ? parseFadt(facp.bytes) : undefined;
    const interp = new AmlInterpreter({ regions: hardwareRegions(b, options.pci) });
    const self = new AcpiTranslator(options, fw, interp, fadt?.ok ? fadt.value : undefined);
    for (const t of fw.tables.filter((x) => x.signature === "DSDT" || x.signature === "SSDT")) {
      const r = await loadDefinitionBlock(interp, t.bytes);
      if (!r.ok) self.amlProblems.push(r.error);
      else self.amlProblems.push(...r.value.errors);
    }
    await setInterruptModel(interp, "apic");
    return { ok: true, value: self };
  }

  get root(): FsDir {
    return this.fs.root;
  }

  /** tables/<name> as published. */
  table(name: string): NamedTable | undefined {
    return this.firmware.tables.find((t) => t.name === name);
  }

  /**
   * acpi_get_pci_irq: the GSI that bus:dev.func raises, from its Interrupt Pin register and the
   * root bridge's _PRT (with link devices resolved).
   */
  async getPciIrq(bus: number, dev: number, func: number): Promise<IoResult<number>> {
    const valid = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
    if (!valid(bus, 255) || !valid(dev, 31) || !valid(func, 7)) return { ok: false, code: EINVAL };
    const pci = this.options.pci;
    if (!pci) return { ok: false, code: EOPNOTSUPP };
    let pin: number;
    try {
      if ((await pci.read(bus, dev, func, 0, 2)) === 0xffff) return { ok: false, code: ENODEV };
      pin = await pci.read(bus, dev, func, 0x3d, 1);
    } catch {
      return { ok: false, code: EIO };
    }
    if (pin < 1 || pin > 4) return { ok: false, code: ENODEV };
    const r = await routePciIrq(this.interp, dev, func, pin - 1, { bus });
    return r.ok ? ioOk(r.value.gsi) : { ok: false, code: acpiErrno(r.error.code) };
  }

  /**
   * acpi_sleep: S5 writes SLP_TYP (from \_S5) with SLP_EN into PM1a (and PM1b) control, which
   * powers the machine off. Other states are not supported; read-only machines refuse.
   */
  async sleep(state: number): Promise<IoResult<void>> {
    if (!Number.isInteger(state) || state < 0 || state > 5) return { ok: false, code: EINVAL };
    if (state !== 5) return { ok: false, code: EOPNOTSUPP };
    const b = this.options.backend;
    if (!b.writable) return { ok: false, code: EPERM };
    if (!this.fadt?.pm1aControlBlock) return { ok: false, code: EOPNOTSUPP };
    const typ = await sleepType(this.interp, state);
    if (!typ.ok) return { ok: false, code: acpiErrno(typ.error.code) };
    const pts = this.interp.namespace.lookup("\\_PTS");
    if (pts) await this.interp.evaluate(pts, [{ type: "integer", value: BigInt(state) }]);
    const blocks: [GenericAddress, number][] = [[this.fadt.pm1aControlBlock, typ.value.slpTypA]];
    if (this.fadt.pm1bControlBlock) blocks.push([this.fadt.pm1bControlBlock, typ.value.slpTypB]);
    for (const [gas, slpTyp] of blocks) {
      const width: AccessWidth = gas.bitWidth === 8 ? 1 : gas.bitWidth === 32 ? 4 : 2;
      try {
        const current =
          gas.spaceId === 1
            ? await b.portRead(gas.address, width)
            : await b.mmioRead(gas.address, width);
        const value = pm1ControlValue(slpTyp, current);
        if (gas.spaceId === 1) await b.portWrite(gas.address, width, value);
        else await b.mmioWrite(gas.address, width, value);
      } catch {
        // The machine may be gone before the write returns (QEMU exits on S5).
      }
    }
    return ioOk(undefined);
  }
}
