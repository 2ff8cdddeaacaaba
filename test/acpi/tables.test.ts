// RSDP scanning, table header/checksum validation, RSDT/XSDT walking and the FADT, MADT and
// MCFG parsers, on tables built byte by byte in the test.
import { describe, expect, it } from "vitest";
import {
  BIOS_AREA,
  findRsdp,
  parseFadt,
  parseMadt,
  parseMcfg,
  parseRootTable,
  parseRsdp,
  validateTable,
  walkTables,
  type PhysReader,
} from "../../src/servers/acpi/tables.js";
import { ecamAddress } from "../../src/servers/acpi/mcfg.js";
import { isaIrqToGsi } from "../../src/servers/acpi/madt.js";
import { pm1ControlValue } from "../../src/servers/acpi/sleep.js";
import { fixChecksum, le, makeDsdt, makeTable } from "./acpi-fixtures.js";

function rsdp(revision: number, rsdt: number, xsdt = 0): Uint8Array {
  const r = new Uint8Array(revision >= 2 ? 36 : 20);
  "RSD PTR ".split("").forEach((c, i) => (r[i] = c.charCodeAt(0)));
  "TSMACH".split("").forEach((c, i) => (r[9 + i] = c.charCodeAt(0)));
  r[15] = revision;
  r.set(le(rsdt, 4), 16);
  if (revision >= 2) {
    r.set(le(36, 4), 20);
    r.set(le(xsdt, 8), 24);
    fixChecksum(r, 32, 36);
  }
  fixChecksum(r, 8, 20);
  if (revision >= 2) fixChecksum(r, 32, 36);
  return r;
}

function fadt(dsdt: number, xDsdt = 0, xPm1aCnt = 0): Uint8Array {
  const t = new Uint8Array(276 - 36);
  const dv = new DataView(t.buffer);
  const at = (off: number): number => off - 36;
  dv.setUint32(at(0x28), dsdt, true);
  dv.setUint16(at(0x2e), 9, true);
  dv.setUint32(at(0x30), 0xb2, true);
  t[at(0x34)] = 0xf1;
  t[at(0x35)] = 0xf0;
  dv.setUint32(at(0x38), 0x600, true);
  dv.setUint32(at(0x40), 0x604, true);
  dv.setUint32(at(0x4c), 0x608, true);
  t[at(0x58)] = 4;
  t[at(0x59)] = 2;
  t[at(0x5b)] = 4;
  dv.setUint32(at(0x70), 1 << 8, true);
  dv.setBigUint64(at(0x8c), BigInt(xDsdt), true);
  if (xPm1aCnt) {
    t[at(0xac)] = 1;
    t[at(0xad)] = 16;
    t[at(0xaf)] = 2;
    dv.setBigUint64(at(0xb0), BigInt(xPm1aCnt), true);
  }
  return makeTable("FACP", 6, t);
}

function madt(): Uint8Array {
  return makeTable("APIC", 5, [
    ...le(0xfee00000, 4),
    ...le(1, 4),
    ...[0, 8, 0, 0, ...le(1, 4)],
    ...[0, 8, 1, 1, ...le(0, 4)],
    ...[1, 12, 0, 0, ...le(0xfec00000, 4), ...le(0, 4)],
    ...[2, 10, 0, 0, ...le(2, 4), ...le(0, 2)],
    ...[2, 10, 0, 9, ...le(9, 4), ...le(0xd, 2)],
    ...[4, 6, 0xff, 5, 0, 1],
    ...[0x7f, 3, 0xaa],
  ]);
}

function mcfg(): Uint8Array {
  return makeTable("MCFG", 1, [
    ...le(0, 8),
    ...le(0xb0000000, 8),
    ...le(0, 2),
    0,
    0xff,
    ...le(0, 4),
  ]);
}

/** A sparse physical memory: tables at fixed addresses, reads elsewhere fail. */
function memory(tables: Map<number, Uint8Array>): PhysReader {
  return async (address, length) => {
    for (const [base, bytes] of tables) {
      if (address >= base && address + length <= base + bytes.length)
        return bytes.slice(address - base, address - base + length);
    }
    throw new Error(`nothing mapped at 0x${address.toString(16)}+${length}`);
  };
}

describe("table headers", () => {
  it("accepts a well-formed table and reads its header", () => {
    const r = validateTable(mcfg());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      signature: "MCFG",
      length: 60,
      revision: 1,
      oemId: "TSMACH",
      oemTableId: "TESTTABL",
      creatorId: "TSMC",
    });
  });

  it("rejects a flipped byte with AE_BAD_CHECKSUM", () => {
    const t = mcfg();
    t[50]! ^= 0x40;
    const r = validateTable(t);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("AE_BAD_CHECKSUM");
  });

  it("rejects a length larger than the bytes given, and a short buffer", () => {
    const t = mcfg().subarray(0, 50);
    const r = validateTable(t);
    expect(!r.ok && r.error.code).toBe("AE_BAD_HEADER");
    const s = validateTable(new Uint8Array(10));
    expect(!s.ok && s.error.code).toBe("AE_BAD_HEADER");
  });

  it("rejects a table of the wrong type", () => {
    const r = parseMadt(mcfg());
    expect(!r.ok && r.error.code).toBe("AE_BAD_SIGNATURE");
  });
});

describe("RSDP", () => {
  it("finds a version 1 RSDP on a 16-byte boundary of the BIOS area", () => {
    const area = new Uint8Array(BIOS_AREA.end - BIOS_AREA.start);
    area.set(rsdp(0, 0x7ff0000), 0x1a2b0);
    const r = findRsdp(area, BIOS_AREA.start);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      address: 0xe0000 + 0x1a2b0,
      revision: 0,
      oemId: "TSMACH",
      rsdtAddress: 0x7ff0000,
      xsdtAddress: 0,
    });
  });

  it("finds a version 2 RSDP and checks its extended checksum", () => {
    const area = new Uint8Array(0x400);
    area.set(rsdp(2, 0x1000, 0x2000), 0x40);
    const r = findRsdp(area, 0x9fc00);
    expect(r.ok && r.value).toMatchObject({
      address: 0x9fc40,
      revision: 2,
      xsdtAddress: 0x2000,
      length: 36,
    });
    area[0x40 + 30] = 0x55;
    const bad = parseRsdp(area, 0x40);
    expect(!bad.ok && bad.error.code).toBe("AE_BAD_CHECKSUM");
  });

  it("ignores signatures off the 16-byte grid and candidates with a bad checksum", () => {
    const area = new Uint8Array(0x200);
    area.set(rsdp(0, 0x1111), 0x08);
    const damaged = rsdp(0, 0x2222);
    damaged[16] = 0x23;
    area.set(damaged, 0x20);
    const r = findRsdp(area, 0xe0000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("AE_BAD_CHECKSUM");
    area.set(rsdp(0, 0x3333), 0x100);
    const good = findRsdp(area, 0xe0000);
    expect(good.ok && good.value.rsdtAddress).toBe(0x3333);
  });

  it("reports AE_NOT_FOUND for memory without an RSDP", () => {
    const r = findRsdp(new Uint8Array(4096), 0xe0000);
    expect(!r.ok && r.error.code).toBe("AE_NOT_FOUND");
  });
});

describe("walking RSDT and XSDT", () => {
  const dsdt = makeDsdt([0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x05]);

  it("walks an XSDT to every table and follows the FADT to the DSDT", async () => {
    const xsdt = makeTable("XSDT", 1, [...le(0x3000, 8), ...le(0x4000, 8), ...le(0x5000, 8)]);
    const mem = memory(
      new Map([
        [0x2000, xsdt],
        [0x3000, fadt(0x6000)],
        [0x4000, madt()],
        [0x5000, mcfg()],
        [0x6000, dsdt],
      ]),
    );
    const r = await walkTables(mem, {
      address: 0xe0000,
      revision: 2,
      oemId: "X",
      rsdtAddress: 0x9999,
      xsdtAddress: 0x2000,
      length: 36,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.root.signature).toBe("XSDT");
    expect(r.value.tables.map((t) => [t.signature, t.address])).toEqual([
      ["FACP", 0x3000],
      ["DSDT", 0x6000],
      ["APIC", 0x4000],
      ["MCFG", 0x5000],
    ]);
    expect(r.value.problems).toEqual([]);
  });

  it("uses the RSDT for ACPI 1.0 and reports a corrupt table without stopping", async () => {
    const rsdt = makeTable("RSDT", 1, [...le(0x3000, 4), ...le(0x4000, 4), ...le(0x5000, 4)]);
    const broken = madt();
    broken[40]! ^= 1;
    const mem = memory(
      new Map([
        [0x1000, rsdt],
        [0x3000, fadt(0x6000)],
        [0x4000, broken],
        [0x5000, mcfg()],
        [0x6000, dsdt],
      ]),
    );
    const r = await walkTables(mem, {
      address: 0xe0000,
      revision: 0,
      oemId: "X",
      rsdtAddress: 0x1000,
      xsdtAddress: 0,
      length: 20,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.root.signature).toBe("RSDT");
    expect(r.value.tables.map((t) => t.signature)).toEqual(["FACP", "DSDT", "MCFG"]);
    expect(r.value.problems).toHaveLength(1);
    expect(r.value.problems[0]).toMatchObject({
      address: 0x4000,
      error: { code: "AE_BAD_CHECKSUM" },
    });
  });

  it("fails cleanly when the root table cannot be read", async () => {
    const r = await walkTables(memory(new Map()), {
      address: 0,
      revision: 0,
      oemId: "",
      rsdtAddress: 0x1000,
      xsdtAddress: 0,
      length: 20,
    });
    expect(r.ok).toBe(false);
  });

  it("parses RSDT entries as 32-bit and XSDT entries as 64-bit addresses", () => {
    const x = parseRootTable(makeTable("XSDT", 1, [...le(0x1_0000_1000n, 8)]));
    expect(x.ok && x.value.entries).toEqual([0x1_0000_1000]);
    const r = parseRootTable(makeTable("RSDT", 1, [...le(0xdead0000, 4), ...le(0x1000, 4)]));
    expect(r.ok && r.value.entries).toEqual([0xdead0000, 0x1000]);
  });
});

describe("FADT", () => {
  it("reads the DSDT, SCI and legacy PM1 blocks", () => {
    const r = parseFadt(fadt(0x6000));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      dsdt: 0x6000,
      sciInterrupt: 9,
      smiCommand: 0xb2,
      acpiEnable: 0xf1,
      acpiDisable: 0xf0,
      hardwareReduced: false,
    });
    expect(r.value.pm1aControlBlock).toEqual({
      spaceId: 1,
      bitWidth: 16,
      bitOffset: 0,
      accessSize: 0,
      address: 0x604,
    });
    expect(r.value.pm1aEventBlock?.address).toBe(0x600);
    expect(r.value.pmTimerBlock).toMatchObject({ address: 0x608, bitWidth: 32 });
    expect(r.value.pm1bControlBlock).toBeUndefined();
  });

  it("prefers X_DSDT and X_PM1a_CNT_BLK when they are set", () => {
    const r = parseFadt(fadt(0x6000, 0x1_2345_6000, 0xb004));
    expect(r.ok && r.value.dsdt).toBe(0x1_2345_6000);
    expect(r.ok && r.value.pm1aControlBlock).toEqual({
      spaceId: 1,
      bitWidth: 16,
      bitOffset: 0,
      accessSize: 2,
      address: 0xb004,
    });
  });

  it("rejects a FADT too short for ACPI 1.0", () => {
    const r = parseFadt(makeTable("FACP", 1, new Uint8Array(40)));
    expect(!r.ok && r.error.code).toBe("AE_BAD_HEADER");
  });

  it("encodes SLP_TYP and SLP_EN for the PM1 control register", () => {
    expect(pm1ControlValue(5)).toBe((5 << 10) | (1 << 13));
    expect(pm1ControlValue(0, 0x1c01)).toBe(0x2001);
  });
});

describe("MADT", () => {
  it("lists local APICs, the I/O APIC, overrides and NMIs", () => {
    const r = parseMadt(madt());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.localApicAddress).toBe(0xfee00000);
    expect(r.value.flags).toBe(1);
    expect(r.value.entries).toEqual([
      { type: "local-apic", processorId: 0, apicId: 0, enabled: true, onlineCapable: false },
      { type: "local-apic", processorId: 1, apicId: 1, enabled: false, onlineCapable: false },
      { type: "io-apic", ioApicId: 0, address: 0xfec00000, gsiBase: 0 },
      { type: "interrupt-override", bus: 0, source: 0, gsi: 2, flags: 0 },
      { type: "interrupt-override", bus: 0, source: 9, gsi: 9, flags: 0xd },
      { type: "local-apic-nmi", processorId: 0xff, flags: 5, lint: 1 },
      { type: "other", code: 0x7f, data: Uint8Array.from([0x7f, 3, 0xaa]) },
    ]);
    expect(isaIrqToGsi(r.value, 0)).toBe(2);
    expect(isaIrqToGsi(r.value, 4)).toBe(4);
  });

  it("rejects a structure whose length runs past the table", () => {
    const t = makeTable("APIC", 5, [...le(0xfee00000, 4), ...le(0, 4), 1, 40, 0, 0]);
    const r = parseMadt(t);
    expect(!r.ok && r.error.code).toBe("AE_BAD_HEADER");
    const zero = parseMadt(makeTable("APIC", 5, [...le(0xfee00000, 4), ...le(0, 4), 0, 0]));
    expect(!zero.ok && zero.error.code).toBe("AE_BAD_HEADER");
  });
});

describe("MCFG", () => {
  it("reads the ECAM allocation and computes config addresses", () => {
    const r = parseMcfg(mcfg());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.allocations).toEqual([
      { baseAddress: 0xb0000000, segment: 0, startBus: 0, endBus: 0xff },
    ]);
    expect(ecamAddress(r.value, 0, 0, 0x1f, 2, 0x3c)).toBe(
      0xb0000000 + (0x1f << 15) + (2 << 12) + 0x3c,
    );
    expect(ecamAddress(r.value, 1, 0, 0, 0, 0)).toBeUndefined();
  });

  it("rejects a length that is not whole allocations", () => {
    const r = parseMcfg(makeTable("MCFG", 1, [...le(0, 8), 1, 2, 3]));
    expect(!r.ok && r.error.code).toBe("AE_BAD_HEADER");
  });
});
