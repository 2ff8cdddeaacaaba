// PCI on the simulated PC: enumeration through configuration mechanism #1 and through ECAM,
// BAR sizing and relocation, capability lists, interrupt line and pin, read-only fields.
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { ECAM_BASE } from "../../src/machine/pci-bus.js";
import { configAddress, configRead32, configWrite32 } from "./ahci-test-driver.js";
import type { MachineBackend } from "../../src/machine/backend.js";

interface Fn {
  bdf: string;
  id: number;
  classRev: number;
}

async function enumerate(
  read: (dev: number, fn: number, reg: number) => Promise<number>,
): Promise<Fn[]> {
  const out: Fn[] = [];
  for (let dev = 0; dev < 32; dev++) {
    for (let fn = 0; fn < 8; fn++) {
      const id = await read(dev, fn, 0);
      if ((id & 0xffff) === 0xffff) {
        if (fn === 0) break;
        continue;
      }
      out.push({
        bdf: `00:${dev.toString(16).padStart(2, "0")}.${fn}`,
        id,
        classRev: await read(dev, fn, 8),
      });
      if (fn === 0 && !((await read(dev, 0, 0x0c)) & 0x800000)) break;
    }
  }
  return out;
}

const ecamRead = (m: MachineBackend) => (dev: number, fn: number, reg: number) =>
  m.mmioRead(ECAM_BASE + (dev << 15) + (fn << 12) + reg, 4);

describe("simulated PCI bus", () => {
  let m: SimBackend;
  beforeAll(() => {
    const r = SimBackend.create({ memory: "16M", devices: [{ type: "ahci" }] });
    if (!r.ok) throw new Error(r.errors[0]!.message);
    m = r.value;
  });
  afterAll(() => m.close());

  it("enumerates the host bridge, the LPC bridge and the AHCI controller through 0xCF8/0xCFC", async () => {
    const fns = await enumerate((dev, fn, reg) => configRead32(m, dev, fn, reg));
    expect(
      fns.map((f) => [
        f.bdf,
        (f.id & 0xffff).toString(16),
        (f.id >>> 16).toString(16),
        (f.classRev >>> 8).toString(16),
      ]),
    ).toEqual([
      ["00:00.0", "8086", "29c0", "60000"],
      ["00:1f.0", "8086", "2918", "60100"],
      ["00:1f.2", "8086", "2922", "10601"],
    ]);
  });

  it("shows the same configuration space through ECAM as through mechanism #1", async () => {
    const viaEcam = await enumerate(ecamRead(m));
    const viaPorts = await enumerate((dev, fn, reg) => configRead32(m, dev, fn, reg));
    expect(viaEcam).toEqual(viaPorts);
    for (let reg = 0; reg < 256; reg += 4) {
      expect(await ecamRead(m)(31, 2, reg)).toBe(await configRead32(m, 31, 2, reg));
    }
    // Absent functions read all-ones on both paths.
    expect(await ecamRead(m)(5, 0, 0)).toBe(0xffffffff);
    expect(await configRead32(m, 5, 0, 0)).toBe(0xffffffff);
    // A write through ECAM is seen through the ports.
    await m.mmioWrite(ECAM_BASE + (31 << 15) + (2 << 12) + 0x3c, 1, 0x0b);
    expect((await configRead32(m, 31, 2, 0x3c)) & 0xff).toBe(0x0b);
    await m.mmioWrite(ECAM_BASE + (31 << 15) + (2 << 12) + 0x3c, 1, 23);
  });

  it("handles byte and word data accesses at 0xCFC-0xCFF and ignores a disabled address", async () => {
    await m.portWrite(0xcf8, 4, configAddress(0, 31, 2, 0));
    expect(await m.portRead(0xcfc, 2)).toBe(0x8086);
    expect(await m.portRead(0xcfe, 2)).toBe(0x2922);
    expect(await m.portRead(0xcff, 1)).toBe(0x29);
    await m.portWrite(0xcf8, 4, configAddress(0, 31, 2, 0) & 0x7fffffff);
    expect(await m.portRead(0xcfc, 4)).toBe(0xffffffff);
  });

  it("sizes BARs by writing all-ones and decodes them where software moves them", async () => {
    const bar5 = await configRead32(m, 31, 2, 0x24);
    expect(bar5 & 0xf).toBe(0); // 32-bit memory, not prefetchable
    await configWrite32(m, 31, 2, 0x24, 0xffffffff);
    expect(await configRead32(m, 31, 2, 0x24)).toBe(0xfffff000); // 4 KiB
    const bar4 = await configRead32(m, 31, 2, 0x20);
    expect(bar4 & 1).toBe(1);
    await configWrite32(m, 31, 2, 0x20, 0xffffffff);
    expect((await configRead32(m, 31, 2, 0x20)) & 0xffff).toBe(0xffe1); // 32 ports of I/O
    await configWrite32(m, 31, 2, 0x20, bar4);
    await configWrite32(m, 31, 2, 0x10, 0xffffffff);
    expect(await configRead32(m, 31, 2, 0x10)).toBe(0); // BAR0 not implemented
    // Move ABAR and find the AHCI version register there.
    const moved = 0xd000_0000;
    await configWrite32(m, 31, 2, 0x24, moved);
    expect(await m.mmioRead(moved + 0x10, 4)).toBe(0x00010301);
    expect(await m.mmioRead(bar5 + 0x10, 4)).toBe(0xffffffff);
    // Memory decode off: nothing answers.
    const cmd = await configRead32(m, 31, 2, 4);
    await configWrite32(m, 31, 2, 4, cmd & 0xffff & ~2);
    expect(await m.mmioRead(moved + 0x10, 4)).toBe(0xffffffff);
    await configWrite32(m, 31, 2, 4, cmd & 0xffff);
    await configWrite32(m, 31, 2, 0x24, bar5);
    expect(await m.mmioRead(bar5 + 0x10, 4)).toBe(0x00010301);
    // The index/data pair in BAR4 reaches the same registers.
    await m.portWrite((bar4 & ~3) + 0x10, 4, 0x10);
    expect(await m.portRead((bar4 & ~3) + 0x14, 4)).toBe(0x00010301);
  });

  it("walks the capability list: power management, then SATA", async () => {
    expect(((await configRead32(m, 31, 2, 4)) >>> 16) & 0x10).toBe(0x10);
    let ptr = (await configRead32(m, 31, 2, 0x34)) & 0xff;
    const ids: [number, number][] = [];
    while (ptr) {
      const hdr = await configRead32(m, 31, 2, ptr);
      ids.push([ptr, hdr & 0xff]);
      ptr = (hdr >> 8) & 0xfc;
    }
    expect(ids).toEqual([
      [0x80, 0x01],
      [0xa8, 0x12],
    ]);
    // Host bridge has no capabilities.
    expect(((await configRead32(m, 0, 0, 4)) >>> 16) & 0x10).toBe(0);
  });

  it("has a read-only interrupt pin and a writable interrupt line set by the firmware", async () => {
    const v = await configRead32(m, 31, 2, 0x3c);
    expect((v >> 8) & 0xff).toBe(1); // INTA#
    expect(v & 0xff).toBe(23);
    await configWrite32(m, 31, 2, 0x3c, 0x0000040a);
    const w = await configRead32(m, 31, 2, 0x3c);
    expect(w & 0xff).toBe(0x0a);
    expect((w >> 8) & 0xff).toBe(1);
    await configWrite32(m, 31, 2, 0x3c, v);
    // Identity registers ignore writes.
    await configWrite32(m, 31, 2, 0, 0x12345678);
    expect(await configRead32(m, 31, 2, 0)).toBe(0x29228086);
  });

  it("keeps guest RAM, the BIOS area and device windows apart", async () => {
    expect(m.ramRanges()).toEqual([
      [0, 0xa0000],
      [0x100000, 16 * 1024 * 1024],
    ]);
    await expect(m.memWrite(0xf0000, new Uint8Array(4))).rejects.toMatchObject({
      reason: "read-only",
    });
    await expect(m.memRead(16 * 1024 * 1024 - 2, 4)).rejects.toMatchObject({
      reason: "out-of-range",
    });
    await expect(m.portRead(0x10000, 1)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(m.mmioRead(0, 3 as 1)).rejects.toMatchObject({ reason: "unsupported" });
    const a = await m.allocDma(10000, 65536);
    expect(a % 65536).toBe(0);
    expect(a).toBeGreaterThanOrEqual(0x100000);
    await m.memWrite(a, Uint8Array.of(1, 2, 3));
    expect(new Uint8Array(m.sharedMemory(), a, 3)).toEqual(Uint8Array.of(1, 2, 3));
    await m.freeDma(a);
    await expect(m.freeDma(a)).rejects.toMatchObject({ reason: "out-of-range" });
  });

  it("has an IOAPIC register window whose masks gate delivery", async () => {
    const sel = (i: number) => m.mmioWrite(0xfec00000, 4, i);
    await sel(1);
    expect(await m.mmioRead(0xfec00010, 4)).toBe(0x00170020);
    const seen: number[] = [];
    m.onInterrupt((l) => seen.push(l));
    await sel(0x10 + 2 * 20);
    const rte = await m.mmioRead(0xfec00010, 4);
    expect(rte & 0x8000).not.toBe(0); // level triggered
    await m.mmioWrite(0xfec00010, 4, rte | 0x10000); // mask
    m.ioapic.setLevel(20, true);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    await m.mmioWrite(0xfec00010, 4, rte & ~0x10000); // unmask while asserted: delivered
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([20]);
    m.ioapic.setLevel(20, false);
  });
});
