// Test disks for the rump library: a patterned image with an MBR holding two primary partitions
// and an extended one with a logical, or a GPT with two named partitions; plus a faulty backend.
import * as fs from "node:fs";
import type { AccessWidth, MachineBackend, PhysAddr } from "../../src/machine/backend.js";
import { createTestDiskImage, type TestDiskImage } from "../../src/machine/test-disk-image.js";
import { crc32 } from "../../src/rump/wd/partitions.js";

export interface PartitionedImage extends TestDiskImage {
  /** [start, sectors] of wdNs1, s2, ... as the test expects them (by partition number). */
  parts: Map<number, [number, number]>;
  /** The whole image as it is on disk now. */
  bytes(): Buffer;
}

function mbrEntry(sector: Uint8Array, i: number, type: number, start: number, n: number): void {
  const v = new DataView(sector.buffer, sector.byteOffset);
  const e = 446 + i * 16;
  sector[e + 4] = type;
  v.setUint32(e + 8, start, true);
  v.setUint32(e + 12, n, true);
  sector[510] = 0x55;
  sector[511] = 0xaa;
}

function finish(img: TestDiskImage, parts: Map<number, [number, number]>): PartitionedImage {
  return { ...img, parts, bytes: () => fs.readFileSync(img.path) };
}

/**
 * `sectors` patterned sectors; MBR: s1 = [2048 (or 1/8), 1/4 of the disk), s2 right after it (1/4), an
 * extended partition over the rest holding one logical partition (s5).
 */
export function mbrImage(sectors = 16384): PartitionedImage {
  const img = createTestDiskImage({ sectors });
  const q = Math.floor(sectors / 4);
  const first = Math.min(2048, q / 2);
  const s1: [number, number] = [first, q - first];
  const s2: [number, number] = [q, q];
  const ext: [number, number] = [2 * q, sectors - 2 * q];
  const s5: [number, number] = [ext[0] + 63, ext[1] - 63];
  const fd = fs.openSync(img.path, "r+");
  const mbr = new Uint8Array(512);
  fs.readSync(fd, mbr, 0, 512, 0);
  mbr.fill(0, 446, 512);
  mbrEntry(mbr, 0, 0x83, ...s1);
  mbrEntry(mbr, 1, 0xa9, ...s2);
  mbrEntry(mbr, 2, 0x05, ...ext);
  fs.writeSync(fd, mbr, 0, 512, 0);
  const ebr = new Uint8Array(512);
  fs.readSync(fd, ebr, 0, 512, ext[0] * 512);
  ebr.fill(0, 446, 512);
  mbrEntry(ebr, 0, 0x83, 63, s5[1]);
  fs.writeSync(fd, ebr, 0, 512, ext[0] * 512);
  fs.closeSync(fd);
  return finish(
    img,
    new Map([
      [1, s1],
      [2, s2],
      [5, s5],
    ]),
  );
}

function guidBytes(text: string): Uint8Array {
  const h = text.replace(/-/g, "");
  const b = Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
  // Mixed-endian: the first three fields little-endian.
  return Uint8Array.from([
    b[3]!,
    b[2]!,
    b[1]!,
    b[0]!,
    b[5]!,
    b[4]!,
    b[7]!,
    b[6]!,
    ...b.subarray(8),
  ]);
}

export const GPT_LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

/** A protective MBR and a GPT (header at LBA 1, 128 entries at LBA 2) with two partitions. */
export function gptImage(sectors = 16384): PartitionedImage {
  const img = createTestDiskImage({ sectors });
  const s1: [number, number] = [2048, 4096];
  const s2: [number, number] = [8192, sectors - 34 - 8192];
  const fd = fs.openSync(img.path, "r+");
  const mbr = new Uint8Array(512);
  mbrEntry(mbr, 0, 0xee, 1, sectors - 1);
  fs.writeSync(fd, mbr, 0, 512, 0);
  const entries = new Uint8Array(128 * 128);
  const ev = new DataView(entries.buffer);
  [s1, s2].forEach(([start, n], i) => {
    const e = i * 128;
    entries.set(guidBytes(GPT_LINUX), e);
    entries.set(guidBytes(`00000000-0000-0000-0000-00000000000${i + 1}`), e + 16);
    ev.setBigUint64(e + 32, BigInt(start), true);
    ev.setBigUint64(e + 40, BigInt(start + n - 1), true);
    const name = i === 0 ? "boot" : "data";
    for (let j = 0; j < name.length; j++) ev.setUint16(e + 56 + 2 * j, name.charCodeAt(j), true);
  });
  fs.writeSync(fd, entries, 0, entries.length, 2 * 512);
  const hdr = new Uint8Array(512);
  const hv = new DataView(hdr.buffer);
  hdr.set(new TextEncoder().encode("EFI PART"), 0);
  hv.setUint32(8, 0x00010000, true);
  hv.setUint32(12, 92, true);
  hv.setBigUint64(24, 1n, true);
  hv.setBigUint64(32, BigInt(sectors - 1), true);
  hv.setBigUint64(40, 34n, true);
  hv.setBigUint64(48, BigInt(sectors - 34), true);
  hv.setBigUint64(72, 2n, true);
  hv.setUint32(80, 128, true);
  hv.setUint32(84, 128, true);
  hv.setUint32(88, crc32(entries), true);
  hv.setUint32(16, crc32(hdr.subarray(0, 92)), true);
  fs.writeSync(fd, hdr, 0, 512, 512);
  fs.closeSync(fd);
  return finish(
    img,
    new Map([
      [1, s1],
      [2, s2],
    ]),
  );
}

/** Faults a test can switch on in a FaultyBackend. */
export interface Faults {
  /** Swallow every interrupt (the driver must fall back to polling). */
  dropInterrupts: boolean;
  /** Ignore the next N writes to any port's PxCI (a command the HBA never sees). */
  dropCiWrites: number;
  /** Hide the shared memory (the driver must use bus_dma syncs, as on QEMU). */
  hideSharedMemory: boolean;
}

/**
 * A MachineBackend in front of another that injects faults. `ciOffsets` are the ABAR-relative
 * addresses of PxCI, matched against MMIO writes at abar + offset.
 */
export function faultyBackend(
  inner: MachineBackend,
  faults: Faults,
): MachineBackend & { abar: number } {
  const self = {
    abar: 0,
    get kind() {
      return inner.kind;
    },
    get writable() {
      return inner.writable;
    },
    portRead: (p: number, w: AccessWidth) => inner.portRead(p, w),
    portWrite: (p: number, w: AccessWidth, v: number) => inner.portWrite(p, w, v),
    mmioRead: (a: PhysAddr, w: AccessWidth) => inner.mmioRead(a, w),
    async mmioWrite(a: PhysAddr, w: AccessWidth, v: number) {
      const off = a - self.abar;
      if (
        self.abar &&
        off >= 0x100 &&
        off < 0x1100 &&
        (off - 0x100) % 0x80 === 0x38 &&
        faults.dropCiWrites > 0
      ) {
        faults.dropCiWrites--;
        return;
      }
      return inner.mmioWrite(a, w, v);
    },
    memRead: (a: PhysAddr, n: number) => inner.memRead(a, n),
    memWrite: (a: PhysAddr, d: Uint8Array) => inner.memWrite(a, d),
    ramRanges: () => inner.ramRanges(),
    onInterrupt: (l: (line: number) => void) =>
      inner.onInterrupt((line) => {
        if (!faults.dropInterrupts) l(line);
      }),
    endOfInterrupt: (line: number) => inner.endOfInterrupt?.(line) ?? Promise.resolve(),
    allocDma: (n: number, a?: number) => inner.allocDma(n, a),
    freeDma: (a: PhysAddr) => inner.freeDma(a),
    powerOff: () => inner.powerOff(),
    close: () => inner.close(),
  };
  const shared = inner.sharedMemory?.bind(inner);
  return Object.assign(self, shared && !faults.hideSharedMemory ? { sharedMemory: shared } : {});
}
