// Physical Region Descriptor Tables: a transfer's physically contiguous segments written as
// AHCI PRDs (address, byte count - 1), split at the 4 MiB a single entry can hold.
import type { BusDmaSegment } from "../bus-dma.js";
import { AHCI_PRD_MAX_BYTES, AHCI_PRD_SIZE } from "./ahcireg.js";

/** The number of PRDs `segments` need. */
export function prdCount(segments: readonly BusDmaSegment[]): number {
  let n = 0;
  for (const s of segments) n += Math.ceil(s.len / AHCI_PRD_MAX_BYTES);
  return n;
}

/**
 * Writes PRDs for `segments` into `table` (the PRDT area of a command table) and returns how many
 * it wrote, or undefined when they do not fit in `maxPrds` or a segment is odd-sized or unaligned.
 */
export function buildPrdt(
  segments: readonly BusDmaSegment[],
  table: Uint8Array,
  maxPrds: number,
): number | undefined {
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  let i = 0;
  for (const s of segments) {
    if (s.len <= 0 || s.len % 2 !== 0 || s.addr % 2 !== 0) return undefined;
    for (let off = 0; off < s.len; off += AHCI_PRD_MAX_BYTES) {
      if (i >= maxPrds || (i + 1) * AHCI_PRD_SIZE > table.byteLength) return undefined;
      const addr = s.addr + off;
      const len = Math.min(AHCI_PRD_MAX_BYTES, s.len - off);
      const e = i * AHCI_PRD_SIZE;
      v.setUint32(e, addr % 0x1_0000_0000, true);
      v.setUint32(e + 4, Math.floor(addr / 0x1_0000_0000), true);
      v.setUint32(e + 8, 0, true);
      v.setUint32(e + 12, (len - 1) & 0x3fffff, true);
      i++;
    }
  }
  return i;
}
