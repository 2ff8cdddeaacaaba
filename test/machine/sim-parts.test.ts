// Building blocks of the simulated PC on their own: AML encodings, the DMA allocator, the
// interrupt controller's edge/level semantics and the disk image's error values.
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { eisaId, integer, nameString, pkgLength } from "../../src/machine/aml-builder.js";
import { DmaAllocator } from "../../src/machine/dma-allocator.js";
import { InterruptController } from "../../src/machine/interrupt-controller.js";
import { DiskImage } from "../../src/machine/disk-image.js";
import { createTestDiskImage, expectedSectors } from "../../src/machine/test-disk-image.js";

function decodePkgLength(b: Uint8Array): { total: number; size: number } {
  const n = b[0]! >> 6;
  if (n === 0) return { total: b[0]! & 0x3f, size: 1 };
  let total = b[0]! & 0x0f;
  for (let i = 1; i <= n; i++) total |= b[i]! << (4 + 8 * (i - 1));
  return { total, size: n + 1 };
}

describe("AML builder", () => {
  it("encodes PkgLength so that it counts its own bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x0fff_fff0 }), (len) => {
        const enc = pkgLength(len);
        const { total, size } = decodePkgLength(enc);
        expect(size).toBe(enc.length);
        expect(total).toBe(len + enc.length);
      }),
    );
  });

  it("encodes integers, names and EISA ids as ACPI defines them", () => {
    expect([...integer(0)]).toEqual([0x00]);
    expect([...integer(1)]).toEqual([0x01]);
    expect([...integer(0x17)]).toEqual([0x0a, 0x17]);
    expect([...integer(0x1234)]).toEqual([0x0b, 0x34, 0x12]);
    expect([...integer(0x1fffff)]).toEqual([0x0c, 0xff, 0xff, 0x1f, 0x00]);
    expect(integer(2n ** 40n).length).toBe(9);
    expect([...nameString("\\_SB.PCI0")]).toEqual([0x5c, 0x2e, ...Buffer.from("_SB_PCI0")]);
    expect([...nameString("_S5")]).toEqual([...Buffer.from("_S5_")]);
    expect([...eisaId("PNP0A03")]).toEqual([0x0c, 0x41, 0xd0, 0x0a, 0x03]);
    expect(() => nameString("bad!")).toThrow(RangeError);
  });
});

describe("DMA allocator", () => {
  it("hands out aligned, disjoint blocks and takes them back", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            len: fc.integer({ min: 1, max: 70000 }),
            alignLog: fc.integer({ min: 0, max: 16 }),
          }),
          { maxLength: 40 },
        ),
        (reqs) => {
          const a = new DmaAllocator(0x100000, 0x100000 + 4 * 1024 * 1024);
          const got: [number, number][] = [];
          for (const r of reqs) {
            let addr: number;
            try {
              addr = a.alloc(r.len, 1 << r.alignLog);
            } catch {
              continue;
            }
            expect(addr % (1 << r.alignLog)).toBe(0);
            for (const [s, e] of got) expect(addr + r.len <= s || addr >= e).toBe(true);
            got.push([addr, addr + r.len]);
          }
          for (const [s] of got) a.release(s);
          expect(a.inUse()).toBe(0);
          expect(a.alloc(4 * 1024 * 1024, 1)).toBe(0x100000);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("refuses bad lengths, alignments and frees as errors", () => {
    const a = new DmaAllocator(0x100000, 0x200000);
    expect(() => a.alloc(0)).toThrow(/positive/);
    expect(() => a.alloc(16, 3)).toThrow(/power of two/);
    expect(() => a.alloc(0x200000)).toThrow(/no 2097152 bytes/);
    expect(() => a.release(0x12345)).toThrow(/not an allocated/);
  });
});

describe("interrupt controller", () => {
  it("delivers edges once, level lines on every rising edge, nothing while masked", () => {
    const ic = new InterruptController();
    const seen: number[] = [];
    ic.onInterrupt((l) => seen.push(l));
    ic.pulse(4);
    expect(seen).toEqual([4]);
    expect(ic.trigger(4)).toBe("edge");
    expect(ic.trigger(17)).toBe("level");
    ic.setLevel(17, true);
    ic.setLevel(17, true); // still asserted: no new delivery
    ic.setLevel(17, false);
    ic.setLevel(17, true);
    expect(seen).toEqual([4, 17, 17]);
    ic.setLevel(17, false);
    ic.mask(5);
    ic.pulse(5); // an edge on a masked line is lost, as on an IOAPIC
    ic.unmask(5);
    expect(seen).toEqual([4, 17, 17]);
    expect(() => ic.setLevel(24, true)).toThrow(RangeError);
  });

  it("holds a level line in service until end of interrupt once EOI is in use", () => {
    const ic = new InterruptController();
    const seen: number[] = [];
    ic.onInterrupt((l) => seen.push(l));
    ic.setLevel(18, true);
    ic.endOfInterrupt(18); // still asserted: delivered again
    expect(seen).toEqual([18, 18]);
    ic.setLevel(18, false);
    ic.setLevel(18, true); // in service: held
    expect(seen).toEqual([18, 18]);
    ic.endOfInterrupt(18);
    expect(seen).toEqual([18, 18, 18]);
  });
});

describe("disk image", () => {
  const img = createTestDiskImage({ sectors: 8 });
  afterAll(() => img.cleanup());

  it("reads into and writes from views without copies, zero-filling past the end", () => {
    const r = DiskImage.open(img.path);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const disk = r.value;
    expect(disk.sectors).toBe(8);
    const ram = new Uint8Array(new SharedArrayBuffer(4096));
    expect(disk.read(512, ram.subarray(1024, 2048)).ok).toBe(true);
    expect(Buffer.from(ram.subarray(1024, 2048)).equals(Buffer.from(expectedSectors(1, 2)))).toBe(
      true,
    );
    ram.fill(0xab, 0, 512);
    expect(disk.write(7 * 512, ram.subarray(0, 512)).ok).toBe(true);
    expect(disk.flush().ok).toBe(true);
    expect(
      fs
        .readFileSync(img.path)
        .subarray(7 * 512)
        .every((b) => b === 0xab),
    ).toBe(true);
    ram.fill(1, 0, 1024);
    expect(disk.read(7 * 512, ram.subarray(0, 1024)).ok).toBe(true);
    expect(ram.subarray(512, 1024).every((b) => b === 0)).toBe(true);
    disk.close();
  });

  it("returns D_* error values for missing, empty and read-only images", () => {
    const missing = DiskImage.open(path.join(img.dir, "nope.img"));
    expect(!missing.ok && missing.error.code).toBe("D_NO_SUCH_DEVICE");
    const empty = path.join(img.dir, "empty.img");
    fs.writeFileSync(empty, Buffer.alloc(100));
    const e = DiskImage.open(empty);
    expect(!e.ok && e.error.code).toBe("D_INVALID_SIZE");
    const ro = DiskImage.open(img.path, { readOnly: true });
    if (!ro.ok) throw new Error("open failed");
    const w = ro.value.write(0, new Uint8Array(512));
    expect(!w.ok && w.error.code).toBe("D_READ_ONLY");
    ro.value.close();
    expect(DiskImage.open(img.dir).ok).toBe(false);
  });
});
