// Malformed .defs inputs through the real front end (preprocessor + parser): each reports exactly
// the expected diagnostic (code, message, line:col), with no follow-on errors, and marks the statement broken.
import { describe, expect, it } from "vitest";
import { parseDefsText } from "../../mig/frontend.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { DIAGNOSTIC_CATALOG } from "../../mig/diagnostic-catalog.js";

const HEAD = "subsystem s 100;\ntype int = MACH_MSG_TYPE_INTEGER_32;\n";

interface Case {
  readonly name: string;
  readonly src: string;
  readonly code: string;
  readonly at: string; // line:col
  readonly message: string | RegExp;
}

// Lines in `src` after HEAD start at line 3.
const CASES: Case[] = [
  // Statements and ';'
  {
    name: "missing ';' after a routine",
    src: HEAD + "routine foo(in a: int)\nroutine bar(in b: int);\n",
    code: "E0101",
    at: "3:23",
    message: "missing ';' after the argument list of routine 'foo'",
  },
  {
    name: "missing ';' at the end of the file",
    src: HEAD + "routine foo(in a: int)",
    code: "E0101",
    at: "3:23",
    message: "missing ';' after the argument list of routine 'foo'",
  },
  {
    name: "missing ';' after a type",
    src: HEAD + "type t = int\ntype u = int;\n",
    code: "E0101",
    at: "3:13",
    message: "missing ';' after 'int'",
  },
  {
    name: "missing ';' after subsystem",
    src: "subsystem s 100\ntype int = MACH_MSG_TYPE_INTEGER_32;\n",
    code: "E0101",
    at: "1:16",
    message: "missing ';' after '100'",
  },
  {
    name: "extra token before ';'",
    src: HEAD + "skip 3 4;\n",
    code: "E0101",
    at: "3:8",
    message: "expected ';' after '3', found '4'",
  },
  {
    name: "junk after the argument list",
    src: HEAD + "routine foo(in a: int) junk;\n",
    code: "E0101",
    at: "3:24",
    message: "expected ';' after the argument list of routine 'foo', found 'junk'",
  },
  {
    name: "misspelt statement keyword",
    src: HEAD + "rotine foo(in a: int);\n",
    code: "E0102",
    at: "3:1",
    message: "unknown statement 'rotine' (did you mean 'routine'?)",
  },
  {
    name: "a number cannot begin a statement",
    src: HEAD + "42;\n",
    code: "E0102",
    at: "3:1",
    message:
      "expected a statement (subsystem, routine, simpleroutine, type, import, skip, ...), found '42'",
  },
  {
    name: "a direction keyword cannot begin a statement",
    src: HEAD + "in a: int;\n",
    code: "E0102",
    at: "3:1",
    message: /found keyword 'in'$/,
  },
  // Keyword misuse
  {
    name: "keyword as routine name",
    src: HEAD + "routine in(a: int);\n",
    code: "E0103",
    at: "3:9",
    message: "'in' is a keyword and cannot be used as a routine name",
  },
  {
    name: "keyword as routine name, any case",
    src: HEAD + "simpleroutine Type(a: int);\n",
    code: "E0103",
    at: "3:15",
    message: "'Type' is a keyword and cannot be used as a routine name",
  },
  {
    name: "keyword as argument name",
    src: HEAD + "routine foo(in out: int);\n",
    code: "E0103",
    at: "3:16",
    message: "'out' is a keyword and cannot be used as an argument name",
  },
  {
    name: "keyword as type name",
    src: HEAD + "type array = int;\n",
    code: "E0103",
    at: "3:6",
    message: "'array' is a keyword and cannot be used as a type name",
  },
  {
    name: "keyword as subsystem name",
    src: "subsystem skip 100;\n",
    code: "E0103",
    at: "1:11",
    message: "'skip' is a keyword and cannot be used as a subsystem name",
  },
  {
    name: "inline array as argument type",
    src: HEAD + "routine foo(in a: array[] of int);\n",
    code: "E0103",
    at: "3:19",
    message: "'array' is a keyword and cannot be used as a type name",
  },
  // Subsystem
  {
    name: "non-numeric subsystem base",
    src: "subsystem s abc;\n",
    code: "E0104",
    at: "1:13",
    message: "subsystem base must be an integer, found 'abc'",
  },
  {
    name: "second subsystem",
    src: "subsystem s 100;\nsubsystem t 200;\n",
    code: "E0105",
    at: "2:1",
    message: "a second subsystem statement ('t'); this file already declares subsystem 's' at 1:1",
  },
  {
    name: "missing subsystem",
    src: "type int = MACH_MSG_TYPE_INTEGER_32;\nroutine foo(in a: int);\n",
    code: "E0106",
    at: "2:1",
    message: "no subsystem statement: a .defs file must declare 'subsystem NAME BASE;'",
  },
  {
    name: "missing subsystem in an empty file",
    src: "",
    code: "E0106",
    at: "1:1",
    message: "no subsystem statement: a .defs file must declare 'subsystem NAME BASE;'",
  },
  {
    name: "subsystem without a name",
    src: "subsystem 100;\n",
    code: "E0100",
    at: "1:11",
    message: "expected a subsystem name, found '100'",
  },
  // Brackets
  {
    name: "unclosed argument list",
    src: HEAD + "routine foo(in a: int;\nroutine bar(in b: int);\n",
    code: "E0107",
    at: "3:23",
    message: "missing ')' to close the argument list of routine 'foo' opened at 3:12",
  },
  {
    name: "unclosed argument list at end of file",
    src: HEAD + "routine foo(in a: int\n",
    code: "E0107",
    at: "3:22",
    message: "missing ')' to close the argument list of routine 'foo' opened at 3:12",
  },
  {
    name: "extra ')'",
    src: HEAD + "routine foo(in a: int));\n",
    code: "E0101",
    at: "3:23",
    message: "expected ';' after the argument list of routine 'foo', found ')'",
  },
  { name: "stray '}'", src: HEAD + "}\n", code: "E0107", at: "3:1", message: "unmatched '}'" },
  {
    name: "unclosed long type form",
    src: HEAD + "type t = (MACH_MSG_TYPE_INTEGER_32, 32;\n",
    code: "E0107",
    at: "3:39",
    message: "expected ')' to close the group, found ';'",
  },
  // Arguments
  {
    name: "unknown argument kind",
    src: HEAD + "routine foo(inn a: int);\n",
    code: "E0108",
    at: "3:13",
    message:
      "unknown argument kind 'inn'; expected in, out, inout, requestport, replyport, sreplyport, ureplyport, waittime, msgoption or msgseqno",
  },
  {
    name: "missing ':' in an argument",
    src: HEAD + "routine foo(in a int);\n",
    code: "E0100",
    at: "3:18",
    message: "expected ':', found 'int'",
  },
  {
    name: "empty argument",
    src: HEAD + "routine foo(in a: int; ; out b: int);\n",
    code: "E0113",
    at: "3:22",
    message: "empty argument in the argument list of routine 'foo' (a stray ';')",
  },
  {
    name: "trailing ';' in an argument list",
    src: HEAD + "routine foo(in a: int;);\n",
    code: "E0113",
    at: "3:22",
    message: "empty argument in the argument list of routine 'foo' (a stray ';')",
  },
  {
    name: "unknown flag",
    src: HEAD + "routine foo(in a: int, foo);\n",
    code: "E0111",
    at: "3:24",
    message:
      "unknown IPC flag 'foo'; expected dealloc, dealloc[], notdealloc, servercopy, countinout, islong, isnotlong or retcode",
  },
  {
    name: "flag without ','",
    src: HEAD + "routine foo(in a: int, dealloc dealloc);\n",
    code: "E0100",
    at: "3:32",
    message:
      "unexpected keyword 'dealloc' after the argument (flags are written ', dealloc'; arguments end with ';')",
  },
  // Arrays and c_string
  {
    name: "array size not closed",
    src: HEAD + "type t = array[10 of int;\n",
    code: "E0109",
    at: "3:19",
    message: "malformed array type: expected ']', found keyword 'of'",
  },
  {
    name: "array[*:] without a bound",
    src: HEAD + "type t = array[*:] of int;\n",
    code: "E0109",
    at: "3:18",
    message: "malformed array type: expected an integer, found ']'",
  },
  {
    name: "array without 'of'",
    src: HEAD + "type t = array[10] int;\n",
    code: "E0109",
    at: "3:20",
    message: "malformed array type: expected 'of', found 'int'",
  },
  {
    name: "array without brackets",
    src: HEAD + "type t = array of int;\n",
    code: "E0109",
    at: "3:16",
    message: "malformed array type: expected '[', found keyword 'of'",
  },
  {
    name: "array of nothing",
    src: HEAD + "type t = array[] of;\n",
    code: "E0109",
    at: "3:20",
    message: /^malformed array type: expected a type .*found ';'$/,
  },
  {
    name: "c_string without a size",
    src: HEAD + "type t = c_string[];\n",
    code: "E0110",
    at: "3:19",
    message: "malformed c_string type: expected an integer, found ']'",
  },
  {
    name: "c_string[*] without a bound",
    src: HEAD + "type t = c_string[*];\n",
    code: "E0110",
    at: "3:20",
    message: "malformed c_string type: expected ':', found ']'",
  },
  // Types
  {
    name: "type without '='",
    src: HEAD + "type t int;\n",
    code: "E0100",
    at: "3:8",
    message: "expected '=', found 'int'",
  },
  {
    name: "type without a name",
    src: HEAD + "type = int;\n",
    code: "E0100",
    at: "3:6",
    message: "expected a type name, found '='",
  },
  {
    name: "type without a spec",
    src: HEAD + "type t = ;\n",
    code: "E0100",
    at: "3:10",
    message: /^expected a type \(.*\), found ';'$/,
  },
  {
    name: "pointer to nothing",
    src: HEAD + "type t = ^;\n",
    code: "E0100",
    at: "3:11",
    message: /^expected a type \(.*\), found ';'$/,
  },
  {
    name: "half an IPC pair",
    src: HEAD + "type t = MACH_MSG_TYPE_INTEGER_32 | ;\n",
    code: "E0100",
    at: "3:37",
    message: "expected an IPC type (MACH_MSG_TYPE_..., polymorphic or a number), found ';'",
  },
  {
    name: "inline struct field without ';'",
    src: HEAD + "type t = struct { int a; int b };\n",
    code: "E0101",
    at: "3:32",
    message: "expected ';' after 'b', found '}'",
  },
  {
    name: "empty ctype annotation",
    src: HEAD + "type t = int ctype: ;\n",
    code: "E0114",
    at: "3:21",
    message: /^malformed type annotation: expected .*, found ';'$/,
  },
  {
    name: "intran without its server type",
    src: HEAD + "type t = int intran: t f;\n",
    code: "E0114",
    at: "3:25",
    message: "malformed type annotation: expected '(', found ';'",
  },
  // Other statements
  {
    name: "import without a file name",
    src: HEAD + "import foo;\n",
    code: "E0115",
    at: "3:8",
    message: "malformed import file name: expected <file> or \"file\", found 'foo'",
  },
  {
    name: "import <file without '>'",
    src: HEAD + "import <foo.h;\n",
    code: "E0115",
    at: "3:14",
    message: "malformed import file name: expected <file> or \"file\", found ';'",
  },
  {
    name: "invalid integer literal",
    src: HEAD + "skip 0x;\n",
    code: "E0112",
    at: "3:6",
    message: "invalid integer literal '0x'",
  },
  {
    name: "character outside the language",
    src: HEAD + "type t = @;\n",
    code: "E0116",
    at: "3:10",
    message: "character @ is not part of the MIG language",
  },
  {
    name: "serverprefix without a name",
    src: HEAD + "serverprefix 12;\n",
    code: "E0100",
    at: "3:14",
    message: "expected a name, found '12'",
  },
  {
    name: "rcsid without a string",
    src: HEAD + "rcsid foo;\n",
    code: "E0100",
    at: "3:7",
    message: "expected a string, found 'foo'",
  },
  {
    name: "waittime without a value",
    src: HEAD + "waittime ;\n",
    code: "E0100",
    at: "3:10",
    message: "expected a value, found ';'",
  },
  {
    name: "statement cut short by the next line",
    src: HEAD + "type t =\nroutine foo(in a: int);\n",
    code: "E0117",
    at: "3:9",
    message: /^statement ends too early after '=': expected a type/,
  },
  // Preprocessor errors, end to end
  {
    name: "unterminated comment",
    src: HEAD + "/* open\n",
    code: "E0001",
    at: "3:1",
    message: /unterminated comment/,
  },
  {
    name: "unknown directive",
    src: HEAD + "#foo\n",
    code: "E0003",
    at: "3:1",
    message: /unknown preprocessing directive '#foo'/,
  },
  {
    name: "#endif without #if",
    src: HEAD + "#endif\n",
    code: "E0004",
    at: "3:1",
    message: /#endif without #if/,
  },
  {
    name: "missing include",
    src: HEAD + '#include "nope.defs"\n',
    code: "E0007",
    at: "3:1",
    message: /"nope.defs" not found/,
  },
  {
    name: "macro with the wrong argument count",
    src: HEAD + "#define F(a,b) a\nskip F(1);\n",
    code: "E0012",
    at: "4:6",
    message: /expects 2 arguments, but 1 was given/,
  },
  {
    name: "#error",
    src: HEAD + "#error stop here\n",
    code: "E0017",
    at: "3:1",
    message: /stop here/,
  },
];

function check(src: string): { sink: DiagnosticSink; broken: number; syntaxErrors: boolean } {
  const sink = new DiagnosticSink();
  const file = parseDefsText(src, "bad.defs", { includeDirs: [] }, sink);
  return {
    sink,
    broken: file.statements.filter((s) => s.kind === "broken").length,
    syntaxErrors: file.syntaxErrors,
  };
}

describe("malformed .defs inputs", () => {
  it("has at least 40 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)("$name: $code at $at", ({ src, code, at, message }) => {
    const { sink, syntaxErrors } = check(src);
    expect(sink.items.map((d) => d.code)).toEqual([code]); // exactly one: no cascade
    const d = sink.items[0]!;
    expect(d.severity).toBe("error");
    expect(`${d.span?.line}:${d.span?.col}`).toBe(at);
    if (typeof message === "string") expect(d.message).toBe(message);
    else expect(d.message).toMatch(message);
    expect(syntaxErrors).toBe(true);
  });
});

describe("error recovery", () => {
  it("reports every bad statement of a file and keeps the good ones", () => {
    const src =
      HEAD +
      "routine a(inn x: int);\n" + // E0108
      "routine b(in x: int);\n" +
      "type t = array[3 of int;\n" + // E0109
      "routine c(in x: int, bogus);\n" + // E0111
      "simpleroutine d(in x: int);\n" +
      "routine in(x: int);\n"; // E0103
    const sink = new DiagnosticSink();
    const file = parseDefsText(src, "multi.defs", { includeDirs: [] }, sink);
    expect(sink.items.map((d) => `${d.code}@${d.span?.line}`)).toEqual([
      "E0108@3",
      "E0109@5",
      "E0111@6",
      "E0103@8",
    ]);
    const kinds = file.statements.map((s) =>
      s.kind === "routine" ? s.name.name : s.kind === "broken" ? `broken:${s.keyword}` : s.kind,
    );
    expect(kinds).toEqual([
      "subsystem",
      "type",
      "broken:routine",
      "b",
      "broken:type",
      "broken:routine",
      "d",
      "broken:routine",
    ]);
  });

  it("reports each bad argument of one routine, resynchronising at ';'", () => {
    const sink = new DiagnosticSink();
    parseDefsText(
      HEAD + "routine r(\n\tinn a: int;\n\tin b: int;\n\tin c: int, nope;\n\tout d int);\n",
      "args.defs",
      { includeDirs: [] },
      sink,
    );
    expect(sink.items.map((d) => `${d.code}@${d.span?.line}:${d.span?.col}`)).toEqual([
      "E0108@4:2",
      "E0111@6:13",
      "E0100@7:8",
    ]);
  });

  it("does not report a parse error where the preprocessor already did", () => {
    const { sink } = check(HEAD + "#define F(a,b) a\nskip F(1);\n");
    expect(sink.items.map((d) => d.code)).toEqual(["E0012"]);
  });

  it("reports a broken routine's name so later phases can still number it", () => {
    const sink = new DiagnosticSink();
    const file = parseDefsText(
      HEAD + "routine foo(inn a: int);\n",
      "n.defs",
      { includeDirs: [] },
      sink,
    );
    const broken = file.statements[2]!;
    expect(broken.kind).toBe("broken");
    if (broken.kind === "broken") {
      expect(broken.keyword).toBe("routine");
      expect(broken.name?.name).toBe("foo");
      expect(broken.span).toMatchObject({ line: 3, col: 1, endLine: 3, endCol: 25 });
    }
  });
});

describe("warnings", () => {
  it("warns about [] on a flag other than dealloc, and about duplicate flags", () => {
    const sink = new DiagnosticSink();
    const file = parseDefsText(
      HEAD + "routine foo(in a: int, servercopy[], dealloc, dealloc);\n",
      "w.defs",
      { includeDirs: [] },
      sink,
    );
    expect(sink.items.map((d) => [d.code, d.severity, `${d.span?.line}:${d.span?.col}`])).toEqual([
      ["W0100", "warning", "3:24"],
      ["W0101", "warning", "3:47"],
    ]);
    expect(sink.items[0]!.message).toBe(
      "only dealloc can be made variable with []; 'servercopy[]' is read as 'servercopy'",
    );
    expect(file.syntaxErrors).toBe(false);
  });

  it("warns about a duplicate subsystem modifier", () => {
    const sink = new DiagnosticSink();
    parseDefsText("subsystem KernelUser kerneluser s 100;\n", "w.defs", { includeDirs: [] }, sink);
    expect(sink.items.map((d) => `${d.code} ${d.message}`)).toEqual([
      "W0101 duplicate KernelUser modifier",
    ]);
  });
});

describe("the E01xx catalog", () => {
  it("has a malformed-input case for every syntax diagnostic code", () => {
    const covered = new Set([
      ...CASES.map((c) => c.code),
      "W0100",
      "W0101",
      "E0118" /* malformed-property */,
    ]);
    const syntax = Object.keys(DIAGNOSTIC_CATALOG).filter((c) => /^[EW]01\d\d$/.test(c));
    expect(syntax.filter((c) => !covered.has(c))).toEqual([]);
  });
});
