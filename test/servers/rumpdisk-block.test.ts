// block.defs on rumpdisk's device ports: geometry and identity, sector reads and writes, FUA,
// a flush, and writing zeroes, each checked against the image file.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  block_flush,
  block_get_info,
  block_read,
  block_write,
  block_write_zeroes,
} from "../../generated/block.js";
import { device_open } from "../../generated/device.js";
import { D_READ, D_WRITE } from "../../src/kernel/devices/device-codes.js";
import type { SendRight } from "../../src/kernel/mig/index.js";
import {
  BLOCK_INFO_NCQ,
  BLOCK_INFO_READ_ONLY,
  BLOCK_WRITE_FUA,
} from "../../src/servers/rumpdisk/block-rump.js";
import { bootRumpdisk, type BootedRumpdisk } from "./rumpdisk-fixture.js";

const SS = 512;

describe("rumpdisk: block.defs", () => {
  let b: BootedRumpdisk;
  const open = async (name: string, mode: number): Promise<SendRight> => {
    const o = await device_open(b.client, b.master, mode, name);
    if (!o.ok) throw new Error(`open ${name}: ${o.code}`);
    return o.value.device;
  };
  beforeAll(async () => {
    b = await bootRumpdisk({ sectors: 8192 });
  });
  afterAll(async () => b.shutdown());

  it("block_get_info: sector size, sectors, first sector, flags, model and serial", async () => {
    const wd0 = await block_get_info(b.client, await open("wd0", D_READ));
    expect(wd0.ok).toBe(true);
    if (!wd0.ok) return;
    expect(wd0.value.sector_size).toBe(SS);
    expect(wd0.value.sectors).toBe(8192n);
    expect(wd0.value.first_sector).toBe(0n);
    expect(wd0.value.flags & BLOCK_INFO_READ_ONLY).toBe(BLOCK_INFO_READ_ONLY);
    expect(wd0.value.flags & BLOCK_INFO_NCQ).toBe(BLOCK_INFO_NCQ);
    expect(wd0.value.model).toBe("TSMACH SIMULATED SATA DISK");
    expect(wd0.value.serial.length).toBeGreaterThan(0);
    const [start, n] = b.image.parts.get(2)!;
    const s2 = await block_get_info(b.client, await open("wd0s2", D_READ | D_WRITE));
    expect(
      s2.ok && [s2.value.first_sector, s2.value.sectors, s2.value.flags & BLOCK_INFO_READ_ONLY],
    ).toEqual([BigInt(start), BigInt(n), 0]);
  });

  it("block_read returns whole sectors equal to the image", async () => {
    const s2 = await open("wd0s2", D_READ);
    const [start] = b.image.parts.get(2)!;
    const r = await block_read(b.client, s2, 10n, 17);
    expect(
      r.ok &&
        Buffer.from(r.value.data).equals(Buffer.from(b.fileBytes((start + 10) * SS, 17 * SS))),
    ).toBe(true);
  });

  it("block_write (plain and FUA) lands exactly; block_flush answers after it", async () => {
    const s1 = await open("wd0s1", D_READ | D_WRITE);
    const [start] = b.image.parts.get(1)!;
    const before = Buffer.from(b.image.bytes());
    const a = new Uint8Array(3 * SS).fill(0xa5);
    const c = new Uint8Array(SS).fill(0x5c);
    const w1 = await block_write(b.client, s1, 4n, a, 0);
    const w2 = await block_write(b.client, s1, 9n, c, BLOCK_WRITE_FUA);
    expect(w1.ok && w1.value.count).toBe(3);
    expect(w2.ok && w2.value.count).toBe(1);
    expect((await block_flush(b.client, s1)).ok).toBe(true);
    Buffer.from(a).copy(before, (start + 4) * SS);
    Buffer.from(c).copy(before, (start + 9) * SS);
    expect(Buffer.from(b.image.bytes()).equals(before)).toBe(true);
  });

  it("block_write_zeroes zeroes exactly the sectors asked", async () => {
    const wd0 = await open("wd0", D_READ | D_WRITE);
    const before = Buffer.from(b.image.bytes());
    expect((await block_write_zeroes(b.client, wd0, 3000n, 2500)).ok).toBe(true);
    before.fill(0, 3000 * SS, 5500 * SS);
    expect(Buffer.from(b.image.bytes()).equals(before)).toBe(true);
  });
});
