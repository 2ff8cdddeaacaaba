// The pci, acpi, io and fs interfaces of defs/ against GNU MIG 1.8: subsystem ids, routine ids
// and every request/reply field as x86_64-gnu-mig lays them out, equal to `tsmig layout`.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { checkDefsFile } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { layoutInterface, type InterfaceLayout } from "../../mig/layout/index.js";
import { runGnuMig } from "../helpers/gnu-mig.js";
import { need } from "../helpers/tools.js";

const DEFS = join(import.meta.dirname, "..", "..", "defs");

function tsmigLayout(file: string): InterfaceLayout {
  const sink = new DiagnosticSink();
  const { checked } = checkDefsFile(file, { includeDirs: [DEFS] }, sink);
  expect(sink.items.map((d) => d.message)).toEqual([]);
  expect(checked).toBeDefined();
  return layoutInterface(checked!, file);
}

const EXPECTED: Record<string, { subsystem: string; base: number; routines: [string, number][] }> =
  {
    "pci.defs": {
      subsystem: "pci",
      base: 39000,
      routines: [
        ["pci_conf_read", 39000],
        ["pci_conf_write", 39001],
        ["pci_get_ndevs", 39002],
        ["pci_get_dev_regions", 39003],
        ["pci_get_dev_rom", 39004],
      ],
    },
    "acpi.defs": {
      subsystem: "acpi",
      base: 41000,
      routines: [
        ["acpi_sleep", 41000],
        ["acpi_get_pci_irq", 41001],
      ],
    },
    "io.defs": {
      subsystem: "io",
      base: 21000,
      routines: [
        ["io_write", 21000],
        ["io_read", 21001],
      ],
    },
    "fs.defs": { subsystem: "fs", base: 20000, routines: [["dir_lookup", 20018]] },
  };

describe.skipIf(!need("mig", "gnumach"))("pci, acpi, io and fs .defs agree with GNU MIG", () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    test(`${name}: the Hurd's ids, and GNU MIG's layout field by field`, () => {
      const file = join(DEFS, name);
      const mine = tsmigLayout(file);
      const gnu = runGnuMig(file, { includeDirs: [DEFS] });
      expect(gnu.messages).not.toMatch(/error/i);
      expect(gnu.layout).not.toBeNull();
      expect({ subsystem: mine.subsystem, base: mine.base }).toEqual({
        subsystem: want.subsystem,
        base: want.base,
      });
      expect(mine.routines.map((r) => [r.name, r.id])).toEqual(want.routines);
      expect({ subsystem: gnu.layout!.subsystem, base: gnu.layout!.base }).toEqual({
        subsystem: want.subsystem,
        base: want.base,
      });
      expect(gnu.layout!.routines.map((r) => r.name)).toEqual(mine.routines.map((r) => r.name));
      for (let i = 0; i < mine.routines.length; i++) {
        const m = mine.routines[i]!;
        const g = gnu.layout!.routines[i]!;
        expect({
          routine: m.name,
          id: m.id,
          kind: m.kind,
          request: m.request,
          reply: m.reply,
        }).toEqual({
          routine: g.name,
          id: g.id,
          kind: g.kind,
          request: g.request,
          reply: g.reply,
        });
      }
    });
  }
});
