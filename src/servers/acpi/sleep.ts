// Sleep states: SLP_TYPa/b for a state from the DSDT's \_Sx package, and the PM1 control
// value that enters it (S5 powers the machine off).
import type { AmlInterpreter } from "./aml/interpreter.js";
import { fail, ok, type AcpiResult } from "./status.js";

export interface SleepType {
  readonly slpTypA: number;
  readonly slpTypB: number;
}

/** PM1 control register bits (ACPI 6.5 §4.8.3.2.1). */
export const PM1_SLP_TYP_SHIFT = 10;
export const PM1_SLP_EN = 1 << 13;

/** Evaluates \_S<state> (a Package, or a method returning one) for its SLP_TYP values. */
export async function sleepType(
  interp: AmlInterpreter,
  state: number,
): Promise<AcpiResult<SleepType>> {
  if (!Number.isInteger(state) || state < 0 || state > 5)
    return fail("AE_BAD_PARAMETER", `S${state} is not a sleep state (S0..S5)`);
  const node = interp.namespace.lookup(`\\_S${state}_`);
  if (!node) return fail("AE_NOT_FOUND", `the DSDT defines no \\_S${state} (state not supported)`);
  const r = await interp.evaluate(node);
  if (!r.ok) return r;
  const v = r.value;
  if (v.type !== "package" || v.elements.length < 1)
    return fail("AE_TYPE", `\\_S${state} is not a Package`);
  const num = (i: number): number | undefined => {
    const e = v.elements[i];
    return e && e.type === "integer" ? Number(e.value & 0x7n) : undefined;
  };
  const a = num(0);
  if (a === undefined) return fail("AE_TYPE", `\\_S${state}[0] is not an Integer`);
  // Some firmware packs both values into the first element's low two bytes.
  const b =
    num(1) ?? (v.elements[0]!.type === "integer" ? Number((v.elements[0]!.value >> 8n) & 0x7n) : 0);
  return ok({ slpTypA: a, slpTypB: b });
}

/** The value written to a PM1 control block to enter the sleep state with this SLP_TYP. */
export function pm1ControlValue(slpTyp: number, current = 0): number {
  return (
    (current & ~(0x7 << PM1_SLP_TYP_SHIFT) & ~PM1_SLP_EN) |
    ((slpTyp & 7) << PM1_SLP_TYP_SHIFT) |
    PM1_SLP_EN
  );
}
