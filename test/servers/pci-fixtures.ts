// Test machines for the pci-arbiter: the simulated PC, and a tiny mechanism-#1 machine with a
// PCI-to-PCI bridge (the simulated PC has none) for enumeration through bridges.
import {
  BackendAccessError,
  type AccessWidth,
  type MachineBackend,
} from "../../src/machine/backend.js";
import { SimBackend } from "../../src/machine/sim-backend.js";

export function simMachine(): SimBackend {
  const r = SimBackend.create({ devices: [{ type: "ahci", disks: [] }] });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("; "));
  return r.value;
}

/** A function's 256 config bytes with ids, class and header type set. */
export function configSpace(
  vendor: number,
  device: number,
  cls: number,
  headerType = 0,
): Uint8Array {
  const c = new Uint8Array(256);
  const dv = new DataView(c.buffer);
  dv.setUint16(0, vendor, true);
  dv.setUint16(2, device, true);
  c[8] = 1;
  c[9] = cls & 0xff;
  c[10] = (cls >> 8) & 0xff;
  c[11] = (cls >> 16) & 0xff;
  c[0x0e] = headerType;
  return c;
}

/**
 * Mechanism #1 over a map "bus:dev:func" -> config bytes; BARs are plain registers (no sizing
 * logic), writes land in the bytes. `writable: false` refuses data-port writes like the host.
 */
export class BridgeMachine implements MachineBackend {
  readonly kind = "sim" as const;
  private address = 0;
  readonly log: string[] = [];
  /** Per function, per register offset: the writable bits of a BAR or ROM BAR (size masks). */
  readonly masks = new Map<string, Map<number, number>>();
  constructor(
    readonly functions: Map<string, Uint8Array>,
    readonly writable = true,
  ) {}
  private target(port: number): { cfg: Uint8Array; off: number } | undefined {
    if ((this.address & 0x80000000) === 0) return undefined;
    const bus = (this.address >>> 16) & 0xff;
    const dev = (this.address >>> 11) & 0x1f;
    const fn = (this.address >>> 8) & 7;
    const cfg = this.functions.get(`${bus}:${dev}:${fn}`);
    return cfg ? { cfg, off: (this.address & 0xfc) + (port - 0xcfc) } : undefined;
  }
  async portRead(port: number, width: AccessWidth): Promise<number> {
    if (port === 0xcf8) return this.address;
    const t = this.target(port);
    if (!t) return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + t.cfg[t.off + i]!;
    return v;
  }
  async portWrite(port: number, width: AccessWidth, value: number): Promise<void> {
    if (port === 0xcf8) {
      this.address = value >>> 0;
      return;
    }
    if (!this.writable) throw new BackendAccessError("read-only", "read-only test machine");
    const t = this.target(port);
    if (!t) return;
    this.log.push(`w ${t.off.toString(16)} ${value.toString(16)}`);
    const key = `${(this.address >>> 16) & 0xff}:${(this.address >>> 11) & 0x1f}:${(this.address >>> 8) & 7}`;
    const mask = this.masks.get(key)?.get(t.off);
    if (mask !== undefined && width === 4) {
      const old = new DataView(t.cfg.buffer).getUint32(t.off, true);
      value = ((old & ~mask) | (value & mask)) >>> 0;
    }
    for (let i = 0; i < width; i++) t.cfg[t.off + i] = (value >>> (8 * i)) & 0xff;
  }
  async mmioRead(): Promise<number> {
    throw new BackendAccessError("unsupported", "no MMIO");
  }
  async mmioWrite(): Promise<void> {
    throw new BackendAccessError("unsupported", "no MMIO");
  }
  async memRead(): Promise<Uint8Array> {
    throw new BackendAccessError("unsupported", "no memory");
  }
  async memWrite(): Promise<void> {
    throw new BackendAccessError("unsupported", "no memory");
  }
  ramRanges(): readonly (readonly [number, number])[] {
    return [];
  }
  onInterrupt(): () => void {
    return () => undefined;
  }
  async allocDma(): Promise<number> {
    throw new BackendAccessError("unsupported", "no DMA");
  }
  async freeDma(): Promise<void> {}
  async powerOff(): Promise<void> {}
  async close(): Promise<void> {}
}
