// ACPI tables of the simulated PC: found by scanning the BIOS area like the acpi server does,
// checksums and structure, and (with acpica-tools) iasl disassembly and acpiexec on the DSDT.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { need } from "../helpers/tools.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { checksum } from "../../src/machine/acpi-tables.js";
import { ECAM_BASE } from "../../src/machine/pci-bus.js";

interface Found {
  signature: string;
  address: number;
  bytes: Uint8Array;
}

const sig = (b: Uint8Array, o = 0) => String.fromCharCode(...b.subarray(o, o + 4));
const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 0x1_0000_0000;

async function readTable(m: SimBackend, address: number): Promise<Found> {
  const hdr = await m.memRead(address, 8);
  const bytes = await m.memRead(address, u32(hdr, 4));
  return { signature: sig(bytes), address, bytes };
}

describe("simulated ACPI tables", () => {
  let m: SimBackend;
  let rsdp: Uint8Array;
  let rsdpAt = -1;
  const tables = new Map<string, Found>();

  beforeAll(async () => {
    const r = SimBackend.create({ memory: "8M", devices: [{ type: "ahci" }] });
    if (!r.ok) throw new Error(r.errors[0]!.message);
    m = r.value;
    // Scan 0xE0000-0xFFFFF on 16-byte boundaries for a valid RSDP.
    const area = await m.memRead(0xe0000, 0x20000);
    for (let o = 0; o < area.length; o += 16) {
      if (
        String.fromCharCode(...area.subarray(o, o + 8)) === "RSD PTR " &&
        checksum(area, o, o + 20) === 0
      ) {
        rsdpAt = 0xe0000 + o;
        break;
      }
    }
    rsdp = await m.memRead(rsdpAt, 36);
    const xsdt = await readTable(m, u64(rsdp, 24));
    tables.set("XSDT", xsdt);
    for (let o = 36; o < xsdt.bytes.length; o += 8) {
      const t = await readTable(m, u64(xsdt.bytes, o));
      tables.set(t.signature, t);
    }
    const fadt = tables.get("FACP")!;
    tables.set("DSDT", await readTable(m, u64(fadt.bytes, 140)));
    const facsAddr = u64(fadt.bytes, 132);
    tables.set("FACS", {
      signature: "FACS",
      address: facsAddr,
      bytes: await m.memRead(facsAddr, 64),
    });
    tables.set("RSDT", await readTable(m, u32(rsdp, 16)));
  });
  afterAll(() => m.close());

  it("has an ACPI 2.0 RSDP in the BIOS area with both checksums right", () => {
    expect(rsdpAt).toBeGreaterThanOrEqual(0xe0000);
    expect(rsdpAt % 16).toBe(0);
    expect(rsdp[15]).toBe(2);
    expect(u32(rsdp, 20)).toBe(36);
    expect(checksum(rsdp, 0, 20)).toBe(0);
    expect(checksum(rsdp, 0, 36)).toBe(0);
    expect(String.fromCharCode(...rsdp.subarray(9, 15))).toBe("TSMACH");
  });

  it("lists FADT, MADT and MCFG in the XSDT and the RSDT, every table checksummed", () => {
    expect([...tables.keys()].sort()).toEqual([
      "APIC",
      "DSDT",
      "FACP",
      "FACS",
      "MCFG",
      "RSDT",
      "XSDT",
    ]);
    for (const [s, t] of tables) {
      if (s === "FACS") continue;
      expect(checksum(t.bytes), s).toBe(0);
      expect(u32(t.bytes, 4), s).toBe(t.bytes.length);
    }
    const rsdt = tables.get("RSDT")!.bytes;
    const viaRsdt = [];
    for (let o = 36; o < rsdt.length; o += 4) viaRsdt.push(u32(rsdt, o));
    const xsdt = tables.get("XSDT")!.bytes;
    const viaXsdt = [];
    for (let o = 36; o < xsdt.length; o += 8) viaXsdt.push(u64(xsdt, o));
    expect(viaRsdt).toEqual(viaXsdt);
  });

  it("keeps every table outside RAM, where the mem device can map it", () => {
    for (const t of tables.values()) {
      for (const [a, b] of m.ramRanges())
        expect(t.address + t.bytes.length <= a || t.address >= b).toBe(true);
    }
  });

  it("describes the PM registers, the IOAPIC and ECAM", () => {
    const fadt = tables.get("FACP")!.bytes;
    expect(u32(fadt, 64)).toBe(0x604); // PM1a_CNT
    expect(fadt[46]).toBe(9); // SCI
    const madt = tables.get("APIC")!.bytes;
    let ioapic = -1;
    for (let o = 44; o < madt.length; o += madt[o + 1]!)
      if (madt[o] === 1) ioapic = u32(madt, o + 4);
    expect(ioapic).toBe(0xfec00000);
    const mcfg = tables.get("MCFG")!.bytes;
    expect(u64(mcfg, 44)).toBe(ECAM_BASE);
    expect(mcfg[55]).toBe(255);
    const dsdt = Buffer.from(tables.get("DSDT")!.bytes);
    expect(dsdt.includes("_PRT")).toBe(true);
    expect(dsdt.includes("_S5_")).toBe(true);
  });

  describe.skipIf(!need("iasl"))("with acpica-tools", () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmach-acpi-"));
      for (const [s, t] of tables)
        fs.writeFileSync(path.join(dir, `${s.toLowerCase()}.dat`), t.bytes);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("disassembles every table with iasl -d without errors or warnings", () => {
      for (const s of tables.keys()) {
        const file = `${s.toLowerCase()}.dat`;
        const r = spawnSync("iasl", ["-d", file], { cwd: dir, encoding: "utf8" });
        const out = `${r.stdout}\n${r.stderr}`;
        expect(r.status, `${s}: ${out}`).toBe(0);
        expect(out, s).not.toMatch(/error|warning|invalid|does not contain/i);
        const dsl = fs.readFileSync(path.join(dir, `${s.toLowerCase()}.dsl`), "utf8");
        expect(dsl).toContain(`"${s}"`);
      }
      const dsdt = fs.readFileSync(path.join(dir, "dsdt.dsl"), "utf8");
      expect(dsdt).toMatch(/Method \(_PRT, 0, NotSerialized\)/);
      expect(dsdt).toMatch(/Device \(PCI0\)/);
      expect(dsdt).toMatch(/EisaId \("PNP0A08"\)/);
    });

    it("evaluates _PRT and \\_S5 in acpiexec: the AHCI's INTA# goes to GSI 23", () => {
      const out = execFileSync(
        "acpiexec",
        ["-b", "evaluate \\_SB.PCI0._PRT; evaluate \\_S5", "dsdt.dat"],
        {
          cwd: dir,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      expect(out).not.toMatch(/\bAE_(?!OK\b)[A-Z_]+/);
      const entries = [
        ...out.matchAll(
          /\[Integer\] = ([0-9A-F]+)\s+\[Integer\] = ([0-9A-F]+)\s+\[Integer\] = ([0-9A-F]+)\s+\[Integer\] = ([0-9A-F]+)/g,
        ),
      ].map((x) => x.slice(1, 5).map((h) => parseInt(h, 16)));
      expect(entries.length).toBe(128 + 1); // 32 slots x 4 pins, then \_S5
      expect(entries).toContainEqual([0x1fffff, 0, 0, 23]);
      expect(entries[entries.length - 1]).toEqual([7, 7, 0, 0]);
    });
  });
});
