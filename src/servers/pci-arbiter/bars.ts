// Base address registers and the expansion ROM BAR: decoding, sizing by writing all-ones with
// decoding turned off (on writable machines), and the Hurd's `struct pci_bar` wire form.
import {
  leBytes,
  valueOf,
  type ConfigAccess,
  type PciBdf,
  type RawConfig,
} from "./config-access.js";

/** One BAR as libpciaccess describes it (struct pci_mem_region). */
export interface PciRegion {
  readonly index: number;
  readonly baseAddr: bigint;
  /** 0n when the BAR is unused, or its size could not be probed (read-only machines). */
  readonly size: bigint;
  readonly isIO: boolean;
  readonly isPrefetchable: boolean;
  readonly is64: boolean;
}

export interface PciRom {
  readonly baseAddr: bigint;
  readonly size: bigint;
}

const PCI_COMMAND = 0x04;
const COMMAND_DECODE = 0x3; // I/O space and memory space enables

/** Offsets of the BARs of a header type (0: six, 1 (bridge): two, 2 (CardBus): one). */
export function barOffsets(headerType: number): number[] {
  const n = headerType === 0 ? 6 : headerType === 1 ? 2 : headerType === 2 ? 1 : 0;
  return Array.from({ length: n }, (_, i) => 0x10 + 4 * i);
}

/** The expansion ROM BAR's offset for a header type (none for CardBus). */
export function romOffset(headerType: number): number | undefined {
  return headerType === 0 ? 0x30 : headerType === 1 ? 0x38 : undefined;
}

async function readU32(raw: RawConfig, a: PciBdf, off: number): Promise<number> {
  return valueOf(await raw.read(a, off, 4)) ?? 0;
}

async function writeU32(raw: RawConfig, a: PciBdf, off: number, v: number): Promise<void> {
  await raw.write(a, off, leBytes(v >>> 0, 4));
}

/** Reads all-ones back from a register after writing them, then restores it. */
async function probe(
  raw: RawConfig,
  a: PciBdf,
  off: number,
  original: number,
  ones = 0xffffffff,
): Promise<number> {
  await writeU32(raw, a, off, ones);
  const mask = await readU32(raw, a, off);
  await writeU32(raw, a, off, original);
  return mask;
}

/**
 * Decodes (and, when the machine is writable, sizes) every BAR and the ROM BAR of a function.
 * Decoding is switched off in the command register while the BARs hold all-ones.
 */
export async function probeRegions(
  config: ConfigAccess,
  a: PciBdf,
  headerType: number,
): Promise<{ regions: PciRegion[]; rom: PciRom }> {
  const sizing = config.backend.writable;
  return config.transaction(async (raw) => {
    const command = valueOf(await raw.read(a, PCI_COMMAND, 2)) ?? 0;
    if (sizing) await raw.write(a, PCI_COMMAND, leBytes(command & ~COMMAND_DECODE, 2));
    const regions: PciRegion[] = [];
    const offsets = barOffsets(headerType);
    for (let i = 0; i < offsets.length; i++) {
      const off = offsets[i]!;
      const low = await readU32(raw, a, off);
      const isIO = (low & 1) === 1;
      const is64 = !isIO && ((low >>> 1) & 3) === 2 && i + 1 < offsets.length;
      const isPrefetchable = !isIO && (low & 8) !== 0;
      let base: bigint;
      let size = 0n;
      if (isIO) {
        base = BigInt(low & 0xfffffffc);
        if (sizing) {
          let m = (await probe(raw, a, off, low)) & 0xfffffffc;
          if (m !== 0 && (m & 0xffff0000) === 0) m = (m | 0xffff0000) >>> 0;
          size = m === 0 ? 0n : BigInt((~m + 1) >>> 0);
        }
      } else {
        const high = is64 ? await readU32(raw, a, off + 4) : 0;
        base = (BigInt(high) << 32n) | BigInt((low & 0xfffffff0) >>> 0);
        if (sizing) {
          const mLow = (await probe(raw, a, off, low)) & 0xfffffff0;
          const mHigh = is64 ? await probe(raw, a, off + 4, high) : 0xffffffff;
          const mask = (BigInt(mHigh >>> 0) << 32n) | BigInt(mLow >>> 0);
          size = mLow === 0 && (!is64 || mHigh === 0) ? 0n : (~mask + 1n) & 0xffff_ffff_ffff_ffffn;
        }
      }
      regions.push({ index: i, baseAddr: base, size, isIO, isPrefetchable, is64 });
      if (is64) {
        regions.push({
          index: i + 1,
          baseAddr: 0n,
          size: 0n,
          isIO: false,
          isPrefetchable: false,
          is64: false,
        });
        i++;
      }
    }
    while (regions.length < 6) {
      regions.push({
        index: regions.length,
        baseAddr: 0n,
        size: 0n,
        isIO: false,
        isPrefetchable: false,
        is64: false,
      });
    }
    let rom: PciRom = { baseAddr: 0n, size: 0n };
    const ro = romOffset(headerType);
    if (ro !== undefined) {
      const v = await readU32(raw, a, ro);
      let size = 0n;
      if (sizing) {
        const m = (await probe(raw, a, ro, v, 0xfffff800)) & 0xfffff800;
        size = m === 0 ? 0n : BigInt((~m + 1) >>> 0);
      }
      rom = { baseAddr: BigInt((v & 0xfffff800) >>> 0), size };
    }
    if (sizing) await raw.write(a, PCI_COMMAND, leBytes(command, 2));
    return { regions, rom };
  });
}

/** sizeof(struct pci_bar) on x86_64: base_addr, size, the three flag bits, padding. */
export const PCI_BAR_SIZE = 24;
/** sizeof(struct pci_xrom_bar). */
export const PCI_XROM_BAR_SIZE = 16;

/** The six regions as `struct pci_bar regions[6]` (what pci_get_dev_regions returns). */
export function encodePciBars(regions: readonly PciRegion[]): Uint8Array {
  const out = new Uint8Array(PCI_BAR_SIZE * 6);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 6; i++) {
    const r = regions[i];
    if (!r) continue;
    dv.setBigUint64(i * PCI_BAR_SIZE, r.baseAddr, true);
    dv.setBigUint64(i * PCI_BAR_SIZE + 8, r.size, true);
    dv.setUint32(
      i * PCI_BAR_SIZE + 16,
      (r.isIO ? 1 : 0) | (r.isPrefetchable ? 2 : 0) | (r.is64 ? 4 : 0),
      true,
    );
  }
  return out;
}

/** Decodes `struct pci_bar regions[6]`; undefined when the size is wrong. */
export function decodePciBars(data: Uint8Array): PciRegion[] | undefined {
  if (data.length !== PCI_BAR_SIZE * 6) return undefined;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: 6 }, (_, i) => {
    const flags = dv.getUint32(i * PCI_BAR_SIZE + 16, true);
    return {
      index: i,
      baseAddr: dv.getBigUint64(i * PCI_BAR_SIZE, true),
      size: dv.getBigUint64(i * PCI_BAR_SIZE + 8, true),
      isIO: (flags & 1) !== 0,
      isPrefetchable: (flags & 2) !== 0,
      is64: (flags & 4) !== 0,
    };
  });
}

/** The ROM BAR as `struct pci_xrom_bar` (what pci_get_dev_rom returns). */
export function encodePciXromBar(rom: PciRom): Uint8Array {
  const out = new Uint8Array(PCI_XROM_BAR_SIZE);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, rom.baseAddr, true);
  dv.setBigUint64(8, rom.size, true);
  return out;
}
