// One test per semantic error and warning of tsmig's checks: the code, the severity and the
// line:col of the offending token; and GNU MIG rejects the same inputs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { checkDefs } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { parseDefsText } from "../../mig/frontend.js";
import { runGnuMig } from "../helpers/gnu-mig.js";
import { need } from "../helpers/tools.js";

const PRELUDE = "subsystem sem 1000;\ntype port_t = MACH_MSG_TYPE_COPY_SEND;\n";

interface Found {
  readonly code: string;
  readonly severity: string;
  readonly at: string;
  readonly message: string;
}

function check(text: string, requireSubsystem = true): Found[] {
  const sink = new DiagnosticSink();
  const ast = parseDefsText(text, "sem.defs", { includeDirs: [], requireSubsystem }, sink);
  expect(
    sink.items.filter((d) => d.code.startsWith("E01")),
    "the test input must parse",
  ).toEqual([]);
  checkDefs(ast, sink);
  return sink.items.map((d) => ({
    code: d.code,
    severity: d.severity,
    at: d.span ? `${d.span.line}:${d.span.col}` : "",
    message: d.message,
  }));
}

/** The single diagnostic the input produces. */
function only(text: string): Found {
  const found = check(text);
  expect(found, JSON.stringify(found)).toHaveLength(1);
  return found[0]!;
}

interface ErrorCase {
  readonly what: string;
  readonly code: string;
  readonly at: string;
  readonly text: string;
  /** A fragment of the message. */
  readonly says: string;
}

const ERRORS: readonly ErrorCase[] = [
  {
    what: "undefined type",
    code: "E0201",
    at: "3:32",
    says: "type 'nothing_t' not defined",
    text: PRELUDE + "routine r(server : port_t; x : nothing_t);\n",
  },
  {
    what: "undefined type inside a type definition",
    code: "E0201",
    at: "3:21",
    says: "type 'nothing_t' not defined",
    text: PRELUDE + "type a = array[] of nothing_t;\nroutine r(server : port_t; x : a);\n",
  },
  {
    what: "redefined type",
    code: "E0202",
    at: "4:6",
    says: "type a is already defined",
    text: PRELUDE + "type a = int;\ntype a = char;\nroutine r(server : port_t; x : a);\n",
  },
  {
    what: "redefined built-in type",
    code: "E0202",
    at: "3:6",
    says: "type int is already defined",
    text: PRELUDE + "type int = MACH_MSG_TYPE_INTEGER_32;\nroutine r(server : port_t; x : int);\n",
  },
  {
    what: "routine without request port",
    code: "E0203",
    at: "3:9",
    says: "Routine r doesn't have a server port argument",
    text: PRELUDE + "routine r(out x : int);\n",
  },
  {
    what: "out argument on a simpleroutine",
    code: "E0204",
    at: "3:50",
    says: "SimpleRoutine r has OUT argument x",
    text: PRELUDE + "simpleroutine r(server : port_t; in a : int; out x : int);\n",
  },
  {
    what: "inout argument on a simpleroutine",
    code: "E0204",
    at: "3:40",
    says: "has OUT argument y",
    text: PRELUDE + "simpleroutine r(server : port_t; inout y : int);\n",
  },
  {
    what: "variable-sized inline inout",
    code: "E0205",
    at: "4:34",
    says: "inline variable-sized arguments can't be InOut",
    text: PRELUDE + "type v = array[*:10] of int;\nroutine r(server : port_t; inout x : v);\n",
  },
  {
    what: "variable inline array of a type without a named base",
    code: "E0206",
    at: "3:6",
    says: "v: variable-sized in-line arrays need a named base type",
    text:
      PRELUDE +
      "type v = array[*:10] of (MACH_MSG_TYPE_INTEGER_32, 32);\nroutine r(server : port_t; x : v);\n",
  },
  {
    what: "array too large for the long descriptor",
    code: "E0207",
    at: "3:6",
    says: "too big for mach_msg_type_long_t",
    text:
      PRELUDE +
      "type big = array[2] of (MACH_MSG_TYPE_INTEGER_32, 70000);\nroutine r(server : port_t; x : big);\n",
  },
  {
    what: "array too large for the short descriptor it is forced into",
    code: "E0207",
    at: "4:28",
    says: "too big for IsNotLong",
    text:
      PRELUDE + "type big = array[5000] of int;\nroutine r(server : port_t; x : big, IsNotLong);\n",
  },
  {
    what: "duplicate argument names",
    code: "E0208",
    at: "3:37",
    says: "two arguments named x",
    text: PRELUDE + "routine r(server : port_t; x : int; x : int);\n",
  },
  {
    what: "an argument named like the implicit count of an array",
    code: "E0208",
    at: "4:38",
    says: "two arguments named dataCnt",
    text:
      PRELUDE +
      "type v = array[*:8] of int;\nroutine r(server : port_t; data : v; dataCnt : int);\n",
  },
  {
    what: "a type too complicated (array of out-of-line data)",
    code: "E0209",
    at: "4:10",
    says: "too complicated",
    text:
      PRELUDE +
      "type p = ^array[] of int;\ntype a = array[3] of p;\nroutine r(server : port_t; x : a);\n",
  },
  {
    what: "an IPC type without a default size in the short form",
    code: "E0210",
    at: "3:10",
    says: "no default size",
    text: PRELUDE + "type s = MACH_MSG_TYPE_STRING;\nroutine r(server : port_t; x : s);\n",
  },
  {
    what: "A|B with different sizes",
    code: "E0211",
    at: "3:10",
    says: "sizes in IPC types (32, 64) aren't equal",
    text:
      PRELUDE +
      "type s = MACH_MSG_TYPE_INTEGER_32|MACH_MSG_TYPE_INTEGER_64;\nroutine r(server : port_t; x : s);\n",
  },
  {
    what: "a request port that is not a port",
    code: "E0212",
    at: "3:11",
    says: "argument server isn't a proper request port",
    text: PRELUDE + "routine r(server : int; x : int);\n",
  },
  {
    what: "a reply port that is not a port",
    code: "E0213",
    at: "3:38",
    says: "argument reply isn't a proper reply port",
    text: PRELUDE + "routine r(server : port_t; replyport reply : int);\n",
  },
  {
    what: "a waittime argument that is not a 32-bit integer",
    code: "E0214",
    at: "3:37",
    says: "should have been a MACH_MSG_TYPE_INTEGER_32",
    text: PRELUDE + "routine r(server : port_t; waittime t : char);\n",
  },
  {
    what: "a translation function on a variable-sized array",
    code: "E0215",
    at: "3:6",
    says: "can't translate variable-sized arrays",
    text:
      PRELUDE +
      "type v = array[*:4] of int intran: v_t tr(v);\nroutine r(server : port_t; x : v);\n",
  },
  {
    what: "a type before the subsystem statement",
    code: "E0216",
    at: "1:1",
    says: "subsystem statement must come before",
    text:
      "type early_t = MACH_MSG_TYPE_INTEGER_32;\n" +
      PRELUDE +
      "routine r(server : port_t; x : early_t);\n",
  },
  {
    what: "a routine name used twice",
    code: "E0217",
    at: "4:9",
    says: "routine r is already defined at sem.defs:3:9",
    text: PRELUDE + "routine r(server : port_t);\nroutine r(server : port_t);\n",
  },
  {
    what: "an inline struct field of an out-of-line type",
    code: "E0218",
    at: "4:26",
    says: "struct field v: type p_t must be in-line",
    text:
      PRELUDE +
      "type p_t = ^array[] of int;\ntype s = struct { int a; p_t v; };\nroutine r(server : port_t; x : s);\n",
  },
  {
    what: "division by zero in an array size",
    code: "E0219",
    at: "3:16",
    says: "division by zero",
    text: PRELUDE + "type a = array[4 / (2 - 2)] of int;\nroutine r(server : port_t; x : a);\n",
  },
  {
    what: "a negative array size",
    code: "E0219",
    at: "3:16",
    says: "the array size is -2",
    text: PRELUDE + "type a = array[2 - 4] of int;\nroutine r(server : port_t; x : a);\n",
  },
];

describe("semantic errors: code and location", () => {
  test.each(ERRORS)("$what ($code)", ({ code, at, says, text }) => {
    const found = check(text);
    const errors = found.filter((d) => d.severity === "error");
    expect(errors, JSON.stringify(found)).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code, at });
    expect(errors[0]!.message).toContain(says);
  });

  test("no subsystem (E0200), when the parser does not report it itself", () => {
    const found = check("type port_t = MACH_MSG_TYPE_COPY_SEND;\n", false);
    expect(found).toEqual([
      expect.objectContaining({ code: "E0200", severity: "error", at: "1:1" }),
    ]);
  });

  test("no subsystem is reported once through the whole front end", () => {
    const sink = new DiagnosticSink();
    const ast = parseDefsText(
      "type port_t = MACH_MSG_TYPE_COPY_SEND;\n",
      "sem.defs",
      { includeDirs: [] },
      sink,
    );
    expect(checkDefs(ast, sink)).toBeUndefined();
    const noSubsystem = sink.items.filter((d) => d.code === "E0106" || d.code === "E0200");
    expect(noSubsystem).toHaveLength(1);
  });

  test("an undefined type is reported once, and its routine causes no follow-on error", () => {
    const found = check(
      PRELUDE + "routine r(server : port_t; out x : nothing_t; inout y : nothing_t);\n",
    );
    expect(found.map((d) => d.code)).toEqual(["E0201", "E0201"]);
  });
});

interface WarningCase {
  readonly what: string;
  readonly code: string;
  readonly at: string;
  readonly says: string;
  readonly text: string;
}

const WARNINGS: readonly WarningCase[] = [
  {
    what: "dealloc and notdealloc cancel out",
    code: "W0200",
    at: "4:28",
    says: "x: Dealloc and NotDealloc cancel out",
    text:
      PRELUDE +
      "type p = ^array[] of int;\nroutine r(server : port_t; x : p, Dealloc, NotDealloc);\n",
  },
  {
    what: "a redundant flag",
    code: "W0201",
    at: "4:28",
    says: "x: NotDealloc is redundant",
    text: PRELUDE + "type p = ^array[] of int;\nroutine r(server : port_t; x : p, NotDealloc);\n",
  },
  {
    what: "dealloc on in-line data",
    code: "W0202",
    at: "3:28",
    says: "x: Dealloc will cause an IPC error",
    text: PRELUDE + "routine r(server : port_t; x : int, Dealloc);\n",
  },
  {
    what: "IsLong where it is not needed",
    code: "W0203",
    at: "3:28",
    says: "x: doesn't need IsLong",
    text: PRELUDE + "routine r(server : port_t; x : int, IsLong);\n",
  },
  {
    what: "a meaningless ServerCopy",
    code: "W0204",
    at: "3:28",
    says: "x: ServerCopy on argument is meaningless",
    text: PRELUDE + "routine r(server : port_t; x : int, ServerCopy);\n",
  },
  {
    what: "a meaningless CountInOut",
    code: "W0205",
    at: "3:32",
    says: "x: CountInOut on argument is meaningless",
    text: PRELUDE + "routine r(server : port_t; out x : int, CountInOut);\n",
  },
  {
    what: "a strange IPC size",
    code: "W0206",
    at: "3:10",
    says: "IPC type decl has strange size (16 instead of 32)",
    text:
      PRELUDE + "type s = (MACH_MSG_TYPE_INTEGER_32, 16);\nroutine r(server : port_t; x : s);\n",
  },
  {
    what: "a C size that is not whole bytes",
    code: "W0207",
    at: "3:10",
    says: "size of C types must be multiples of 8 bits",
    text: PRELUDE + "type b = MACH_MSG_TYPE_BIT;\nroutine r(server : port_t; x : b);\n",
  },
  {
    what: "two request ports",
    code: "W0208",
    at: "3:40",
    says: "multiple RequestPort args in r; server won't be used",
    text: PRELUDE + "routine r(server : port_t; requestport other : port_t);\n",
  },
  {
    what: "a translated type without its translation function",
    code: "W0209",
    at: "4:28",
    says: "x: argument has no in-translation function",
    text: PRELUDE + "type t = int outtran: int to_int(my_t);\nroutine r(server : port_t; x : t);\n",
  },
  {
    what: "conflicting annotations",
    code: "W0210",
    at: "3:25",
    says: "conflicting user types (a_t, b_t)",
    text: PRELUDE + "type t = int ctype: a_t cusertype: b_t;\nroutine r(server : port_t; x : t);\n",
  },
];

describe("semantic warnings: code and location, as GNU MIG warns", () => {
  test.each(WARNINGS)("$what ($code)", ({ code, at, says, text }) => {
    const d = only(text);
    expect(d).toMatchObject({ code, at, severity: "warning" });
    expect(d.message).toContain(says);
  });
});

describe.skipIf(!need("mig"))(
  "GNU MIG agrees: it rejects the erroneous inputs and warns on the others",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmig-sem-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };

    // GNU MIG accepts these (it only warns, or its C compiler fails later); tsmig is stricter.
    const STRICTER = new Set(["E0207", "E0208", "E0217", "E0219"]);
    test.each(ERRORS.filter((e) => !STRICTER.has(e.code)))("$what ($code)", ({ code, text }) => {
      const r = runGnuMig(write(`${code}-${Math.random().toString(36).slice(2)}.defs`, text));
      expect(r.status, r.messages).not.toBe(0);
    });

    test.each(WARNINGS)("$what ($code)", ({ code, says, text }) => {
      const r = runGnuMig(write(`${code}.defs`, text));
      expect(r.status, r.messages).toBe(0);
      expect(r.messages).toContain(`warning: ${says}`);
    });
  },
);

describe("include-only files", () => {
  test("with requireSubsystem false, a file of types is checked with the built-ins in scope", () => {
    const sink = new DiagnosticSink();
    const text = "type a_t = array[*:4] of int;\ntype b_t = nothing_t;\n";
    const ast = parseDefsText(
      text,
      "types.defs",
      { includeDirs: [], requireSubsystem: false },
      sink,
    );
    expect(checkDefs(ast, sink, { requireSubsystem: false })).toBeUndefined();
    expect(sink.items.map((d) => [d.code, `${d.span?.line}:${d.span?.col}`])).toEqual([
      ["E0201", "2:12"],
    ]);
  });
});
