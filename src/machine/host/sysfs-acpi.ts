// This Linux host's ACPI tables as the kernel exports them in /sys/firmware/acpi/tables: one file
// per table, named by signature (a second SSDT is "SSDT2"); read-only, never written.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

export const SYSFS_ACPI_TABLES = "/sys/firmware/acpi/tables";

/** Files in the directory that are not tables of the firmware's static set. */
const SUBDIRECTORIES = new Set(["data", "dynamic"]);

/**
 * Every table file, keyed by file name (the signature, plus an instance number where the
 * firmware has several tables of one signature). Rejects if the directory cannot be read;
 * a table file that cannot be read rejects too, naming the file.
 */
export async function readSysfsAcpiTables(
  dir = SYSFS_ACPI_TABLES,
): Promise<Map<string, Uint8Array>> {
  const names = (await readdir(dir)).filter((n) => !SUBDIRECTORIES.has(n)).sort();
  const out = new Map<string, Uint8Array>();
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    out.set(name, new Uint8Array(await readFile(path)));
  }
  return out;
}

/** The header's signature (4 ASCII bytes) and length field, if the table is long enough. */
export function tableHeader(table: Uint8Array): { signature: string; length: number } | undefined {
  if (table.length < 8) return undefined;
  const signature = String.fromCharCode(...table.subarray(0, 4));
  const length = new DataView(table.buffer, table.byteOffset, 8).getUint32(4, true);
  return { signature, length };
}

/** Byte sum modulo 256 of the whole table: 0 for a table with a valid checksum. */
export function tableChecksum(table: Uint8Array): number {
  let sum = 0;
  for (const b of table) sum = (sum + b) & 0xff;
  return sum;
}

/** FACS has no checksum field (ACPI 6.5, 5.2.10); every other table's bytes sum to zero. */
export function hasChecksum(signature: string): boolean {
  return signature !== "FACS";
}
