// The built-in C preprocessor: macros, includes with their chain, conditional compilation,
// -D/-U and target predefines, comments kept for docs, and spans through macro expansion.
import { describe, expect, test } from "vitest";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { commentText, preprocessText } from "../../mig/preprocess/index.js";
import { MAIN, run, runText } from "./preprocess-helpers.js";

describe("tokens", () => {
  test("kinds, texts and spans of plain tokens", () => {
    const r = runText('routine foo(\n\ta : int[*:8]; "s\\"x" \'c\' 0x1F << ->) @');
    expect(r.diags).toEqual([]);
    expect(r.toks.map((t) => `${t.kind}:${t.text}`)).toEqual([
      "identifier:routine",
      "identifier:foo",
      "punct:(",
      "identifier:a",
      "punct::",
      "identifier:int",
      "punct:[",
      "punct:*",
      "punct::",
      "number:8",
      "punct:]",
      "punct:;",
      'string:"s\\"x"',
      "char:'c'",
      "number:0x1F",
      "punct:<<",
      "punct:->",
      "punct:)",
      "other:@",
    ]);
    expect(r.toks[3]!.span).toEqual({ file: MAIN, line: 2, col: 2, endLine: 2, endCol: 3 });
    expect(r.toks[0]!.provenance).toEqual({ includedFrom: [] });
  });

  test("spaceBefore records white space and comments between tokens", () => {
    const r = runText("a b/**/c\nd(e");
    expect(r.toks.map((t) => t.spaceBefore)).toEqual([false, true, true, true, false, false]);
  });

  test("a line continuation joins lines, and spans keep the real lines", () => {
    const r = runText("#define TWO 1 + \\\n 1\nTW\\\nO x");
    expect(r.text).toBe("1 + 1 x");
    const x = r.toks[3]!;
    expect(x.span).toEqual({ file: MAIN, line: 4, col: 3, endLine: 4, endCol: 4 });
    expect(r.toks[0]!.provenance.expandedFrom).toEqual({
      file: MAIN,
      line: 3,
      col: 1,
      endLine: 4,
      endCol: 2,
    });
    expect(r.toks[2]!.span).toEqual({ file: MAIN, line: 2, col: 2, endLine: 2, endCol: 3 });
  });

  test("a block comment spanning lines does not end a directive", () => {
    const r = runText("#define X 1 /* two\n lines */ + 2\nX");
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("1 + 2");
    expect(r.toks[0]!.comments).toEqual([]);
  });

  test("CRLF line ends", () => {
    const r = runText("#define A 1\r\n#ifdef A\r\nyes\r\n#endif\r\nA\r\n");
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("yes 1");
  });
});

describe("macro expansion", () => {
  test("object-like and function-like macros, nested and with parentheses in arguments", () => {
    const r = runText(
      "#define N 4\n#define SQ(x) ((x) * (x))\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\nSQ(N) MAX(f(1, 2), SQ(3))",
    );
    expect(r.text).toBe(
      "( ( 4 ) * ( 4 ) ) ( ( f ( 1 , 2 ) ) > ( ( ( 3 ) * ( 3 ) ) ) ? ( f ( 1 , 2 ) ) : ( ( ( 3 ) * ( 3 ) ) ) )",
    );
  });

  test("a function-like macro name without ( is an ordinary identifier", () => {
    expect(runText("#define f(x) [x]\nf + f (1) f\n(2)").text).toBe("f + [ 1 ] [ 2 ]");
  });

  test("self-reference does not loop (hide sets)", () => {
    expect(runText("#define foo foo + 1\n#define A B\n#define B A\nfoo A B").text).toBe(
      "foo + 1 A B",
    );
    expect(runText("#define f(x) x f\nf(1)(2)").text).toBe("1 f ( 2 )");
  });

  test("# stringizes and ## pastes", () => {
    const r = runText(
      "#define S(x) #x\n#define CAT(a, b) a ## b\n#define X(s) S(s)\nS(a  \"b\\n\" 'c') CAT(mach_, port_t) CAT(1, 2) X(CAT(x,y)) S()",
    );
    expect(r.text).toBe(`"a \\"b\\\\n\\" 'c'" mach_port_t 12 "xy" ""`);
    expect(r.toks[1]!.kind).toBe("identifier");
    expect(r.toks[2]!.kind).toBe("number");
  });

  test("variadic macros and GNU's , ## __VA_ARGS__", () => {
    const r = runText(
      "#define P(fmt, ...) pr(fmt, ## __VA_ARGS__)\n#define L(...) [__VA_ARGS__] #__VA_ARGS__\nP(a) P(a, b, c) L(1, 2)",
    );
    expect(r.text).toBe('pr ( a ) pr ( a , b , c ) [ 1 , 2 ] "1, 2"');
  });

  test("#undef removes a macro", () => {
    expect(runText("#define A 1\nA\n#undef A\nA").text).toBe("1 A");
  });

  test("macros in #include names (computed includes)", () => {
    const r = run({
      [MAIN]: '#define HDR "a.h"\n#define SYS <b.h>\n#include HDR\n#include SYS\n',
      "/src/a.h": "a",
      "/inc/b.h": "b",
    });
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("a b");
  });
});

describe("spans and provenance through macros", () => {
  test("body tokens keep their span in the #define; expandedFrom is the invocation", () => {
    const r = runText("#define PORT mach_port_t\ntype x = PORT;\n");
    const t = r.toks[3]!;
    expect(t.text).toBe("mach_port_t");
    expect(t.span).toEqual({ file: MAIN, line: 1, col: 14, endLine: 1, endCol: 25 });
    expect(t.provenance.expandedFrom).toEqual({
      file: MAIN,
      line: 2,
      col: 10,
      endLine: 2,
      endCol: 14,
    });
    expect(r.toks[4]!.provenance.expandedFrom).toBeUndefined();
  });

  test("a function-like invocation spans name through ')'; arguments keep their own spans", () => {
    const r = runText("#define PAIR(a, b) { a , b }\n  PAIR(one,\n two) end\n");
    const inv = { file: MAIN, line: 2, col: 3, endLine: 3, endCol: 6 };
    expect(r.text).toBe("{ one , two } end");
    for (const t of r.toks.slice(0, 5)) expect(t.provenance.expandedFrom).toEqual(inv);
    expect(r.toks[1]!.span).toEqual({ file: MAIN, line: 2, col: 8, endLine: 2, endCol: 11 });
    expect(r.toks[3]!.span).toEqual({ file: MAIN, line: 3, col: 2, endLine: 3, endCol: 5 });
    expect(r.toks[0]!.span.line).toBe(1);
  });

  test("nested expansions point at the outermost invocation in the source", () => {
    const r = runText("#define INNER x\n#define OUTER INNER y\nOUTER");
    expect(r.toks.map((t) => t.provenance.expandedFrom)).toEqual([
      { file: MAIN, line: 3, col: 1, endLine: 3, endCol: 6 },
      { file: MAIN, line: 3, col: 1, endLine: 3, endCol: 6 },
    ]);
    expect(r.toks[0]!.span.line).toBe(1);
  });

  test("-D macros come from <command-line>", () => {
    const r = runText("X", { defines: [{ name: "X", value: "42" }] });
    expect(r.toks[0]!.text).toBe("42");
    expect(r.toks[0]!.span.file).toBe("<command-line>");
    expect(r.toks[0]!.provenance.expandedFrom).toEqual({
      file: MAIN,
      line: 1,
      col: 1,
      endLine: 1,
      endCol: 2,
    });
  });
});

describe("includes", () => {
  const files = {
    [MAIN]: '#include "sub/a.defs"\nmain_tok\n',
    "/src/sub/a.defs": '  #include "b.defs"\na_tok\n',
    "/src/sub/b.defs": "#include <c.defs>\nb_tok\n",
    "/inc/c.defs": "c_tok\n",
    "/inc/b.defs": "wrong_b\n",
  };

  test("nested includes: quotes search the including file's folder first, then -I", () => {
    const r = run(files);
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("c_tok b_tok a_tok main_tok");
  });

  test("every token carries its include chain, innermost first", () => {
    const r = run(files);
    const fromA = {
      file: "/src/sub/a.defs",
      span: { file: MAIN, line: 1, col: 1, endLine: 1, endCol: 22 },
    };
    const fromB = {
      file: "/src/sub/b.defs",
      span: { file: "/src/sub/a.defs", line: 1, col: 3, endLine: 1, endCol: 20 },
    };
    const fromC = {
      file: "/inc/c.defs",
      span: { file: "/src/sub/b.defs", line: 1, col: 1, endLine: 1, endCol: 18 },
    };
    expect(r.toks[0]!.span).toEqual({
      file: "/inc/c.defs",
      line: 1,
      col: 1,
      endLine: 1,
      endCol: 6,
    });
    expect(r.toks[0]!.provenance.includedFrom).toEqual([fromC, fromB, fromA]);
    expect(r.toks[1]!.provenance.includedFrom).toEqual([fromB, fromA]);
    expect(r.toks[2]!.provenance.includedFrom).toEqual([fromA]);
    expect(r.toks[3]!.provenance.includedFrom).toEqual([]);
  });

  test("diagnostics in an included file carry the include chain", () => {
    const r = run({ [MAIN]: "\n#include <bad.h>\n", "/inc/bad.h": "#bogus\n" });
    expect(r.sink.items[0]!.span!.file).toBe("/inc/bad.h");
    expect(r.sink.items[0]!.includedFrom).toEqual([
      { file: "/inc/bad.h", span: { file: MAIN, line: 2, col: 1, endLine: 2, endCol: 17 } },
    ]);
  });

  test("-I folders are searched in order", () => {
    const r = run(
      { [MAIN]: "#include <x.h>\n", "/one/x.h": "one", "/two/x.h": "two" },
      { includeDirs: ["/two", "/one"] },
    );
    expect(r.text).toBe("two");
  });

  test("#include_next continues with the following -I folder", () => {
    const r = run(
      { [MAIN]: "#include <x.h>\n", "/one/x.h": "one\n#include_next <x.h>\n", "/two/x.h": "two" },
      { includeDirs: ["/one", "/two"] },
    );
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("one two");
  });

  test("a guarded file included twice gives its tokens once and is read once", () => {
    const reads: string[] = [];
    const content: Record<string, string> = {
      [MAIN]: "#include <g.h>\n#include <g.h>\nend",
      "/inc/g.h": "/* guard */\n#ifndef G_H\n#define G_H\ng\n#endif /* G_H */\n",
    };
    const sink = new DiagnosticSink();
    const toks = preprocessText(
      content[MAIN]!,
      MAIN,
      {
        includeDirs: ["/inc"],
        readFile: (p) => (reads.push(p), content[p]),
      },
      sink,
    );
    expect(toks.map((t) => t.text)).toEqual(["g", "end"]);
    expect(reads).toEqual(["/inc/g.h"]);
  });

  test("an unguarded file included twice gives its tokens twice", () => {
    expect(run({ [MAIN]: '#include "u.h"\n#include "u.h"\n', "/src/u.h": "u" }).text).toBe("u u");
  });
});

describe("conditional compilation", () => {
  test("#if/#elif/#else/#endif take exactly one group", () => {
    const src = (v: string) =>
      `#define V ${v}\n#if V == 1\none\n#elif V == 2\ntwo\n#elif V == 3\nthree\n#else\nother\n#endif\n`;
    expect(runText(src("1")).text).toBe("one");
    expect(runText(src("2")).text).toBe("two");
    expect(runText(src("3")).text).toBe("three");
    expect(runText(src("9")).text).toBe("other");
  });

  test("#ifdef, #ifndef, defined X and defined(X), nested groups", () => {
    const r = runText(
      "#define K\n#ifdef K\na\n#ifndef K\nb\n#else\nc\n#endif\n#endif\n#if defined K && !defined(NOPE)\nd\n#endif\n#if 0\n#if 1\ne\n#else\nf\n#endif\n#elif defined(K)\ng\n#endif",
    );
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("a c d g");
  });

  test("the GNU Mach idiom: #if KERNEL_SERVER with the macro undefined or -D'd", () => {
    const src =
      "#if\tKERNEL_SERVER\nserver\n#else\t/* KERNEL_SERVER */\nuser\n#endif\t/* KERNEL_SERVER */\n";
    expect(runText(src).text).toBe("user");
    expect(runText(src, { defines: [{ name: "KERNEL_SERVER" }] }).text).toBe("server");
  });

  test("#elifdef and #elifndef", () => {
    expect(
      runText("#define B\n#ifdef A\na\n#elifdef B\nb\n#endif\n#ifdef A\n#elifndef A\nc\n#endif")
        .text,
    ).toBe("b c");
  });

  test("the operand of defined is not macro-expanded", () => {
    expect(runText("#define A B\n#if defined A && !defined B\nyes\n#endif").text).toBe("yes");
  });

  test("directives inside skipped groups do nothing", () => {
    const r = runText(
      "#if 0\n#define X 1\n#include <missing.h>\n#error no\n#endif\n#ifdef X\nbad\n#endif\nok",
    );
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("ok");
  });

  const values: [string, boolean][] = [
    ["-1 < 0", true],
    ["-1 < 0u", false],
    ["0xffffffffffffffff == -1", true],
    ["'a' == 97 && '\\n' == 10 && '\\x41' == 65 && '\\101' == 65", true],
    ["'\\377' < 0", true],
    ["(2 + 3) * 4 == 20 && 7 / 2 == 3 && -7 % 2 == -1", true],
    ["1 << 63 < 0", true],
    ["1u << 63 > 0", true],
    ["-8 >> 1 == -4", true],
    ["~0 == -1 && !0 == 1 && !5 == 0", true],
    ["010 == 8 && 0x10 == 16 && 0b101 == 5 && 10UL == 10", true],
    ["1 ? 2 : 0", true],
    ["0 ? 1 : 0", false],
    ["(1 ? -1 : 0u) > 0", true],
    ["(1, 0)", false],
    ["3 > 2 > 1", false],
    ["5 & 3 | 8 ^ 1", true],
    ["UNKNOWN", false],
    ["UNKNOWN == 0 && true == 0", true],
    ["__x86_64__ && __LP64__", true],
  ];
  for (const [expr, want] of values) {
    test(`#if ${expr} is ${want}`, () => {
      const r = runText(`#if ${expr}\nyes\n#else\nno\n#endif\n`);
      expect(r.diags).toEqual([]);
      expect(r.text).toBe(want ? "yes" : "no");
    });
  }
});

describe("-D, -U and the target predefines", () => {
  test("-D NAME is 1, -D NAME=VALUE is VALUE, -D NAME= is empty, function-like -D", () => {
    const r = runText("A B [C] F(2)", {
      defines: [
        { name: "A" },
        { name: "B", value: "x y" },
        { name: "C", value: "" },
        { name: "F(v)", value: "v+1" },
      ],
    });
    expect(r.diags).toEqual([]);
    expect(r.text).toBe("1 x y [ ] 2 + 1");
  });

  test("a -D value stops at a newline, as with cc", () => {
    expect(runText("A", { defines: [{ name: "A", value: "1\n#define B" }] }).text).toBe("1");
  });

  test("-U removes a -D and a predefine", () => {
    const src = "#ifdef A\na\n#endif\n#ifdef __x86_64__\nx\n#endif\n#ifdef __LP64__\nlp\n#endif";
    expect(runText(src, { defines: [{ name: "A" }] }).text).toBe("a x lp");
    expect(runText(src, { defines: [{ name: "A" }], undefines: ["A", "__x86_64__"] }).text).toBe(
      "lp",
    );
  });

  test("the x86_64 target predefines __x86_64__ 1 and __LP64__ 1 and nothing else", () => {
    const r = runText(
      "__x86_64__ __LP64__ __i386__ __linux__ __GNUC__ __STDC__ unix linux __gnu_hurd__ i386",
    );
    expect(r.text).toBe("1 1 __i386__ __linux__ __GNUC__ __STDC__ unix linux __gnu_hurd__ i386");
    expect(r.toks[0]!.span.file).toBe("<built-in>");
  });

  test('target "none" predefines nothing', () => {
    expect(runText("__x86_64__ __LP64__", { target: "none" }).text).toBe("__x86_64__ __LP64__");
  });

  test("-D may redefine a predefine (with a warning when the value differs)", () => {
    expect(runText("__LP64__", { defines: [{ name: "__LP64__" }] }).diags).toEqual([]);
    const r = runText("__LP64__", { defines: [{ name: "__LP64__", value: "2" }] });
    expect(r.text).toBe("2");
    expect(r.diags).toEqual([
      "W0002 - '__LP64__' redefined by -D (the previous definition is at <built-in>)",
    ]);
  });
});

describe("comments", () => {
  test("the comment before a token is attached to it, without its decoration", () => {
    const r = runText(
      "/*\n * Returns the port.\n *   Indented detail.\n */\nroutine get(); // trailing\nnext",
    );
    expect(r.toks[0]!.comments).toEqual([
      {
        text: "Returns the port.\n  Indented detail.",
        span: { file: MAIN, line: 1, col: 1, endLine: 4, endCol: 4 },
      },
    ]);
    expect(r.toks[1]!.comments).toEqual([]);
    expect(r.toks[5]!.text).toBe("next");
    expect(r.toks[5]!.comments.map((c) => c.text)).toEqual(["trailing"]);
  });

  test("several comments in order; one-line block comments", () => {
    const r = runText("/* one */ // two\n/** three **/ x");
    expect(r.toks[0]!.comments.map((c) => c.text)).toEqual(["one", "two", "three"]);
  });

  test("comments survive conditional directives but not directive lines themselves", () => {
    const r = runText(
      "/* doc of a */\n#ifdef NOPE\nskipped\n#else /* not this */\na\n#endif /* nor this */\nb",
    );
    expect(r.text).toBe("a b");
    expect(r.toks[0]!.comments.map((c) => c.text)).toEqual(["doc of a"]);
    expect(r.toks[1]!.comments).toEqual([]);
  });

  test("comments inside a skipped group are dropped", () => {
    const r = runText("#if 0\n/* gone */\n#endif\nx");
    expect(r.toks[0]!.comments).toEqual([]);
  });

  test("comments before an #include do not land in the included file", () => {
    const r = run({ [MAIN]: "/* license */\n#include <t.h>\n/* doc */ y", "/inc/t.h": "t" });
    expect(r.toks[0]!.comments).toEqual([]);
    expect(r.toks[1]!.comments.map((c) => c.text)).toEqual(["doc"]);
  });

  test("a macro invocation passes its comments to the first token of the expansion", () => {
    const r = runText("#define R routine\n#define E\n/* a */ R x /* b */ E y");
    expect(r.toks[0]!.comments.map((c) => c.text)).toEqual(["a"]);
    expect(r.toks[2]!.text).toBe("y");
    expect(r.toks[2]!.comments.map((c) => c.text)).toEqual(["b"]);
  });

  test("commentText strips delimiters' decoration", () => {
    expect(commentText("*\n *  a\n *  b\n ", true)).toBe("a\nb");
    expect(commentText(" plain ", false)).toBe("plain");
  });
});
