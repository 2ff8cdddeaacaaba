// This machine's own firmware tables (read-only, from /sys/firmware/acpi/tables): every one
// passes its checksum, FADT/MADT/MCFG parse, and the DSDT loads and its _PRT evaluates.
import { accessSync, constants, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  AmlInterpreter,
  evaluatePrt,
  findPciRootBridges,
  loadDefinitionBlock,
  routePciIrq,
} from "../../src/servers/acpi/aml/index.js";
import { parseFadt, parseMadt, parseMcfg, validateTable } from "../../src/servers/acpi/tables.js";

const DIR = "/sys/firmware/acpi/tables";

function readable(): boolean {
  try {
    accessSync(join(DIR, "DSDT"), constants.R_OK);
    readFileSync(join(DIR, "DSDT"));
    return true;
  } catch {
    console.warn(`SKIPPED: ${DIR}/DSDT is not readable here (needs root on a machine with ACPI)`);
    return false;
  }
}

const HAVE = readable();

function table(name: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(join(DIR, name)));
  } catch {
    return undefined;
  }
}

describe.skipIf(!HAVE)("the host's ACPI tables", () => {
  it("every table file has a valid header, matching length and checksum", () => {
    const names = readdirSync(DIR).filter((n) => statSync(join(DIR, n)).isFile());
    expect(names).toContain("DSDT");
    for (const name of names) {
      const bytes = table(name)!;
      const r = validateTable(bytes);
      expect(r.ok, `${name}: ${r.ok ? "" : r.error.message}`).toBe(true);
      if (!r.ok) continue;
      expect(r.value.signature).toBe(name.replace(/\d+$/, ""));
      expect(r.value.length).toBe(bytes.length);
    }
  });

  it("the FADT, MADT and MCFG parse", () => {
    const facp = table("FACP");
    if (facp) {
      const f = parseFadt(facp);
      expect(f.ok, f.ok ? "" : f.error.message).toBe(true);
    }
    const apic = table("APIC");
    if (apic) {
      const m = parseMadt(apic);
      expect(m.ok, m.ok ? "" : m.error.message).toBe(true);
      if (m.ok)
        expect(
          m.value.entries.some((e) => e.type === "local-apic" || e.type === "local-x2apic"),
        ).toBe(true);
    }
    const mcfg = table("MCFG");
    if (mcfg) {
      const c = parseMcfg(mcfg);
      expect(c.ok, c.ok ? "" : c.error.message).toBe(true);
      if (c.ok) expect(c.value.allocations.length).toBeGreaterThan(0);
    }
  });

  it("the DSDT loads without error and every method body parses", async () => {
    const interp = new AmlInterpreter();
    const r = await loadDefinitionBlock(interp, table("DSDT")!);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.errors).toEqual([]);
    expect(interp.checkMethods()).toEqual([]);
    expect([...interp.namespace.walk()].length).toBeGreaterThan(10);
  });

  it("evaluates the host's _PRT if it has one", async () => {
    const interp = new AmlInterpreter();
    await loadDefinitionBlock(interp, table("DSDT")!);
    const bridges = await findPciRootBridges(interp);
    expect(bridges.ok).toBe(true);
    if (!bridges.ok) return;
    const withPrt = bridges.value.filter((b) => b.node.children.has("_PRT"));
    if (withPrt.length === 0) {
      console.warn("host DSDT has no _PRT on a PCI root bridge; nothing to evaluate");
      return;
    }
    for (const b of withPrt) {
      const prt = await evaluatePrt(interp, b.node);
      expect(prt.ok, prt.ok ? "" : prt.error.message).toBe(true);
      if (!prt.ok) continue;
      expect(prt.value.length).toBeGreaterThan(0);
      for (const e of prt.value) {
        expect(e.pin).toBeGreaterThanOrEqual(0);
        expect(e.pin).toBeLessThanOrEqual(3);
        expect(e.device).toBeLessThan(32);
      }
      // Route the first entry's pin the way the acpi server will answer acpi_get_pci_irq.
      const first = prt.value[0]!;
      if (b.bus === 0 && b.segment === 0 && first.source === null) {
        const route = await routePciIrq(interp, first.device, 0, first.pin);
        expect(route.ok && route.value.gsi).toBe(first.sourceIndex);
      }
    }
  });
});
