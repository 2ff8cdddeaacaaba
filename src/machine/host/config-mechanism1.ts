// PCI configuration mechanism #1 decoding: the CONFIG_ADDRESS dword latched at 0xCF8 and the
// CONFIG_DATA window at 0xCFC-0xCFF, and ECAM (MCFG) address decoding for the same accesses.
import type { AccessWidth } from "../backend.js";

export const CONFIG_ADDRESS_PORT = 0xcf8;
export const CONFIG_DATA_PORT = 0xcfc;
const ENABLE = 0x8000_0000;

/** A decoded configuration access: which function, which register byte. */
export interface ConfigTarget {
  readonly bus: number;
  readonly device: number;
  readonly func: number;
  readonly offset: number;
}

/** Is `port` one of the four CONFIG_DATA bytes, with the access not running past 0xCFF? */
export function isConfigDataAccess(port: number, width: AccessWidth): boolean {
  return port >= CONFIG_DATA_PORT && port + width <= CONFIG_DATA_PORT + 4;
}

/**
 * The target of a CONFIG_DATA access at `port` given the latched CONFIG_ADDRESS, or undefined
 * when the enable bit is clear (the access then goes nowhere and reads as all ones).
 */
export function decodeConfigAddress(address: number, port: number): ConfigTarget | undefined {
  if ((address & ENABLE) === 0) return undefined;
  return {
    bus: (address >>> 16) & 0xff,
    device: (address >>> 11) & 0x1f,
    func: (address >>> 8) & 0x7,
    offset: (address & 0xfc) + (port - CONFIG_DATA_PORT),
  };
}

/** One MCFG allocation: ECAM for buses startBus..endBus of a segment, starting at `base`. */
export interface EcamWindow {
  readonly base: number;
  readonly segment: number;
  readonly startBus: number;
  readonly endBus: number;
}

/** The MCFG table's allocations (ACPI/PCI Firmware spec: 16-byte entries from offset 44). */
export function parseMcfg(mcfg: Uint8Array): EcamWindow[] {
  const v = new DataView(mcfg.buffer, mcfg.byteOffset, mcfg.byteLength);
  const len = Math.min(mcfg.length, mcfg.length >= 8 ? v.getUint32(4, true) : 0);
  const out: EcamWindow[] = [];
  for (let off = 44; off + 16 <= len; off += 16) {
    const startBus = v.getUint8(off + 10);
    const endBus = v.getUint8(off + 11);
    if (endBus < startBus) continue;
    out.push({
      base: Number(v.getBigUint64(off, true)),
      segment: v.getUint16(off + 8, true),
      startBus,
      endBus,
    });
  }
  return out;
}

/** Decode a physical address inside an ECAM window into segment and function target. */
export function decodeEcam(
  windows: readonly EcamWindow[],
  addr: number,
): (ConfigTarget & { readonly segment: number }) | undefined {
  for (const w of windows) {
    const size = (w.endBus - w.startBus + 1) * (1 << 20);
    if (addr < w.base || addr >= w.base + size) continue;
    const rel = addr - w.base;
    return {
      segment: w.segment,
      bus: w.startBus + Math.floor(rel / (1 << 20)),
      device: Math.floor(rel / (1 << 15)) % 32,
      func: Math.floor(rel / (1 << 12)) % 8,
      offset: rel % 4096,
    };
  }
  return undefined;
}
