// Partition tables a disk carries: MBR primary entries (wdNs1..s4), logical partitions in an
// extended partition (s5 on), and GPT (wdNsM, M = entry index + 1), with GPT CRC checks.

export interface Partition {
  /** M in wdNsM. */
  index: number;
  /** First sector and sector count. */
  start: number;
  sectors: number;
  scheme: "mbr" | "gpt";
  /** MBR system id, or the GPT type GUID. */
  type: string;
  /** GPT partition name, when it has one. */
  name?: string;
}

export interface PartitionTable {
  scheme: "mbr" | "gpt" | "none";
  partitions: Partition[];
  /** Problems found (bad CRC, entries past the end); the usable entries are still returned. */
  warnings: string[];
}

/** Reads `count` sectors at `lba`; undefined on an I/O error. */
export type SectorReader = (lba: number, count: number) => Promise<Uint8Array | undefined>;

const MBR_SIGNATURE = 0xaa55;
const MBR_TABLE = 446;
const MBR_PROTECTIVE = 0xee;
const MBR_EXTENDED = new Set([0x05, 0x0f, 0x85]);
const MAX_LOGICAL = 128;
const GPT_SIGNATURE = "EFI PART";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function guid(b: Uint8Array): string {
  const h = (i: number) => b[i]!.toString(16).padStart(2, "0");
  return (
    [3, 2, 1, 0].map(h).join("") +
    "-" +
    [5, 4].map(h).join("") +
    "-" +
    [7, 6].map(h).join("") +
    "-" +
    [8, 9].map(h).join("") +
    "-" +
    [10, 11, 12, 13, 14, 15].map(h).join("")
  ).toUpperCase();
}

interface MbrEntry {
  type: number;
  start: number;
  sectors: number;
}

function mbrEntries(sector: Uint8Array): MbrEntry[] | undefined {
  const v = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  if (sector.length < 512 || v.getUint16(510, true) !== MBR_SIGNATURE) return undefined;
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const e = MBR_TABLE + i * 16;
    out.push({
      type: sector[e + 4]!,
      start: v.getUint32(e + 8, true),
      sectors: v.getUint32(e + 12, true),
    });
  }
  return out;
}

async function readGpt(
  read: SectorReader,
  total: number,
  sectorSize: number,
  warnings: string[],
): Promise<Partition[] | undefined> {
  const hdr = await read(1, 1);
  if (!hdr) return undefined;
  const v = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  if (String.fromCharCode(...hdr.subarray(0, 8)) !== GPT_SIGNATURE) return undefined;
  const hsize = v.getUint32(12, true);
  if (hsize < 92 || hsize > sectorSize) {
    warnings.push(`GPT header size ${hsize} is invalid`);
    return undefined;
  }
  const stored = v.getUint32(16, true);
  const copy = new Uint8Array(hdr.subarray(0, hsize)); // a copy, whatever kind of array hdr is
  new DataView(copy.buffer).setUint32(16, 0, true);
  if (crc32(copy) !== stored) {
    warnings.push("GPT header CRC mismatch");
    return undefined;
  }
  const entriesLba = Number(v.getBigUint64(72, true));
  const count = v.getUint32(80, true);
  const esize = v.getUint32(84, true);
  if (esize < 128 || esize % 8 || count > 4096 || entriesLba >= total) {
    warnings.push("GPT partition entry array is invalid");
    return undefined;
  }
  const bytes = count * esize;
  const nsec = Math.ceil(bytes / sectorSize);
  if (entriesLba + nsec > total) {
    warnings.push("GPT partition entry array runs past the end of the disk");
    return undefined;
  }
  const arr = await read(entriesLba, nsec);
  if (!arr) return undefined;
  if (crc32(arr.subarray(0, bytes)) !== v.getUint32(88, true))
    warnings.push("GPT partition entry array CRC mismatch");
  const out: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = arr.subarray(i * esize, (i + 1) * esize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const ev = new DataView(e.buffer, e.byteOffset, e.byteLength);
    const first = Number(ev.getBigUint64(32, true));
    const last = Number(ev.getBigUint64(40, true));
    if (last < first || last >= total) {
      warnings.push(`GPT entry ${i + 1} lies outside the disk`);
      continue;
    }
    let name = "";
    for (let j = 56; j + 1 < 128; j += 2) {
      const c = ev.getUint16(j, true);
      if (!c) break;
      name += String.fromCharCode(c);
    }
    out.push({
      index: i + 1,
      start: first,
      sectors: last - first + 1,
      scheme: "gpt",
      type: guid(e.subarray(0, 16)),
      ...(name ? { name } : {}),
    });
  }
  return out;
}

/** Reads the partition table of a disk of `total` sectors. */
export async function readPartitions(
  read: SectorReader,
  total: number,
  sectorSize: number,
): Promise<PartitionTable> {
  const warnings: string[] = [];
  const mbr = await read(0, 1);
  const entries = mbr ? mbrEntries(mbr) : undefined;
  if (!entries) return { scheme: "none", partitions: [], warnings };
  if (entries.some((e) => e.type === MBR_PROTECTIVE)) {
    const gpt = await readGpt(read, total, sectorSize, warnings);
    if (gpt) return { scheme: "gpt", partitions: gpt, warnings };
  }
  const partitions: Partition[] = [];
  const inside = (start: number, n: number, i: number) => {
    if (n === 0) return false;
    if (start + n > total) {
      warnings.push(`MBR partition ${i} lies outside the disk`);
      return false;
    }
    return true;
  };
  let extended: MbrEntry | undefined;
  entries.forEach((e, i) => {
    if (e.type === 0 || e.type === MBR_PROTECTIVE) return;
    if (MBR_EXTENDED.has(e.type)) extended ??= e;
    if (!inside(e.start, e.sectors, i + 1)) return;
    partitions.push({
      index: i + 1,
      start: e.start,
      sectors: e.sectors,
      scheme: "mbr",
      type: e.type.toString(16).padStart(2, "0"),
    });
  });
  if (extended && extended.start < total) {
    // The chain of extended boot records: each holds one logical partition and the next link.
    let ebr = extended.start;
    const seen = new Set<number>();
    for (let n = 0; n < MAX_LOGICAL && ebr < total && !seen.has(ebr); n++) {
      seen.add(ebr);
      const s = await read(ebr, 1);
      const le = s ? mbrEntries(s) : undefined;
      if (!le) break;
      const [logical, link] = le;
      if (logical && logical.type !== 0) {
        const start = ebr + logical.start;
        const index = 5 + n;
        if (inside(start, logical.sectors, index))
          partitions.push({
            index,
            start,
            sectors: logical.sectors,
            scheme: "mbr",
            type: logical.type.toString(16).padStart(2, "0"),
          });
      }
      if (!link || link.type === 0 || !MBR_EXTENDED.has(link.type)) break;
      ebr = extended.start + link.start;
    }
  }
  return { scheme: "mbr", partitions, warnings };
}
