// Where this host's RAM is: the top-level "System RAM" ranges of /proc/iomem, or, when those
// are hidden from an unprivileged reader (all zero), the firmware map in /sys/firmware/memmap.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PhysAddr } from "../backend.js";

export const PROC_IOMEM = "/proc/iomem";
export const SYSFS_MEMMAP = "/sys/firmware/memmap";

/** Top-level "System RAM" lines of an /proc/iomem text, as [start, end) ranges. */
export function parseIomemRam(text: string): [PhysAddr, PhysAddr][] {
  const out: [PhysAddr, PhysAddr][] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) : System RAM$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1]!, 16);
    const end = parseInt(m[2]!, 16) + 1;
    if (Number.isSafeInteger(end) && end > start) out.push([start, end]);
  }
  return out;
}

async function memmapRam(dir: string): Promise<[PhysAddr, PhysAddr][]> {
  const out: [PhysAddr, PhysAddr][] = [];
  for (const entry of await readdir(dir)) {
    const at = (f: string): Promise<string> => readFile(join(dir, entry, f), "utf8");
    try {
      if ((await at("type")).trim() !== "System RAM") continue;
      const start = parseInt((await at("start")).trim(), 16);
      const end = parseInt((await at("end")).trim(), 16) + 1;
      if (Number.isSafeInteger(end) && end > start) out.push([start, end]);
    } catch {
      continue;
    }
  }
  return out;
}

/** The host's RAM, sorted; empty when neither source is readable. */
export async function readHostRam(
  iomemPath = PROC_IOMEM,
  memmapDir = SYSFS_MEMMAP,
): Promise<[PhysAddr, PhysAddr][]> {
  let ranges: [PhysAddr, PhysAddr][] = [];
  try {
    ranges = parseIomemRam(await readFile(iomemPath, "utf8"));
  } catch {
    ranges = [];
  }
  if (ranges.length === 0 || ranges.every(([s, e]) => s === 0 && e <= 1)) {
    try {
      ranges = await memmapRam(memmapDir);
    } catch {
      ranges = [];
    }
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}
