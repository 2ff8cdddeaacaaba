// The preprocessor over gnumach-dev's real .defs: no diagnostics, and the same token stream as
// GCC's `cpp -undef -ansi -x c -D__x86_64__ -D__LP64__` (what the Hurd's build runs) in each mode.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { preprocessFile } from "../../mig/preprocess/index.js";
import { lexSource } from "../../mig/preprocess/c-lexer.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";
import { describe as describeDiag } from "./preprocess-helpers.js";

const FOLDERS = ["device", "mach", "mach_debug", "mach/x86_64"];

function corpus(): string[] {
  const files: string[] = [];
  for (const dir of FOLDERS) {
    for (const f of readdirSync(`${GNUMACH_INCLUDE}/${dir}`)) {
      if (f.endsWith(".defs")) files.push(`${GNUMACH_INCLUDE}/${dir}/${f}`);
    }
  }
  return files.sort();
}

describe.skipIf(!need("gnumach"))("gnumach-dev .defs", () => {
  test("the corpus has the 19 interfaces and 6 type files", () => {
    expect(corpus().length).toBe(25);
  });

  test("every .defs preprocesses with -I /usr/include/x86_64-linux-gnu without diagnostics", () => {
    for (const path of corpus()) {
      const sink = new DiagnosticSink();
      const toks = preprocessFile(path, { includeDirs: [GNUMACH_INCLUDE] }, sink);
      expect(sink.items.map(describeDiag), path).toEqual([]);
      expect(toks.length, path).toBeGreaterThan(30);
    }
  });

  test("std_types.defs arrives through mach.defs with its include chain and doc comments", () => {
    const sink = new DiagnosticSink();
    const toks = preprocessFile(
      `${GNUMACH_INCLUDE}/mach/mach.defs`,
      { includeDirs: [GNUMACH_INCLUDE] },
      sink,
    );
    const fromStd = toks.find((t) => t.span.file.endsWith("mach/std_types.defs"))!;
    expect(fromStd.provenance.includedFrom[0]!.file).toBe(`${GNUMACH_INCLUDE}/mach/std_types.defs`);
    expect(fromStd.provenance.includedFrom.at(-1)!.span.file).toBe(
      `${GNUMACH_INCLUDE}/mach/mach.defs`,
    );
    // machine_types.defs comes in through the mach/machine symlink, two levels deep
    const machine = toks.find((t) => t.span.file.endsWith("machine_types.defs"))!;
    expect(machine.provenance.includedFrom.length).toBeGreaterThanOrEqual(2);
    const documented = toks.filter((t) => t.text === "routine" && t.comments.length > 0);
    expect(documented.length).toBeGreaterThan(10);
  });
});

const MODES: { name: string; defines: string[] }[] = [
  { name: "user", defines: [] },
  { name: "KERNEL_SERVER SEQNOS", defines: ["KERNEL_SERVER", "SEQNOS"] },
  { name: "KERNEL_USER MACH_KDB=0", defines: ["KERNEL_USER", "MACH_KDB=0"] },
];

/** Runs GCC's preprocessor once over all files; returns each file's output token texts. */
function gccTokens(files: readonly string[], defines: readonly string[]): Map<string, string[]> {
  const out = execFileSync(
    "gcc",
    [
      "-E",
      "-undef",
      "-ansi",
      "-x",
      "c",
      "-D__x86_64__",
      "-D__LP64__",
      ...defines.map((d) => `-D${d}`),
      "-I",
      GNUMACH_INCLUDE,
      ...files,
    ],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  // each input's output starts with the line marker `# 0 "FILE"`
  const byFile = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of out.split("\n")) {
    const marker = /^# \d+ "([^"]*)"/.exec(line);
    if (marker) {
      if (line.startsWith("# 0 ") && files.includes(marker[1]!)) {
        current = [];
        byFile.set(marker[1]!, current);
      }
      continue;
    }
    current?.push(line);
  }
  return new Map(
    [...byFile].map(([f, lines]) => [f, lexSource(lines.join("\n"), f).tokens.map((t) => t.text)]),
  );
}

describe.skipIf(!need("gnumach", "gcc"))("same tokens as GCC's preprocessor", () => {
  for (const mode of MODES) {
    test(`every .defs, ${mode.name}`, () => {
      const files = corpus();
      const gcc = gccTokens(files, mode.defines);
      expect(gcc.size).toBe(files.length);
      const defines = mode.defines.map((d) => {
        const [name, value] = d.split("=");
        return value === undefined ? { name: name! } : { name: name!, value };
      });
      for (const path of files) {
        const sink = new DiagnosticSink();
        const got = preprocessFile(path, { includeDirs: [GNUMACH_INCLUDE], defines }, sink).map(
          (t) => t.text,
        );
        expect(sink.items.map(describeDiag), path).toEqual([]);
        expect(got.length, path).toBeGreaterThan(30);
        expect(got.join(" "), path).toBe(gcc.get(path)!.join(" "));
      }
    });
  }
});
