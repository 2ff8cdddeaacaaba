// IDENTIFY DEVICE data decoded: model, serial, firmware, capacity (LBA48 or LBA28), logical
// sector size, NCQ support and depth, write cache and FLUSH CACHE EXT.
import {
  ATA_ID_CAPABILITIES,
  ATA_ID_COMMAND_SET_1,
  ATA_ID_COMMAND_SET_2,
  ATA_ID_COMMAND_SET_ENABLED_1,
  ATA_ID_FIRMWARE,
  ATA_ID_LBA28_SECTORS,
  ATA_ID_LBA48_SECTORS,
  ATA_ID_LOGICAL_SECTOR_WORDS,
  ATA_ID_MODEL,
  ATA_ID_QUEUE_DEPTH,
  ATA_ID_SATA_CAPABILITIES,
  ATA_ID_SECTOR_SIZE,
  ATA_ID_SERIAL,
} from "./atareg.js";

export interface AtaIdentity {
  model: string;
  serial: string;
  firmware: string;
  /** Addressable logical sectors. */
  sectors: number;
  /** Logical sector size in bytes (512 unless the device says otherwise). */
  sectorSize: number;
  lba48: boolean;
  /** Native command queuing and its depth (1 when unsupported). */
  ncq: boolean;
  queueDepth: number;
  writeCache: boolean;
  flushCacheExt: boolean;
}

function word(id: Uint8Array, w: number): number {
  return id[2 * w]! | (id[2 * w + 1]! << 8);
}

/** ATA strings hold two characters per word, the first in the high byte. */
function ataString(id: Uint8Array, first: number, words: number): string {
  let s = "";
  for (let i = 0; i < words; i++) {
    const w = word(id, first + i);
    s += String.fromCharCode(w >> 8, w & 0xff);
  }
  return s.replace(/\0/g, " ").trim();
}

export function parseIdentify(id: Uint8Array): AtaIdentity | undefined {
  if (id.length < 512) return undefined;
  const set2 = word(id, ATA_ID_COMMAND_SET_2);
  const set2Valid = (set2 & 0xc000) === 0x4000;
  const lba48 = set2Valid && (set2 & (1 << 10)) !== 0;
  let sectors: number;
  if (lba48) {
    sectors = 0;
    for (let i = 3; i >= 0; i--) sectors = sectors * 0x10000 + word(id, ATA_ID_LBA48_SECTORS + i);
  } else {
    sectors = word(id, ATA_ID_LBA28_SECTORS) + word(id, ATA_ID_LBA28_SECTORS + 1) * 0x10000;
  }
  const ss = word(id, ATA_ID_SECTOR_SIZE);
  let sectorSize = 512;
  if ((ss & 0xc000) === 0x4000 && ss & (1 << 12)) {
    const words =
      word(id, ATA_ID_LOGICAL_SECTOR_WORDS) + word(id, ATA_ID_LOGICAL_SECTOR_WORDS + 1) * 0x10000;
    if (words >= 256) sectorSize = words * 2;
  }
  const sata = word(id, ATA_ID_SATA_CAPABILITIES);
  const ncq = sata !== 0 && sata !== 0xffff && (sata & (1 << 8)) !== 0;
  const set1 = word(id, ATA_ID_COMMAND_SET_1);
  return {
    model: ataString(id, ATA_ID_MODEL, 20),
    serial: ataString(id, ATA_ID_SERIAL, 10),
    firmware: ataString(id, ATA_ID_FIRMWARE, 4),
    sectors,
    sectorSize,
    lba48,
    ncq,
    queueDepth: ncq ? (word(id, ATA_ID_QUEUE_DEPTH) & 0x1f) + 1 : 1,
    writeCache:
      (set1 & (1 << 5)) !== 0 && (word(id, ATA_ID_COMMAND_SET_ENABLED_1) & (1 << 5)) !== 0,
    flushCacheExt: set2Valid && (set2 & (1 << 13)) !== 0,
  };
}

/** True when the LBA and DMA capability bits are set (what this driver requires). */
export function supportsLbaDma(id: Uint8Array): boolean {
  const caps = word(id, ATA_ID_CAPABILITIES);
  return (caps & (1 << 9)) !== 0 && (caps & (1 << 8)) !== 0;
}
