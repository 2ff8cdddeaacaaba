// The MIG parser on the whole GNU MIG 1.8 language: every statement, type form, annotation,
// argument kind and flag becomes the documented AST node, with spans and doc comments.
import { describe, expect, it } from "vitest";
import { parseDefsText } from "../../mig/frontend.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import type { DefsFile, IntExpr, RoutineStatement, Statement, TypeSpec } from "../../mig/ast.js";

function parse(src: string): DefsFile {
  const sink = new DiagnosticSink();
  const file = parseDefsText(src, "t.defs", { includeDirs: [] }, sink);
  expect(sink.items.map((d) => `${d.span?.line}:${d.span?.col} ${d.code} ${d.message}`)).toEqual(
    [],
  );
  return file;
}

const HEAD = "subsystem s 100;\n";

function only<K extends Statement["kind"]>(
  file: DefsFile,
  kind: K,
): Extract<Statement, { kind: K }>[] {
  return file.statements.filter((s): s is Extract<Statement, { kind: K }> => s.kind === kind);
}

function spec(src: string): TypeSpec {
  const t = only(parse(HEAD + `type t = ${src};\n`), "type")[0]!;
  return t.definition.spec;
}

function evaluate(e: IntExpr): number {
  switch (e.kind) {
    case "number":
      return e.value;
    case "paren":
      return evaluate(e.expr);
    case "binary": {
      const [l, r] = [evaluate(e.left), evaluate(e.right)];
      return e.op === "+" ? l + r : e.op === "-" ? l - r : e.op === "*" ? l * r : Math.trunc(l / r);
    }
  }
}

describe("statements", () => {
  it("reads a subsystem with its modifiers, name, base and span", () => {
    const [s] = only(parse("subsystem KernelUser KERNELSERVER mach 2000;\n"), "subsystem");
    expect(s!.modifiers.map((m) => m.modifier)).toEqual(["KernelUser", "KernelServer"]);
    expect(s!.name.name).toBe("mach");
    expect(s!.base).toMatchObject({ value: 2000, text: "2000" });
    expect(s!.span).toEqual({ file: "t.defs", line: 1, col: 1, endLine: 1, endCol: 45 });
  });

  it("reads every other statement kind", () => {
    const file = parse(
      HEAD +
        "skip;\nskip 3;\n;\n" +
        'import <mach/std_types.h>;\nuimport "u.h";\nsimport <sys/a-b.h>;\n' +
        "serverprefix do_;\nuserprefix r_;\nserverdemux my_demux;\n" +
        'waittime 500;\nnowaittime;\nmsgoption MACH_SEND_INTERRUPT;\nrcsid "$Id: x $";\n',
    );
    const st = file.statements.slice(1);
    expect(st.map((s) => s.kind)).toEqual([
      "skip",
      "skip",
      "empty",
      "import",
      "import",
      "import",
      "serverPrefix",
      "userPrefix",
      "serverDemux",
      "waitTime",
      "noWaitTime",
      "msgOption",
      "rcsId",
    ]);
    expect(st[0]).toMatchObject({ kind: "skip" });
    expect((st[0] as { count?: unknown }).count).toBeUndefined();
    expect(st[1]).toMatchObject({ count: { value: 3 } });
    expect(st.slice(3, 6)).toMatchObject([
      { which: "import", file: "<mach/std_types.h>", delimiter: "angle" },
      { which: "uimport", file: '"u.h"', delimiter: "quote" },
      { which: "simport", file: "<sys/a-b.h>", delimiter: "angle" },
    ]);
    expect(st[6]).toMatchObject({ prefix: { name: "do_" } });
    expect(st[7]).toMatchObject({ prefix: { name: "r_" } });
    expect(st[8]).toMatchObject({ name: { name: "my_demux" } });
    expect(st[9]).toMatchObject({ value: "500" });
    expect(st[11]).toMatchObject({ value: "MACH_SEND_INTERRUPT" });
    expect(st[12]).toMatchObject({ value: "$Id: x $" });
  });

  it("reads keywords in any case, as GNU MIG's lexer does", () => {
    const file = parse(
      "SubSystem s 1;\nTYPE int = MACH_MSG_TYPE_INTEGER_32;\nRoutine r(IN a: int; Out b: int; InOut c: int, DeAlloc);\nSimpleRoutine q(RequestPort p: int);\nSKIP;\n",
    );
    const [r, q] = only(file, "routine");
    expect(r!.args.map((a) => a.argKind)).toEqual(["in", "out", "inout"]);
    expect(r!.args[2]!.flags.map((f) => f.flag)).toEqual(["dealloc"]);
    expect(q!.simple).toBe(true);
    expect(q!.args[0]!.argKind).toBe("requestport");
    expect(only(file, "skip")).toHaveLength(1);
  });

  it("accepts a macro-valued userprefix after preprocessing", () => {
    const file = parse("#define USERPREFIX my_\nsubsystem s 1;\nuserprefix USERPREFIX;\n");
    expect(only(file, "userPrefix")[0]!.prefix.name).toBe("my_");
  });
});

describe("routines and arguments", () => {
  it("reads every argument kind, or none", () => {
    const kinds = [
      "in",
      "out",
      "inout",
      "requestport",
      "replyport",
      "sreplyport",
      "ureplyport",
      "waittime",
      "msgoption",
      "msgseqno",
    ];
    const args = kinds.map((k, i) => `${k} a${i}: int`).join(";\n  ");
    const [r] = only(parse(HEAD + `routine r(\n  ${args};\n  plain: int);\n`), "routine");
    expect(r!.args.map((a) => a.argKind)).toEqual([...kinds, undefined]);
    expect(r!.args.map((a) => a.name.name)).toEqual([...kinds.map((_, i) => `a${i}`), "plain"]);
  });

  it("reads every flag, including dealloc[] and retcode", () => {
    const [r] = only(
      parse(
        HEAD +
          "routine r(out a: t, dealloc; out b: t, dealloc[]; in c: t, notdealloc, servercopy; inout d: t, countinout; in e: t, islong; in f: t, isnotlong; out g: t, retcode);\n",
      ),
      "routine",
    );
    expect(r!.args.map((a) => a.flags.map((f) => f.flag))).toEqual([
      ["dealloc"],
      ["dealloc[]"],
      ["notdealloc", "servercopy"],
      ["countinout"],
      ["islong"],
      ["isnotlong"],
      ["retcode"],
    ]);
  });

  it("reads an inline argument type definition (NAME = spec annotations)", () => {
    const [r] = only(
      parse(HEAD + "routine r(in a: buf_t = array[*:64] of char ctype: mybuf_t, dealloc);\n"),
      "routine",
    );
    const t = r!.args[0]!.type;
    expect(t.kind).toBe("typeDefinition");
    if (t.kind === "typeDefinition") {
      expect(t.name.name).toBe("buf_t");
      expect(t.spec).toMatchObject({
        kind: "array",
        bound: { kind: "variable" },
        element: { kind: "typeName" },
      });
      expect(t.annotations).toMatchObject([{ kind: "ctype", cType: { name: "mybuf_t" } }]);
    }
    expect(r!.args[0]!.flags.map((f) => f.flag)).toEqual(["dealloc"]);
  });

  it("reads an empty argument list", () => {
    const [r] = only(parse(HEAD + "routine r();\n"), "routine");
    expect(r!.args).toEqual([]);
  });

  it("keeps the comments right above routines and arguments, not trailing ones", () => {
    const file = parse(
      HEAD +
        "skip; /* trailing, not a doc */\n" +
        "/* unrelated */\n\n\n" +
        "/*\n * Opens a thing.\n */\n" +
        "routine open_thing(\n" +
        "\t\t/* the server */\n\t\tserver: port;\n" +
        "\t\t// the mode\n\t\tin mode: int;\t/* trailing */\n" +
        "\t\tout result: int);\n",
    );
    const [r] = only(file, "routine") as RoutineStatement[];
    expect(r!.doc).toEqual(["Opens a thing."]);
    expect(r!.args.map((a) => a.doc)).toEqual([["the server"], ["the mode"], []]);
  });

  it("gives routines and arguments exact spans", () => {
    const [r] = only(
      parse(HEAD + "routine r(\n\tin a: int, dealloc;\n\tout b: t = int);\n"),
      "routine",
    );
    expect(r!.span).toEqual({ file: "t.defs", line: 2, col: 1, endLine: 4, endCol: 18 });
    expect(r!.args[0]!.span).toEqual({ file: "t.defs", line: 3, col: 2, endLine: 3, endCol: 20 });
    expect(r!.args[0]!.argKindSpan).toEqual({
      file: "t.defs",
      line: 3,
      col: 2,
      endLine: 3,
      endCol: 4,
    });
    expect(r!.args[1]!.span).toEqual({ file: "t.defs", line: 4, col: 2, endLine: 4, endCol: 16 });
  });
});

describe("type specifications", () => {
  it("reads IPC types: symbolic, numeric, pairs and polymorphic in any case", () => {
    expect(spec("MACH_MSG_TYPE_INTEGER_32")).toMatchObject({
      kind: "shortType",
      ipc: { send: { kind: "symbolicIpcType", name: "MACH_MSG_TYPE_INTEGER_32" } },
    });
    expect(spec("17")).toMatchObject({
      kind: "shortType",
      ipc: { send: { kind: "numericIpcType", value: { value: 17 } } },
    });
    expect(spec("MACH_MSG_TYPE_MAKE_SEND_ONCE|Polymorphic")).toMatchObject({
      ipc: { send: { name: "MACH_MSG_TYPE_MAKE_SEND_ONCE" }, receive: { name: "polymorphic" } },
    });
    expect(spec("MACH_MSG_TYPE_POLYMORPHIC")).toMatchObject({
      ipc: { send: { name: "MACH_MSG_TYPE_POLYMORPHIC" } },
    });
  });

  it("keeps MACH_MSG_TYPE_* names case-sensitive (a lower-case one is a type name)", () => {
    expect(spec("mach_msg_type_integer_32")).toMatchObject({
      kind: "typeName",
      name: { name: "mach_msg_type_integer_32" },
    });
  });

  it("reads the long form with a size expression and flags", () => {
    const s = spec("(MACH_MSG_TYPE_STRING_C, 8*(1+2), dealloc, islong)");
    expect(s.kind).toBe("longType");
    if (s.kind === "longType") {
      expect(evaluate(s.size)).toBe(24);
      expect(s.flags.map((f) => f.flag)).toEqual(["dealloc", "islong"]);
    }
  });

  it("reads integer expressions with C precedence and left associativity", () => {
    const s = spec("array[100 - 10 - 2*3 + 64/4/2] of int");
    expect(s.kind === "array" && s.bound.kind === "fixed" ? evaluate(s.bound.size) : NaN).toBe(92);
  });

  it("reads hex and octal literals", () => {
    const s = spec("array[0x10 + 010] of int");
    expect(s.kind === "array" && s.bound.kind === "fixed" ? evaluate(s.bound.size) : NaN).toBe(24);
  });

  it("reads every array form", () => {
    expect(spec("array[] of int")).toMatchObject({
      kind: "array",
      bound: { kind: "unbounded", form: "[]" },
    });
    expect(spec("array[*] of int")).toMatchObject({
      kind: "array",
      bound: { kind: "unbounded", form: "[*]" },
    });
    expect(spec("array[*:1024] of int")).toMatchObject({
      kind: "array",
      bound: { kind: "variable", max: { value: 1024 } },
    });
    expect(spec("array[6] of array[2] of int")).toMatchObject({
      kind: "array",
      bound: { kind: "fixed", size: { value: 6 } },
      element: {
        kind: "array",
        bound: { kind: "fixed", size: { value: 2 } },
        element: { kind: "typeName" },
      },
    });
  });

  it("reads pointers, struct arrays, inline structs and c_strings", () => {
    expect(spec("^array[] of MACH_MSG_TYPE_BYTE")).toMatchObject({
      kind: "pointer",
      target: { kind: "array", element: { kind: "shortType" } },
    });
    expect(spec("struct[13] of int")).toMatchObject({
      kind: "structArray",
      count: { value: 13 },
      element: { name: { name: "int" } },
    });
    expect(spec("struct { int a; natural_t b; }")).toMatchObject({
      kind: "struct",
      fields: [
        { type: { name: "int" }, name: { name: "a" } },
        { type: { name: "natural_t" }, name: { name: "b" } },
      ],
    });
    expect(spec("c_string[64]")).toMatchObject({
      kind: "cString",
      varying: false,
      size: { value: 64 },
    });
    expect(spec("c_string[*:64]")).toMatchObject({
      kind: "cString",
      varying: true,
      size: { value: 64 },
    });
  });

  it("reads every annotation in source order", () => {
    const [t] = only(
      parse(
        HEAD +
          "type d = mach_port_t\n ctype: mach_port_t\n cusertype: u_t\n cservertype: s_t\n intran: dev_t lookup(mach_port_t)\n" +
          " intranpayload: dev_t payload_lookup\n outtran: mach_port_t convert(dev_t)\n destructor: release(dev_t);\n",
      ),
      "type",
    );
    expect(t!.definition.annotations).toMatchObject([
      { kind: "ctype", cType: { name: "mach_port_t" } },
      { kind: "cusertype", cType: { name: "u_t" } },
      { kind: "cservertype", cType: { name: "s_t" } },
      {
        kind: "intran",
        transType: { name: "dev_t" },
        function: { name: "lookup" },
        serverType: { name: "mach_port_t" },
      },
      { kind: "intranpayload", transType: { name: "dev_t" }, function: { name: "payload_lookup" } },
      {
        kind: "outtran",
        serverType: { name: "mach_port_t" },
        function: { name: "convert" },
        transType: { name: "dev_t" },
      },
      { kind: "destructor", function: { name: "release" }, transType: { name: "dev_t" } },
    ]);
    expect(t!.span).toMatchObject({ line: 2, col: 1, endLine: 9 });
  });
});

describe("macros inside declarations", () => {
  it("splits arguments at ';' that come out of macros, and reads flags from macros", () => {
    const src =
      "#define REPLY sreplyport reply: reply_t\n#define ARG REPLY;\n#define LAST ; REPLY\n#define COPY , servercopy\n#define NOTHING\n" +
      "subsystem s 1;\nNOTHING\n" +
      "routine a(obj: t;\n\tARG\n\tdata: data_t COPY;\n\tout n: int);\n" +
      "routine b(obj: t LAST);\n";
    const r = only(parse(src), "routine");
    expect(
      r.map((x) =>
        x.args.map(
          (a) => `${a.argKind ?? ""} ${a.name.name} ${a.flags.map((f) => f.flag).join(",")}`,
        ),
      ),
    ).toEqual([
      [" obj ", "sreplyport reply ", " data servercopy", "out n "],
      [" obj ", "sreplyport reply "],
    ]);
  });
});

describe("spans through macros", () => {
  it("points a node from a macro expansion at the invocation", () => {
    const file = parse("#define N 7\nsubsystem s 100;\nskip N;\n");
    expect(only(file, "skip")[0]!.count!.span).toMatchObject({ line: 3, col: 6 });
  });
});
