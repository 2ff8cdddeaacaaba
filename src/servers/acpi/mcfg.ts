// The MCFG table: where each PCI segment's memory-mapped configuration space (ECAM) lives
// and which buses it covers; config address = base + (bus << 20 | dev << 15 | fn << 12).
import { TableBytes } from "./bytes.js";
import { fail, ok, type AcpiResult } from "./status.js";
import { validateTable, type AcpiTableHeader } from "./table-header.js";

export interface McfgAllocation {
  readonly baseAddress: number;
  readonly segment: number;
  readonly startBus: number;
  readonly endBus: number;
}

export interface Mcfg {
  readonly header: AcpiTableHeader;
  readonly allocations: readonly McfgAllocation[];
}

export function parseMcfg(data: Uint8Array): AcpiResult<Mcfg> {
  const h = validateTable(data, "MCFG");
  if (!h.ok) return h;
  const len = h.value.length;
  if (len < 44 || (len - 44) % 16 !== 0)
    return fail("AE_BAD_HEADER", `MCFG length ${len} is not 44 plus whole 16-byte allocations`, 4);
  const b = new TableBytes(data.subarray(0, len));
  const allocations: McfgAllocation[] = [];
  for (let o = 44; o + 16 <= len; o += 16) {
    const a = {
      baseAddress: b.u64(o),
      segment: b.u16(o + 8),
      startBus: b.u8(o + 10),
      endBus: b.u8(o + 11),
    };
    if (a.endBus < a.startBus)
      return fail(
        "AE_BAD_VALUE",
        `MCFG allocation at ${o} ends at bus ${a.endBus} before it starts at ${a.startBus}`,
        o + 10,
      );
    allocations.push(a);
  }
  return ok({ header: h.value, allocations });
}

/** ECAM address of a config register, or undefined when no allocation covers the bus. */
export function ecamAddress(
  mcfg: Mcfg,
  segment: number,
  bus: number,
  device: number,
  fn: number,
  offset: number,
): number | undefined {
  const a = mcfg.allocations.find(
    (x) => x.segment === segment && bus >= x.startBus && bus <= x.endBus,
  );
  if (!a) return undefined;
  return (
    a.baseAddress + (((bus - a.startBus) << 20) | (device << 15) | (fn << 12) | (offset & 0xfff))
  );
}
