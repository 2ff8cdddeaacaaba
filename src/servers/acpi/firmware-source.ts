// Where the acpi server gets its tables: by finding the RSDP in the EBDA or the BIOS area of
// physical memory and walking the RSDT/XSDT, or (the read-only host) from the kernel's files.
import {
  BIOS_AREA,
  ebdaRange,
  findRsdp,
  validateTable,
  walkTables,
  type PhysReader,
  type Rsdp,
} from "./tables.js";
import type { AcpiError } from "./status.js";
import { parseTableHeader, type AcpiTableHeader } from "./table-header.js";

/** One table under the name the acpi server publishes it as (tables/<name>). */
export interface NamedTable {
  readonly name: string;
  readonly signature: string;
  readonly header: AcpiTableHeader;
  readonly bytes: Uint8Array;
  /** Physical address when found in memory; undefined for tables read from files. */
  readonly address?: number;
}

export interface FirmwareTables {
  /** The RSDP when the tables came from memory. */
  readonly rsdp?: Rsdp;
  readonly tables: readonly NamedTable[];
  /** Tables that failed their checks (bad header, checksum, unreadable). */
  readonly problems: readonly { readonly where: string; readonly error: AcpiError }[];
}

export type FirmwareResult =
  | { readonly ok: true; readonly value: FirmwareTables }
  | { readonly ok: false; readonly error: AcpiError };

/**
 * Names as Linux's /sys/firmware/acpi/tables has them: the signature, with an instance number
 * (1, 2, ...) on every table of a signature that occurs more than once.
 */
export function tableNames(signatures: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const s of signatures) count.set(s, (count.get(s) ?? 0) + 1);
  const seen = new Map<string, number>();
  return signatures.map((s) => {
    if (count.get(s)! === 1) return s;
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    return `${s}${n}`;
  });
}

/**
 * Finds the RSDP as an OS does (EBDA's first KiB, then 0xE0000-0xFFFFF) through `read`, and
 * loads every table the XSDT (or RSDT) lists, plus the DSDT.
 */
export async function tablesFromMemory(read: PhysReader): Promise<FirmwareResult> {
  let rsdp: Rsdp | undefined;
  try {
    const seg = await read(0x40e, 2);
    const ebda = ebdaRange(seg[0]! | (seg[1]! << 8));
    if (ebda) {
      const r = findRsdp(await read(ebda.start, ebda.end - ebda.start), ebda.start);
      if (r.ok) rsdp = r.value;
    }
  } catch {
    rsdp = undefined; // no readable EBDA pointer: the BIOS area is searched next
  }
  if (!rsdp) {
    let area: Uint8Array;
    try {
      area = await read(BIOS_AREA.start, BIOS_AREA.end - BIOS_AREA.start);
    } catch (e) {
      return {
        ok: false,
        error: {
          code: "AE_NOT_FOUND",
          message: `cannot read the BIOS area: ${e instanceof Error ? e.message : String(e)}`,
        },
      };
    }
    const r = findRsdp(area, BIOS_AREA.start);
    if (!r.ok) return r;
    rsdp = r.value;
  }
  const walk = await walkTables(read, rsdp);
  if (!walk.ok) return walk;
  const loaded = [walk.value.root, ...walk.value.tables];
  const names = tableNames(loaded.map((t) => t.signature));
  return {
    ok: true,
    value: {
      rsdp,
      tables: loaded.map((t, i) => ({
        name: names[i]!,
        signature: t.signature,
        header: t.header,
        bytes: t.bytes,
        address: t.address,
      })),
      problems: walk.value.problems.map((p) => ({
        where: `0x${p.address.toString(16)}`,
        error: p.error,
      })),
    },
  };
}

/** Tables the host's kernel exported, keyed by their file names; each is checked. */
export function tablesFromFiles(files: ReadonlyMap<string, Uint8Array>): FirmwareResult {
  const tables: NamedTable[] = [];
  const problems: { where: string; error: AcpiError }[] = [];
  for (const [name, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const h = parseTableHeader(bytes);
    if (!h.ok) {
      problems.push({ where: name, error: h.error });
      continue;
    }
    if (h.value.signature !== "FACS") {
      const v = validateTable(bytes);
      if (!v.ok) problems.push({ where: name, error: v.error });
    }
    tables.push({ name, signature: h.value.signature, header: h.value, bytes });
  }
  return { ok: true, value: { tables, problems } };
}

/** The tables as the boot log lists them: the RSDP, each table, then each problem. */
export function describeFirmware(fw: FirmwareTables): string[] {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");
  const lines: string[] = [];
  if (fw.rsdp)
    lines.push(
      `RSDP at 0x${hex(fw.rsdp.address, 5)}, revision ${fw.rsdp.revision}, OEM ${fw.rsdp.oemId.trim()}`,
    );
  for (const t of fw.tables)
    lines.push(
      `${t.name.padEnd(5)} ${t.address !== undefined ? `0x${hex(t.address, 8)}` : "(file)"} ${String(t.header.length).padStart(6)} bytes  (${t.header.oemId.trim()} ${t.header.oemTableId.trim()})`,
    );
  for (const p of fw.problems) lines.push(`warning: ${p.where}: ${p.error.message}`);
  return lines;
}
