// The System Description Table header every ACPI table but the RSDP and FACS starts with:
// signature, length, revision, checksum and OEM ids, and the length/checksum validation.
import { byteSum, TableBytes } from "./bytes.js";
import { fail, ok, type AcpiResult } from "./status.js";

export const HEADER_LENGTH = 36;
export interface AcpiTableHeader {
  readonly signature: string;
  readonly length: number;
  readonly revision: number;
  readonly checksum: number;
  readonly oemId: string;
  readonly oemTableId: string;
  readonly oemRevision: number;
  readonly creatorId: string;
  readonly creatorRevision: number;
}

/** Parses the 36-byte System Description Table header. */
export function parseTableHeader(data: Uint8Array): AcpiResult<AcpiTableHeader> {
  if (data.length < HEADER_LENGTH)
    return fail("AE_BAD_HEADER", `${data.length} bytes is too short for an ACPI table header`);
  const b = new TableBytes(data);
  const signature = b.ascii(0, 4);
  if (!/^[A-Z0-9_!]{4}$/.test(signature))
    return fail(
      "AE_BAD_SIGNATURE",
      `table signature ${JSON.stringify(signature)} is not four printable characters`,
      0,
    );
  return ok({
    signature,
    length: b.u32(4),
    revision: b.u8(8),
    checksum: b.u8(9),
    oemId: b.ascii(10, 6).replace(/[\0 ]+$/, ""),
    oemTableId: b.ascii(16, 8).replace(/[\0 ]+$/, ""),
    oemRevision: b.u32(24),
    creatorId: b.ascii(28, 4).replace(/[\0 ]+$/, ""),
    creatorRevision: b.u32(32),
  });
}

/** Header, length and checksum checks; `signature` additionally pins the table type. */
export function validateTable(data: Uint8Array, signature?: string): AcpiResult<AcpiTableHeader> {
  const h = parseTableHeader(data);
  if (!h.ok) return h;
  if (signature !== undefined && h.value.signature !== signature) {
    return fail("AE_BAD_SIGNATURE", `expected a ${signature} table, found ${h.value.signature}`, 0);
  }
  if (h.value.length < HEADER_LENGTH || h.value.length > data.length) {
    return fail(
      "AE_BAD_HEADER",
      `${h.value.signature} length ${h.value.length} does not fit the ${data.length} bytes available`,
      4,
    );
  }
  const sum = byteSum(data, h.value.length);
  if (sum !== 0)
    return fail(
      "AE_BAD_CHECKSUM",
      `${h.value.signature} checksum is wrong (bytes sum to 0x${sum.toString(16)})`,
      9,
    );
  return h;
}
