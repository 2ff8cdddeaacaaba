// This Linux host's PCI functions as sysfs shows them (/sys/bus/pci/devices/DDDD:BB:DD.F/config),
// read-only: configuration space reads at any offset and width, never a write.
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";

export const SYSFS_PCI_DEVICES = "/sys/bus/pci/devices";

/** One PCI function: its segment (domain), bus, device and function numbers. */
export interface PciAddress {
  readonly domain: number;
  readonly bus: number;
  readonly device: number;
  readonly func: number;
}

export interface SysfsPciFunction extends PciAddress {
  /** The config file: 256 bytes (4096 for PCIe), of which non-root users may read only 64. */
  readonly configPath: string;
}

const NAME = /^([0-9a-f]{4,}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/;

/** Key of a function in maps: "DDDD:BB:DD.F". */
export function pciKey(a: PciAddress): string {
  const h = (n: number, w: number): string => n.toString(16).padStart(w, "0");
  return `${h(a.domain, 4)}:${h(a.bus, 2)}:${h(a.device, 2)}.${a.func}`;
}

/** Parse a sysfs device name "DDDD:BB:DD.F"; undefined if it is not one. */
export function parsePciName(name: string): PciAddress | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const device = parseInt(m[3]!, 16);
  if (device > 31) return undefined;
  return { domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), device, func: Number(m[4]) };
}

/** Every function sysfs lists, in address order. Rejects if the directory cannot be read. */
export async function listSysfsPci(dir = SYSFS_PCI_DEVICES): Promise<SysfsPciFunction[]> {
  const names = await readdir(dir);
  const out: SysfsPciFunction[] = [];
  for (const name of names) {
    const a = parsePciName(name);
    if (a) out.push({ ...a, configPath: join(dir, name, "config") });
  }
  return out.sort((x, y) => (pciKey(x) < pciKey(y) ? -1 : pciKey(x) > pciKey(y) ? 1 : 0));
}

/**
 * Read `length` bytes of a function's config space at `offset`. Bytes the file does not give
 * (past its end, or past the 64 bytes an unprivileged reader gets) are returned as 0xFF, what a
 * read of absent configuration space returns on the bus.
 */
export async function readSysfsConfig(
  fn: SysfsPciFunction,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length).fill(0xff);
  const fh = await open(fn.configPath, "r");
  try {
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(out, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return out;
}
