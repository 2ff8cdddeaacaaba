// QEMU q35's real DSDT (Debian's qemu-system-x86, read from fw_cfg "etc/acpi/tables" over
// qtest): it loads cleanly, every method parses, and _PRT routes the AHCI (00:1f.2) in APIC
// mode to GSIA and in PIC mode to the IRQ QEMU's LPC PIRQA register holds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AmlInterpreter,
  loadDefinitionBlock,
  routePciIrq,
  setInterruptModel,
  type RegionHandler,
} from "../../src/servers/acpi/aml/index.js";
import { sleepType } from "../../src/servers/acpi/sleep.js";
import { parseTableHeader } from "../../src/servers/acpi/tables.js";
import { need } from "../helpers/tools.js";
import { fixChecksum } from "./acpi-fixtures.js";
import { QtestClient } from "./qtest-client.js";

/**
 * The DSDT from QEMU's unlinked table blob, read only as far as needed (each byte is a qtest
 * round trip). The firmware's loader fills in checksums, so the copy gets its own.
 */
async function readDsdt(qemu: QtestClient): Promise<Uint8Array> {
  const file = await qemu.openFwCfgFile("etc/acpi/tables");
  let blob = new Uint8Array(0);
  while (blob.length < file.size) {
    const more = await file.read(Math.min(4096, file.size - blob.length));
    const grown = new Uint8Array(blob.length + more.length);
    grown.set(blob);
    grown.set(more, blob.length);
    blob = grown;
    for (let i = 0; i + 36 <= blob.length; i += 4) {
      if (String.fromCharCode(...blob.subarray(i, i + 4)) !== "DSDT") continue;
      const h = parseTableHeader(blob.subarray(i, i + 36));
      if (h.ok && h.value.length <= blob.length - i)
        return fixChecksum(blob.slice(i, i + h.value.length));
    }
  }
  throw new Error("no DSDT in etc/acpi/tables");
}

describe.skipIf(!need("qemu"))("QEMU q35's own DSDT", () => {
  let qemu: QtestClient;
  let dsdt: Uint8Array;

  beforeAll(async () => {
    qemu = QtestClient.start("q35");
    dsdt = await readDsdt(qemu);
  }, 60_000);

  afterAll(() => qemu?.close());

  function handler(): RegionHandler {
    return {
      read: async (a) => {
        if (a.space === 2 && a.pci && a.width <= 32) {
          return BigInt(
            await qemu.pciRead(
              a.pci.bus,
              a.pci.device,
              a.pci.function,
              Number(a.address),
              a.width as 8 | 16 | 32,
            ),
          );
        }
        if (a.space === 1 && a.width <= 32) {
          const op = a.width === 8 ? "inb" : a.width === 16 ? "inw" : "inl";
          return BigInt(await qemu.command(`${op} 0x${a.address.toString(16)}`));
        }
        throw new Error(`test handler does not do ${a.spaceName}/${a.width}`);
      },
      write: async (a, v) => {
        if (a.space === 2 && a.pci && a.width <= 32) {
          return qemu.pciWrite(
            a.pci.bus,
            a.pci.device,
            a.pci.function,
            Number(a.address),
            a.width as 8 | 16 | 32,
            Number(v),
          );
        }
        throw new Error(`test handler does not write ${a.spaceName}`);
      },
    };
  }

  it("loads without error and every control method parses", async () => {
    const interp = new AmlInterpreter({ regions: handler() });
    const r = await loadDefinitionBlock(interp, dsdt);
    expect(r.ok && r.value.errors).toEqual([]);
    expect(interp.checkMethods()).toEqual([]);
    expect(interp.namespace.lookup("\\_SB.PCI0._PRT")).toBeDefined();
  });

  it("routes the AHCI's INTA# through GSIA to GSI 16 in APIC mode", async () => {
    const interp = new AmlInterpreter({ regions: handler() });
    await loadDefinitionBlock(interp, dsdt);
    const pic = await setInterruptModel(interp, "apic");
    expect(pic.ok && pic.value).toBe(true);
    const r = await routePciIrq(interp, 0x1f, 2, 0);
    expect(r.ok && [r.value.entry.source, r.value.gsi, r.value.edge]).toEqual([
      "\\_SB_.GSIA",
      16,
      false,
    ]);
    for (let slot = 0; slot < 32; slot++) {
      const s = await routePciIrq(interp, slot, 0, 0);
      expect(s.ok && s.value.gsi >= 16 && s.value.gsi <= 23).toBe(true);
    }
  });

  it("in PIC mode reads PIRQA from the LPC bridge's config space over qtest", async () => {
    const interp = new AmlInterpreter({ regions: handler() });
    await loadDefinitionBlock(interp, dsdt);
    await setInterruptModel(interp, "pic");
    await qemu.pciWrite(0, 0x1f, 0, 0x60, 8, 11);
    const r = await routePciIrq(interp, 0x1f, 2, 0);
    expect(r.ok && [r.value.entry.source, r.value.gsi]).toEqual(["\\_SB_.LNKA", 11]);
    await qemu.pciWrite(0, 0x1f, 0, 0x60, 8, 0x80);
    const off = await routePciIrq(interp, 0x1f, 2, 0);
    expect(!off.ok && off.error.code).toBe("AE_BAD_VALUE");
  });

  it("has the \\_S5 package QEMU's ICH9 power management expects", async () => {
    const interp = new AmlInterpreter();
    await loadDefinitionBlock(interp, dsdt);
    const s5 = await sleepType(interp, 5);
    expect(s5.ok && s5.value).toEqual({ slpTypA: 0, slpTypB: 0 });
  });
});
