// The same ahcisata and wd against QEMU's own AHCI (ICH9 on a q35, driven over qtest), with the
// test image as its disk: IDENTIFY, reads, byte-exact writes, flush, NCQ, a task-file error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QemuBackend } from "../../src/machine/qemu/qemu-backend.js";
import type { AhciDrive } from "../../src/rump/ahcisata/drive.js";
import { atareg } from "../../src/rump/ahcisata/index.js";
import { EIO, EROFS } from "../../src/rump/errno.js";
import {
  DIOCCACHESYNC,
  DIOCGMEDIASIZE,
  O_RDONLY,
  O_RDWR,
  rump_init,
  type RumpKernel,
} from "../../src/rump/index.js";
import { need } from "../helpers/tools.js";
import { mbrImage, type PartitionedImage } from "./fixtures.js";

const SECTORS = 8192; // 4 MiB: every register access is a qtest round trip

describe.skipIf(!need("qemu"))("ahcisata + wd on QEMU's ICH9 AHCI", () => {
  let img: PartitionedImage;
  let q: QemuBackend;
  let k: RumpKernel;
  let d: AhciDrive;
  const log: string[] = [];

  beforeAll(async () => {
    img = mbrImage(SECTORS);
    q = await QemuBackend.start({ disk: { path: img.path } });
    const r = await rump_init({ backend: q, console: (l) => log.push(l) });
    if (!r.ok) throw new Error(r.message);
    k = r.value;
    d = k.controllers[0]!.drives[0]!;
  }, 60_000);

  afterAll(async () => {
    if (k?.alive) await k.reboot(0);
    await q?.close();
    img?.cleanup();
  });

  it("identifies QEMU's disk and attaches it as wd0 with its MBR partitions", () => {
    expect(d.identity.model).toBe("QEMU HARDDISK");
    expect(d.identity.sectors).toBe(SECTORS);
    expect(d.identity.sectorSize).toBe(512);
    expect(d.identity.lba48).toBe(true);
    expect(d.ncq).toBe(true);
    expect(k.controllers[0]!.irqLine).toBeGreaterThanOrEqual(16);
    expect(k.devices().map((v) => [v.name, v.start, v.sectors])).toEqual([
      ["wd0", 0, SECTORS],
      ["wd0s1", ...img.parts.get(1)!],
      ["wd0s2", ...img.parts.get(2)!],
      ["wd0s3", SECTORS / 2, SECTORS / 2],
      ["wd0s5", ...img.parts.get(5)!],
    ]);
    expect(log.join("\n")).toMatch(/wd0 at ahcisata0 port 0: <QEMU HARDDISK>/);
  });

  it("reads at random offsets and lengths, across partition boundaries, equal to the image", async () => {
    const image = img.bytes();
    const fd = k.open("/dev/rwd0d", O_RDONLY);
    const s2 = k.open("/dev/wd0s2", O_RDONLY);
    if (!fd.ok || !s2.ok) throw new Error("open");
    let x = 12345;
    const next = () => (x = (x * 1103515245 + 12345) >>> 0) / 0x1_0000_0000;
    for (let i = 0; i < 10; i++) {
      const off = Math.floor(next() * SECTORS * 512);
      const len = 1 + Math.floor(next() * 20_000);
      const buf = new Uint8Array(len);
      const want = Math.min(len, SECTORS * 512 - off);
      expect(await k.pread(fd.value, buf, off)).toEqual({ ok: true, value: want });
      expect(
        Buffer.compare(buf.subarray(0, want), image.subarray(off, off + want)),
        `@${off}+${len}`,
      ).toBe(0);
    }
    const s2start = img.parts.get(2)![0] * 512;
    const buf = new Uint8Array(5000);
    expect(await k.pread(fd.value, buf, s2start - 2500)).toEqual({ ok: true, value: 5000 });
    expect(Buffer.compare(buf, image.subarray(s2start - 2500, s2start + 2500))).toBe(0);
    expect(await k.pread(s2.value, buf, 777)).toEqual({ ok: true, value: 5000 });
    expect(Buffer.compare(buf, image.subarray(s2start + 777, s2start + 5777))).toBe(0);
    k.close(fd.value);
    k.close(s2.value);
  });

  it("writes land byte-exact in the image file and nowhere else; flush succeeds", async () => {
    const expected = img.bytes();
    const fd = k.open("/dev/wd0s1", O_RDWR);
    if (!fd.ok) throw new Error(fd.message);
    const base = img.parts.get(1)![0] * 512;
    const cases: [number, number][] = [
      [0, 512],
      [3, 1],
      [511, 2],
      [1000, 9000],
      [65_000, 140_000],
    ];
    for (const [off, len] of cases) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 29 + off) & 0xff);
      expect(await k.pwrite(fd.value, data, off)).toEqual({ ok: true, value: len });
      expected.set(data, base + off);
    }
    expect(await k.ioctl(fd.value, DIOCCACHESYNC)).toEqual({ ok: true, value: 0 });
    expect(await k.fsync(fd.value)).toEqual({ ok: true, value: undefined });
    expect(Buffer.compare(img.bytes(), expected)).toBe(0);
    expect(await k.ioctl(fd.value, DIOCGMEDIASIZE)).toEqual({
      ok: true,
      value: img.parts.get(1)![1] * 512,
    });
    k.close(fd.value);
  });

  it("queues commands with NCQ and completes them from interrupts", async () => {
    const port = d.port;
    port.peakInFlight = 0;
    const queued = port.queuedCommands;
    const irqs = k.controllers[0]!.interrupts;
    const image = img.bytes();
    const bufs = Array.from({ length: 40 }, () => new Uint8Array(1024));
    const rs = await Promise.all(bufs.map((b, i) => d.read(i * 50 + 1, 2, b)));
    expect(rs.every((r) => r.ok)).toBe(true);
    bufs.forEach((b, i) => {
      const at = (i * 50 + 1) * 512;
      expect(Buffer.compare(b, image.subarray(at, at + 1024))).toBe(0);
    });
    expect(port.queuedCommands - queued).toBe(40);
    expect(port.peakInFlight).toBeGreaterThan(1);
    expect(k.controllers[0]!.interrupts).toBeGreaterThan(irqs);
  });

  it("reports a task-file error from QEMU's device and recovers the port", async () => {
    const port = d.port;
    const rec = port.recoveries;
    const bad = await d.command(
      {
        command: atareg.ATA_CMD_READ_DMA_EXT,
        lba: SECTORS - 1,
        count: 4,
        device: atareg.ATA_DEV_LBA,
      },
      "in",
      new Uint8Array(2048),
    );
    expect(bad).toMatchObject({ ok: false, errno: EIO });
    if (!bad.ok && "status" in bad) expect(bad.status & atareg.ATA_ST_ERR).toBe(atareg.ATA_ST_ERR);
    expect(port.recoveries).toBe(rec + 1);
    const buf = new Uint8Array(512);
    expect(await d.read(SECTORS - 1, 1, buf)).toEqual({ ok: true, value: undefined });
    expect(Buffer.compare(buf, img.bytes().subarray((SECTORS - 1) * 512))).toBe(0);
  });

  it("a queued command that fails among others fails alone; the others complete", async () => {
    const image = img.bytes();
    const goods = Array.from({ length: 6 }, () => new Uint8Array(1024));
    const jobs = goods.map((g, i) => d.read(i * 100, 2, g));
    const bad = d.port.exec({
      tf: {
        command: atareg.ATA_CMD_READ_DMA_EXT,
        lba: SECTORS - 1,
        count: 2,
        device: atareg.ATA_DEV_LBA,
      },
      dir: "in",
      data: new Uint8Array(1024),
      queue: true,
    });
    const [badR, ...rs] = await Promise.all([bad, ...jobs]);
    expect(badR).toMatchObject({ ok: false, errno: EIO });
    rs.forEach((r, i) => {
      expect(r.ok).toBe(true);
      expect(Buffer.compare(goods[i]!, image.subarray(i * 100 * 512, i * 100 * 512 + 1024))).toBe(
        0,
      );
    });
    expect((await d.read(0, 1, new Uint8Array(512))).ok).toBe(true);
  });

  it("refuses writes to a read-only open with EROFS", async () => {
    const before = img.bytes();
    const fd = k.open("/dev/rwd0d", O_RDONLY);
    if (!fd.ok) throw new Error(fd.message);
    expect(await k.pwrite(fd.value, new Uint8Array(512), 0)).toMatchObject({
      ok: false,
      errno: EROFS,
    });
    k.close(fd.value);
    expect(Buffer.compare(img.bytes(), before)).toBe(0);
  });
});

describe.skipIf(!need("qemu"))("QEMU with a read-only disk image", () => {
  it("attaches the disk, lets the guest write to an overlay and never touches the file", async () => {
    const img = mbrImage(SECTORS);
    const before = img.bytes();
    const q = await QemuBackend.start({ disk: { path: img.path, readOnly: true } });
    try {
      const r = await rump_init({ backend: q, console: () => undefined });
      if (!r.ok) throw new Error(r.message);
      const k = r.value;
      const fd = k.open("/dev/rwd0d", O_RDWR);
      if (!fd.ok) throw new Error("open");
      const data = new Uint8Array(4096).fill(0xa5);
      expect(await k.pwrite(fd.value, data, 8192)).toEqual({ ok: true, value: 4096 });
      expect(await k.ioctl(fd.value, DIOCCACHESYNC)).toEqual({ ok: true, value: 0 });
      const back = new Uint8Array(4096);
      expect(await k.pread(fd.value, back, 8192)).toEqual({ ok: true, value: 4096 });
      expect(Buffer.compare(back, data)).toBe(0);
      await k.reboot(0);
    } finally {
      await q.close();
    }
    expect(Buffer.compare(img.bytes(), before)).toBe(0);
    img.cleanup();
  }, 60_000);
});
