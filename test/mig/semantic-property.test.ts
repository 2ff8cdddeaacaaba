// A fast-check property: the semantic checks and the layout never throw, whatever the parser
// hands them (mutated fixtures: words dropped, duplicated, swapped or replaced).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkDefs } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { parseDefsText } from "../../mig/frontend.js";
import { layoutInterface } from "../../mig/layout/index.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "defs");
const SOURCES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".defs"))
  .map((f) => readFileSync(join(FIXTURES, f), "utf8").replace(/#include <[^>]*>/g, ""));

const PRELUDE = "type mach_port_t = MACH_MSG_TYPE_COPY_SEND;\n";

const REPLACEMENTS = [
  "array[*:0] of",
  "array[] of",
  "^",
  "struct { int a; }",
  "struct[0] of",
  "c_string[*:1]",
  "(MACH_MSG_TYPE_INTEGER_32, 70000)",
  "(123456, 8)",
  "polymorphic",
  "MACH_MSG_TYPE_POLYMORPHIC",
  "inout",
  "out",
  "requestport",
  "skip 4000000000;",
  "4294967296",
  "0",
  "IsNotLong",
  "Dealloc[]",
  "CountInOut",
  "ServerCopy",
];

const mutation = fc.record({
  source: fc.integer({ min: 0, max: SOURCES.length - 1 }),
  edits: fc.array(
    fc.record({
      at: fc.nat(),
      kind: fc.constantFrom("drop", "dup", "swap", "replace"),
      with: fc.constantFrom(...REPLACEMENTS),
    }),
    { minLength: 1, maxLength: 6 },
  ),
});

function mutate(
  text: string,
  edits: readonly { at: number; kind: string; with: string }[],
): string {
  const words = text.split(/(\s+)/);
  for (const e of edits) {
    const i = (e.at % Math.max(1, words.length)) & ~1;
    switch (e.kind) {
      case "drop":
        words.splice(i, 1);
        break;
      case "dup":
        words.splice(i, 0, words[i] ?? "");
        break;
      case "swap":
        [words[i], words[i + 2]] = [words[i + 2] ?? "", words[i] ?? ""];
        break;
      default:
        words[i] = e.with;
    }
  }
  return words.join("");
}

describe("semantic checks and layout on mutated input", () => {
  test("never throw, and either fail with errors or give a layout", () => {
    fc.assert(
      fc.property(mutation, ({ source, edits }) => {
        const text = PRELUDE + mutate(SOURCES[source]!, edits);
        const sink = new DiagnosticSink();
        const ast = parseDefsText(text, "mutant.defs", { includeDirs: [] }, sink);
        const checked = checkDefs(ast, sink);
        if (checked !== undefined) {
          const layout = layoutInterface(checked);
          expect(layout.routines.length).toBe(checked.routines.length);
          for (const r of layout.routines) expect(r.request.size).toBeGreaterThanOrEqual(32);
        } else {
          expect(sink.hasErrors()).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
