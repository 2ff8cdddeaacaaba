// Every preprocessor diagnostic: its code, message and line:col, and that the preprocessor
// recovers (the tokens after the problem still come out).
import { describe, expect, test } from "vitest";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { DIAGNOSTIC_CATALOG } from "../../mig/diagnostic-catalog.js";
import { preprocessText, MAX_INCLUDE_DEPTH } from "../../mig/preprocess/index.js";
import { MAIN, run, runText } from "./preprocess-helpers.js";

describe("lexical diagnostics", () => {
  test("E0001 unterminated comment points at the /*", () => {
    const r = runText("a\n  /* never closed\nb");
    expect(r.diags).toEqual(["E0001 2:3 unterminated comment: '/*' has no matching '*/'"]);
    expect(r.text).toBe("a");
  });

  test("E0001 is reported even inside a skipped group", () => {
    expect(runText("#if 0\n/* open\n").diags[0]).toMatch(/^E0001 2:1 /);
  });

  test("E0002 unterminated string literal", () => {
    const r = runText('x "abc\ny');
    expect(r.diags).toEqual([
      'E0002 1:3 unterminated string literal: missing closing " before the end of the line',
    ]);
    expect(r.text).toBe('x "abc y');
  });

  test("E0002 unterminated character constant", () => {
    expect(runText("x 'a\ny").diags).toEqual([
      "E0002 1:3 unterminated character constant: missing closing ' before the end of the line",
    ]);
  });

  test("an apostrophe in a skipped group or in #error text is not an error", () => {
    expect(runText("#if 0\ndon't\n#endif\nok").diags).toEqual([]);
    expect(runText("#error don't\n").diags).toEqual(["E0017 1:1 #error don't"]);
  });
});

describe("directive diagnostics", () => {
  test("E0003 unknown directive", () => {
    const r = runText("#foo bar\nx");
    expect(r.diags).toEqual(["E0003 1:1 unknown preprocessing directive '#foo'"]);
    expect(r.text).toBe("x");
  });

  test("E0003 a directive name that is not an identifier", () => {
    expect(runText('# "x"\ny').diags).toEqual([`E0003 1:1 invalid preprocessing directive '#"x"'`]);
  });

  test("unknown directives in skipped groups are ignored", () => {
    expect(runText("#if 0\n#foo\n#endif\n").diags).toEqual([]);
  });

  test("E0004 #endif without #if", () => {
    const r = runText("a\n#endif\nb");
    expect(r.diags).toEqual(["E0004 2:1 #endif without #if"]);
    expect(r.text).toBe("a b");
  });

  test("E0004 #else and #elif without #if", () => {
    expect(runText("#else\n  #elif 1\n").diags).toEqual([
      "E0004 1:1 #else without #if",
      "E0004 2:3 #elif without #if",
    ]);
  });

  test("E0005 #else after #else", () => {
    const r = runText("#if 0\n#else\nx\n#else\ny\n#endif\nz");
    expect(r.diags).toEqual(["E0005 4:1 #else after #else"]);
    expect(r.text).toBe("x z");
  });

  test("E0005 #elif after #else", () => {
    expect(runText("#if 1\n#else\n#elif 1\n#endif\n").diags).toEqual([
      "E0005 3:1 #elif after #else",
    ]);
    expect(runText("#if 0\n#else\n#elif 1\n#endif\n").diags).toEqual([
      "E0005 3:1 #elif after #else",
    ]);
  });

  test("E0006 unterminated #if points at the #if", () => {
    const r = runText("a\n  #ifdef X\nb\n");
    expect(r.diags).toEqual([
      "E0006 2:3 unterminated #ifdef: no matching #endif before the end of the file",
    ]);
    expect(r.sink.items[0]!.span).toEqual({ file: MAIN, line: 2, col: 3, endLine: 2, endCol: 9 });
  });

  test("E0006 is reported for the included file that leaves the #if open", () => {
    const r = run({ [MAIN]: '#include "a.h"\nafter\n', "/src/a.h": "#if 1\ninside\n" });
    expect(r.diags).toEqual([
      "E0006 1:1 unterminated #if: no matching #endif before the end of the file",
    ]);
    expect(r.sink.items[0]!.span!.file).toBe("/src/a.h");
    expect(r.sink.items[0]!.includedFrom).toEqual([
      { file: "/src/a.h", span: { file: MAIN, line: 1, col: 1, endLine: 1, endCol: 15 } },
    ]);
    expect(r.text).toBe("inside after");
  });

  test("E0017 #error reports its text and processing goes on", () => {
    const r = runText("a\n#error this is wrong\nx");
    expect(r.diags).toEqual(["E0017 2:1 #error this is wrong"]);
    expect(r.sink.items[0]!.severity).toBe("error");
    expect(r.text).toBe("a x");
  });

  test("W0001 #warning is a warning", () => {
    const r = runText("#warning careful  now\nx");
    expect(r.diags).toEqual(["W0001 1:1 #warning careful now"]);
    expect(r.sink.items[0]!.severity).toBe("warning");
    expect(r.sink.hasErrors()).toBe(false);
  });

  test("#error in a skipped group says nothing", () => {
    expect(runText("#ifdef NOPE\n#error no\n#endif\n").diags).toEqual([]);
  });

  test("E0019 #ifdef, #ifndef and #undef need a macro name", () => {
    expect(runText("#ifdef\n#endif\n#ifndef 3\n#endif\n#undef\n#undef defined\n").diags).toEqual([
      "E0019 1:1 #ifdef needs a macro name",
      "E0019 3:9 macro names must be identifiers, not '3' (in #ifndef)",
      "E0019 5:1 #undef needs a macro name",
      "E0019 6:8 'defined' cannot be undefined",
    ]);
  });

  test("E0021 malformed #line", () => {
    expect(runText('#line x\n#line 5 foo\n#line 7 "f.defs"\n# 9 "g.defs" 2\n').diags).toEqual([
      "E0021 1:7 #line expects a line number, found 'x'",
      "E0021 2:9 #line expects a file name in quotes after the line number, found 'foo'",
    ]);
  });

  test("W0003 extra tokens after #ifdef, #endif and #else", () => {
    expect(runText("#ifdef X Y\n#else Q\n#endif Z\n").diags).toEqual([
      "W0003 1:10 extra tokens at the end of #ifdef (use a comment)",
      "W0003 2:7 extra tokens at the end of #else (use a comment)",
      "W0003 3:8 extra tokens at the end of #endif (use a comment)",
    ]);
  });
});

describe("#include diagnostics", () => {
  test("E0007 missing include file is reported at the #include directive", () => {
    const r = runText('a\n  #include "nope.defs"\nx');
    expect(r.diags).toEqual(['E0007 2:3 include file "nope.defs" not found (searched /src, /inc)']);
    expect(r.sink.items[0]!.span).toEqual({ file: MAIN, line: 2, col: 3, endLine: 2, endCol: 23 });
    expect(r.text).toBe("a x");
  });

  test("E0007 <file> searches the -I folders only", () => {
    const r = run({ [MAIN]: "#include <here.h>\n", "/src/here.h": "here\n" });
    expect(r.diags).toEqual(["E0007 1:1 include file <here.h> not found (searched /inc)"]);
    expect(run({ [MAIN]: "#include <x.h>\n" }, { includeDirs: [] }).diags).toEqual([
      "E0007 1:1 include file <x.h> not found (no folder to search (give -I))",
    ]);
  });

  test("E0008 include cycle", () => {
    const r = run({
      [MAIN]: '#include "a.h"\nm',
      "/src/a.h": '#include "b.h"\na',
      "/src/b.h": 'b\n#include "a.h"\n',
    });
    expect(r.diags).toEqual([
      "E0008 2:1 #include cycle: /src/a.h includes /src/b.h includes /src/a.h",
    ]);
    expect(r.sink.items[0]!.span!.file).toBe("/src/b.h");
    expect(r.text).toBe("b a m");
  });

  test("E0008 a file including itself", () => {
    expect(runText('#include "main.defs"\n').diags).toEqual([
      "E0008 1:1 #include cycle: /src/main.defs includes /src/main.defs",
    ]);
  });

  test("guarded files may include each other without a cycle error", () => {
    const r = run({
      [MAIN]: '#include "a.h"\n',
      "/src/a.h": '#ifndef A\n#define A\n#include "b.h"\na\n#endif\n',
      "/src/b.h": '#ifndef B\n#define B\n#include "a.h"\nb\n#endif\n',
    });
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("b a");
  });

  test("E0009 include nesting limit", () => {
    const files: Record<string, string> = { [MAIN]: "#include <f0.h>\n" };
    for (let i = 0; i < MAX_INCLUDE_DEPTH + 10; i++)
      files[`/inc/f${i}.h`] = `#include <f${i + 1}.h>\nt${i}\n`;
    const r = run(files);
    expect(r.diags).toEqual([
      `E0009 1:1 #include nested more than ${MAX_INCLUDE_DEPTH} levels deep (at "f${MAX_INCLUDE_DEPTH - 1}.h")`,
    ]);
    expect(r.toks.length).toBe(MAX_INCLUDE_DEPTH - 1);
  });

  test("E0010 malformed #include", () => {
    expect(
      runText('#include foo\n#include ""\n#include\n#define H <x.h\n#include H\n').diags,
    ).toEqual([
      "E0010 1:10 #include expects \"FILE\" or <FILE>, found 'foo'",
      "E0010 2:1 empty file name in #include",
      'E0010 3:1 #include expects "FILE" or <FILE>',
      "E0010 5:10 missing '>' after #include <",
    ]);
  });

  test("W0003 extra tokens after the file name", () => {
    const r = run({ [MAIN]: '#include "a.h" junk\n', "/src/a.h": "a" });
    expect(r.diags).toEqual(["W0003 1:16 extra tokens at the end of #include"]);
    expect(r.text).toBe("a");
  });
});

describe("#define and macro diagnostics", () => {
  test("E0011 malformed #define, each reason", () => {
    const r = runText(
      [
        "#define",
        "#define 3x",
        "#define f(a,a) a",
        "#define g(a",
        "#define h(a) #b",
        "#define i ## y",
        "#define j(...x)",
        "#define defined 1",
        "#define k(a) a ##",
        "#define l(a b)",
        "#define m(1)",
        "#define n(__VA_ARGS__)",
      ].join("\n"),
    );
    expect(r.diags).toEqual([
      "E0011 1:1 #define needs a macro name",
      "E0011 2:9 macro names must be identifiers, not '3x'",
      "E0011 3:13 duplicate macro parameter 'a'",
      "E0011 4:9 missing ')' in the parameter list of macro 'g'",
      "E0011 5:14 '#' is not followed by a macro parameter",
      "E0011 6:11 '##' cannot begin a macro body",
      "E0011 7:14 '...' must be the last macro parameter",
      "E0011 8:9 'defined' cannot be used as a macro name",
      "E0011 9:16 '##' cannot end a macro body",
      "E0011 10:13 expected ',' or ')' in the parameter list of 'l', found 'b'",
      "E0011 11:11 expected a parameter name in macro 'm', found '1'",
      "E0011 12:11 __VA_ARGS__ can only name the '...' parameter",
    ]);
  });

  test("E0012 macro invoked with the wrong number of arguments", () => {
    const r = runText(
      "#define f(a,b) a+b\nf(1)\n  f(1,2,3)\n#define g() 1\ng(2)\n#define v(a,b,...) a\nv(1)\nafter",
    );
    expect(r.diags).toEqual([
      "E0012 2:1 macro 'f' expects 2 arguments, but 1 was given",
      "E0012 3:3 macro 'f' expects 2 arguments, but 3 were given",
      "E0012 5:1 macro 'g' expects 0 arguments, but 1 was given",
      "E0012 7:1 macro 'v' expects at least 2 arguments, but 1 was given",
    ]);
    expect(r.text).toBe("f f g v after");
  });

  test("E0013 unterminated macro argument list", () => {
    const r = runText("#define f(a) a\nx f(1,\n2\n");
    expect(r.diags).toEqual([
      "E0013 2:3 unterminated argument list invoking macro 'f': no ')' before the end of the file",
    ]);
    expect(r.text).toBe("x");
  });

  test("E0013 an argument list may not run out of an included file", () => {
    const r = run({ [MAIN]: '#include "a.h"\n2)\n', "/src/a.h": "#define f(a) [a]\nf(1,\n" });
    expect(r.diags[0]).toMatch(/^E0013 2:1 /);
    expect(r.sink.items[0]!.span!.file).toBe("/src/a.h");
  });

  test("E0020 ## that does not form one token", () => {
    const r = runText("#define p(a,b) a ## b\np(+,/) p(x,1)\n");
    expect(r.diags).toEqual([
      "E0020 2:1 pasting '+' and '/' does not give a valid preprocessing token",
    ]);
    expect(r.text).toBe("+ / x1");
  });

  test("W0002 a macro redefined with a different body", () => {
    const r = runText("#define A 1\n#define A  1\n#define A 2\n#define A 2 /* same */\n");
    expect(r.diags).toEqual([
      "W0002 3:9 'A' redefined (the previous definition is at /src/main.defs:2:9)",
    ]);
  });

  test("E0022 runaway expansion stops with an error instead of hanging", () => {
    let src = "#define a0 x x\n";
    for (let i = 1; i <= 20; i++) src += `#define a${i} a${i - 1} a${i - 1}\n`;
    src += "a20 end\n";
    const r = runText(src);
    expect(r.diags).toEqual([
      "E0022 22:1 macro expansion produced more than 500000 tokens; expansion stopped here",
    ]);
    expect(r.toks[r.toks.length - 1]!.text).toBe("end");
  });

  test("E0022 invocations nested too deeply in arguments", () => {
    const r = runText("#define f(x) x\n" + "f(".repeat(100) + "1" + ")".repeat(100) + "\n");
    expect(r.diags).toEqual(["E0022 2:67 macro invocations nested too deeply in macro arguments"]);
  });
});

describe("#if expression diagnostics", () => {
  const cases: [string, string][] = [
    ["1 +", "E0014 1:8 expected a value at the end of the #if expression"],
    ["(1", "E0014 1:5 missing ')' in #if expression, found the end of the line"],
    ["1 2", "E0014 1:7 missing binary operator before '2' in #if expression"],
    ["1)", "E0014 1:6 unbalanced ')' in #if expression"],
    ['"s"', 'E0014 1:5 string literal "s" in #if expression'],
    ["1.5", "E0014 1:5 floating constant '1.5' in a preprocessor expression"],
    ["defined", "E0014 1:5 'defined' needs a macro name, found the end of the line"],
    ["defined(X", "E0014 1:13 missing ')' after 'defined(X'"],
    ["1 = 2", "E0014 1:7 '=' is not allowed in #if expressions"],
    ["08", "E0014 1:5 invalid digit in octal constant '08'"],
    ["1 ? 2", "E0014 1:10 expected ':' in '?:' of #if expression, found the end of the line"],
    [")", "E0014 1:5 expected a value in #if expression, found ')'"],
    ["99999999999999999999", "E0014 1:5 integer constant '99999999999999999999' is too large"],
    ["1abc", "E0014 1:5 invalid suffix 'abc' on integer constant '1abc'"],
    ["''", "E0014 1:5 empty character constant ''"],
    ["(".repeat(300) + "1" + ")".repeat(300), "E0014 1:261 #if expression nested too deeply"],
  ];
  for (const [expr, want] of cases) {
    test(`E0014 #if ${expr.length > 20 ? expr.slice(0, 20) + "..." : expr}`, () => {
      const r = runText(`#if ${expr}\nno\n#else\nyes\n#endif\n`);
      expect(r.diags).toEqual([want]);
      expect(r.text).toBe("yes"); // a bad condition is false
    });
  }

  test("E0014 in an #elif that is evaluated; none in one that is not", () => {
    expect(runText("#if 0\n#elif 1 +\n#endif\n").diags).toEqual([
      "E0014 2:10 expected a value at the end of the #if expression",
    ]);
    expect(runText("#if 1\n#elif 1 +\n#endif\n").diags).toEqual([]);
  });

  test("E0014 points at the macro invocation when the bad token came from a macro", () => {
    expect(runText("#define BAD 1 +\n#if 2 * BAD\n#endif\n").diags).toEqual([
      "E0014 2:12 expected a value at the end of the #if expression",
    ]);
    expect(runText('#define STR "s"\n#if STR\n#endif\n').diags).toEqual([
      'E0014 2:5 string literal "s" in #if expression',
    ]);
  });

  test("E0015 #if with no expression", () => {
    expect(runText("#if\n#endif\n#define E\n#elif\n#if E\n#endif\n").diags).toEqual([
      "E0015 1:1 #if with no expression",
      "E0004 4:1 #elif without #if",
      "E0015 5:1 #if with no expression (its macros expand to nothing)",
    ]);
  });

  test("E0016 division by zero, only where evaluated", () => {
    expect(
      runText(
        "#if 1/0\n#endif\n#if 0 && 1/0\n#endif\n#if 1 || 1%0\n#endif\n#if 0 ? 1/0 : 2\n#endif\n#if 5 % (2-2)\n#endif\n",
      ).diags,
    ).toEqual([
      "E0016 1:6 division by zero in #if expression ('/' by 0)",
      "E0016 9:7 division by zero in #if expression ('%' by 0)",
    ]);
  });
});

describe("option and input diagnostics", () => {
  test("E0018 invalid -D and -U names", () => {
    const r = runText("x", {
      defines: [
        { name: "1X" },
        { name: "A=B" },
        { name: "F(a" },
        { name: "" },
        { name: "defined" },
      ],
      undefines: ["-x", ""],
    });
    expect(r.diags).toEqual([
      "E0018 - invalid macro name '1X' in -D (expected NAME or NAME=VALUE)",
      "E0018 - invalid macro name 'A=B' in -D (expected NAME or NAME=VALUE)",
      "E0018 - invalid macro name 'F(a' in -D (expected NAME or NAME=VALUE)",
      "E0018 - invalid macro name '' in -D (expected NAME or NAME=VALUE)",
      "E0018 - invalid macro name 'defined' in -D (expected NAME or NAME=VALUE)",
      "E0018 - invalid macro name '-x' in -U",
      "E0018 - invalid macro name '' in -U",
    ]);
    expect(r.text).toBe("x");
  });

  test("E0011 a -D whose definition is malformed", () => {
    expect(runText("x", { defines: [{ name: "F(a)", value: "#b" }] }).diags).toEqual([
      "E0011 - invalid -D F(a)=#b: '#' is not followed by a macro parameter",
    ]);
  });

  test("E0900 the root file cannot be read", () => {
    expect(run({}).diags).toEqual(["E0900 - cannot read /src/main.defs"]);
  });
});

describe("every preprocessor code is in the catalog", () => {
  test("codes used by these tests exist with a description", () => {
    for (const code of [
      "E0001",
      "E0002",
      "E0003",
      "E0004",
      "E0005",
      "E0006",
      "E0007",
      "E0008",
      "E0009",
      "E0010",
      "E0011",
      "E0012",
      "E0013",
      "E0014",
      "E0015",
      "E0016",
      "E0017",
      "E0018",
      "E0019",
      "E0020",
      "E0021",
      "E0022",
      "E0099",
      "W0001",
      "W0002",
      "W0003",
    ]) {
      expect(DIAGNOSTIC_CATALOG[code as keyof typeof DIAGNOSTIC_CATALOG]).toMatch(/\w/);
    }
  });

  test("preprocessText reports into the sink it is given", () => {
    const sink = new DiagnosticSink();
    preprocessText("#bogus\n", "/v/x.defs", { includeDirs: [] }, sink);
    expect(sink.items.map((d) => d.code)).toEqual(["E0003"]);
  });
});
