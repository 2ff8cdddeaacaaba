// rumpdisk over the simulated PC: device_read/device_write (and in-band) at random places equal
// the image byte for byte, writes land where they should and nowhere else, geometry by status.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  device_close,
  device_get_status,
  device_open,
  device_read,
  device_read_inband,
  device_write,
  device_write_inband,
} from "../../generated/device.js";
import { D_READ, D_WRITE } from "../../src/kernel/devices/device-codes.js";
import type { SendRight } from "../../src/kernel/mig/index.js";
import { DeviceClient } from "../../src/boot/disk-client.js";
import { DEV_GET_RECORDS, DEV_GET_SIZE } from "../../src/servers/rumpdisk/device-status.js";
import { bootRumpdisk, type BootedRumpdisk } from "./rumpdisk-fixture.js";

const SS = 512;

describe("rumpdisk: reads", () => {
  let b: BootedRumpdisk;
  const ports = new Map<string, SendRight>();
  beforeAll(async () => {
    b = await bootRumpdisk({ sectors: 16384 });
    for (const d of b.rumpdisk.devices) {
      const o = await device_open(b.client, b.master, D_READ, d.name);
      if (!o.ok) throw new Error(`open ${d.name}: ${o.code}`);
      ports.set(d.name, o.value.device);
    }
  });
  afterAll(async () => b.shutdown());

  it("serves wd0 and every partition the MBR names", () => {
    const names = b.rumpdisk.devices.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(["wd0", "wd0s1", "wd0s2", "wd0s5"]));
    for (const [m, [start, n]] of b.image.parts) {
      const d = b.rumpdisk.devices.find((x) => x.name === `wd0s${m}`)!;
      expect([d.start, d.sectors]).toEqual([start, n]);
    }
  });

  it("answers DEV_GET_SIZE and DEV_GET_RECORDS per device", async () => {
    for (const d of b.rumpdisk.devices) {
      const size = await device_get_status(b.client, ports.get(d.name)!, DEV_GET_SIZE, 2);
      const recs = await device_get_status(b.client, ports.get(d.name)!, DEV_GET_RECORDS, 2);
      expect(size.ok && [...size.value.status]).toEqual([d.sectors * SS, SS]);
      expect(recs.ok && [...recs.value.status]).toEqual([d.sectors, SS]);
    }
  });

  it("device_read at random records and lengths equals the image (across partitions and pages)", async () => {
    const devs = b.rumpdisk.devices;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: devs.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 300_000 }),
        async (which, where, wanted) => {
          const d = devs[which]!;
          const recnum = Math.min(d.sectors - 1, Math.floor(where * d.sectors));
          const r = await device_read(b.client, ports.get(d.name)!, 0, BigInt(recnum), wanted);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          const expected = Math.min(wanted, (d.sectors - recnum) * SS);
          expect(r.value.data.length).toBe(expected);
          expect(
            Buffer.from(r.value.data).equals(
              Buffer.from(b.fileBytes((d.start + recnum) * SS, expected)),
            ),
          ).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reads that cross a partition's first and last sector and the whole disk's end", async () => {
    const s2 = b.rumpdisk.devices.find((d) => d.name === "wd0s2")!;
    const wd0 = ports.get("wd0")!;
    // wd0 across the boundary between s1 and s2, and across a 4 KiB page inside a sector run.
    const at = s2.start - 3;
    const r = await device_read(b.client, wd0, 0, BigInt(at), 7 * SS + 100);
    expect(
      r.ok && Buffer.from(r.value.data).equals(Buffer.from(b.fileBytes(at * SS, 7 * SS + 100))),
    ).toBe(true);
    // The last records of s2 (a short read at its end, not past it).
    const last = await device_read(
      b.client,
      ports.get("wd0s2")!,
      0,
      BigInt(s2.sectors - 2),
      8 * SS,
    );
    expect(last.ok && last.value.data.length).toBe(2 * SS);
    expect(
      last.ok &&
        Buffer.from(last.value.data).equals(
          Buffer.from(b.fileBytes((s2.start + s2.sectors - 2) * SS, 2 * SS)),
        ),
    ).toBe(true);
  });

  it("device_read_inband returns up to 128 bytes in the reply", async () => {
    const r = await device_read_inband(b.client, ports.get("wd0s1")!, 0, 5n, 128);
    const s1 = b.rumpdisk.devices.find((d) => d.name === "wd0s1")!;
    expect(
      r.ok && Buffer.from(r.value.data).equals(Buffer.from(b.fileBytes((s1.start + 5) * SS, 128))),
    ).toBe(true);
  });

  it("32 reads in flight at once all come back right", async () => {
    const wd0 = ports.get("wd0")!;
    const recs = Array.from({ length: 32 }, (_, i) => (i * 509) % 16000);
    const rs = await Promise.all(
      recs.map((rec) => device_read(b.client, wd0, 0, BigInt(rec), 4096)),
    );
    rs.forEach((r, i) => {
      expect(
        r.ok && Buffer.from(r.value.data).equals(Buffer.from(b.fileBytes(recs[i]! * SS, 4096))),
      ).toBe(true);
    });
  });

  it("the byte-addressed client reads any range of a partition", async () => {
    const c = await DeviceClient.open(b.client, b.master, "wd0s5");
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const s5 = b.rumpdisk.devices.find((d) => d.name === "wd0s5")!;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: s5.sectors * SS - 1 }),
        fc.integer({ min: 1, max: 20000 }),
        async (off, len) => {
          const n = Math.min(len, s5.sectors * SS - off);
          const r = await c.value.read(off, len);
          expect(
            r.ok && Buffer.from(r.value).equals(Buffer.from(b.fileBytes(s5.start * SS + off, n))),
          ).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
    await c.value.close();
  });
});

describe("rumpdisk: writes", () => {
  let b: BootedRumpdisk;
  beforeAll(async () => {
    b = await bootRumpdisk({ sectors: 8192 });
  });
  afterAll(async () => b.shutdown());

  it("device_write at random records lands byte-exact there and nowhere else", async () => {
    // Lengths need not be whole sectors: as gnumach's block glue does (rdwr_partial), the rest
    // of a partly written sector is kept. block_write, the typed protocol, refuses them instead
    // (rumpdisk-errors.test.ts).
    const devs = b.rumpdisk.devices.filter((d) => d.name !== "wd0s3");
    const opened = new Map<string, SendRight>();
    for (const d of devs) {
      const o = await device_open(b.client, b.master, D_READ | D_WRITE, d.name);
      if (!o.ok) throw new Error(`open ${d.name}`);
      opened.set(d.name, o.value.device);
    }
    let model = Buffer.from(b.image.bytes());
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: devs.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.uint8Array({ minLength: 1, maxLength: 70_000 }),
        async (which, where, data) => {
          const d = devs[which]!;
          const room = d.sectors * SS;
          const recnum = Math.min(d.sectors - 1, Math.floor(where * d.sectors));
          const bytes = data.subarray(0, Math.min(data.length, room - recnum * SS));
          const w = await device_write(b.client, opened.get(d.name)!, 0, BigInt(recnum), bytes);
          expect(w.ok && w.value.bytes_written).toBe(bytes.length);
          Buffer.from(bytes).copy(model, (d.start + recnum) * SS);
          expect(Buffer.from(b.image.bytes()).equals(model)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
    // In-band writes of a few bytes keep the rest of their sector.
    const wd0 = opened.get("wd0")!;
    const w = await device_write_inband(b.client, wd0, 0, 7n, Uint8Array.of(1, 2, 3));
    expect(w.ok && w.value.bytes_written).toBe(3);
    model = Buffer.from(model);
    model.set([1, 2, 3], 7 * SS);
    expect(Buffer.from(b.image.bytes()).equals(model)).toBe(true);
    for (const p of opened.values()) await device_close(b.client, p);
  });

  it("the byte-addressed client writes at unaligned offsets", async () => {
    const c = await DeviceClient.open(b.client, b.master, "wd0s1", true);
    if (!c.ok) throw new Error("open");
    const before = Buffer.from(b.image.bytes());
    const s1 = b.rumpdisk.devices.find((d) => d.name === "wd0s1")!;
    const data = Uint8Array.from({ length: 1500 }, (_, i) => (i * 7 + 3) & 0xff);
    const w = await c.value.write(1000, data);
    expect(w.ok && w.value).toBe(1500);
    expect((await c.value.flush()).ok).toBe(true);
    Buffer.from(data).copy(before, s1.start * SS + 1000);
    expect(Buffer.from(b.image.bytes()).equals(before)).toBe(true);
    await c.value.close();
  });
});
