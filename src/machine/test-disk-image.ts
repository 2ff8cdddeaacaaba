// Quick test disk images: a raw image in a fresh temp dir whose every sector holds a known,
// LBA-dependent pattern, so readers can check any byte range without keeping a copy.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The content of sector `lba`: its LBA as 64-bit little-endian, then an LBA-seeded xorshift. */
export function sectorPattern(lba: number, sectorSize = 512): Uint8Array {
  const out = new Uint8Array(sectorSize);
  const v = new DataView(out.buffer);
  v.setUint32(0, lba >>> 0, true);
  v.setUint32(4, Math.floor(lba / 0x1_0000_0000), true);
  let x = (lba * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  for (let i = 8; i < sectorSize; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    v.setUint32(i, x, true);
  }
  return out;
}

/** The expected bytes of [lba, lba+count). */
export function expectedSectors(lba: number, count: number, sectorSize = 512): Uint8Array {
  const out = new Uint8Array(count * sectorSize);
  for (let i = 0; i < count; i++) out.set(sectorPattern(lba + i, sectorSize), i * sectorSize);
  return out;
}

export interface TestDiskImage {
  dir: string;
  path: string;
  sectors: number;
  sectorSize: number;
  /** Removes the temp dir. */
  cleanup(): void;
}

/** Creates `sectors` sectors of sectorPattern content in a new temp dir (default 16 MiB). */
export function createTestDiskImage(
  options: { sectors?: number; sectorSize?: number; name?: string } = {},
): TestDiskImage {
  const sectorSize = options.sectorSize ?? 512;
  const sectors = options.sectors ?? 32768;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmach-disk-"));
  const file = path.join(dir, options.name ?? "disk.img");
  const fd = fs.openSync(file, "w");
  try {
    const chunk = 2048;
    for (let lba = 0; lba < sectors; lba += chunk) {
      const n = Math.min(chunk, sectors - lba);
      fs.writeSync(fd, expectedSectors(lba, n, sectorSize));
    }
  } finally {
    fs.closeSync(fd);
  }
  return {
    dir,
    path: file,
    sectors,
    sectorSize,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
