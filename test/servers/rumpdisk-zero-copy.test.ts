// The disk path without copies between tasks: on the simulated PC the kernel's pool is guest
// RAM, so an isolated rumpdisk reads into the region its reply moves to the client, and writes
// go to the drive from the region the request brought. Nothing may leak on any path.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { block_write } from "../../generated/block.js";
import { device_open, device_read, device_write } from "../../generated/device.js";
import { bootSystem, type BootedSystem } from "../../src/boot/boot-chain.js";
import {
  D_INVALID_RECNUM,
  D_READ,
  D_READ_ONLY,
  D_WRITE,
} from "../../src/kernel/devices/device-codes.js";
import { KERN_INVALID_ADDRESS, KERN_SUCCESS } from "../../src/kernel/kern-return.js";
import { mig_deallocate, setOolDelivery, type SendRight } from "../../src/kernel/mig/index.js";
import { HIGH_BANK_BASE } from "../../src/machine/physical-memory.js";
import type { SimBackend } from "../../src/machine/sim-backend.js";
import { idleCpuShare } from "../helpers/idle-cpu.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";

const SS = 512;

describe("rumpdisk on the simulated PC: reads and writes without copies between tasks", () => {
  let img: PartitionedImage;
  let sys: BootedSystem;
  let rw: SendRight;
  let ro: SendRight;

  beforeAll(async () => {
    img = mbrImage(16384);
    const r = await bootSystem({ machine: "sim", disk: img.path });
    if (!r.ok) throw new Error(r.error);
    sys = r.value;
    const a = await device_open(sys.tasks.client, sys.clientMaster, D_READ | D_WRITE, "wd0");
    const b = await device_open(sys.tasks.client, sys.clientMaster, D_READ, "wd0");
    if (!a.ok || !b.ok) throw new Error("device_open wd0");
    rw = a.value.device;
    ro = b.value.device;
  });
  afterAll(async () => {
    setOolDelivery(sys.tasks.client, "copy");
    await sys?.shutdown();
    img.cleanup();
  });

  const pool = () => sys.kernel.sharedPool();
  const image = () => fs.readFileSync(img.path);

  it("attaches the pool as guest RAM above 4 GiB", () => {
    const sim = sys.backend as SimBackend;
    expect(sys.rumpdisk.mode).toBe("isolated");
    const bank = sim.memory.highBank;
    expect(bank).toEqual([HIGH_BANK_BASE, HIGH_BANK_BASE + pool().bytes.byteLength]);
    expect(sim.ramRanges()).toContainEqual(bank);
  });

  it("a mapped read is a view of the very region the drive wrote, given back with mig_deallocate", async () => {
    const task = sys.tasks.client;
    setOolDelivery(task, "map");
    try {
      const regions = task.vm.regionCount;
      const r = await device_read(task, rw, 0, 8n, 64 * 1024);
      if (!r.ok) throw new Error(`device_read: ${r.code}`);
      const data = r.value.data;
      // In the pool: the bytes the AHCI model DMA'd are the ones the client holds.
      expect(data.buffer).toBe(pool().buffer);
      expect(Buffer.from(data).equals(image().subarray(8 * SS, 8 * SS + 64 * 1024))).toBe(true);
      expect(task.vm.regionCount).toBe(regions + 1);
      expect(await mig_deallocate(task, data)).toBe(KERN_SUCCESS);
      expect(await mig_deallocate(task, data)).toBe(KERN_INVALID_ADDRESS);
      expect(task.vm.regionCount).toBe(regions);
    } finally {
      setOolDelivery(task, "copy");
    }
  });

  it("a read into memory that was not zero-filled sends no stale bytes past its data", async () => {
    const task = sys.tasks.client;
    const p = pool();
    // Dirty every free page of the pool: rumpdisk now reads into regions it did not zero.
    const held: number[] = [];
    for (const chunk of [256 * 1024, 4096]) {
      for (let a = p.allocate(chunk); a.ok; a = p.allocate(chunk)) {
        p.bytes.fill(0xee, a.offset, a.offset + a.size);
        held.push(a.offset);
      }
    }
    for (const o of held) expect(p.free(o)).toBe(KERN_SUCCESS);
    setOolDelivery(task, "map");
    try {
      const disk = image();
      const sectors = disk.length / SS;
      // Three sectors: a 4 KiB region, 2.5 KiB of it past the data. Then a read running off the
      // end of the disk, answered short.
      for (const [recnum, length, expected] of [
        [24, 3 * SS, 3 * SS],
        [sectors - 2, 8 * SS, 2 * SS],
      ] as const) {
        const r = await device_read(task, rw, 0, BigInt(recnum), length);
        if (!r.ok) throw new Error(`device_read: ${r.code}`);
        const data = r.value.data;
        expect(data.length).toBe(expected);
        expect(Buffer.from(data).equals(disk.subarray(recnum * SS, recnum * SS + expected))).toBe(
          true,
        );
        const offset = data.byteOffset - p.bytes.byteOffset;
        const size = p.regionSize(offset);
        expect(size).toBeGreaterThan(expected);
        const tail = p.bytes.subarray(offset + expected, offset + size);
        expect(tail.every((x) => x === 0)).toBe(true);
        expect(await mig_deallocate(task, data)).toBe(KERN_SUCCESS);
      }
    } finally {
      setOolDelivery(task, "copy");
    }
  });

  it("goes idle after a burst of I/O: the booted system then burns no core", async () => {
    const task = sys.tasks.client;
    // Reads back to back: every wait in rumpdisk and the kernel learns to spin (up to 400 us).
    for (let i = 0; i < 400; i++) {
      const r = await device_read(task, rw, 0, BigInt((i * 8) % 8192), 4096);
      if (!r.ok) throw new Error(`device_read: ${r.code}`);
    }
    // The whole process (the kernel's thread and every server's worker): well under one core.
    expect(await idleCpuShare()).toBeLessThan(0.3);
  });

  it("the default delivery still copies: the data outlives its region", async () => {
    const task = sys.tasks.client;
    const regions = task.vm.regionCount;
    const r = await device_read(task, rw, 0, 16n, 8192);
    if (!r.ok) throw new Error(`device_read: ${r.code}`);
    expect(r.value.data.buffer).not.toBe(pool().buffer);
    expect(Buffer.from(r.value.data).equals(image().subarray(16 * SS, 16 * SS + 8192))).toBe(true);
    expect(task.vm.regionCount).toBe(regions);
  });

  it("writes land byte-exact from arrays, Buffers and mapped reads; refusals and repeats leak nothing", async () => {
    const task = sys.tasks.client;
    // Warm up: rumpdisk keeps a small reserve of reply regions once reads have asked for them.
    for (const size of [4096, 64 * 1024]) {
      const r = await device_read(task, rw, 0, 0n, size);
      if (!r.ok) throw new Error("warm-up read");
    }
    await new Promise((r) => setTimeout(r, 50));
    const baseline = pool().stats().freePages;
    const before = image();
    const at = 4096; // sectors: inside the disk, away from the partition tables
    const a = new Uint8Array(128 * 1024).map((_, i) => (i * 7 + 1) & 0xff);
    const b = Buffer.alloc(64 * 1024, 0xa5);
    expect(await device_write(task, rw, 0, BigInt(at), a)).toEqual({
      ok: true,
      value: { bytes_written: a.length },
    });
    expect(await device_write(task, rw, 0, BigInt(at + 256), b)).toEqual({
      ok: true,
      value: { bytes_written: b.length },
    });
    // A mapped read written back elsewhere: the region goes out as data, and stays the client's.
    setOolDelivery(task, "map");
    const m = await device_read(task, rw, 0, BigInt(at), 4096);
    setOolDelivery(task, "copy");
    if (!m.ok) throw new Error("mapped read");
    expect(await block_write(task, rw, BigInt(at + 512), m.value.data, 0)).toEqual({
      ok: true,
      value: { count: 8 },
    });
    expect(await mig_deallocate(task, m.value.data)).toBe(KERN_SUCCESS);
    // Refused writes: the request's region is given back all the same.
    for (let i = 0; i < 8; i++) {
      const big = new Uint8Array(64 * 1024);
      expect(await device_write(task, ro, 0, BigInt(at), big)).toEqual({
        ok: false,
        code: D_READ_ONLY,
      });
      expect(await device_write(task, rw, 0, 1n << 40n, big)).toEqual({
        ok: false,
        code: D_INVALID_RECNUM,
      });
    }
    const after = image();
    const expected = Buffer.from(before);
    expected.set(a, at * SS);
    expected.set(b, (at + 256) * SS);
    expected.set(a.subarray(0, 4096), (at + 512) * SS);
    expect(after.equals(expected)).toBe(true);
    // Every region rumpdisk received or sent has been given back (its reserve refilled first).
    await new Promise((r) => setTimeout(r, 50));
    expect(pool().stats().freePages).toBe(baseline);
  });
});
