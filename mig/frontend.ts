// The compiler front end for one .defs file: built-in preprocessor, then the MIG parser.
// Never throws: any internal failure becomes an E0901 diagnostic and a file marked broken.
import { preprocessFile, preprocessText, type PreprocessOptions } from "./preprocess/index.js";
import { parseTokens, type ParseOptions } from "./parse/index.js";
import type { DefsFile } from "./ast.js";
import type { DiagnosticSink } from "./diagnostics.js";
import type { PPToken } from "./token.js";

export interface FrontendOptions extends PreprocessOptions, ParseOptions {}

function emptyFile(path: string): DefsFile {
  return {
    kind: "defsFile",
    path,
    statements: [],
    syntaxErrors: true,
    span: { file: path, line: 1, col: 1, endLine: 1, endCol: 1 },
  };
}

function run(
  path: string,
  opts: FrontendOptions,
  sink: DiagnosticSink,
  tokens: () => PPToken[],
): DefsFile {
  const before = sink.errorCount;
  try {
    const pp = tokens();
    const file = parseTokens(pp, path, sink, opts);
    return sink.errorCount > before && !file.syntaxErrors ? { ...file, syntaxErrors: true } : file;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    sink.error("E0901", `internal error while reading ${path}: ${why}`);
    return emptyFile(path);
  }
}

/** Preprocesses and parses the .defs file at path. */
export function parseDefsFile(path: string, opts: FrontendOptions, sink: DiagnosticSink): DefsFile {
  return run(path, opts, sink, () => preprocessFile(path, opts, sink));
}

/** Same, for text that is not (or not only) on disk; virtualPath names it in diagnostics. */
export function parseDefsText(
  text: string,
  virtualPath: string,
  opts: FrontendOptions,
  sink: DiagnosticSink,
): DefsFile {
  return run(virtualPath, opts, sink, () => preprocessText(text, virtualPath, opts, sink));
}
