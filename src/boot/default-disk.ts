// The built-in default disk `tsmach boot` uses without --disk: a 64 MiB raw image made on first
// start in the data folder, with an MBR, two Linux partitions and content anyone can recompute.
import * as fs from "node:fs";
import * as path from "node:path";
import { sectorPattern } from "../machine/test-disk-image.js";

export const DEFAULT_DISK_NAME = "default-disk.img";
export const DEFAULT_DISK_SECTOR_SIZE = 512;
/** 64 MiB. */
export const DEFAULT_DISK_SECTORS = 131072;

/** A partition of the default disk: MBR slot (1-based), type, first sector, length. */
export interface DefaultPartition {
  readonly index: number;
  readonly type: number;
  readonly start: number;
  readonly sectors: number;
}

/** wd0s1: 16 MiB at 1 MiB; wd0s2: the rest. Both MBR type 0x83 (Linux). */
export const DEFAULT_PARTITIONS: readonly DefaultPartition[] = [
  { index: 1, type: 0x83, start: 2048, sectors: 32768 },
  { index: 2, type: 0x83, start: 34816, sectors: DEFAULT_DISK_SECTORS - 34816 },
];

/** The text at the start of partition `index` (the rest of that sector is zero). */
export function partitionBanner(index: number): string {
  return `tsmach default disk, partition ${index}: hello from wd0s${index}\n`;
}

function mbr(): Uint8Array {
  const s = new Uint8Array(DEFAULT_DISK_SECTOR_SIZE);
  const v = new DataView(s.buffer);
  const text = new TextEncoder().encode("tsmach default disk (MBR)\n");
  s.set(text, 0);
  v.setUint32(440, 0x7473_6d63, true); // disk signature "cmst"
  for (const [i, p] of DEFAULT_PARTITIONS.entries()) {
    const e = 446 + i * 16;
    s[e + 1] = 0xfe; // CHS fields: "use LBA"
    s[e + 2] = 0xff;
    s[e + 3] = 0xff;
    s[e + 4] = p.type;
    s[e + 5] = 0xfe;
    s[e + 6] = 0xff;
    s[e + 7] = 0xff;
    v.setUint32(e + 8, p.start, true);
    v.setUint32(e + 12, p.sectors, true);
  }
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

/** The content sector `lba` of a fresh default disk has. */
export function defaultDiskSector(lba: number): Uint8Array {
  if (lba === 0) return mbr();
  const p = DEFAULT_PARTITIONS.find((x) => x.start === lba);
  if (p) {
    const s = new Uint8Array(DEFAULT_DISK_SECTOR_SIZE);
    s.set(new TextEncoder().encode(partitionBanner(p.index)));
    return s;
  }
  return sectorPattern(lba, DEFAULT_DISK_SECTOR_SIZE);
}

/** Bytes [offset, offset+length) of a fresh default disk. */
export function defaultDiskBytes(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const ss = DEFAULT_DISK_SECTOR_SIZE;
  for (let lba = Math.floor(offset / ss); lba * ss < offset + length; lba++) {
    const s = defaultDiskSector(lba);
    const from = Math.max(offset, lba * ss);
    const to = Math.min(offset + length, (lba + 1) * ss);
    out.set(s.subarray(from - lba * ss, to - lba * ss), from - offset);
  }
  return out;
}

/** Writes a fresh default disk to `file` (through a temporary name, so a crash leaves none). */
export function writeDefaultDisk(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    const chunk = 2048;
    const buf = new Uint8Array(chunk * DEFAULT_DISK_SECTOR_SIZE);
    for (let lba = 0; lba < DEFAULT_DISK_SECTORS; lba += chunk) {
      const n = Math.min(chunk, DEFAULT_DISK_SECTORS - lba);
      for (let i = 0; i < n; i++) buf.set(defaultDiskSector(lba + i), i * DEFAULT_DISK_SECTOR_SIZE);
      fs.writeSync(fd, buf, 0, n * DEFAULT_DISK_SECTOR_SIZE);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export type DefaultDiskResult =
  { ok: true; path: string; created: boolean } | { ok: false; error: string };

/** The default disk in `dataDir`, created there first if it is missing. */
export function ensureDefaultDisk(dataDir: string): DefaultDiskResult {
  const file = path.join(dataDir, DEFAULT_DISK_NAME);
  try {
    if (fs.existsSync(file)) return { ok: true, path: file, created: false };
    fs.mkdirSync(dataDir, { recursive: true });
    writeDefaultDisk(file);
    return { ok: true, path: file, created: true };
  } catch (e) {
    return {
      ok: false,
      error: `cannot create the default disk ${file}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
