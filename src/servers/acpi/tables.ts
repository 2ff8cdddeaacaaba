// ACPI tables: finding the RSDP, parsing and checksumming table headers, walking the RSDT or
// XSDT to every table (and the DSDT through the FADT). FADT, MADT and MCFG parse elsewhere.
import { byteSum, TableBytes } from "./bytes.js";
import { fail, ok, type AcpiError, type AcpiResult } from "./status.js";
import { parseFadt } from "./fadt.js";
import {
  HEADER_LENGTH,
  parseTableHeader,
  validateTable,
  type AcpiTableHeader,
} from "./table-header.js";

export {
  HEADER_LENGTH,
  parseTableHeader,
  validateTable,
  type AcpiTableHeader,
} from "./table-header.js";
export { parseFadt, type Fadt, type GenericAddress } from "./fadt.js";
export { parseMadt, type Madt, type MadtEntry } from "./madt.js";
export { parseMcfg, type Mcfg, type McfgAllocation } from "./mcfg.js";

/** Largest table the walker will read: guards against a corrupt length field. */
export const MAX_TABLE_LENGTH = 16 << 20;

export interface Rsdp {
  /** Physical address the RSDP was found at. */
  readonly address: number;
  /** 0 for ACPI 1.0 (RSDT only), 2 and up for the extended structure with an XSDT. */
  readonly revision: number;
  readonly oemId: string;
  readonly rsdtAddress: number;
  /** 0 when absent (revision 0). */
  readonly xsdtAddress: number;
  readonly length: number;
}

export const RSDP_SIGNATURE = "RSD PTR ";
const RSDP_V1_LENGTH = 20;

/** Parses and checks an RSDP at `offset` of `area`, which starts at physical `base`. */
export function parseRsdp(area: Uint8Array, offset: number, base = 0): AcpiResult<Rsdp> {
  const b = new TableBytes(area);
  if (!b.has(offset, RSDP_V1_LENGTH))
    return fail("AE_BAD_HEADER", "RSDP runs past the memory given", offset);
  if (b.ascii(offset, 8) !== RSDP_SIGNATURE)
    return fail("AE_BAD_SIGNATURE", 'no "RSD PTR " signature', offset);
  if (byteSum(area, RSDP_V1_LENGTH, offset) !== 0)
    return fail("AE_BAD_CHECKSUM", "RSDP checksum (first 20 bytes) is wrong", offset + 8);
  const revision = b.u8(offset + 15);
  const common = {
    address: base + offset,
    revision,
    oemId: b.ascii(offset + 9, 6).replace(/[\0 ]+$/, ""),
    rsdtAddress: b.u32(offset + 16),
  };
  if (revision < 2) return ok({ ...common, xsdtAddress: 0, length: RSDP_V1_LENGTH });
  if (!b.has(offset, 36))
    return fail("AE_BAD_HEADER", "ACPI 2.0 RSDP runs past the memory given", offset);
  const length = b.u32(offset + 20);
  if (length < 36 || !b.has(offset, length))
    return fail("AE_BAD_HEADER", `RSDP length ${length} is invalid`, offset + 20);
  if (byteSum(area, length, offset) !== 0)
    return fail("AE_BAD_CHECKSUM", "RSDP extended checksum is wrong", offset + 32);
  return ok({ ...common, xsdtAddress: b.u64(offset + 24), length });
}

/**
 * Scans `area` (physical `base` onwards) for the RSDP on 16-byte boundaries, as firmware
 * places it in the EBDA's first KiB or the BIOS area 0xE0000-0xFFFFF. Candidates with a bad
 * checksum are skipped.
 */
export function findRsdp(area: Uint8Array, base: number): AcpiResult<Rsdp> {
  let bad: AcpiError | undefined;
  const first = (16 - (base % 16)) % 16;
  for (let o = first; o + RSDP_V1_LENGTH <= area.length; o += 16) {
    if (area[o] !== 0x52 || area[o + 1] !== 0x53 || area[o + 2] !== 0x44) continue;
    const r = parseRsdp(area, o, base);
    if (r.ok) return r;
    if (r.error.code !== "AE_BAD_SIGNATURE") bad = r.error;
  }
  const where = `0x${base.toString(16)}-0x${(base + area.length).toString(16)}`;
  return fail(
    bad ? bad.code : "AE_NOT_FOUND",
    bad ? `only a damaged RSDP in ${where}: ${bad.message}` : `no RSDP in ${where}`,
  );
}

/** The BIOS read-only area that holds the RSDP on PCs. */
export const BIOS_AREA = { start: 0xe0000, end: 0x100000 } as const;

/** The EBDA's first KiB, from the real-mode segment stored at 0x40E, or undefined. */
export function ebdaRange(segmentWord: number): { start: number; end: number } | undefined {
  const start = (segmentWord & 0xffff) << 4;
  if (start < 0x80000 || start >= 0xa0000) return undefined;
  return { start, end: start + 1024 };
}

/** RSDT (32-bit entries) or XSDT (64-bit entries): the addresses of the other tables. */
export function parseRootTable(
  data: Uint8Array,
): AcpiResult<{ header: AcpiTableHeader; entries: number[] }> {
  const h = validateTable(data);
  if (!h.ok) return h;
  const sig = h.value.signature;
  if (sig !== "RSDT" && sig !== "XSDT")
    return fail("AE_BAD_SIGNATURE", `expected RSDT or XSDT, found ${sig}`, 0);
  const size = sig === "RSDT" ? 4 : 8;
  const b = new TableBytes(data);
  const entries: number[] = [];
  for (let o = HEADER_LENGTH; o + size <= h.value.length; o += size)
    entries.push(size === 4 ? b.u32(o) : b.u64(o));
  return ok({ header: h.value, entries });
}

export interface LoadedTable {
  readonly signature: string;
  readonly address: number;
  readonly header: AcpiTableHeader;
  readonly bytes: Uint8Array;
}

export type PhysReader = (address: number, length: number) => Promise<Uint8Array>;

export interface TableWalk {
  readonly rsdp: Rsdp;
  readonly root: LoadedTable;
  /** Every table the root lists that loaded cleanly, plus the DSDT (and FACS is not included). */
  readonly tables: readonly LoadedTable[];
  /** Tables that failed their checks, with why; the walk continued past them. */
  readonly problems: readonly { readonly address: number; readonly error: AcpiError }[];
}

async function readTable(read: PhysReader, address: number): Promise<AcpiResult<LoadedTable>> {
  if (address === 0) return fail("AE_BAD_VALUE", "table address is 0");
  let head: Uint8Array;
  try {
    head = await read(address, HEADER_LENGTH);
  } catch (e) {
    return fail(
      "AE_BAD_VALUE",
      `cannot read table header at 0x${address.toString(16)}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const h = parseTableHeader(head);
  if (!h.ok) return h;
  if (h.value.length < HEADER_LENGTH || h.value.length > MAX_TABLE_LENGTH) {
    return fail(
      "AE_BAD_HEADER",
      `${h.value.signature} at 0x${address.toString(16)} claims length ${h.value.length}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await read(address, h.value.length);
  } catch (e) {
    return fail(
      "AE_BAD_VALUE",
      `cannot read ${h.value.signature} at 0x${address.toString(16)}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const v = validateTable(bytes);
  if (!v.ok) return v;
  return ok({ signature: v.value.signature, address, header: v.value, bytes });
}

/** Walks from the RSDP through the XSDT (or RSDT for ACPI 1.0) to every table, and the DSDT. */
export async function walkTables(read: PhysReader, rsdp: Rsdp): Promise<AcpiResult<TableWalk>> {
  const useXsdt = rsdp.revision >= 2 && rsdp.xsdtAddress !== 0;
  const root = await readTable(read, useXsdt ? rsdp.xsdtAddress : rsdp.rsdtAddress);
  if (!root.ok) return root;
  const parsed = parseRootTable(root.value.bytes);
  if (!parsed.ok) return parsed;
  const tables: LoadedTable[] = [];
  const problems: { address: number; error: AcpiError }[] = [];
  for (const address of parsed.value.entries) {
    const t = await readTable(read, address);
    if (!t.ok) {
      problems.push({ address, error: t.error });
      continue;
    }
    tables.push(t.value);
    if (t.value.signature === "FACP") {
      const fadt = parseFadt(t.value.bytes);
      if (!fadt.ok) {
        problems.push({ address, error: fadt.error });
        continue;
      }
      if (fadt.value.dsdt !== 0) {
        const dsdt = await readTable(read, fadt.value.dsdt);
        if (dsdt.ok) tables.push(dsdt.value);
        else problems.push({ address: fadt.value.dsdt, error: dsdt.error });
      }
    }
  }
  return ok({ rsdp, root: root.value, tables, problems });
}
