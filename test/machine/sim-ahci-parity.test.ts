// The same AHCI scenarios against the simulated controller and against QEMU's ICH9 AHCI: what
// a driver relies on (reset, start, IDENTIFY, DMA, NCQ, errors, COMRESET) must hold on both.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MachineBackend } from "../../src/machine/backend.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { QemuBackend } from "../../src/machine/qemu/qemu-backend.js";
import {
  createTestDiskImage,
  expectedSectors,
  type TestDiskImage,
} from "../../src/machine/test-disk-image.js";
import { need } from "../helpers/tools.js";
import { AhciTestDriver } from "./ahci-test-driver.js";

const SECTORS = 8192;
const TFES = 1 << 30;

type Start = (image: string) => Promise<MachineBackend>;

const backends: [string, boolean, Start][] = [
  [
    "sim",
    true,
    async (image) => {
      const r = SimBackend.create({
        memory: "64M",
        devices: [{ type: "ahci", disks: [{ port: 0, image }] }],
      });
      if (!r.ok) throw new Error(r.errors[0]!.message);
      return r.value;
    },
  ],
  ["qemu", need("qemu"), (image) => QemuBackend.start({ disk: image })],
];

for (const [name, available, start] of backends) {
  describe.skipIf(!available)(`AHCI driver scenarios on ${name}`, () => {
    let img: TestDiskImage;
    let m: MachineBackend;
    let d: AhciTestDriver;
    let buf = 0;

    beforeAll(async () => {
      img = createTestDiskImage({ sectors: SECTORS });
      m = await start(img.path);
      d = new AhciTestDriver(m);
      await d.init();
      buf = await m.allocDma(65536);
    }, 60_000);
    afterAll(async () => {
      await m?.close();
      img?.cleanup();
    });

    it("resets to an AHCI-enabled HBA with NCQ, 32 slots and six ports, a disk on port 0", async () => {
      const cap = await d.r(0x00);
      expect(cap & (1 << 30)).not.toBe(0);
      expect((cap >> 8) & 0x1f).toBe(31);
      expect(await d.r(0x0c)).toBe(0x3f);
      expect((await d.r(0x04)) >>> 31).toBe(1);
      expect((await d.pr(0, 0x28)) & 0xf).toBe(3);
      expect((await d.pr(1, 0x28)) & 0xf).toBe(0);
    });

    it("starts port 0 and shows the ATA signature once FIS receive is on", async () => {
      await d.startPort(0);
      expect((await d.pr(0, 0x18)) & 0xc011).toBe(0xc011);
      expect(await d.pr(0, 0x24)).toBe(0x101);
      expect((await d.pr(0, 0x20)) & 0x88).toBe(0);
      expect((await m.memRead(d.fb.get(0)! + 0x40, 1))[0]).toBe(0x34);
    });

    it("IDENTIFY DEVICE reports the LBA48 capacity and NCQ", async () => {
      const is = await d.run(0, 0, { command: 0xec }, [{ addr: buf, length: 512 }]);
      expect(is & TFES).toBe(0);
      expect(is & 0x2).not.toBe(0); // PIO Setup FIS
      expect(await d.pr(0, 0x38)).toBe(0);
      const id = await m.memRead(buf, 512);
      const w = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
      expect(w(100) + w(101) * 0x10000).toBe(SECTORS);
      expect(w(76) & 0x100).not.toBe(0);
      await d.pw(0, 0x10, 0xffffffff);
    });

    it("reads by DMA and counts the bytes in PRDBC", async () => {
      const is = await d.run(0, 1, { command: 0x25, lba: 100, count: 16 }, [
        { addr: buf, length: 8192 },
      ]);
      expect(is & 1).not.toBe(0);
      expect(
        Buffer.from(await m.memRead(buf, 8192)).equals(Buffer.from(expectedSectors(100, 16))),
      ).toBe(true);
      const hdr = await m.memRead(d.clb.get(0)! + 32, 8);
      expect(new DataView(hdr.buffer, hdr.byteOffset).getUint32(4, true)).toBe(8192);
      await d.pw(0, 0x10, 0xffffffff);
    });

    it("completes eight queued reads with Set Device Bits FISes", async () => {
      for (let s = 0; s < 8; s++) {
        await d.build(
          0,
          s,
          { command: 0x60, lba: 200 + s * 8, features: 8, count: s << 3, device: 0x40 },
          [{ addr: buf + s * 4096, length: 4096 }],
        );
      }
      await d.issue(0, 0xff, true);
      const is = await d.wait(0, 0xff, true);
      expect(is & TFES).toBe(0);
      expect(is & 0x8).not.toBe(0);
      expect(await d.pr(0, 0x34)).toBe(0);
      expect(
        Buffer.from(await m.memRead(buf, 32768)).equals(Buffer.from(expectedSectors(200, 64))),
      ).toBe(true);
      expect((await m.memRead(d.fb.get(0)! + 0x58, 1))[0]).toBe(0xa1);
      await d.pw(0, 0x10, 0xffffffff);
    });

    it("fails an unknown command with TFES and ERR/ABRT, keeps its CI bit, and recovers", async () => {
      const is = await d.run(0, 4, { command: 0xfe }, []);
      expect(is & TFES).not.toBe(0);
      const tfd = await d.pr(0, 0x20);
      expect(tfd & 1).toBe(1);
      expect((tfd >> 8) & 0x04).toBe(0x04);
      expect(await d.pr(0, 0x38)).toBe(1 << 4);
      await d.recover(0);
      expect(await d.pr(0, 0x38)).toBe(0);
      expect((await d.pr(0, 0x20)) & 0x89).toBe(0);
      const ok = await d.run(0, 5, { command: 0x25, lba: 7, count: 1 }, [
        { addr: buf, length: 512 },
      ]);
      expect(ok & TFES).toBe(0);
      expect(
        Buffer.from(await m.memRead(buf, 512)).equals(Buffer.from(expectedSectors(7, 1))),
      ).toBe(true);
    });

    it("fails a read past the end with a task-file error, then flushes after recovery", async () => {
      const is = await d.run(0, 5, { command: 0x25, lba: SECTORS - 1, count: 2 }, [
        { addr: buf, length: 1024 },
      ]);
      expect(is & TFES).not.toBe(0);
      expect((await d.pr(0, 0x20)) & 1).toBe(1);
      await d.recover(0);
      const f = await d.run(0, 6, { command: 0xea }, []);
      expect(f & TFES).toBe(0);
      expect(f & 1).not.toBe(0);
    });
  });
}
