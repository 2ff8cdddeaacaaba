// The simulated AHCI controller driven like a driver would: HBA reset, port start, signature,
// IDENTIFY, DMA and NCQ reads/writes against the image, interrupts, errors and recovery.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimBackend } from "../../src/machine/sim-backend.js";
import {
  createTestDiskImage,
  expectedSectors,
  type TestDiskImage,
} from "../../src/machine/test-disk-image.js";
import { AhciTestDriver, configRead32, configWrite32 } from "./ahci-test-driver.js";

const SECTORS = 8192;

function ataString(words: Uint8Array, first: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++)
    s += String.fromCharCode(words[2 * (first + i) + 1]!, words[2 * (first + i)]!);
  return s.trim();
}

describe("simulated AHCI (ICH9-like, AHCI 1.3.1)", () => {
  let img: TestDiskImage;
  let ro: TestDiskImage;
  let m: SimBackend;
  let d: AhciTestDriver;
  const irqs: number[] = [];

  beforeAll(async () => {
    img = createTestDiskImage({ sectors: SECTORS });
    ro = createTestDiskImage({ sectors: 64 });
    const r = SimBackend.create({
      memory: "64M",
      devices: [
        {
          type: "ahci",
          disks: [
            { port: 0, image: img.path, model: "TSMACH TEST DISK", serial: "SN-0042" },
            { port: 2, image: ro.path, readOnly: true },
          ],
        },
      ],
    });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
    m = r.value;
    m.onInterrupt((line) => irqs.push(line));
    d = new AhciTestDriver(m);
    await d.init();
  });

  afterAll(async () => {
    await m.close();
    img.cleanup();
    ro.cleanup();
  });

  it("reports AHCI 1.3.1 capabilities after HBA reset", async () => {
    const cap = await d.r(0x00);
    expect(cap & 0x1f).toBe(5); // six ports
    expect((cap >> 8) & 0x1f).toBe(31); // 32 command slots
    expect(cap & (1 << 30)).not.toBe(0); // NCQ
    expect(cap >>> 31).toBe(1); // 64-bit addressing
    expect(cap & (1 << 18)).not.toBe(0); // AHCI only
    expect(await d.r(0x10)).toBe(0x00010301);
    expect(await d.r(0x0c)).toBe(0x3f);
    expect((await d.r(0x04)) >>> 31).toBe(1); // AE
    // A reset write clears IE; HR self-clears.
    await d.w(0x04, 1);
    expect(await d.r(0x04)).toBe(0x80000000);
    await d.w(0x04, 0x80000002);
  });

  it("detects the device on a port and its ATA signature, and nothing on an empty port", async () => {
    expect((await d.pr(0, 0x28)) & 0xf).toBe(3);
    expect(await d.pr(0, 0x24)).toBe(0x101);
    expect((await d.pr(0, 0x20)) & 0x89).toBe(0); // not BSY/DRQ/ERR
    expect((await d.pr(1, 0x28)) & 0xf).toBe(0);
    expect(await d.pr(1, 0x24)).toBe(0xffffffff);
  });

  it("starts a port: FRE gives FR, ST gives CR", async () => {
    await d.startPort(0);
    const cmd = await d.pr(0, 0x18);
    expect(cmd & 0x11).toBe(0x11);
    expect(cmd & (1 << 14)).not.toBe(0);
    expect(cmd & (1 << 15)).not.toBe(0);
    // The device's signature D2H FIS was delivered into the FIS area once FRE was set.
    const rfis = await m.memRead(d.fb.get(0)! + 0x40, 14);
    expect(rfis[0]).toBe(0x34);
    expect([rfis[4], rfis[5], rfis[6], rfis[12]]).toEqual([1, 0, 0, 1]);
  });

  it("answers IDENTIFY DEVICE with model, serial, LBA48 capacity and NCQ depth", async () => {
    const buf = await m.allocDma(512, 2);
    const is = await d.run(0, 0, { command: 0xec }, [{ addr: buf, length: 512 }]);
    expect(is & (1 << 1)).not.toBe(0); // PIO Setup FIS interrupt
    expect(is & (1 << 30)).toBe(0);
    const id = await m.memRead(buf, 512);
    expect(ataString(id, 27, 20)).toBe("TSMACH TEST DISK");
    expect(ataString(id, 10, 10)).toBe("SN-0042");
    const w = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
    expect(w(83) & (1 << 10)).not.toBe(0); // 48-bit
    expect(w(100) + w(101) * 0x10000).toBe(SECTORS);
    expect(w(60) + w(61) * 0x10000).toBe(SECTORS);
    expect(w(76) & (1 << 8)).not.toBe(0); // NCQ
    expect(w(75) & 0x1f).toBe(31);
    expect(id[510]).toBe(0xa5);
    expect(id.reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    // PRD byte count and the PIO Setup FIS in the received-FIS area.
    const hdr = await m.memRead(d.clb.get(0)!, 8);
    expect(new DataView(hdr.buffer).getUint32(4, true)).toBe(512);
    expect((await m.memRead(d.fb.get(0)! + 0x20, 1))[0]).toBe(0x5f);
    await d.pw(0, 0x10, 0xffffffff);
    await m.freeDma(buf);
  });

  it("reads known image content by DMA at several LBAs, with scattered PRDs", async () => {
    const a = await m.allocDma(64 * 1024);
    const b = await m.allocDma(64 * 1024);
    for (const [lba, count] of [
      [0, 1],
      [1, 8],
      [1000, 128],
      [SECTORS - 3, 3],
      [4097, 200],
    ] as const) {
      const bytes = count * 512;
      // Split across two non-adjacent buffers to exercise the PRDT walk.
      const first = Math.min(bytes, 4096);
      const prds = [{ addr: a, length: first }];
      if (bytes > first) prds.push({ addr: b, length: bytes - first });
      const is = await d.run(0, 3, { command: 0x25, lba, count }, prds);
      expect(is & (1 << 30)).toBe(0);
      expect(is & 1).not.toBe(0); // D2H Register FIS interrupt
      const got = new Uint8Array(bytes);
      got.set(await m.memRead(a, first), 0);
      if (bytes > first) got.set(await m.memRead(b, bytes - first), first);
      expect(Buffer.from(got).equals(Buffer.from(expectedSectors(lba, count)))).toBe(true);
      const hdr = await m.memRead(d.clb.get(0)! + 3 * 32, 8);
      expect(new DataView(hdr.buffer).getUint32(4, true)).toBe(bytes);
      await d.pw(0, 0x10, 0xffffffff);
    }
    await m.freeDma(a);
    await m.freeDma(b);
  });

  it("writes by DMA: the bytes land in the image at the right offset and nowhere else", async () => {
    const buf = await m.allocDma(4096);
    const data = new Uint8Array(3 * 512).map((_, i) => (i * 7 + 3) & 0xff);
    await m.memWrite(buf, data);
    const is = await d.run(
      0,
      5,
      { command: 0x35, lba: 50, count: 3 },
      [{ addr: buf, length: data.length }],
      true,
    );
    expect(is & (1 << 30)).toBe(0);
    const flush = await d.run(0, 6, { command: 0xea }, []);
    expect(flush & (1 << 30)).toBe(0);
    const file = fs.readFileSync(img.path);
    expect(file.subarray(50 * 512, 53 * 512).equals(Buffer.from(data))).toBe(true);
    expect(file.subarray(49 * 512, 50 * 512).equals(Buffer.from(expectedSectors(49, 1)))).toBe(
      true,
    );
    expect(file.subarray(53 * 512, 54 * 512).equals(Buffer.from(expectedSectors(53, 1)))).toBe(
      true,
    );
    // Read it back through the controller.
    const back = await m.allocDma(4096);
    await d.run(0, 7, { command: 0x25, lba: 50, count: 3 }, [{ addr: back, length: 3 * 512 }]);
    expect(Buffer.from(await m.memRead(back, 3 * 512)).equals(Buffer.from(data))).toBe(true);
    await d.pw(0, 0x10, 0xffffffff);
    await m.freeDma(buf);
    await m.freeDma(back);
  });

  it("runs 32 NCQ commands in flight and completes them all with Set Device Bits FISes", async () => {
    const bufs: number[] = [];
    const lbas: number[] = [];
    for (let slot = 0; slot < 32; slot++) {
      const lba = 2000 + ((slot * 97) % 3000);
      const count = 1 + (slot % 8);
      const buf = await m.allocDma(count * 512);
      bufs.push(buf);
      lbas.push(lba);
      // READ FPDMA QUEUED: count in FEATURES, tag in COUNT[7:3].
      await d.build(
        0,
        slot,
        { command: 0x60, lba, features: count, count: slot << 3, device: 0x40 },
        [{ addr: buf, length: count * 512 }],
      );
    }
    await d.issue(0, 0xffffffff, true);
    const is = await d.wait(0, 0xffffffff, true);
    expect(is & (1 << 30)).toBe(0);
    expect(is & (1 << 3)).not.toBe(0); // SDBS
    expect(await d.pr(0, 0x34)).toBe(0);
    expect(await d.pr(0, 0x38)).toBe(0);
    const sdb = await m.memRead(d.fb.get(0)! + 0x58, 8);
    expect(sdb[0]).toBe(0xa1);
    // All 32 were in flight together: one Set Device Bits FIS reports every tag done.
    expect(new DataView(sdb.buffer, sdb.byteOffset).getUint32(4, true)).toBe(0xffffffff);
    for (let slot = 0; slot < 32; slot++) {
      const count = 1 + (slot % 8);
      const got = await m.memRead(bufs[slot]!, count * 512);
      expect(Buffer.from(got).equals(Buffer.from(expectedSectors(lbas[slot]!, count)))).toBe(true);
      await m.freeDma(bufs[slot]!);
    }
    // An NCQ write, then a read back.
    const w = await m.allocDma(4096);
    const data = new Uint8Array(1024).fill(0x5a);
    await m.memWrite(w, data);
    await d.build(
      0,
      9,
      { command: 0x61, lba: 7000, features: 2, count: 9 << 3, device: 0x40 },
      [{ addr: w, length: 1024 }],
      true,
    );
    await d.issue(0, 1 << 9, true);
    expect((await d.wait(0, 1 << 9, true)) & (1 << 30)).toBe(0);
    expect(
      fs
        .readFileSync(img.path)
        .subarray(7000 * 512, 7002 * 512)
        .equals(Buffer.from(data)),
    ).toBe(true);
    await d.pw(0, 0x10, 0xffffffff);
    await m.freeDma(w);
  });

  it("keeps every ABAR register in its shared register shadow, equal to a register read", async () => {
    const shadow = m.registerShadow(d.abar, 0x1000);
    expect(shadow).toBeDefined();
    const words = new Int32Array(shadow!.buffer, shadow!.byteOffset, 0x400);
    const compare = async () => {
      for (let off = 0; off < 0x1000; off += 4)
        expect(Atomics.load(words, off / 4) >>> 0, `ABAR+0x${off.toString(16)}`).toBe(
          await d.r(off),
        );
    };
    await compare();
    // A command's completion is in the shadow as soon as the device is done with it.
    const buf = await m.allocDma(512);
    await d.build(0, 5, { command: 0x25, lba: 7, count: 1, device: 0x40 }, [
      { addr: buf, length: 512 },
    ]);
    await d.issue(0, 1 << 5, false);
    await d.wait(0, 1 << 5, false);
    expect(Atomics.load(words, (0x100 + 0x38) / 4) & (1 << 5)).toBe(0);
    await compare();
    await m.freeDma(buf);
    // Only the ABAR while it decodes has a shadow: not a range past it, not RAM.
    expect(m.registerShadow(d.abar + 0xffc, 8)).toBeUndefined();
    expect(m.registerShadow(0x100000, 4)).toBeUndefined();
    const cmd = await configRead32(m, d.dev, d.fn, 0x04);
    await configWrite32(m, d.dev, d.fn, 0x04, cmd & ~0x2);
    expect(m.registerShadow(d.abar, 4)).toBeUndefined();
    await configWrite32(m, d.dev, d.fn, 0x04, cmd);
    expect(m.registerShadow(d.abar + 0x100, 0x80)?.byteOffset).toBe(0x100);
  });

  it("raises its PCI interrupt line at the interrupt controller and drops it when acknowledged", async () => {
    const line = (await configRead32(m, 31, 2, 0x3c)) & 0xff;
    expect(line).toBe(23); // slot 31, INTA#, per the DSDT's _PRT
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 0xffffffff);
    expect(m.ioapic.isAsserted(line)).toBe(false);
    irqs.length = 0;
    const buf = await m.allocDma(512);
    await d.run(0, 1, { command: 0x25, lba: 9, count: 1 }, [{ addr: buf, length: 512 }]);
    await new Promise((r) => setImmediate(r));
    expect(irqs).toContain(line);
    expect(m.ioapic.isAsserted(line)).toBe(true);
    expect((await d.r(0x08)) & 1).toBe(1);
    // Clearing IS alone does not drop it: the port's status is still pending.
    await d.w(0x08, 1);
    expect(m.ioapic.isAsserted(line)).toBe(true);
    // End of interrupt while still asserted delivers the line again.
    irqs.length = 0;
    await m.endOfInterrupt(line);
    await new Promise((r) => setImmediate(r));
    expect(irqs).toEqual([line]);
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 1);
    expect(m.ioapic.isAsserted(line)).toBe(false);
    // A listener that uses end-of-interrupt acknowledges every delivery (remote IRR); the line
    // is no longer asserted, so this one delivers nothing.
    irqs.length = 0;
    await m.endOfInterrupt(line);
    await new Promise((r) => setImmediate(r));
    expect(irqs).toEqual([]);
    // With GHC.IE off, completions raise nothing.
    await d.w(0x04, 0x80000000);
    irqs.length = 0;
    await d.run(0, 1, { command: 0x25, lba: 9, count: 1 }, [{ addr: buf, length: 512 }]);
    await new Promise((r) => setImmediate(r));
    expect(irqs).toEqual([]);
    expect((await d.pr(0, 0x10)) & 1).toBe(1);
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 0xffffffff);
    await d.w(0x04, 0x80000002);
    // The interrupt line register is the firmware's note, not the wiring: rewriting it moves nothing.
    await configWrite32(m, 31, 2, 0x3c, 0x0105);
    irqs.length = 0;
    await d.run(0, 1, { command: 0x25, lba: 9, count: 1 }, [{ addr: buf, length: 512 }]);
    await new Promise((r) => setImmediate(r));
    expect(irqs).toEqual([line]);
    await configWrite32(m, 31, 2, 0x3c, 0x0100 | line);
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 0xffffffff);
    await m.freeDma(buf);
  });

  it("reports a bad command as a task-file error and recovers by COMRESET", async () => {
    const buf = await m.allocDma(512);
    const is = await d.run(0, 4, { command: 0xfe }, []);
    expect(is & (1 << 30)).not.toBe(0); // TFES
    const tfd = await d.pr(0, 0x20);
    expect(tfd & 0x01).toBe(1); // ERR
    expect((tfd >> 8) & 0xff).toBe(0x04); // ABRT
    expect((await d.pr(0, 0x38)) & (1 << 4)).not.toBe(0); // CI kept for the failed slot
    expect(((await d.pr(0, 0x18)) >> 8) & 0x1f).toBe(4); // CCS names it
    // The port is halted: a new command does not run until recovery.
    await d.build(0, 5, { command: 0x25, lba: 3, count: 1 }, [{ addr: buf, length: 512 }]);
    await d.issue(0, 1 << 5);
    await new Promise((r) => setImmediate(r));
    expect((await d.pr(0, 0x38)) & (1 << 5)).not.toBe(0);
    await d.recover(0);
    expect(await d.pr(0, 0x38)).toBe(0);
    expect(await d.pr(0, 0x24)).toBe(0x101);
    expect((await d.pr(0, 0x20)) & 0xff).toBe(0x50);
    const ok = await d.run(0, 5, { command: 0x25, lba: 3, count: 1 }, [{ addr: buf, length: 512 }]);
    expect(ok & (1 << 30)).toBe(0);
    expect(Buffer.from(await m.memRead(buf, 512)).equals(Buffer.from(expectedSectors(3, 1)))).toBe(
      true,
    );
    await m.freeDma(buf);
  });

  it("fails reads past the end with IDNF, and a queued one is named in the NCQ error log", async () => {
    const buf = await m.allocDma(4096);
    const is = await d.run(0, 2, { command: 0x25, lba: SECTORS - 1, count: 2 }, [
      { addr: buf, length: 1024 },
    ]);
    expect(is & (1 << 30)).not.toBe(0);
    expect(((await d.pr(0, 0x20)) >> 8) & 0xff).toBe(0x10);
    await d.recover(0);
    await d.build(0, 6, { command: 0x60, lba: SECTORS, features: 1, count: 6 << 3 }, [
      { addr: buf, length: 512 },
    ]);
    await d.issue(0, 1 << 6, true);
    const nis = await d.wait(0, 1 << 6, true);
    expect(nis & (1 << 30)).not.toBe(0);
    expect((await d.pr(0, 0x34)) & (1 << 6)).not.toBe(0);
    await d.recover(0);
    await d.run(0, 0, { command: 0x2f, lba: 0x10, count: 1 }, [{ addr: buf, length: 512 }]);
    const log = await m.memRead(buf, 512);
    expect(log[0]! & 0x9f).toBe(6); // the failed tag, NQ clear
    expect(log[3]).toBe(0x10);
    expect(log.reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    await d.pw(0, 0x10, 0xffffffff);
    await m.freeDma(buf);
  });

  it("refuses writes to a read-only image with ABRT and leaves the file alone", async () => {
    await d.startPort(2);
    const buf = await m.allocDma(512);
    await m.memWrite(buf, new Uint8Array(512).fill(0xee));
    const is = await d.run(
      2,
      0,
      { command: 0x35, lba: 1, count: 1 },
      [{ addr: buf, length: 512 }],
      true,
    );
    expect(is & (1 << 30)).not.toBe(0);
    expect(((await d.pr(2, 0x20)) >> 8) & 0xff).toBe(0x04);
    expect(
      fs
        .readFileSync(ro.path)
        .subarray(512, 1024)
        .equals(Buffer.from(expectedSectors(1, 1))),
    ).toBe(true);
    await d.recover(2);
    await m.freeDma(buf);
  });

  it("stops with a host bus fatal error when bus mastering is off", async () => {
    const cmd = await configRead32(m, 31, 2, 0x04);
    await configWrite32(m, 31, 2, 0x04, cmd & 0xffff & ~0x4);
    const buf = await m.allocDma(512);
    const is = await d.run(0, 1, { command: 0x25, lba: 0, count: 1 }, [{ addr: buf, length: 512 }]);
    expect(is & (1 << 29)).not.toBe(0);
    await configWrite32(m, 31, 2, 0x04, cmd & 0xffff);
    await d.recover(0);
    const ok = await d.run(0, 1, { command: 0x25, lba: 0, count: 1 }, [{ addr: buf, length: 512 }]);
    expect(ok & 0x7f000000).toBe(0);
    await m.freeDma(buf);
  });

  it("serves a 4096-byte-sector disk, reporting the logical sector size in IDENTIFY", async () => {
    const big = createTestDiskImage({ sectors: 64, sectorSize: 4096 });
    const r = SimBackend.create({
      memory: "8M",
      devices: [{ type: "ahci", disks: [{ port: 0, image: big.path, sectorSize: 4096 }] }],
    });
    if (!r.ok) throw new Error(r.errors[0]!.message);
    const sim = r.value;
    const drv = new AhciTestDriver(sim);
    await drv.init();
    await drv.startPort(0);
    const buf = await sim.allocDma(8192);
    await drv.run(0, 0, { command: 0xec }, [{ addr: buf, length: 512 }]);
    const id = await sim.memRead(buf, 512);
    const w = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
    expect(w(106) & 0x1000).not.toBe(0);
    expect(w(117) + w(118) * 0x10000).toBe(2048); // words per logical sector
    expect(w(100)).toBe(64);
    await drv.run(0, 1, { command: 0x25, lba: 10, count: 2 }, [{ addr: buf, length: 8192 }]);
    expect(
      Buffer.from(await sim.memRead(buf, 8192)).equals(Buffer.from(expectedSectors(10, 2, 4096))),
    ).toBe(true);
    await sim.close();
    big.cleanup();
  });

  it("powers off through ACPI S5, closing the images", async () => {
    const r = SimBackend.create({ memory: "4M" });
    if (!r.ok) throw new Error("create failed");
    const sim = r.value;
    await sim.portWrite(0x604, 2, (7 << 10) | (1 << 13));
    await sim.whenPoweredOff;
    expect(sim.poweredOff).toBe(true);
    await expect(sim.portRead(0x604, 2)).rejects.toMatchObject({ reason: "closed" });
  });
});
