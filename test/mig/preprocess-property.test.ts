// Property: random and mutated input never makes the preprocessor throw or hang; every
// diagnostic it reports is a catalogued preprocessor code with a span inside the input.
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DIAGNOSTIC_CATALOG } from "../../mig/diagnostic-catalog.js";
import { GNUMACH_INCLUDE } from "../helpers/tools.js";
import { MAIN, run } from "./preprocess-helpers.js";

/** Pieces that exercise every directive and lexical corner. */
const PIECES = [
  "#",
  "#define ",
  "#define f(a,b) a ## b #a\n",
  "#define g(...) __VA_ARGS__\n",
  "#undef ",
  "#if ",
  "#ifdef ",
  "#ifndef ",
  "#elif ",
  "#else",
  "#endif",
  "#include ",
  '"x.h"',
  "<y.h>",
  "#error ",
  "#warning ",
  "#line ",
  "#pragma ",
  "defined",
  "(",
  ")",
  ",",
  "##",
  "\\\n",
  "\n",
  " ",
  "\t",
  "/*",
  "*/",
  "//",
  '"',
  "'",
  "\\",
  "f(",
  "g(",
  "x",
  "A",
  "0x1F",
  "077",
  "1/0",
  "?",
  ":",
  "<<",
  "-",
  "!",
  "~",
  "&&",
  "||",
  "routine",
  ";",
  "€",
  "\r\n",
];

const FILES: Record<string, string> = {
  "/src/x.h": "#define X_H 1\nx_token\n",
  "/inc/y.h": '#ifndef Y\n#define Y\n#include "x.h"\n#endif\n',
};

const sample = existsSync(`${GNUMACH_INCLUDE}/mach/mach_port.defs`)
  ? readFileSync(`${GNUMACH_INCLUDE}/mach/mach_port.defs`, "utf8")
  : "#include <y.h>\n#ifdef KERNEL\nroutine f(a: int);\n#endif\n#define S(x) #x\nS(mach)\n";

const KINDS = new Set(["identifier", "number", "string", "char", "punct", "other"]);

function check(text: string): void {
  const started = performance.now();
  const r = run({ ...FILES, [MAIN]: text });
  // bounded: generous for a loaded 2-core CI machine, tiny for the sizes generated here
  expect(performance.now() - started).toBeLessThan(5000);
  const badDiags = r.sink.items.filter(
    (d) =>
      !(d.code in DIAGNOSTIC_CATALOG) ||
      !/^(E00|W00)/.test(d.code) ||
      d.code === "E0099" ||
      (d.span !== undefined && (d.span.line < 1 || d.span.col < 1)),
  );
  expect(badDiags).toEqual([]);
  const badToks = r.toks.filter((t) => t.text.length === 0 || !KINDS.has(t.kind));
  expect(badToks).toEqual([]);
}

describe("preprocessor robustness", () => {
  test("random sequences of directive and token pieces", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }), (pieces) =>
        check(pieces.join("")),
      ),
      { numRuns: 300 },
    );
  });

  test("random unicode text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), check), { numRuns: 200 });
  });

  test("mutated real .defs text (insertions, deletions, duplications)", () => {
    const mutation = fc.record({
      at: fc.nat(),
      del: fc.nat({ max: 40 }),
      ins: fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (muts) => {
        let text = sample;
        for (const m of muts) {
          const at = m.at % (text.length + 1);
          text = text.slice(0, at) + m.ins.join("") + text.slice(at + m.del);
        }
        check(text);
      }),
      { numRuns: 150 },
    );
  });
});
