// The one dispatch point for device registers: x86 port I/O and MMIO regions, v86-style.
// Devices register handlers here; nothing else reaches into a device.
import type { AccessWidth } from "./backend.js";

/** A device's register block: offsets are relative to the region's base. */
export interface RegisterHandler {
  read(offset: number, width: AccessWidth): number;
  write(offset: number, width: AccessWidth, value: number): void;
}

/** A registered region; BARs move it when software reprograms them. */
export interface IoMapping {
  readonly name: string;
  readonly base: number;
  readonly length: number;
  readonly enabled: boolean;
  /** Moves (or re-enables) the region; `enabled=false` stops decoding it. */
  relocate(base: number, enabled: boolean): void;
  unmap(): void;
}

interface Region {
  name: string;
  base: number;
  length: number;
  enabled: boolean;
  handler: RegisterHandler;
}

/** All-ones for a read nothing decodes, as on a PC (master abort). */
export function allOnes(width: AccessWidth): number {
  return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
}

class RegionSpace {
  private regions: Region[] = [];
  private last: Region | undefined;

  constructor(private readonly limit: number) {}

  add(name: string, base: number, length: number, handler: RegisterHandler): IoMapping {
    if (
      !Number.isInteger(base) ||
      !Number.isInteger(length) ||
      length <= 0 ||
      base < 0 ||
      base + length > this.limit
    ) {
      throw new RangeError(
        `region ${name} 0x${base.toString(16)}+0x${length.toString(16)} is outside the address space`,
      );
    }
    const r: Region = { name, base, length, enabled: true, handler };
    this.regions.push(r);
    const self = this;
    return {
      name,
      get base() {
        return r.base;
      },
      length,
      get enabled() {
        return r.enabled;
      },
      relocate(newBase: number, enabled: boolean) {
        r.base = newBase;
        r.enabled = enabled && newBase >= 0 && newBase + length <= self.limit;
        self.last = undefined;
      },
      unmap() {
        self.regions = self.regions.filter((x) => x !== r);
        self.last = undefined;
      },
    };
  }

  find(addr: number): Region | undefined {
    const l = this.last;
    if (l && l.enabled && addr >= l.base && addr < l.base + l.length) return l;
    for (const r of this.regions) {
      if (r.enabled && addr >= r.base && addr < r.base + r.length) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  list(): { name: string; base: number; length: number; enabled: boolean }[] {
    return this.regions.map((r) => ({
      name: r.name,
      base: r.base,
      length: r.length,
      enabled: r.enabled,
    }));
  }
}

export class IoBus {
  private readonly ports = new RegionSpace(0x10000);
  private readonly mmio = new RegionSpace(2 ** 52);

  mapPorts(name: string, base: number, length: number, handler: RegisterHandler): IoMapping {
    return this.ports.add(name, base, length, handler);
  }

  mapMmio(name: string, base: number, length: number, handler: RegisterHandler): IoMapping {
    return this.mmio.add(name, base, length, handler);
  }

  /** True when some device decodes this MMIO address. */
  decodesMmio(addr: number): boolean {
    return this.mmio.find(addr) !== undefined;
  }

  portRead(port: number, width: AccessWidth): number {
    const r = this.ports.find(port);
    if (!r || port + width > r.base + r.length) return allOnes(width);
    return r.handler.read(port - r.base, width) >>> 0;
  }

  portWrite(port: number, width: AccessWidth, value: number): void {
    const r = this.ports.find(port);
    if (!r || port + width > r.base + r.length) return;
    r.handler.write(port - r.base, width, value >>> 0);
  }

  /** MMIO read; undefined when no device decodes the address (the caller tries memory). */
  mmioRead(addr: number, width: AccessWidth): number | undefined {
    const r = this.mmio.find(addr);
    if (!r) return undefined;
    if (addr + width > r.base + r.length) return allOnes(width);
    return r.handler.read(addr - r.base, width) >>> 0;
  }

  /** MMIO write; false when no device decodes the address. */
  mmioWrite(addr: number, width: AccessWidth, value: number): boolean {
    const r = this.mmio.find(addr);
    if (!r) return false;
    if (addr + width <= r.base + r.length) r.handler.write(addr - r.base, width, value >>> 0);
    return true;
  }

  portRegions() {
    return this.ports.list();
  }
  mmioRegions() {
    return this.mmio.list();
  }
}

/**
 * Helper for devices whose registers are 32-bit words: turns byte/word accesses into
 * read-modify-write of the containing dword, as PC chipsets do.
 */
export function dwordRegisters(
  read32: (offset: number) => number,
  write32: (offset: number, value: number, mask: number) => void,
): RegisterHandler {
  return {
    read(offset, width) {
      const shift = (offset & 3) * 8;
      const v = read32(offset & ~3) >>> shift;
      return width === 4 ? v >>> 0 : v & (width === 2 ? 0xffff : 0xff);
    },
    write(offset, width, value) {
      const shift = (offset & 3) * 8;
      const m = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
      write32(offset & ~3, ((value & m) << shift) >>> 0, (m << shift) >>> 0);
    },
  };
}
