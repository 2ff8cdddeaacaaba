// Test helpers for the preprocessor suites: run it over in-memory files and summarise the
// tokens and diagnostics in forms that are easy to assert on.
import { DiagnosticSink, type Diagnostic } from "../../mig/diagnostics.js";
import { preprocessFile, type PreprocessOptions } from "../../mig/preprocess/index.js";
import type { PPToken } from "../../mig/token.js";

export const MAIN = "/src/main.defs";

export interface PPRun {
  readonly toks: PPToken[];
  readonly sink: DiagnosticSink;
  /** Token texts joined by single spaces. */
  readonly text: string;
  /** `CODE line:col message` for every diagnostic, in order. */
  readonly diags: string[];
}

/** Preprocesses `files[main]` with in-memory files; `/inc` is the only -I folder by default. */
export function run(
  files: Record<string, string>,
  opts: Partial<PreprocessOptions> = {},
  main = MAIN,
): PPRun {
  const sink = new DiagnosticSink();
  const toks = preprocessFile(
    main,
    { includeDirs: ["/inc"], readFile: (p) => files[p], ...opts },
    sink,
  );
  return { toks, sink, text: toks.map((t) => t.text).join(" "), diags: sink.items.map(describe) };
}

/** Preprocesses one in-memory main file. */
export function runText(text: string, opts: Partial<PreprocessOptions> = {}): PPRun {
  return run({ [MAIN]: text }, opts);
}

export function describe(d: Diagnostic): string {
  const at = d.span ? `${d.span.line}:${d.span.col}` : "-";
  return `${d.code} ${at} ${d.message}`;
}
