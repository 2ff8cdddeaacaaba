// ahcisata and wd on the simulated PC: IDENTIFY, reads and writes against the image through
// partitions, flush, NCQ with 32 commands in flight, task-file errors and port recovery.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ahcireg, atareg } from "../../src/rump/ahcisata/index.js";
import type { AhciDrive } from "../../src/rump/ahcisata/drive.js";
import {
  EBADF,
  EFAULT,
  EINVAL,
  EIO,
  ENOENT,
  ENOSPC,
  ENOTTY,
  ENXIO,
  EROFS,
  ETIMEDOUT,
} from "../../src/rump/errno.js";
import {
  DIOCCACHESYNC,
  DIOCGMEDIASIZE,
  DIOCGSECTORSIZE,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
} from "../../src/rump/index.js";
import { bootSim, type BootedSim } from "./boot.js";
import { GPT_LINUX, gptImage, mbrImage, type PartitionedImage } from "./fixtures.js";

/** A seeded generator, so a failure names the case that failed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function drive0(b: BootedSim): AhciDrive {
  return b.k.controllers[0]!.drives[0]!;
}

for (const flavour of ["shared", "remote"] as const) {
  // "remote" hides the shared memory: every DMA goes through bus_dma syncs, as on QEMU.
  describe(`ahcisata + wd on the simulated PC (${flavour} DMA memory)`, () => {
    let img: PartitionedImage;
    let b: BootedSim;

    beforeAll(async () => {
      img = mbrImage(16384);
      b = await bootSim(
        [
          {
            port: 0,
            image: img.path,
            model: "TSMACH RUMP DISK",
            serial: "RUMP-0001",
            firmware: "2.5",
          },
        ],
        { faults: { hideSharedMemory: flavour === "remote" } },
      );
    });
    afterAll(async () => {
      await b?.shutdown();
      img?.cleanup();
    });

    it("identifies the disk: model, serial, firmware, LBA48 capacity, sector size, NCQ", () => {
      const d = drive0(b);
      expect(d.identity).toMatchObject({
        model: "TSMACH RUMP DISK",
        serial: "RUMP-0001",
        firmware: "2.5",
        sectors: 16384,
        sectorSize: 512,
        lba48: true,
        ncq: true,
        queueDepth: 32,
        flushCacheExt: true,
      });
      expect(d.ncq).toBe(true);
      expect(b.k.controllers[0]!.ncqCapable).toBe(true);
      expect(b.k.controllers[0]!.slots).toBe(32);
      expect(b.log.join("\n")).toMatch(/wd0 at ahcisata0 port 0: <TSMACH RUMP DISK>/);
    });

    it("finds the MBR partitions, the logical one in the extended partition included", () => {
      const names = b.k.devices().map((d) => `${d.name}:${d.start}+${d.sectors}`);
      const want = ["wd0:0+16384", ...[...img.parts].map(([m, [s, n]]) => `wd0s${m}:${s}+${n}`)];
      // The extended container itself is s3.
      expect(names).toEqual([want[0], want[1], want[2], "wd0s3:8192+8192", want[3]]);
    });

    it("reads at random offsets and lengths, across sector and partition boundaries, equal to the image", async () => {
      const image = img.bytes();
      const next = rng(flavour === "shared" ? 7 : 11);
      const devs: [string, number, number][] = [
        ["/dev/rwd0d", 0, 16384],
        ...[...img.parts].map(([m, [s, n]]): [string, number, number] => [`/dev/wd0s${m}`, s, n]),
      ];
      for (let i = 0; i < 60; i++) {
        const [path, start, n] = devs[i % devs.length]!;
        const fd = b.k.open(path, O_RDONLY);
        expect(fd.ok).toBe(true);
        if (!fd.ok) return;
        const size = n * 512;
        const off = Math.floor(next() * size);
        const len = 1 + Math.floor(next() * (i % 5 === 0 ? 300_000 : 5000));
        const buf = new Uint8Array(len);
        const r = await b.k.pread(fd.value, buf, off);
        const want = Math.min(len, size - off);
        expect(r, `${path} @${off}+${len}`).toEqual({ ok: true, value: want });
        const from = start * 512 + off;
        expect(
          Buffer.compare(buf.subarray(0, want), image.subarray(from, from + want)),
          `${path} @${off}+${len}`,
        ).toBe(0);
        b.k.close(fd.value);
      }
      // A read across the s1/s2 boundary on the raw disk, and one at the very end.
      const fd = b.k.open("/dev/rwd0d", O_RDONLY);
      if (!fd.ok) throw new Error(fd.message);
      const edge = img.parts.get(2)![0] * 512 - 1000;
      const buf = new Uint8Array(3000);
      expect(await b.k.pread(fd.value, buf, edge)).toEqual({ ok: true, value: 3000 });
      expect(Buffer.compare(buf, image.subarray(edge, edge + 3000))).toBe(0);
      expect(await b.k.pread(fd.value, buf, 16384 * 512 - 100)).toEqual({ ok: true, value: 100 });
      expect(await b.k.pread(fd.value, buf, 16384 * 512)).toEqual({ ok: true, value: 0 });
      b.k.close(fd.value);
    });

    it("writes land byte-exact at the right offset and nowhere else", async () => {
      const expected = img.bytes();
      const next = rng(flavour === "shared" ? 3 : 5);
      const fd = b.k.open("/dev/wd0s2", O_RDWR);
      if (!fd.ok) throw new Error(fd.message);
      const base = img.parts.get(2)![0] * 512;
      const size = img.parts.get(2)![1] * 512;
      const cases: [number, number][] = [
        [0, 512],
        [1, 1],
        [511, 2],
        [1000, 70_000],
        [size - 3, 3],
        [4096, 8192],
        [77, 300_000],
      ];
      for (let i = 0; i < 12; i++)
        cases.push([Math.floor(next() * (size - 20_000)), 1 + Math.floor(next() * 20_000)]);
      for (const [off, len] of cases) {
        const data = Uint8Array.from({ length: len }, () => Math.floor(next() * 256));
        const r = await b.k.pwrite(fd.value, data, off);
        expect(r, `write @${off}+${len}`).toEqual({ ok: true, value: len });
        expected.set(data, base + off);
      }
      expect(await b.k.fsync(fd.value)).toEqual({ ok: true, value: undefined });
      expect(Buffer.compare(img.bytes(), expected)).toBe(0);
      // Reading back through the driver gives the same.
      const back = new Uint8Array(size);
      expect(await b.k.pread(fd.value, back, 0)).toEqual({ ok: true, value: size });
      expect(Buffer.compare(back, expected.subarray(base, base + size))).toBe(0);
      b.k.close(fd.value);
    });

    it("flushes the write cache with FLUSH CACHE EXT (DIOCCACHESYNC and fsync)", async () => {
      const model = b.sim.ahci[0]!;
      const before = model.completed.get(atareg.ATA_CMD_FLUSH_CACHE_EXT) ?? 0;
      const fd = b.k.open("/dev/rwd0d", O_WRONLY);
      if (!fd.ok) throw new Error(fd.message);
      expect(await b.k.ioctl(fd.value, DIOCCACHESYNC)).toEqual({ ok: true, value: 0 });
      expect(await b.k.fsync(fd.value)).toEqual({ ok: true, value: undefined });
      expect(model.completed.get(atareg.ATA_CMD_FLUSH_CACHE_EXT)).toBe(before + 2);
      b.k.close(fd.value);
    });

    it("keeps 32 queued commands in flight with NCQ", async () => {
      const port = drive0(b).port;
      const model = b.sim.ahci[0]!;
      port.peakInFlight = 0;
      const q0 = model.completed.get(atareg.ATA_CMD_READ_FPDMA_QUEUED) ?? 0;
      const image = img.bytes();
      const d = drive0(b);
      const bufs = Array.from({ length: 96 }, () => new Uint8Array(4096));
      const rs = await Promise.all(bufs.map((buf, i) => d.read(i * 97, 8, buf)));
      expect(rs.every((r) => r.ok)).toBe(true);
      bufs.forEach((buf, i) =>
        expect(Buffer.compare(buf, image.subarray(i * 97 * 512, i * 97 * 512 + 4096))).toBe(0),
      );
      expect(port.peakInFlight).toBe(32);
      expect((model.completed.get(atareg.ATA_CMD_READ_FPDMA_QUEUED) ?? 0) - q0).toBe(96);
    });

    it("reports a task-file error to the caller and recovers the port", async () => {
      const d = drive0(b);
      const port = d.port;
      const rec = port.recoveries;
      // A crafted READ DMA EXT past the end of the disk: the device answers IDNF.
      const buf = new Uint8Array(1024);
      const bad = await d.command(
        {
          command: atareg.ATA_CMD_READ_DMA_EXT,
          lba: 16384 - 1,
          count: 2,
          device: atareg.ATA_DEV_LBA,
        },
        "in",
        buf,
      );
      expect(bad.ok).toBe(false);
      if (bad.ok) return;
      expect(bad.errno).toBe(EIO);
      expect("status" in bad && bad.status & atareg.ATA_ST_ERR).toBeTruthy();
      expect("error" in bad && bad.error).toBe(atareg.ATA_ER_IDNF);
      expect(port.recoveries).toBe(rec + 1);
      // The port works again.
      const ok = new Uint8Array(512);
      expect((await d.read(100, 1, ok)).ok).toBe(true);
      expect(Buffer.compare(ok, img.bytes().subarray(100 * 512, 101 * 512))).toBe(0);
    });

    it("a queued command that fails among others in flight fails alone; the others complete", async () => {
      const d = drive0(b);
      const port = d.port;
      const image = img.bytes();
      const goods = Array.from({ length: 12 }, () => new Uint8Array(2048));
      const badBuf = new Uint8Array(2048);
      const jobs = goods.map((g, i) => d.read(i * 40, 4, g));
      const bad = port.exec({
        tf: {
          command: atareg.ATA_CMD_READ_DMA_EXT,
          lba: 16384 - 2,
          count: 4,
          device: atareg.ATA_DEV_LBA,
        },
        dir: "in",
        data: badBuf,
        queue: true,
      });
      const lookups = port.ncqLogLookups;
      const [badR, ...rs] = await Promise.all([bad, ...jobs]);
      expect(badR).toMatchObject({ ok: false, errno: EIO, error: atareg.ATA_ER_IDNF });
      // The NCQ error log named the failed tag.
      expect(port.ncqLogLookups).toBe(lookups + 1);
      rs.forEach((r, i) => {
        expect(r.ok).toBe(true);
        expect(Buffer.compare(goods[i]!, image.subarray(i * 40 * 512, i * 40 * 512 + 2048))).toBe(
          0,
        );
      });
      expect((await d.read(0, 1, new Uint8Array(512))).ok).toBe(true);
    });

    it("answers the disk ioctls with NetBSD's numbers", async () => {
      expect(DIOCGSECTORSIZE).toBe(0x40046485);
      expect(DIOCGMEDIASIZE).toBe(0x40086484);
      expect(DIOCCACHESYNC).toBe(0x80046476);
      const whole = b.k.open("/dev/rwd0d", O_RDONLY);
      const s1 = b.k.open("wd0s1", O_RDONLY);
      if (!whole.ok || !s1.ok) throw new Error("open");
      const arg = new Uint8Array(8);
      expect(await b.k.ioctl(whole.value, DIOCGSECTORSIZE, arg)).toEqual({ ok: true, value: 512 });
      expect(new DataView(arg.buffer).getUint32(0, true)).toBe(512);
      expect(await b.k.ioctl(whole.value, DIOCGMEDIASIZE, arg)).toEqual({
        ok: true,
        value: 16384 * 512,
      });
      expect(new DataView(arg.buffer).getBigUint64(0, true)).toBe(BigInt(16384 * 512));
      expect(await b.k.ioctl(s1.value, DIOCGMEDIASIZE)).toEqual({
        ok: true,
        value: img.parts.get(1)![1] * 512,
      });
      expect(await b.k.ioctl(whole.value, DIOCGMEDIASIZE, new Uint8Array(4))).toMatchObject({
        ok: false,
        errno: EFAULT,
      });
      expect(await b.k.ioctl(whole.value, 0x2000_6400)).toMatchObject({ ok: false, errno: ENOTTY });
      expect(await b.k.ioctl(whole.value, DIOCCACHESYNC)).toMatchObject({
        ok: false,
        errno: EBADF,
      });
      expect(await b.k.ioctl(99, DIOCGSECTORSIZE)).toMatchObject({ ok: false, errno: EBADF });
      b.k.close(whole.value);
      b.k.close(s1.value);
    });

    it("refuses bad calls with errno values and changes nothing", async () => {
      const before = img.bytes();
      const ro = b.k.open("/dev/rwd0d", O_RDONLY);
      const wo = b.k.open("/dev/wd0s1", O_WRONLY);
      if (!ro.ok || !wo.ok) throw new Error("open");
      const data = new Uint8Array(512).fill(0xee);
      const r = await b.k.pwrite(ro.value, data, 0);
      expect(r).toMatchObject({ ok: false, errno: EROFS });
      if (!r.ok) expect(r.message).toMatch(/EROFS/);
      expect(await b.k.pread(wo.value, data, 0)).toMatchObject({ ok: false, errno: EBADF });
      expect(await b.k.pread(ro.value, data, -1)).toMatchObject({ ok: false, errno: EINVAL });
      expect(await b.k.pread(ro.value, data, 0.5)).toMatchObject({ ok: false, errno: EINVAL });
      const s1size = img.parts.get(1)![1] * 512;
      expect(await b.k.pwrite(wo.value, data, s1size - 100)).toMatchObject({
        ok: false,
        errno: ENOSPC,
      });
      expect(b.k.open("/dev/wd7", O_RDONLY)).toMatchObject({ ok: false, errno: ENXIO });
      expect(b.k.open("/dev/wd0s4", O_RDONLY)).toMatchObject({ ok: false, errno: ENXIO });
      expect(b.k.open("/dev/rwd0a", O_RDONLY)).toMatchObject({ ok: false, errno: ENXIO });
      expect(b.k.open("/etc/passwd", O_RDONLY)).toMatchObject({ ok: false, errno: ENOENT });
      expect(b.k.open("/dev/rwd0d", 3)).toMatchObject({ ok: false, errno: EINVAL });
      expect(b.k.close(ro.value)).toEqual({ ok: true, value: undefined });
      expect(b.k.close(ro.value)).toMatchObject({ ok: false, errno: EBADF });
      expect(await b.k.pread(ro.value, data, 0)).toMatchObject({ ok: false, errno: EBADF });
      expect(await b.k.pread(wo.value, "nope" as unknown as Uint8Array, 0)).toMatchObject({
        ok: false,
        errno: EBADF,
      });
      b.k.close(wo.value);
      expect(Buffer.compare(img.bytes(), before)).toBe(0);
    });
  });
}

describe("wd on a GPT disk and a 4096-byte-sector disk", () => {
  let gpt: PartitionedImage;
  let big: PartitionedImage;
  let b: BootedSim;
  beforeAll(async () => {
    gpt = gptImage(16384);
    const { createTestDiskImage } = await import("../../src/machine/test-disk-image.js");
    const four = createTestDiskImage({ sectors: 1024, sectorSize: 4096 });
    big = { ...four, parts: new Map(), bytes: () => fs.readFileSync(four.path) };
    b = await bootSim([
      { port: 0, image: gpt.path },
      { port: 3, image: big.path, sectorSize: 4096 },
    ]);
  });
  afterAll(async () => {
    await b?.shutdown();
    gpt?.cleanup();
    big?.cleanup();
  });

  it("names GPT partitions wd0s1, wd0s2 and reads them like the image", async () => {
    const parts = b.k.disks[0]!.label;
    expect(parts.scheme).toBe("gpt");
    expect(parts.warnings).toEqual([]);
    expect(parts.partitions.map((p) => [p.index, p.start, p.sectors, p.type, p.name])).toEqual([
      [1, 2048, 4096, GPT_LINUX, "boot"],
      [2, 8192, 16384 - 34 - 8192, GPT_LINUX, "data"],
    ]);
    const image = gpt.bytes();
    for (const [m, [start, n]] of gpt.parts) {
      const fd = b.k.open(`/dev/wd0s${m}`, O_RDONLY);
      if (!fd.ok) throw new Error(fd.message);
      const buf = new Uint8Array(n * 512);
      expect(await b.k.pread(fd.value, buf, 0)).toEqual({ ok: true, value: n * 512 });
      expect(Buffer.compare(buf, image.subarray(start * 512, (start + n) * 512))).toBe(0);
      b.k.close(fd.value);
    }
  });

  it("attaches the second disk as wd1 with 4096-byte logical sectors and does read-modify-write", async () => {
    const d = b.k.controllers[0]!.drives[1]!;
    expect(d.identity.sectorSize).toBe(4096);
    expect(d.identity.sectors).toBe(1024);
    const fd = b.k.open("/dev/rwd1d", O_RDWR);
    if (!fd.ok) throw new Error(fd.message);
    expect(await b.k.ioctl(fd.value, DIOCGSECTORSIZE)).toEqual({ ok: true, value: 4096 });
    const expected = big.bytes();
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 11) & 0xff);
    expect(await b.k.pwrite(fd.value, data, 4000)).toEqual({ ok: true, value: 5000 });
    expected.set(data, 4000);
    expect(await b.k.fsync(fd.value)).toMatchObject({ ok: true });
    expect(Buffer.compare(big.bytes(), expected)).toBe(0);
    const back = new Uint8Array(10_000);
    expect(await b.k.pread(fd.value, back, 3000)).toEqual({ ok: true, value: 10_000 });
    expect(Buffer.compare(back, expected.subarray(3000, 13_000))).toBe(0);
    b.k.close(fd.value);
  });
});

describe("ahcisata fault handling", () => {
  let img: PartitionedImage;
  beforeAll(() => {
    img = mbrImage(4096);
  });
  afterAll(() => img?.cleanup());

  it("completes commands by polling when interrupts are lost", async () => {
    const b = await bootSim([{ port: 0, image: img.path }], { faults: { dropInterrupts: true } });
    try {
      const d = drive0(b);
      const bufs = Array.from({ length: 8 }, () => new Uint8Array(4096));
      const rs = await Promise.all(bufs.map((buf, i) => d.read(i * 8, 8, buf)));
      expect(rs.every((r) => r.ok)).toBe(true);
      expect(Buffer.compare(bufs[3]!, img.bytes().subarray(24 * 512, 32 * 512))).toBe(0);
      expect(b.k.controllers[0]!.interrupts).toBe(0);
    } finally {
      await b.shutdown();
    }
  });

  it("runs fully polled when told to (interrupts: false)", async () => {
    const b = await bootSim([{ port: 0, image: img.path }], { interrupts: false });
    try {
      expect(b.k.controllers[0]!.irqLine).toBeUndefined();
      const buf = new Uint8Array(8192);
      expect((await drive0(b).read(8, 16, buf)).ok).toBe(true);
      expect(Buffer.compare(buf, img.bytes().subarray(8 * 512, 24 * 512))).toBe(0);
    } finally {
      await b.shutdown();
    }
  });

  it("times out a command the HBA never saw, resets the port with COMRESET, and goes on", async () => {
    const b = await bootSim([{ port: 0, image: img.path }], { timeoutMs: 800 });
    try {
      const d = drive0(b);
      const port = d.port;
      const resets = port.comresets;
      b.faults.dropCiWrites = 1;
      const r = await d.read(0, 1, new Uint8Array(512));
      expect(r).toMatchObject({ ok: false, errno: ETIMEDOUT });
      expect(port.comresets).toBe(resets + 1);
      const buf = new Uint8Array(512);
      expect(await d.read(5, 1, buf)).toEqual({ ok: true, value: undefined });
      expect(Buffer.compare(buf, img.bytes().subarray(5 * 512, 6 * 512))).toBe(0);
    } finally {
      await b.shutdown();
    }
  });

  it("uses the interrupt the firmware routed (GSI 23 for 00:1f.2 on the simulated PC)", async () => {
    const b = await bootSim([{ port: 0, image: img.path }]);
    try {
      expect(b.k.controllers[0]!.irqLine).toBe(23);
      const before = b.k.controllers[0]!.interrupts;
      expect((await drive0(b).read(0, 1, new Uint8Array(512))).ok).toBe(true);
      expect(b.k.controllers[0]!.interrupts).toBeGreaterThan(before);
      expect(ahcireg.AHCI_P_IE_DEFAULT & ahcireg.AHCI_P_IX_TFES).not.toBe(0);
    } finally {
      await b.shutdown();
    }
  });
});
