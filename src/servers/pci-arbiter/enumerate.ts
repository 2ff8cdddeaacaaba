// Finding every PCI function through configuration mechanism #1: each device of bus 0, the
// other functions of multi-function devices, and the buses behind PCI-to-PCI bridges.
import { probeRegions, type PciRegion, type PciRom } from "./bars.js";
import { valueOf, type ConfigAccess, type PciBdf } from "./config-access.js";

export interface PciFunction extends PciBdf {
  readonly domain: number;
  readonly vendorId: number;
  readonly deviceId: number;
  /** Class, subclass and programming interface packed as 0xCCSSPP. */
  readonly deviceClass: number;
  readonly revision: number;
  /** Header type without the multi-function bit (0 device, 1 PCI bridge, 2 CardBus). */
  readonly headerType: number;
  readonly irqLine: number;
  /** 0 none, 1 INTA# .. 4 INTD#. */
  readonly irqPin: number;
  readonly regions: readonly PciRegion[];
  readonly rom: PciRom;
}

const MAX_BUSES = 256;

/** Enumerates from bus 0, recursing through bridges; functions are in bus/dev/func order. */
export async function enumeratePci(config: ConfigAccess): Promise<PciFunction[]> {
  const found: PciFunction[] = [];
  const seen = new Set<number>();
  const scan = async (bus: number): Promise<void> => {
    if (seen.has(bus) || seen.size >= MAX_BUSES) return;
    seen.add(bus);
    for (let dev = 0; dev < 32; dev++) {
      const vendor0 = await config.readValue({ bus, dev, func: 0 }, 0, 2);
      if (vendor0 === undefined || vendor0 === 0xffff || vendor0 === 0) continue;
      const ht0 = (await config.readValue({ bus, dev, func: 0 }, 0x0e, 1)) ?? 0;
      const funcs = ht0 & 0x80 ? 8 : 1;
      for (let func = 0; func < funcs; func++) {
        const a = { bus, dev, func };
        const head = await config.read(a, 0, 0x40);
        if (!head.ok) continue;
        const h = head.value;
        const vendorId = h[0]! | (h[1]! << 8);
        if (vendorId === 0xffff || vendorId === 0) continue;
        const headerType = h[0x0e]! & 0x7f;
        const { regions, rom } = await probeRegions(config, a, headerType);
        found.push({
          domain: 0,
          ...a,
          vendorId,
          deviceId: h[2]! | (h[3]! << 8),
          deviceClass: (h[0x0b]! << 16) | (h[0x0a]! << 8) | h[0x09]!,
          revision: h[0x08]!,
          headerType,
          irqLine: h[0x3c]!,
          irqPin: h[0x3d]!,
          regions,
          rom,
        });
        if (headerType === 1) {
          const secondary = valueOf({ ok: true, value: h.subarray(0x19, 0x1a) }) ?? 0;
          if (secondary > bus) await scan(secondary);
        }
      }
    }
  };
  await scan(0);
  return found.sort((x, y) => x.bus - y.bus || x.dev - y.dev || x.func - y.func);
}

/** "BB:DD.F" as lspci prints a function of domain 0. */
export function formatBdf(f: PciBdf): string {
  return `${f.bus.toString(16).padStart(2, "0")}:${f.dev.toString(16).padStart(2, "0")}.${f.func}`;
}

/** A function as the boot log shows it: "00:1f.2 0106: 8086:2922 INTA#". */
export function describePciFunction(f: PciFunction): string {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");
  const pin = f.irqPin >= 1 && f.irqPin <= 4 ? ` INT${"ABCD"[f.irqPin - 1]}#` : "";
  return `${formatBdf(f)} ${hex(f.deviceClass >>> 8, 4)}: ${hex(f.vendorId, 4)}:${hex(f.deviceId, 4)}${pin}`;
}
