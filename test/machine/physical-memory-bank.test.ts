// The high RAM bank: a view of shared memory attached above guest RAM, addressed, read and
// written like RAM, refused when misplaced; and a simulated AHCI reading and writing it by DMA.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendAccessError } from "../../src/machine/backend.js";
import {
  HIGH_BANK_BASE,
  LEGACY_HOLE_START,
  MIN_MEMORY,
  PhysicalMemory,
} from "../../src/machine/physical-memory.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import {
  createTestDiskImage,
  expectedSectors,
  type TestDiskImage,
} from "../../src/machine/test-disk-image.js";
import { AhciTestDriver } from "./ahci-test-driver.js";

const PAGE = 4096;

/** A shared buffer of `pages` pages with a one-page lead-in, so the bank view has a byteOffset. */
function sharedPages(pages: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer((pages + 1) * PAGE), PAGE, pages * PAGE);
}

function accessError(f: () => unknown): BackendAccessError {
  try {
    f();
  } catch (e) {
    if (e instanceof BackendAccessError) return e;
    throw new Error(`expected BackendAccessError, got ${String(e)}`);
  }
  throw new Error("expected BackendAccessError, nothing was thrown");
}

describe("PhysicalMemory.attachBank: where a bank may go", () => {
  it("attaches whole pages at a page-aligned start past a gap after main memory", () => {
    // Right at the end of main memory would let one DMA run span both (a window cannot).
    const atEnd = new PhysicalMemory(MIN_MEMORY);
    expect(atEnd.attachBank(MIN_MEMORY, sharedPages(1))).toBe(false);
    expect(atEnd.attachBank(MIN_MEMORY + PAGE, sharedPages(1))).toBe(true);
    expect(atEnd.highBank).toEqual([MIN_MEMORY + PAGE, MIN_MEMORY + 2 * PAGE]);
    const high = new PhysicalMemory(MIN_MEMORY);
    expect(high.highBank).toBeUndefined();
    expect(high.attachBank(HIGH_BANK_BASE, sharedPages(2))).toBe(true);
    expect(high.highBank).toEqual([HIGH_BANK_BASE, HIGH_BANK_BASE + 2 * PAGE]);
  });

  it("refuses a second bank, even where the first is not", () => {
    const mem = new PhysicalMemory(MIN_MEMORY);
    expect(mem.attachBank(HIGH_BANK_BASE, sharedPages(1))).toBe(true);
    expect(mem.attachBank(HIGH_BANK_BASE * 2, sharedPages(1))).toBe(false);
    expect(mem.highBank).toEqual([HIGH_BANK_BASE, HIGH_BANK_BASE + PAGE]);
  });

  it("refuses a start inside main memory, a misaligned start, odd lengths and an empty view", () => {
    const mem = new PhysicalMemory(MIN_MEMORY);
    expect(mem.attachBank(MIN_MEMORY - PAGE, sharedPages(1))).toBe(false);
    expect(() => mem.read32(MIN_MEMORY - 2)).toThrow(BackendAccessError);
    expect(() => mem.read32(-4)).toThrow(BackendAccessError);
    expect(() => mem.write32(MIN_MEMORY - 1, 0)).toThrow(BackendAccessError);
    expect(mem.attachBank(0, sharedPages(1))).toBe(false);
    expect(mem.attachBank(-PAGE, sharedPages(1))).toBe(false);
    expect(mem.attachBank(HIGH_BANK_BASE + 512, sharedPages(1))).toBe(false);
    expect(mem.attachBank(HIGH_BANK_BASE + 0.5, sharedPages(1))).toBe(false);
    expect(mem.attachBank(Number.NaN, sharedPages(1))).toBe(false);
    const sab = new SharedArrayBuffer(3 * PAGE);
    expect(mem.attachBank(HIGH_BANK_BASE, new Uint8Array(sab, 0, PAGE + 1))).toBe(false);
    expect(mem.attachBank(HIGH_BANK_BASE, new Uint8Array(sab, 0, PAGE / 2))).toBe(false);
    expect(mem.attachBank(HIGH_BANK_BASE, new Uint8Array(sab, 0, 0))).toBe(false);
    expect(mem.attachBank(2 ** 53 - PAGE, sharedPages(2))).toBe(false); // end past 2^53
    // None of those took: a proper bank still attaches.
    expect(mem.highBank).toBeUndefined();
    expect(mem.ramRanges()).toHaveLength(2);
    expect(mem.attachBank(HIGH_BANK_BASE, sharedPages(1))).toBe(true);
  });
});

describe("PhysicalMemory with a bank at HIGH_BANK_BASE", () => {
  const PAGES = 4;
  const BANK_END = HIGH_BANK_BASE + PAGES * PAGE;
  let mem: PhysicalMemory;
  let bank: Uint8Array;

  beforeAll(() => {
    mem = new PhysicalMemory(MIN_MEMORY);
    bank = sharedPages(PAGES);
    expect(mem.attachBank(HIGH_BANK_BASE, bank)).toBe(true);
  });

  it("lists the bank among the RAM ranges, after main memory's", () => {
    const r = mem.ramRanges();
    expect(r).toHaveLength(3);
    expect(r[0]).toEqual([0, LEGACY_HOLE_START]);
    expect(r[2]).toEqual([HIGH_BANK_BASE, BANK_END]);
  });

  it("contains and isRam: true inside the bank, false across its ends or in the gap", () => {
    for (const f of [mem.contains.bind(mem), mem.isRam.bind(mem)]) {
      expect(f(HIGH_BANK_BASE, PAGES * PAGE)).toBe(true);
      expect(f(HIGH_BANK_BASE + 100, 8)).toBe(true);
      expect(f(BANK_END - 1, 1)).toBe(true);
      expect(f(BANK_END - 4, 8)).toBe(false);
      expect(f(BANK_END, 1)).toBe(false);
      expect(f(HIGH_BANK_BASE - 4, 8)).toBe(false);
      expect(f(MIN_MEMORY, 4)).toBe(false); // between main memory and the bank
      expect(f(MIN_MEMORY - 4, 8)).toBe(false);
      expect(f(HIGH_BANK_BASE, -1)).toBe(false);
    }
    // Main memory unchanged: the legacy hole is memory but not RAM.
    expect(mem.contains(LEGACY_HOLE_START, 16)).toBe(true);
    expect(mem.isRam(LEGACY_HOLE_START, 16)).toBe(false);
  });

  it("window() aliases the bank's bytes both ways", () => {
    const w = mem.window(HIGH_BANK_BASE + PAGE + 10, 6);
    expect(w.buffer).toBe(bank.buffer);
    expect(w.byteOffset).toBe(bank.byteOffset + PAGE + 10);
    w.set([1, 2, 3, 4, 5, 6]);
    expect([...bank.subarray(PAGE + 10, PAGE + 16)]).toEqual([1, 2, 3, 4, 5, 6]);
    bank[PAGE + 12] = 0xee;
    expect(w[2]).toBe(0xee);
    // Main memory did not change at the matching offsets.
    expect([...mem.bytes.subarray(PAGE + 10, PAGE + 16)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("read/write and read32/write32/read64 work inside the bank, little-endian", () => {
    const at = HIGH_BANK_BASE + 2 * PAGE;
    mem.write(at, Uint8Array.of(9, 8, 7));
    expect([...bank.subarray(2 * PAGE, 2 * PAGE + 3)]).toEqual([9, 8, 7]);
    const copy = mem.read(at, 3);
    expect([...copy]).toEqual([9, 8, 7]);
    copy[0] = 0;
    expect(bank[2 * PAGE]).toBe(9); // read() is a copy
    mem.write32(at + 8, 0xdeadbeef);
    expect([...bank.subarray(2 * PAGE + 8, 2 * PAGE + 12)]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(mem.read32(at + 8)).toBe(0xdeadbeef);
    mem.write32(at + 16, 0x89abcdef);
    mem.write32(at + 20, 0x001234);
    expect(mem.read64(at + 16)).toBe(0x1234 * 0x1_0000_0000 + 0x89abcdef);
    mem.write32(BANK_END - 4, 0x01020304); // the last word of the bank
    expect(mem.read32(BANK_END - 4)).toBe(0x01020304);
    expect(bank[PAGES * PAGE - 1]).toBe(0x01);
  });

  it("main memory still reads and writes at its own addresses", () => {
    mem.write32(0x200000 - 8, 0x11223344);
    expect(mem.view.getUint32(0x200000 - 8, true)).toBe(0x11223344);
    expect(mem.read32(0x200000 - 8)).toBe(0x11223344);
  });

  it("accesses outside both main memory and the bank throw BackendAccessError out-of-range", () => {
    const cases: [string, () => unknown][] = [
      ["window in the gap", () => mem.window(MIN_MEMORY, 4)],
      ["window across the bank's end", () => mem.window(BANK_END - 2, 4)],
      ["window past the bank", () => mem.window(BANK_END, 1)],
      ["window across the bank's start", () => mem.window(HIGH_BANK_BASE - 2, 4)],
      ["read past the bank", () => mem.read(BANK_END, 16)],
      ["write past the bank", () => mem.write(BANK_END - 1, Uint8Array.of(1, 2))],
      ["read32 in the gap", () => mem.read32(MIN_MEMORY)],
      ["read32 across the bank's end", () => mem.read32(BANK_END - 2)],
      ["write32 past the bank", () => mem.write32(BANK_END, 1)],
      ["read64 whose high word is past the bank", () => mem.read64(BANK_END - 4)],
    ];
    for (const [what, f] of cases) {
      const e = accessError(f);
      expect(e.reason, what).toBe("out-of-range");
      expect(e.message, what).toMatch(/outside guest memory.*bank at 0x100000000/);
    }
    // Nothing was written by the refused write.
    expect(bank[PAGES * PAGE - 1]).toBe(0x01);
  });
});

describe("SimBackend.attachSharedBank and AHCI DMA into the bank", () => {
  const PAGES = 16;
  let img: TestDiskImage;
  let m: SimBackend;
  let bank: Uint8Array;

  beforeAll(() => {
    img = createTestDiskImage({ sectors: 256 });
    const r = SimBackend.create({
      memory: "4M",
      devices: [{ type: "ahci", disks: [{ port: 0, image: img.path }] }],
    });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
    m = r.value;
    bank = sharedPages(PAGES);
  });

  afterAll(async () => {
    await m.close();
    img.cleanup();
  });

  it("attaches at HIGH_BANK_BASE once, then refuses", async () => {
    expect(m.attachSharedBank(bank)).toBe(HIGH_BANK_BASE);
    expect(m.attachSharedBank(sharedPages(1))).toBeUndefined();
    expect(m.ramRanges()).toContainEqual([HIGH_BANK_BASE, HIGH_BANK_BASE + PAGES * PAGE]);
    bank[5] = 0x5a;
    expect((await m.memRead(HIGH_BANK_BASE + 5, 1))[0]).toBe(0x5a);
    await m.memWrite(HIGH_BANK_BASE + 6, Uint8Array.of(0xa5));
    expect(bank[6]).toBe(0xa5);
  });

  it("a disk read lands in the bank, a write goes out from it, a PRD past its end faults", async () => {
    const d = new AhciTestDriver(m);
    await d.init();
    await d.startPort(0);
    // Read 8 sectors into the bank's second page, split over two PRDs (64-bit addresses).
    const at = HIGH_BANK_BASE + PAGE;
    const prds = [
      { addr: at, length: 1024 },
      { addr: at + 1024, length: 3072 },
    ];
    let is = await d.run(0, 0, { command: 0x25, lba: 40, count: 8 }, prds);
    expect(is & (1 << 30)).toBe(0);
    expect(Buffer.from(bank.subarray(PAGE, 2 * PAGE)).equals(expectedSectors(40, 8))).toBe(true);
    await d.pw(0, 0x10, 0xffffffff);
    // Write two sectors from the bank, read them back into main memory.
    const data = bank.subarray(3 * PAGE, 3 * PAGE + 1024);
    data.forEach((_, i) => (data[i] = (i * 13 + 1) & 0xff));
    is = await d.run(
      0,
      1,
      { command: 0x35, lba: 7, count: 2 },
      [{ addr: HIGH_BANK_BASE + 3 * PAGE, length: 1024 }],
      true,
    );
    expect(is & (1 << 30)).toBe(0);
    await d.pw(0, 0x10, 0xffffffff);
    const low = await m.allocDma(1024);
    is = await d.run(0, 2, { command: 0x25, lba: 7, count: 2 }, [{ addr: low, length: 1024 }]);
    expect(is & (1 << 30)).toBe(0);
    expect(Buffer.from(await m.memRead(low, 1024)).equals(data)).toBe(true);
    await d.pw(0, 0x10, 0xffffffff);
    // A PRD running two bytes past the bank (DBA is word-aligned): host bus fatal, nothing written.
    const last = HIGH_BANK_BASE + (PAGES - 1) * PAGE;
    is = await d.run(0, 3, { command: 0x25, lba: 0, count: 8 }, [{ addr: last + 2, length: PAGE }]);
    expect(is & (1 << 29)).not.toBe(0);
    expect(bank.subarray((PAGES - 1) * PAGE).every((b) => b === 0)).toBe(true);
  });
});
