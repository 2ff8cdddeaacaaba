// The rump library's pieces on their own: H2D FIS and PRDT layouts, IDENTIFY decoding, MBR/GPT
// parsing on good and hostile input, slot admission, hypercall locks, bus_dma syncs, rump_sys_*.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AtaDisk } from "../../src/machine/ata-disk.js";
import { DiskImage } from "../../src/machine/disk-image.js";
import { createTestDiskImage } from "../../src/machine/test-disk-image.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { buildH2dFis } from "../../src/rump/ahcisata/fis.js";
import { parseIdentify } from "../../src/rump/ahcisata/identify.js";
import { buildPrdt, prdCount } from "../../src/rump/ahcisata/prdt.js";
import { SlotQueue } from "../../src/rump/ahcisata/slots.js";
import { BUS_DMASYNC_POSTREAD, BUS_DMASYNC_PREWRITE, BusDmaTag } from "../../src/rump/bus-dma.js";
import { EBUSY, EIO, ENOSPC, ENXIO, EROFS, errnoName } from "../../src/rump/errno.js";
import { errnoToDeviceReturn } from "../../src/rump/device-errors.js";
import { BackendPciUser } from "../../src/rump/pci-backend.js";
import { zeroFill } from "../../src/kernel/zero-fill.js";
import {
  O_RDONLY,
  RB_POWERDOWN,
  rump_init,
  rump_sys_close,
  rump_sys_open,
  rump_sys_pread,
  rump_sys_reboot,
} from "../../src/rump/rump-sys.js";
import { createRumpUser, RumpCondvar, RumpMutex } from "../../src/rump/rumpuser.js";
import { crc32, readPartitions } from "../../src/rump/wd/partitions.js";
import { faultyBackend, gptImage, mbrImage } from "./fixtures.js";
import * as fs from "node:fs";

describe("H2D register FIS", () => {
  it("lays out a READ FPDMA QUEUED with a 48-bit LBA, tag and count as SATA defines", () => {
    const out = new Uint8Array(64).fill(0xcc);
    buildH2dFis(
      { command: 0x60, lba: 0x0102_0304_0506, features: 0x0180, count: 5 << 3, device: 0x40 },
      out,
      0,
    );
    expect([...out.subarray(0, 20)]).toEqual([
      0x27, 0x80, 0x60, 0x80, 0x06, 0x05, 0x04, 0x40, 0x03, 0x02, 0x01, 0x01, 0x28, 0x00, 0, 0, 0,
      0, 0, 0,
    ]);
    expect(out[20]).toBe(0xcc); // nothing past the FIS
  });
});

describe("PRDT", () => {
  it("splits segments at 4 MiB and stores byte count - 1", () => {
    const t = new Uint8Array(16 * 8);
    const segs = [
      { addr: 0x1_0000_0000, len: 9 << 20 },
      { addr: 0x2000, len: 512 },
    ];
    expect(prdCount(segs)).toBe(4);
    expect(buildPrdt(segs, t, 8)).toBe(4);
    const v = new DataView(t.buffer);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(12, true)]).toEqual([
      0,
      1,
      (4 << 20) - 1,
    ]);
    expect(v.getUint32(16, true)).toBe(4 << 20);
    expect(v.getUint32(44, true)).toBe((1 << 20) - 1);
    expect([v.getUint32(48, true), v.getUint32(60, true)]).toEqual([0x2000, 511]);
  });
  it("refuses odd lengths, odd addresses and tables that are too small", () => {
    const t = new Uint8Array(32);
    expect(buildPrdt([{ addr: 0x1000, len: 511 }], t, 2)).toBeUndefined();
    expect(buildPrdt([{ addr: 0x1001, len: 512 }], t, 2)).toBeUndefined();
    expect(buildPrdt([{ addr: 0, len: 9 << 20 }], t, 2)).toBeUndefined();
  });
});

describe("IDENTIFY DEVICE decoding", () => {
  it("reads model, serial, firmware, LBA48 capacity, 4096-byte sectors and NCQ depth", () => {
    const img = createTestDiskImage({ sectors: 300, sectorSize: 4096 });
    try {
      const r = DiskImage.open(img.path, { sectorSize: 4096 });
      if (!r.ok) throw new Error(r.error.message);
      const disk = new AtaDisk(r.value, { model: "MODEL X", serial: "S1", firmware: "F9" });
      expect(parseIdentify(disk.identifyData())).toEqual({
        model: "MODEL X",
        serial: "S1",
        firmware: "F9",
        sectors: 300,
        sectorSize: 4096,
        lba48: true,
        ncq: true,
        queueDepth: 32,
        writeCache: true,
        flushCacheExt: true,
      });
      r.value.close();
    } finally {
      img.cleanup();
    }
  });
  it("never throws on arbitrary data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (b) => {
        const id = parseIdentify(b);
        if (b.length < 512) expect(id).toBeUndefined();
        else expect(id!.sectorSize % 2).toBe(0);
      }),
    );
  });
});

describe("partition tables", () => {
  const reader = (bytes: Uint8Array) => async (lba: number, count: number) =>
    lba + count <= bytes.length / 512 ? bytes.slice(lba * 512, (lba + count) * 512) : undefined;

  it("reads the fixture MBR (with a logical partition) and GPT", async () => {
    const m = mbrImage(16384);
    const g = gptImage(16384);
    try {
      const mt = await readPartitions(reader(m.bytes()), 16384, 512);
      expect(mt.scheme).toBe("mbr");
      expect(mt.partitions.map((p) => [p.index, p.start, p.sectors])).toEqual([
        [1, ...m.parts.get(1)!],
        [2, ...m.parts.get(2)!],
        [3, 8192, 8192],
        [5, ...m.parts.get(5)!],
      ]);
      const gt = await readPartitions(reader(g.bytes()), 16384, 512);
      expect(gt.partitions.map((p) => [p.index, p.start, p.sectors, p.name])).toEqual([
        [1, 2048, 4096, "boot"],
        [2, 8192, 16384 - 34 - 8192, "data"],
      ]);
      // A corrupted GPT header is refused with a warning (and the protective MBR has no data).
      const bad = g.bytes();
      bad[512 + 40] ^= 1;
      const bt = await readPartitions(reader(bad), 16384, 512);
      expect(bt.warnings).toContain("GPT header CRC mismatch");
      expect(bt.partitions).toEqual([]);
    } finally {
      m.cleanup();
      g.cleanup();
    }
  });

  it("drops entries past the end of the disk and survives any bytes", async () => {
    const disk = new Uint8Array(64 * 512);
    const v = new DataView(disk.buffer);
    disk[446 + 4] = 0x83;
    v.setUint32(446 + 8, 10, true);
    v.setUint32(446 + 12, 1000, true);
    disk[510] = 0x55;
    disk[511] = 0xaa;
    const t = await readPartitions(reader(disk), 64, 512);
    expect(t.partitions).toEqual([]);
    expect(t.warnings[0]).toMatch(/outside the disk/);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
        fc.boolean(),
        async (b, gpt) => {
          const d = new Uint8Array(8 * 512);
          d.set(b);
          d[510] = 0x55;
          d[511] = 0xaa;
          if (gpt) d[446 + 4] = 0xee;
          const r = await readPartitions(reader(d), 8, 512);
          for (const p of r.partitions) expect(p.start + p.sectors).toBeLessThanOrEqual(8);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("computes the CRC-32 GPT uses", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });
});

describe("command slot admission", () => {
  it("lets queued commands share the port up to the depth, and a non-queued one run alone in order", async () => {
    const q = new SlotQueue(32, 4);
    const got: string[] = [];
    const take = (ncq: boolean, name: string) =>
      q.acquire(ncq).then((s) => {
        got.push(`${name}:${String(s)}`);
        return s as number;
      });
    const a = [0, 1, 2, 3].map((i) => take(true, `q${i}`));
    const fifth = take(true, "q4");
    const flush = take(false, "flush");
    const after = take(true, "q5");
    const slots = await Promise.all(a);
    expect(slots).toEqual([0, 1, 2, 3]);
    await Promise.resolve();
    expect(got).toHaveLength(4); // q4 waits for a tag
    q.release(0, true);
    expect(await fifth).toBe(0);
    for (const s of [1, 2, 3, 0]) q.release(s, true);
    const fs0 = await flush;
    await Promise.resolve();
    expect(got.at(-1)).toMatch(/^flush/); // q5 waits behind the flush
    q.release(fs0, false);
    await after;
    expect(got.map((g) => g.split(":")[0])).toEqual(["q0", "q1", "q2", "q3", "q4", "flush", "q5"]);
    q.kill();
    expect(await q.acquire(true)).toMatchObject({ ok: false, errno: ENXIO });
  });
});

describe("hypercalls", () => {
  it("mutexes serialise async critical sections and condition variables wake waiters", async () => {
    const ru = createRumpUser({ params: { X: "1" } });
    expect(ru.getparam("X")).toBe("1");
    expect(ru.getparam("RUMP_NCPU")).toBe("1");
    expect(ru.getparam("nope")).toBeUndefined();
    const m: RumpMutex = ru.mutexInit();
    const cv: RumpCondvar = ru.cvInit();
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        m.with(async () => {
          max = Math.max(max, ++inside);
          await ru.clockSleep(1);
          inside--;
        }),
      ),
    );
    expect(max).toBe(1);
    let ready = false;
    const waiter = (async () => {
      await m.enter();
      while (!ready) await cv.wait(m);
      m.exit();
      return "woken";
    })();
    await ru.clockSleep(2);
    await m.with(() => {
      ready = true;
      cv.broadcast();
    });
    expect(await waiter).toBe("woken");
    await m.enter();
    expect(await cv.timedWait(m, 5)).toBe(true);
    m.exit();
    const t1 = ru.clockGettime("monotonic");
    await ru.clockSleep(3);
    const t2 = ru.clockGettime("monotonic");
    expect(t2.sec * 1e9 + t2.nsec - (t1.sec * 1e9 + t1.nsec)).toBeGreaterThanOrEqual(2e6);
    const th = ru.threadCreate("boom", async () => {
      throw new Error("x");
    });
    await th.join(); // a dying thread does not take the kernel with it
  });
});

describe("bus_dma", () => {
  it("is free on shared memory and copies on PREWRITE/POSTREAD when memory is remote", async () => {
    const r = SimBackend.create({ memory: "16M" });
    if (!r.ok) throw new Error();
    const sim = r.value;
    try {
      const shared = new BusDmaTag(new BackendPciUser(sim));
      const s = await shared.dmamemAlloc(4096);
      if (!s.ok) throw new Error(s.message);
      expect(s.value.coherent).toBe(true);
      s.value.view[5] = 42;
      expect((await sim.memRead(s.value.phys, 8))[5]).toBe(42); // the view is guest RAM itself
      expect(shared.loadDirect(s.value.view.subarray(512, 1024))).toEqual({
        addr: s.value.phys + 512,
        len: 512,
      });
      expect(shared.loadDirect(new Uint8Array(16))).toBeUndefined();

      const faults = { dropInterrupts: false, dropCiWrites: 0, hideSharedMemory: true };
      const remote = new BusDmaTag(new BackendPciUser(faultyBackend(sim, faults)));
      const m = await remote.dmamemAlloc(4096);
      if (!m.ok) throw new Error(m.message);
      expect(m.value.coherent).toBe(false);
      m.value.view.set([1, 2, 3], 100);
      expect([...(await sim.memRead(m.value.phys + 100, 3))]).toEqual([0, 0, 0]);
      await remote.sync(m.value, 100, 3, BUS_DMASYNC_PREWRITE);
      expect([...(await sim.memRead(m.value.phys + 100, 3))]).toEqual([1, 2, 3]);
      await sim.memWrite(m.value.phys + 200, Uint8Array.of(9, 8));
      expect([...m.value.view.subarray(200, 202)]).toEqual([0, 0]);
      await remote.sync(m.value, 200, 2, BUS_DMASYNC_POSTREAD);
      expect([...m.value.view.subarray(200, 202)]).toEqual([9, 8]);
      expect(remote.loadDirect(m.value.view)).toBeUndefined();
      await expect(remote.sync(m.value, 4000, 200, BUS_DMASYNC_PREWRITE)).rejects.toThrow(
        RangeError,
      );
      expect(await remote.dmamemAlloc(0)).toMatchObject({ ok: false });
    } finally {
      await sim.close();
    }
  });
});

describe("rump_sys_* calls", () => {
  it("need rump_init first, allow one kernel at a time, and power the machine off on RB_POWERDOWN", async () => {
    expect(rump_sys_open("/dev/rwd0d", O_RDONLY)).toMatchObject({ ok: false, errno: ENXIO });
    expect(await rump_init({})).toMatchObject({ ok: false });
    const img = mbrImage(2048);
    const r = SimBackend.create({
      memory: "32M",
      devices: [{ type: "ahci", disks: [{ port: 1, image: img.path }] }],
    });
    if (!r.ok) throw new Error();
    const sim = r.value;
    try {
      const k = await rump_init({ backend: sim });
      expect(k.ok).toBe(true);
      expect(await rump_init({ backend: sim })).toMatchObject({ ok: false, errno: EBUSY });
      const fd = rump_sys_open("/dev/rwd0d", O_RDONLY);
      if (!fd.ok) throw new Error(fd.message);
      const buf = new Uint8Array(600);
      expect(await rump_sys_pread(fd.value, buf, 100)).toEqual({ ok: true, value: 600 });
      expect(Buffer.compare(buf, fs.readFileSync(img.path).subarray(100, 700))).toBe(0);
      expect(rump_sys_close(fd.value)).toEqual({ ok: true, value: undefined });
      expect(await rump_sys_reboot(RB_POWERDOWN)).toEqual({ ok: true, value: undefined });
      expect(sim.poweredOff).toBe(true);
      expect(await rump_sys_reboot(0)).toMatchObject({ ok: false, errno: ENXIO });
      expect(errnoName(30)).toBe("EROFS");
      expect([EROFS, ENXIO, ENOSPC, EIO, 9999].map(errnoToDeviceReturn)).toEqual([
        2509, 2502, 2506, 2500, 2500,
      ]);
    } finally {
      await sim.close();
      img.cleanup();
    }
  });
});

describe("zeroFill (DMA and pool memory)", () => {
  it("zeroes exactly [start, end) of shared or plain memory, at any alignment", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        (shared, skew, a, b) => {
          const size = 3100;
          const buffer = shared ? new SharedArrayBuffer(size + 16) : new ArrayBuffer(size + 16);
          new Uint8Array(buffer).fill(0x5a);
          const bytes = new Uint8Array(buffer, skew, size);
          bytes.fill(0xa5);
          const [start, end] = a <= b ? [a, b] : [b, a];
          zeroFill(bytes, start, end);
          for (let i = 0; i < size; i++)
            if (bytes[i] !== (i >= start && i < end ? 0 : 0xa5)) return false;
          // Nothing outside the view was touched.
          const all = new Uint8Array(buffer);
          return all.every((x, i) => (i >= skew && i < skew + size) || x === 0x5a);
        },
      ),
      { numRuns: 200 },
    );
  });
});
