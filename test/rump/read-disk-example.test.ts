// The example program from the talk (examples/read-disk.ts) run as users would run it: on the
// simulated PC and on QEMU, it boots, opens /dev/rwd0d read-only, prints what it read, reboots.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexdump, main } from "../../examples/read-disk.js";
import { rump_kernel } from "../../src/rump/rump-sys.js";
import { need } from "../helpers/tools.js";
import { mbrImage, type PartitionedImage } from "./fixtures.js";

function expectedDump(image: Buffer, offset: number, length: number): string[] {
  return hexdump(image.subarray(offset, offset + length), offset);
}

describe("examples/read-disk.ts", () => {
  let img: PartitionedImage;
  beforeAll(() => {
    img = mbrImage(4096);
  });
  afterAll(() => img?.cleanup());

  it("reads /dev/rwd0d on the simulated PC and prints the bytes of the image", async () => {
    const out: string[] = [];
    const before = img.bytes();
    expect(await main([img.path, "1000", "100"], (l) => out.push(l))).toBe(0);
    expect(out).toContain("read 100 bytes at offset 1000 of /dev/rwd0d:");
    const dump = out.slice(out.indexOf("read 100 bytes at offset 1000 of /dev/rwd0d:") + 1);
    expect(dump).toEqual(expectedDump(before, 1000, 100));
    expect(out.some((l) => /^wd0 at ahcisata0 port 0: </.test(l))).toBe(true);
    // It rebooted: no rump kernel is left, and the image is untouched.
    expect(rump_kernel()).toBeUndefined();
    expect(Buffer.compare(img.bytes(), before)).toBe(0);
  });

  it("prints the MBR signature at the end of sector 0", async () => {
    const out: string[] = [];
    expect(await main([img.path, "496", "16"], (l) => out.push(l))).toBe(0);
    expect(out.at(-1)).toMatch(/^000001f0  .* 55 aa  \|/);
  });

  it("explains its usage and fails cleanly on bad arguments or a missing image", async () => {
    const out: string[] = [];
    expect(await main([], (l) => out.push(l))).toBe(2);
    expect(out[0]).toMatch(/^usage: read-disk/);
    expect(await main(["--machine", "vax", img.path], (l) => out.push(l))).toBe(2);
    expect(await main(["/nonexistent/disk.img"], (l) => out.push(l))).toBe(1);
    expect(out.at(-1)).toMatch(/cannot start the machine: .*nonexistent/);
  });

  it.skipIf(!need("qemu"))(
    "runs on QEMU too (--machine qemu)",
    async () => {
      const out: string[] = [];
      expect(await main(["--machine", "qemu", img.path, "4096", "48"], (l) => out.push(l))).toBe(0);
      expect(out.some((l) => /<QEMU HARDDISK>/.test(l))).toBe(true);
      expect(out.slice(-3)).toEqual(expectedDump(img.bytes(), 4096, 48));
    },
    60_000,
  );
});
