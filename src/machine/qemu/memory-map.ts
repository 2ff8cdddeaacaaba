// The firmware's physical memory map (BIOS E820, handed over in the Multiboot information):
// which ranges are usable RAM, and which reserved areas hold SeaBIOS's ACPI tables and itself.
import { BackendAccessError, type PhysAddr } from "../backend.js";
import type { QtestClient } from "./qtest-client.js";

export const E820_RAM = 1;

export interface MemoryMapEntry {
  readonly base: PhysAddr;
  readonly length: number;
  /** E820 type: 1 RAM, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, ... */
  readonly type: number;
}

const MBI_FLAG_MMAP = 1 << 6;
const MAX_ENTRIES = 128;

/** Decode the E820 entries of a Multiboot memory map (each: size, base, length, type). */
export function parseMultibootMmap(bytes: Uint8Array): MemoryMapEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: MemoryMapEntry[] = [];
  let off = 0;
  while (off + 24 <= bytes.length && out.length < MAX_ENTRIES) {
    const size = v.getUint32(off, true);
    if (size < 20) break;
    const base = Number(v.getBigUint64(off + 4, true));
    const length = Number(v.getBigUint64(off + 12, true));
    const type = v.getUint32(off + 20, true);
    if (length > 0) out.push({ base, length, type });
    off += size + 4;
  }
  return out;
}

/** Read the memory map from the Multiboot information structure at `mbi`. */
export async function readMemoryMap(client: QtestClient, mbi: PhysAddr): Promise<MemoryMapEntry[]> {
  const info = await client.memread(mbi, 52);
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  if ((v.getUint32(0, true) & MBI_FLAG_MMAP) === 0) {
    throw new BackendAccessError("unsupported", "the firmware handed over no memory map");
  }
  const length = v.getUint32(44, true);
  const addr = v.getUint32(48, true);
  if (length === 0 || length > MAX_ENTRIES * 24) {
    throw new BackendAccessError("unsupported", `implausible memory map length ${length}`);
  }
  const entries = parseMultibootMmap(await client.memread(addr, length));
  if (!entries.some((e) => e.type === E820_RAM)) {
    throw new BackendAccessError("unsupported", "the firmware's memory map lists no RAM");
  }
  return entries;
}

/** Usable RAM as sorted [start, end) ranges. */
export function ramRangesOf(map: readonly MemoryMapEntry[]): [PhysAddr, PhysAddr][] {
  return map
    .filter((e) => e.type === E820_RAM)
    .map((e): [PhysAddr, PhysAddr] => [e.base, e.base + e.length])
    .sort((a, b) => a[0] - b[0]);
}
