// Property: random and mutated .defs never make the front end throw or report an internal error,
// every diagnostic has a catalog code and a sane span, and each input finishes in bounded time.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDefsText } from "../../mig/frontend.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { DIAGNOSTIC_CATALOG } from "../../mig/diagnostic-catalog.js";

const VALID = `/* A small interface. */
subsystem KernelServer sample 4500;
#define N 16
type int = MACH_MSG_TYPE_INTEGER_32;
type port_t = MACH_MSG_TYPE_COPY_SEND ctype: mach_port_t;
type reply_t = MACH_MSG_TYPE_MAKE_SEND_ONCE | polymorphic;
type buf_t = array[*:N*2] of char;
type name_t = c_string[*:64];
type big_t = ^array[] of MACH_MSG_TYPE_BYTE;
type pair_t = struct { int a; int b; };
type quad_t = struct[4] of int;
type long_t = (MACH_MSG_TYPE_INTEGER_64, 64, islong);
type dev_t = port_t intran: dev_t lookup(port_t) outtran: port_t conv(dev_t) destructor: rel(dev_t);
import <sample_types.h>;
serverprefix S_;
userprefix U_;
waittime 100;
msgoption MACH_SEND_INTERRUPT;
rcsid "$Id$";
/* Reads. */
routine sample_read(
\t\tserver\t: port_t;
\tsreplyport reply : reply_t;
\t\tin\tcount\t: int;
\t\tout\tdata\t: buf_t, dealloc[]);
skip;
skip 2;
simpleroutine sample_poke(server: port_t; msgseqno seq: int; in name: name_t; waittime t: int);
#ifdef EXTRA
routine sample_extra(server: port_t; inout q: quad_t, countinout);
#endif
`;

const WORDS = [
  "subsystem",
  "routine",
  "simpleroutine",
  "type",
  "skip",
  "import",
  "in",
  "out",
  "inout",
  "array",
  "of",
  "struct",
  "c_string",
  "polymorphic",
  "ctype",
  "intran",
  "outtran",
  "destructor",
  "dealloc",
  "KernelUser",
  "MACH_MSG_TYPE_INTEGER_32",
  "MACH_MSG_TYPE_COPY_SEND",
  "int",
  "foo",
  "bar",
  "0",
  "12",
  "0x1f",
  "09",
  "4294967296",
  ";",
  ":",
  ",",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "=",
  "|",
  "^",
  "*",
  "+",
  "-",
  "/",
  "<",
  ">",
  "@",
  "'c'",
  '"s"',
  "/*",
  "*/",
  "//",
  "\n",
  "\t",
  " ",
  "#define X",
  "#if",
  "#endif",
  "#include",
  "#else",
  "#error e",
  "\\",
];

function run(src: string): void {
  const sink = new DiagnosticSink();
  const start = performance.now();
  const file = parseDefsText(src, "fuzz.defs", { includeDirs: [] }, sink);
  const elapsed = performance.now() - start;
  expect(elapsed).toBeLessThan(2000);
  expect(file.kind).toBe("defsFile");
  for (const d of sink.items) {
    expect(d.code in DIAGNOSTIC_CATALOG).toBe(true);
    expect(d.code).not.toBe("E0901");
    expect(d.code).not.toBe("E0099");
    if (d.span) {
      expect(d.span.line).toBeGreaterThanOrEqual(1);
      expect(d.span.col).toBeGreaterThanOrEqual(1);
    }
  }
  if (sink.hasErrors()) expect(file.syntaxErrors).toBe(true);
}

describe("front end robustness", () => {
  it("parses the valid sample cleanly (the mutation seed)", () => {
    const sink = new DiagnosticSink();
    const file = parseDefsText(VALID, "seed.defs", { includeDirs: [] }, sink);
    expect(sink.items).toEqual([]);
    expect(file.statements.filter((s) => s.kind === "routine")).toHaveLength(2);
  });

  it("never throws on random token soup", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...WORDS), { maxLength: 200 }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (words, spaces) => {
          run(words.map((w, i) => (spaces[i] ? `${w} ` : w)).join(""));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: "binary" }), (s) => run(s)),
      { numRuns: 200 },
    );
  });

  it("never throws on mutations of a valid file", () => {
    const mutation = fc.oneof(
      fc.record({
        op: fc.constant("delete" as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 12 }),
      }),
      fc.record({
        op: fc.constant("insert" as const),
        at: fc.nat(),
        text: fc.constantFrom(...WORDS),
      }),
      fc.record({
        op: fc.constant("duplicate" as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 40 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
        let src = VALID;
        for (const m of ms) {
          const at = m.at % (src.length + 1);
          if (m.op === "delete") src = src.slice(0, at) + src.slice(at + m.len);
          else if (m.op === "insert") src = src.slice(0, at) + m.text + src.slice(at);
          else src = src.slice(0, at) + src.slice(at, at + m.len) + src.slice(at);
        }
        run(src);
      }),
      { numRuns: 400 },
    );
  });

  it("handles very long and deeply nested inputs in bounded time", () => {
    run("subsystem s 1;\ntype t = " + "^".repeat(3000) + "int;\n");
    run(
      "subsystem s 1;\ntype t = array[" + "(".repeat(2000) + "1" + ")".repeat(2000) + "] of int;\n",
    );
    run("subsystem s 1;\ntype t = " + "array[] of ".repeat(3000) + "int;\n");
    run("subsystem s 1;\n" + "routine r(in a: int);\n".repeat(3000));
    run("(".repeat(5000));
  });

  it("reports absurd nesting as E0118 instead of overflowing the stack", () => {
    const sink = new DiagnosticSink();
    parseDefsText(
      "subsystem s 1;\ntype t = " + "^".repeat(300) + "int;\n",
      "deep.defs",
      { includeDirs: [] },
      sink,
    );
    expect(sink.items.map((d) => [d.code, d.message, d.span?.col])).toEqual([
      ["E0118", "statement nested too deeply (more than 256 '^' and 'of' type constructors)", 266],
    ]);
    const ok = new DiagnosticSink();
    parseDefsText(
      "subsystem s 1;\ntype t = " + "^".repeat(200) + "int;\n",
      "deep.defs",
      { includeDirs: [] },
      ok,
    );
    expect(ok.items).toEqual([]);
  });
});
