// PCI interrupt routing from ASL fixtures compiled with iasl: QEMU q35's _PRT (static packages
// picked by PICF, links whose IRQ lives in LPC PCI config) and a _PRT built in a While loop.
import { beforeAll, describe, expect, it } from "vitest";
import {
  AmlInterpreter,
  evaluatePrt,
  linkDeviceIrq,
  loadDefinitionBlock,
  routePciIrq,
  setInterruptModel,
  type RegionAccess,
} from "../../src/servers/acpi/aml/index.js";
import { sleepType } from "../../src/servers/acpi/sleep.js";
import { need } from "../helpers/tools.js";
import { compileAsl } from "./acpi-fixtures.js";

/** ICH9 LPC (00:1f.0) config space as SeaBIOS leaves it: PIRQA-D -> 10,10,11,11; E-H disabled. */
function lpcConfig(): Uint8Array {
  const cfg = new Uint8Array(256);
  cfg.set([10, 10, 11, 11], 0x60);
  cfg.set([0x80, 0x80, 0x80, 0x80], 0x68);
  return cfg;
}

describe.skipIf(!need("iasl"))("q35-like DSDT (QEMU's _PRT constructs)", () => {
  let aml: Uint8Array;
  beforeAll(() => {
    aml = compileAsl("q35-dsdt");
  });

  async function machine(): Promise<{
    interp: AmlInterpreter;
    cfg: Uint8Array;
    log: RegionAccess[];
  }> {
    const cfg = lpcConfig();
    const log: RegionAccess[] = [];
    const interp = new AmlInterpreter({
      regions: {
        read(a) {
          log.push(a);
          if (a.space !== 2 || a.pci?.device !== 0x1f || a.pci.function !== 0)
            throw new Error("unexpected access");
          return BigInt(cfg[Number(a.address)]!);
        },
        write(a, v) {
          log.push(a);
          cfg[Number(a.address)] = Number(v);
        },
      },
    });
    const r = await loadDefinitionBlock(interp, aml);
    expect(r.ok && r.value.errors).toEqual([]);
    return { interp, cfg, log };
  }

  it("loads with 32-bit integers (revision 1) and every method parses", async () => {
    const { interp } = await machine();
    expect(interp.integerWidth).toBe(32);
    expect(interp.checkMethods()).toEqual([]);
  });

  it("in PIC mode routes the AHCI (00:1f.2 INTA#) through LNKA to the IRQ in PIRQA", async () => {
    const { interp, log } = await machine();
    const r = await routePciIrq(interp, 0x1f, 2, 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.gsi).toBe(10);
    expect(r.value.entry.source).toBe("\\_SB_.LNKA");
    expect(r.value).toMatchObject({
      edge: false,
      activeLow: false,
      shared: true,
      bridge: "\\_SB_.PCI0",
    });
    // PRQA is a byte of the LPC bridge's config space at 0x60, found through ISA's _ADR.
    expect(log.length).toBeGreaterThan(0);
    expect(
      log.every((a) => a.spaceName === "PCI_Config" && a.width === 8 && a.address === 0x60n),
    ).toBe(true);
    expect(log[0]!.pci).toEqual({ segment: 0, bus: 0, device: 0x1f, function: 0 });
  });

  it("follows the register: INTC# of slot 0x1f is PIRQC, and a changed PIRQ changes the answer", async () => {
    const { interp, cfg } = await machine();
    const c = await routePciIrq(interp, 0x1f, 3, 2);
    expect(c.ok && [c.value.entry.source, c.value.gsi]).toEqual(["\\_SB_.LNKC", 11]);
    cfg[0x62] = 5;
    const again = await routePciIrq(interp, 0x1f, 3, 2);
    expect(again.ok && again.value.gsi).toBe(5);
  });

  it("reports a disabled link (PIRQE has bit 7 set) as an error value", async () => {
    const { interp } = await machine();
    const r = await routePciIrq(interp, 0, 0, 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("AE_BAD_VALUE");
  });

  it("in APIC mode (after _PIC(1)) routes through GSIA..GSIH to GSI 16..23", async () => {
    const { interp, log } = await machine();
    const pic = await setInterruptModel(interp, "apic");
    expect(pic.ok && pic.value).toBe(true);
    const ahci = await routePciIrq(interp, 0x1f, 2, 0);
    expect(ahci.ok && [ahci.value.entry.source, ahci.value.gsi]).toEqual(["\\_SB_.GSIA", 16]);
    const slot3 = await routePciIrq(interp, 3, 0, 1);
    // slot 3 INTB#: 'E' + ((3 + 1) % 4) = E -> GSIE = GSI 20
    expect(slot3.ok && [slot3.value.entry.source, slot3.value.gsi]).toEqual(["\\_SB_.GSIE", 20]);
    expect(log).toEqual([]);
    await setInterruptModel(interp, "pic");
    const back = await routePciIrq(interp, 0x1f, 2, 0);
    expect(back.ok && back.value.gsi).toBe(10);
  });

  it("returns the whole 128-entry table with slot/pin/link as QEMU lays it out", async () => {
    const { interp } = await machine();
    const prt = await evaluatePrt(interp, "\\_SB.PCI0");
    expect(prt.ok).toBe(true);
    if (!prt.ok) return;
    expect(prt.value).toHaveLength(128);
    const e = prt.value[5 * 4 + 2]!;
    expect(e).toEqual({
      address: 0x0005ffff,
      device: 5,
      function: 0xffff,
      pin: 2,
      source: "\\_SB_.LNKH",
      sourceIndex: 0,
    });
  });

  it("runs a link's _SRS and _DIS, writing the PIRQ register", async () => {
    const { interp, cfg } = await machine();
    const res = Uint8Array.from([0x89, 0x06, 0x00, 0x09, 0x01, 0x0b, 0x00, 0x00, 0x00, 0x79, 0x00]);
    const srs = await interp.evaluate("\\_SB.LNKE._SRS", [{ type: "buffer", data: res }]);
    expect(srs.ok).toBe(true);
    expect(cfg[0x68]).toBe(11);
    const line = await linkDeviceIrq(interp, "\\_SB.LNKE");
    expect(line.ok && line.value.irq).toBe(11);
    const dis = await interp.evaluate("\\_SB.LNKE._DIS");
    expect(dis.ok).toBe(true);
    expect(cfg[0x68]).toBe(0x8b);
  });

  it("serialises concurrent evaluations so method-local names never collide", async () => {
    const cfg = lpcConfig();
    const interp = new AmlInterpreter({
      regions: {
        read: (a) =>
          new Promise<bigint>((resolve) =>
            setTimeout(() => resolve(BigInt(cfg[Number(a.address)]!)), 1),
          ),
        write: (a, v) => {
          cfg[Number(a.address)] = Number(v);
        },
      },
    });
    await loadDefinitionBlock(interp, aml);
    const pins = [0, 1, 2, 3, 0, 1, 2, 3];
    const routes = await Promise.all(
      pins.map((pin, i) => routePciIrq(interp, 0x19 + (i >> 2), 0, pin)),
    );
    expect(routes.map((r) => (r.ok ? r.value.gsi : r.error.code))).toEqual([
      10, 10, 11, 11, 10, 10, 11, 11,
    ]);
  });

  it("rejects bad device, function and pin numbers", async () => {
    const { interp } = await machine();
    for (const [d, f, p] of [
      [32, 0, 0],
      [0, 8, 0],
      [0, 0, 4],
      [-1, 0, 0],
    ] as const) {
      const r = await routePciIrq(interp, d, f, p);
      expect(!r.ok && r.error.code).toBe("AE_BAD_PARAMETER");
    }
  });

  it("fails with AE_NO_HANDLER when no region handler is installed", async () => {
    const interp = new AmlInterpreter();
    await loadDefinitionBlock(interp, aml);
    const r = await routePciIrq(interp, 0x1f, 2, 0);
    expect(!r.ok && r.error.code).toBe("AE_NO_HANDLER");
  });

  it("reads SLP_TYP for S5 (and S3) from the _Sx packages", async () => {
    const { interp } = await machine();
    const s5 = await sleepType(interp, 5);
    expect(s5.ok && s5.value).toEqual({ slpTypA: 0, slpTypB: 0 });
    const s3 = await sleepType(interp, 3);
    expect(s3.ok && s3.value).toEqual({ slpTypA: 1, slpTypB: 1 });
    const s4 = await sleepType(interp, 4);
    expect(!s4.ok && s4.error.code).toBe("AE_NOT_FOUND");
  });
});

describe.skipIf(!need("iasl"))("_PRT built in a While loop (PIIX style)", () => {
  let aml: Uint8Array;
  beforeAll(() => {
    aml = compileAsl("loop-prt-dsdt");
  });

  /** PIRQ registers behind an index/data port pair at 0xC00/0xC01 (IndexField). */
  async function machine(
    pirq: number[],
  ): Promise<{ interp: AmlInterpreter; io: string[]; regs: Map<number, number> }> {
    const regs = new Map<number, number>(pirq.map((v, i) => [0x10 + i, v]));
    let index = 0;
    const io: string[] = [];
    const interp = new AmlInterpreter({
      regions: {
        read(a) {
          io.push(`in ${a.address.toString(16)}`);
          if (a.spaceName !== "SystemIO") throw new Error("SystemIO only");
          return a.address === 0xc00n ? BigInt(index) : BigInt(regs.get(index) ?? 0xff);
        },
        write(a, v) {
          io.push(`out ${a.address.toString(16)} ${v.toString(16)}`);
          if (a.address === 0xc00n) index = Number(v);
          else regs.set(index, Number(v));
        },
      },
    });
    const r = await loadDefinitionBlock(interp, aml);
    expect(r.ok && r.value.errors).toEqual([]);
    return { interp, io, regs };
  }

  it("builds 128 entries whose links follow (pin + slot) & 3", async () => {
    const { interp } = await machine([11, 10, 5, 0x80]);
    const prt = await evaluatePrt(interp, "\\_SB.PCI0");
    expect(prt.ok).toBe(true);
    if (!prt.ok) return;
    expect(prt.value).toHaveLength(128);
    const names = ["LNKD", "LNKA", "LNKB", "LNKC"];
    for (const [i, e] of prt.value.entries()) {
      const slot = i >> 2;
      const link = i === 4 ? "LNKS" : names[(i + slot) & 3];
      expect(e).toEqual({
        address: ((slot << 16) | 0xffff) >>> 0,
        device: slot,
        function: 0xffff,
        pin: i & 3,
        source: `\\_SB_.${link}`,
        sourceIndex: 0,
      });
    }
  });

  it("decodes IRQ() descriptors built with CreateWordField from IndexField registers", async () => {
    const { interp, io } = await machine([11, 10, 5, 0x80]);
    const a = await routePciIrq(interp, 2, 0, 0); // (8 + 2) & 3 = 2 -> LNKB -> PIRB = 10
    expect(a.ok && [a.value.entry.source, a.value.gsi, a.value.edge, a.value.activeLow]).toEqual([
      "\\_SB_.LNKB",
      10,
      false,
      true,
    ]);
    expect(io).toContain("out c00 11");
    const b = await routePciIrq(interp, 1, 0, 1); // pin 5: (5 + 1) & 3 = 2 -> LNKB
    expect(b.ok && b.value.gsi).toBe(10);
    const sci = await routePciIrq(interp, 1, 3, 0); // the PM device's INTA# goes to the SCI link
    expect(sci.ok && [sci.value.entry.source, sci.value.gsi]).toEqual(["\\_SB_.LNKS", 9]);
    const c = await routePciIrq(interp, 3, 0, 3); // (12 + 3 + 3) & 3 = 2 -> LNKB
    expect(c.ok && c.value.gsi).toBe(10);
    const d = await routePciIrq(interp, 0, 0, 3); // 3 & 3 -> LNKC -> PIRC = 5
    expect(d.ok && d.value.gsi).toBe(5);
  });

  it("a link whose register has bit 7 set is disabled", async () => {
    const { interp } = await machine([11, 10, 5, 0x80]);
    const r = await routePciIrq(interp, 0, 0, 0); // LNKD
    expect(!r.ok && r.error.code).toBe("AE_BAD_VALUE");
  });

  it("_SRS stores the chosen IRQ through the IndexField", async () => {
    const { interp, regs } = await machine([11, 10, 5, 0x80]);
    const irq3 = Uint8Array.from([0x23, 0x08, 0x00, 0x18, 0x79, 0x00]);
    const r = await interp.evaluate("\\_SB.LNKD._SRS", [{ type: "buffer", data: irq3 }]);
    expect(r.ok).toBe(true);
    expect(regs.get(0x13)).toBe(3);
    const route = await routePciIrq(interp, 0, 0, 0);
    expect(route.ok && route.value.gsi).toBe(3);
  });

  it("reads S5's SLP_TYP from the _S5 package", async () => {
    const { interp } = await machine([11, 10, 5, 0x80]);
    const s5 = await sleepType(interp, 5);
    expect(s5.ok && s5.value).toEqual({ slpTypA: 5, slpTypB: 5 });
  });
});
