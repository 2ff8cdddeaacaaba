// The FADT ("FACP"): where the DSDT and FACS are, the SCI, and the PM1 event/control blocks
// that sleep and power-off go through, preferring the 64-bit X_ fields when present.
import { TableBytes } from "./bytes.js";
import { fail, ok, type AcpiResult } from "./status.js";
import { validateTable, type AcpiTableHeader } from "./table-header.js";

/** ACPI Generic Address Structure (ACPI 6.5 §5.2.3.2). */
export interface GenericAddress {
  /** 0 SystemMemory, 1 SystemIO, 2 PCI config, ... (the OperationRegion space ids). */
  readonly spaceId: number;
  readonly bitWidth: number;
  readonly bitOffset: number;
  /** 0 undefined, 1 byte, 2 word, 3 dword, 4 qword. */
  readonly accessSize: number;
  readonly address: number;
}

export interface Fadt {
  readonly header: AcpiTableHeader;
  readonly facs: number;
  /** X_DSDT when present and non-zero, else DSDT. */
  readonly dsdt: number;
  readonly sciInterrupt: number;
  readonly smiCommand: number;
  readonly acpiEnable: number;
  readonly acpiDisable: number;
  readonly pm1aEventBlock: GenericAddress | undefined;
  readonly pm1bEventBlock: GenericAddress | undefined;
  /** Where SLP_TYP/SLP_EN are written to enter a sleep state (S5 powers off). */
  readonly pm1aControlBlock: GenericAddress | undefined;
  readonly pm1bControlBlock: GenericAddress | undefined;
  readonly pmTimerBlock: GenericAddress | undefined;
  readonly flags: number;
  /** Flags bit 20: no PM1 blocks or GPEs; sleep goes through the sleep control register. */
  readonly hardwareReduced: boolean;
  readonly resetRegister: GenericAddress | undefined;
  readonly resetValue: number;
  readonly sleepControlRegister: GenericAddress | undefined;
}

function gas(b: TableBytes, o: number): GenericAddress | undefined {
  if (!b.has(o, 12)) return undefined;
  const address = b.u64(o + 4);
  if (address === 0) return undefined;
  return {
    spaceId: b.u8(o),
    bitWidth: b.u8(o + 1),
    bitOffset: b.u8(o + 2),
    accessSize: b.u8(o + 3),
    address,
  };
}

/** A legacy 32-bit I/O port block, described as a GenericAddress. */
function legacyIo(b: TableBytes, o: number, lenOffset: number): GenericAddress | undefined {
  if (!b.has(o, 4)) return undefined;
  const port = b.u32(o);
  if (port === 0) return undefined;
  return { spaceId: 1, bitWidth: b.u8(lenOffset) * 8, bitOffset: 0, accessSize: 0, address: port };
}

export function parseFadt(data: Uint8Array): AcpiResult<Fadt> {
  const h = validateTable(data, "FACP");
  if (!h.ok) return h;
  const len = h.value.length;
  if (len < 116)
    return fail("AE_BAD_HEADER", `FADT is ${len} bytes, shorter than the 116 bytes of ACPI 1.0`, 4);
  const b = new TableBytes(data.subarray(0, len));
  const xDsdt = b.has(0x8c, 8) ? b.u64(0x8c) : 0;
  const flags = b.u32(0x70);
  return ok({
    header: h.value,
    facs: b.has(0x84, 8) && b.u64(0x84) !== 0 ? b.u64(0x84) : b.u32(0x24),
    dsdt: xDsdt !== 0 ? xDsdt : b.u32(0x28),
    sciInterrupt: b.u16(0x2e),
    smiCommand: b.u32(0x30),
    acpiEnable: b.u8(0x34),
    acpiDisable: b.u8(0x35),
    pm1aEventBlock: gas(b, 0x94) ?? legacyIo(b, 0x38, 0x58),
    pm1bEventBlock: gas(b, 0xa0) ?? legacyIo(b, 0x3c, 0x58),
    pm1aControlBlock: gas(b, 0xac) ?? legacyIo(b, 0x40, 0x59),
    pm1bControlBlock: gas(b, 0xb8) ?? legacyIo(b, 0x44, 0x59),
    pmTimerBlock: gas(b, 0xd0) ?? legacyIo(b, 0x4c, 0x5b),
    flags,
    hardwareReduced: (flags & (1 << 20)) !== 0,
    resetRegister: gas(b, 0x74),
    resetValue: b.has(0x80, 1) ? b.u8(0x80) : 0,
    sleepControlRegister: gas(b, 0xf4),
  });
}
