// The MADT ("APIC"): the local APIC address and the interrupt controller structures —
// processors' local APICs, I/O APICs with their GSI bases, and ISA interrupt overrides.
import { TableBytes } from "./bytes.js";
import { fail, ok, type AcpiResult } from "./status.js";
import { validateTable, type AcpiTableHeader } from "./table-header.js";

export type MadtEntry =
  | {
      readonly type: "local-apic";
      readonly processorId: number;
      readonly apicId: number;
      readonly enabled: boolean;
      readonly onlineCapable: boolean;
    }
  | {
      readonly type: "io-apic";
      readonly ioApicId: number;
      readonly address: number;
      readonly gsiBase: number;
    }
  | {
      readonly type: "interrupt-override";
      readonly bus: number;
      readonly source: number;
      readonly gsi: number;
      readonly flags: number;
    }
  | { readonly type: "nmi-source"; readonly flags: number; readonly gsi: number }
  | {
      readonly type: "local-apic-nmi";
      readonly processorId: number;
      readonly flags: number;
      readonly lint: number;
    }
  | { readonly type: "local-apic-override"; readonly address: number }
  | {
      readonly type: "local-x2apic";
      readonly x2apicId: number;
      readonly enabled: boolean;
      readonly uid: number;
    }
  | { readonly type: "other"; readonly code: number; readonly data: Uint8Array };

export interface Madt {
  readonly header: AcpiTableHeader;
  readonly localApicAddress: number;
  /** Bit 0 PCAT_COMPAT: dual 8259s are present too. */
  readonly flags: number;
  readonly entries: readonly MadtEntry[];
}

const MIN_LENGTH: Record<number, number> = { 0: 8, 1: 12, 2: 10, 3: 8, 4: 6, 5: 12, 9: 16 };

export function parseMadt(data: Uint8Array): AcpiResult<Madt> {
  const h = validateTable(data, "APIC");
  if (!h.ok) return h;
  const len = h.value.length;
  if (len < 44)
    return fail("AE_BAD_HEADER", `MADT is ${len} bytes, too short for its fixed fields`, 4);
  const b = new TableBytes(data.subarray(0, len));
  const entries: MadtEntry[] = [];
  for (let o = 44; o < len;) {
    if (!b.has(o, 2)) return fail("AE_BAD_HEADER", `MADT structure header at ${o} is truncated`, o);
    const code = b.u8(o);
    const size = b.u8(o + 1);
    if (size < 2 || !b.has(o, size))
      return fail("AE_BAD_HEADER", `MADT structure at ${o} has bad length ${size}`, o + 1);
    if (size < (MIN_LENGTH[code] ?? 2))
      return fail(
        "AE_BAD_HEADER",
        `MADT structure type ${code} at ${o} is only ${size} bytes`,
        o + 1,
      );
    switch (code) {
      case 0: {
        const flags = b.u32(o + 4);
        entries.push({
          type: "local-apic",
          processorId: b.u8(o + 2),
          apicId: b.u8(o + 3),
          enabled: (flags & 1) !== 0,
          onlineCapable: (flags & 2) !== 0,
        });
        break;
      }
      case 1:
        entries.push({
          type: "io-apic",
          ioApicId: b.u8(o + 2),
          address: b.u32(o + 4),
          gsiBase: b.u32(o + 8),
        });
        break;
      case 2:
        entries.push({
          type: "interrupt-override",
          bus: b.u8(o + 2),
          source: b.u8(o + 3),
          gsi: b.u32(o + 4),
          flags: b.u16(o + 8),
        });
        break;
      case 3:
        entries.push({ type: "nmi-source", flags: b.u16(o + 2), gsi: b.u32(o + 4) });
        break;
      case 4:
        entries.push({
          type: "local-apic-nmi",
          processorId: b.u8(o + 2),
          flags: b.u16(o + 3),
          lint: b.u8(o + 5),
        });
        break;
      case 5:
        entries.push({ type: "local-apic-override", address: b.u64(o + 4) });
        break;
      case 9:
        entries.push({
          type: "local-x2apic",
          x2apicId: b.u32(o + 4),
          enabled: (b.u32(o + 8) & 1) !== 0,
          uid: b.u32(o + 12),
        });
        break;
      default:
        entries.push({ type: "other", code, data: data.slice(o, o + size) });
    }
    o += size;
  }
  return ok({ header: h.value, localApicAddress: b.u32(36), flags: b.u32(40), entries });
}

/** The GSI an ISA IRQ arrives on, after the MADT's interrupt source overrides. */
export function isaIrqToGsi(madt: Madt, irq: number): number {
  for (const e of madt.entries)
    if (e.type === "interrupt-override" && e.bus === 0 && e.source === irq) return e.gsi;
  return irq;
}
