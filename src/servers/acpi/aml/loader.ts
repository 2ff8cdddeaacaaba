// Loads a definition block (DSDT, SSDT) into the namespace: walks its TermList creating
// named objects and running module-level code, recording problems without stopping at them.
import { errorFromCaught, fail, ok, type AcpiError, type AcpiResult } from "../status.js";
import type { Term } from "./ast.js";
import { Run as RunBudget, type AmlInterpreter, type Run } from "./interpreter.js";
import type { NsNode } from "./namespace.js";
import { declare } from "./declarations.js";
import { AmlParser } from "./parser.js";
import { AmlReader } from "./reader.js";

export const ACPI_HEADER_LENGTH = 36;
const MAX_SCOPE_NESTING = 128;

export interface LoadReport {
  readonly signature: string;
  /** Problems met while loading; the rest of the table was still loaded. Empty for a clean table. */
  readonly errors: readonly AcpiError[];
  readonly steps: number;
}

function signatureOf(table: Uint8Array): string {
  return String.fromCharCode(...table.subarray(0, 4));
}

/**
 * Loads `table` (a whole DSDT/SSDT, header included). Fails only when the header is unusable;
 * AML problems are listed in the report's `errors`.
 */
export function loadDefinitionBlock(
  interp: AmlInterpreter,
  table: Uint8Array,
): Promise<AcpiResult<LoadReport>> {
  return interp.exclusive(() => load(interp, table));
}

async function load(interp: AmlInterpreter, table: Uint8Array): Promise<AcpiResult<LoadReport>> {
  if (table.length < ACPI_HEADER_LENGTH)
    return fail("AE_BAD_HEADER", `table is ${table.length} bytes, shorter than an ACPI header`);
  const signature = signatureOf(table);
  if (!["DSDT", "SSDT", "PSDT"].includes(signature))
    return fail("AE_BAD_SIGNATURE", `"${signature}" is not a definition block`);
  const length = (table[4]! | (table[5]! << 8) | (table[6]! << 16) | (table[7]! << 24)) >>> 0;
  if (length < ACPI_HEADER_LENGTH || length > table.length) {
    return fail(
      "AE_BAD_HEADER",
      `header length ${length} does not fit the ${table.length} bytes given`,
    );
  }
  const errors: AcpiError[] = [];
  let sum = 0;
  for (let i = 0; i < length; i++) sum = (sum + table[i]!) & 0xff;
  if (sum !== 0)
    errors.push({
      code: "AE_BAD_CHECKSUM",
      message: `${signature} checksum is off by 0x${sum.toString(16)}`,
      offset: 9,
    });
  if (signature === "DSDT") interp.integerWidth = table[8]! < 2 ? 32 : 64;
  const code = table.slice(0, length);
  const run = new RunBudget(interp.maxSteps);
  try {
    await loadTermList(
      interp,
      code,
      ACPI_HEADER_LENGTH,
      length,
      interp.namespace.root,
      run,
      errors,
      0,
    );
  } catch (e) {
    if (!(e instanceof LoadAborted)) errors.push(errorFromCaught(e));
  }
  return ok({ signature, errors, steps: run.steps });
}

async function loadTermList(
  interp: AmlInterpreter,
  code: Uint8Array,
  start: number,
  end: number,
  scope: NsNode,
  run: Run,
  errors: AcpiError[],
  depth: number,
): Promise<void> {
  if (depth > MAX_SCOPE_NESTING) {
    errors.push({
      code: "AE_AML_NESTING",
      message: `scopes nest deeper than ${MAX_SCOPE_NESTING}`,
      offset: start,
    });
    return;
  }
  const reader = new AmlReader(code, start, end);
  const parser = new AmlParser(reader, interp.namespace, scope);
  const frame = interp.topFrame(run, scope, code);
  while (reader.pos < end) {
    let t: Term;
    try {
      t = parser.term(true);
    } catch (e) {
      // The term's extent is unknown, so the rest of this scope cannot be found: skip it.
      errors.push(errorFromCaught(e));
      return;
    }
    try {
      if (t.op === "block") {
        const node = await declare(interp, t, frame);
        await loadTermList(interp, code, t.bodyStart, t.bodyEnd, node, run, errors, depth + 1);
      } else {
        await interp.execList([t], frame);
      }
    } catch (e) {
      const err = errorFromCaught(e);
      errors.push(err.offset === undefined ? { ...err, offset: t.at } : err);
      if (err.code === "AE_AML_INFINITE_LOOP") throw new LoadAborted();
    }
  }
}

class LoadAborted extends Error {
  constructor() {
    super("table load stopped: step limit reached");
  }
}
