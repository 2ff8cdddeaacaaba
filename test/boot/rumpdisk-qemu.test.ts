// rumpdisk as an isolated task on QEMU: its DMA arena in remote guest RAM is a vm_mapped pager the
// kernel reads and writes for it; reads, writes, flushes and D_* errors through it; killing it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  device_open,
  device_read,
  device_set_status,
  device_write,
} from "../../generated/device.js";
import type { BootedSystem } from "../../src/boot/boot-chain.js";
import { DeviceClient } from "../../src/boot/disk-client.js";
import {
  D_INVALID_RECNUM,
  D_INVALID_SIZE,
  D_NO_SUCH_DEVICE,
  D_READ,
  D_READ_ONLY,
  D_WRITE,
} from "../../src/kernel/devices/device-codes.js";
import { MACH_MSG_SUCCESS } from "../../src/kernel/kern-return.js";
import {
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
} from "../../src/kernel/msg-type.js";
import { MACH_NOTIFY_DEAD_NAME } from "../../src/kernel/notify.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import { MAX_TRANSFER } from "../../src/servers/rumpdisk/block-rump.js";
import { DEV_FLUSH_CACHE } from "../../src/servers/rumpdisk/device-status.js";
import { need } from "../helpers/tools.js";
import { type PartitionedImage } from "../rump/fixtures.js";
import { bootForSuite } from "../helpers/boot-for-suite.js";

const SS = 512;

/** `p`, or "hang" when it takes longer than `ms`. */
function settles<T>(p: Promise<T>, ms = 10_000): Promise<T | "hang"> {
  return Promise.race([p, new Promise<"hang">((r) => setTimeout(() => r("hang"), ms))]);
}

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

describe.skipIf(!need("qemu"))("rumpdisk as an isolated task on QEMU", () => {
  let img!: PartitionedImage;
  let sys!: BootedSystem;
  const log: string[] = [];
  bootForSuite("qemu", log, (s, i) => {
    sys = s;
    img = i;
  });

  it("runs in a worker thread, its DMA arena a vm_mapped pager over guest RAM", () => {
    expect(sys.rumpdisk.mode).toBe("isolated");
    expect(sys.rumpdisk.server).toBeUndefined();
    expect(log).toContain(
      "tsmach: rumpdisk: isolated task (worker thread); from acpi: the master device port, root ports of pci-arbiter and acpi; drives the AHCI disks (rump ahcisata and wd)",
    );
    expect(log.some((l) => /^tsmach: rumpdisk runs in-thread/.test(l))).toBe(false);
    expect(
      log.some((l) =>
        /^rumpdisk: isolated task: .*DMA arena vm_mapped \(0x[0-9a-f]+, 32 MiB; bounce buffers with syncs\)/.test(
          l,
        ),
      ),
      log.join("\n"),
    ).toBe(true);
    // Its mappings: the AHCI's BAR from mem and the DMA arena (guest RAM, not shared).
    const mine = sys.kernel.mappings.records().filter((m) => m.task === sys.tasks.rumpdisk);
    const arena = mine.find((m) => m.size === 32 << 20);
    expect(arena).toBeDefined();
    expect(arena!.shared).toBeUndefined();
    expect(arena!.registers).toBeDefined();
    const inRam = sys.backend
      .ramRanges()
      .some(([s, e]) => arena!.offset >= s && arena!.offset + arena!.size <= e);
    expect(inRam).toBe(true);
    expect(sys.disks.map((d) => d.name)).toEqual(["wd0", "wd0s1", "wd0s2", "wd0s3", "wd0s5"]);
  });

  it("reads at random offsets and lengths, across partition and page boundaries, equal the image", async () => {
    const image = img.bytes();
    const wd0 = await DeviceClient.open(sys.tasks.client, sys.clientMaster, "wd0");
    if (!wd0.ok) throw new Error("open wd0");
    const [s2start] = img.parts.get(2)!;
    const next = rng(7);
    // Across the s1/s2 boundary, across page boundaries, and random ones.
    const cases: [number, number][] = [
      [s2start * SS - 3000, 6000],
      [4096 - 1, 4096 + 2],
      [0, 1],
    ];
    for (let i = 0; i < 8; i++) cases.push([next(image.length - 70_000), 1 + next(70_000)]);
    for (const [off, len] of cases) {
      const r = await wd0.value.read(off, len);
      expect(r.ok).toBe(true);
      if (r.ok)
        expect(Buffer.from(r.value).equals(image.subarray(off, off + len)), `${off}+${len}`).toBe(
          true,
        );
    }
    // A partition's reads are relative to its start.
    const s2 = await DeviceClient.open(sys.tasks.client, sys.clientMaster, "wd0s2");
    if (!s2.ok) throw new Error("open wd0s2");
    const r = await s2.value.read(1000, 9000);
    expect(
      r.ok &&
        Buffer.from(r.value).equals(image.subarray(s2start * SS + 1000, s2start * SS + 10_000)),
    ).toBe(true);
    await wd0.value.close();
    await s2.value.close();
  }, 30_000);

  it("writes land byte-exact at the right offset of the image and nowhere else; flush", async () => {
    const before = img.bytes();
    const [s1start] = img.parts.get(1)!;
    const s1 = await DeviceClient.open(sys.tasks.client, sys.clientMaster, "wd0s1", true);
    if (!s1.ok) throw new Error("open wd0s1");
    // A misaligned write over several pages (read-modify-write of its edge records), and a
    // large one that fills more than one bounce buffer.
    const small = Uint8Array.from({ length: 9001 }, (_, i) => (i * 29 + 3) & 0xff);
    const large = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7 + 11) & 0xff);
    const w1 = await s1.value.write(4097, small);
    const w2 = await s1.value.write(64 * 1024, large);
    expect([w1.ok, w2.ok]).toEqual([true, true]);
    expect((await s1.value.flush()).ok).toBe(true);
    const after = img.bytes();
    Buffer.from(small).copy(before, s1start * SS + 4097);
    Buffer.from(large).copy(before, s1start * SS + 64 * 1024);
    expect(after.equals(before)).toBe(true);
    // And they read back through the stack.
    const back = await s1.value.read(4097, small.length);
    expect(back.ok && Buffer.from(back.value).equals(Buffer.from(small))).toBe(true);
    await s1.value.close();
  }, 30_000);

  it("refuses with the D_* errors: read-only, record out of range, bad size, no such device", async () => {
    const c = sys.tasks.client;
    const code = (r: { ok: boolean; code?: number }) => (r.ok ? "ok" : r.code);
    const ro = await device_open(c, sys.clientMaster, D_READ, "wd0s1");
    const rw = await device_open(c, sys.clientMaster, D_READ | D_WRITE, "wd0s1");
    if (!ro.ok || !rw.ok) throw new Error("open");
    const [, s1sectors] = img.parts.get(1)!;
    const sector = new Uint8Array(SS);
    expect(code(await device_write(c, ro.value.device, 0, 0n, sector))).toBe(D_READ_ONLY);
    expect(code(await device_read(c, rw.value.device, 0, BigInt(s1sectors), SS))).toBe(
      D_INVALID_RECNUM,
    );
    expect(code(await device_read(c, rw.value.device, 0, 0n, MAX_TRANSFER + 1))).toBe(
      D_INVALID_SIZE,
    );
    expect(code(await device_open(c, sys.clientMaster, D_READ, "wd0s9"))).toBe(D_NO_SUCH_DEVICE);
    // Still serving after the refusals.
    const r = await device_read(c, rw.value.device, 0, 0n, SS);
    expect(r.ok && r.value.data.length).toBe(SS);
  }, 30_000);

  // Last: it kills rumpdisk.
  it("killing rumpdisk mid-write: the client gets an error or a dead name, not a hang", async () => {
    const c = sys.tasks.client;
    const o = await device_open(c, sys.clientMaster, D_READ | D_WRITE, "wd0");
    if (!o.ok) throw new Error("open");
    const dev = o.value.device;
    const notify = await c.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    const req = await c.mach_port_request_notification(
      dev,
      MACH_NOTIFY_DEAD_NAME,
      0,
      notify.name,
      MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    expect(req.kr).toBe(0);
    const chunk = 64 * 1024;
    const write = (i: number) =>
      device_write(c, dev, 0, BigInt((i * chunk) / SS), new Uint8Array(chunk).fill(i + 1));
    // Writes racing a flush: those acknowledged before its reply must be in the image.
    const acked = new Set<number>();
    const early = Array.from({ length: 4 }, (_, i) =>
      write(i).then((r) => {
        if (r.ok) acked.add(i);
        return r;
      }),
    );
    await early[0];
    expect((await device_set_status(c, dev, DEV_FLUSH_CACHE, new Int32Array(0))).ok).toBe(true);
    const durable = [...acked];
    expect(durable.length).toBeGreaterThan(0);
    // More writes in flight, and rumpdisk dies under them.
    const late = Array.from({ length: 8 }, (_, i) => write(4 + i));
    await new Promise((r) => setTimeout(r, 5));
    await sys.rumpdisk.kill();
    const results = await settles(Promise.all([...early, ...late]), 10_000);
    expect(results).not.toBe("hang");
    if (results === "hang") return;
    expect(results.slice(4).some((r) => !r.ok)).toBe(true); // the kill did land mid-write
    for (const r of results) if (r.ok) expect(r.value.bytes_written).toBe(chunk);
    // The client hears of the death, and later calls fail at once.
    const buf = new Uint8Array(256);
    const kr = await c.mach_msg(
      buf,
      MACH_RCV_MSG | MACH_RCV_TIMEOUT,
      0,
      buf.length,
      notify.name,
      5000,
    );
    expect(kr).toBe(MACH_MSG_SUCCESS);
    expect(new DataView(buf.buffer).getInt32(28, true)).toBe(MACH_NOTIFY_DEAD_NAME);
    const after = await settles(device_read(c, dev, 0, 0n, SS), 5000);
    expect(after).not.toBe("hang");
    expect(after !== "hang" && after.ok).toBe(false);
    const image = img.bytes();
    for (const i of durable)
      expect(image.subarray(i * chunk, (i + 1) * chunk).every((b) => b === i + 1)).toBe(true);
    // The kernel's record of its mappings (the DMA arena among them) died with it.
    expect(sys.kernel.mappings.count(sys.tasks.rumpdisk)).toBe(0);
  }, 30_000);
});
