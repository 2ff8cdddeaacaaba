// The semantic checks' public face: checkDefs (AST in, CheckedInterface and E02xx/W02xx out) and
// checkDefsFile (front end and checks for one file), with the checked model's types.
import type { DiagnosticSink } from "../diagnostics.js";
import { parseDefsFile, type FrontendOptions } from "../frontend.js";
import type { DefsFile } from "../ast.js";
import { checkDefs } from "./check-defs.js";
import type { CheckedInterface } from "./checked-model.js";

export { checkDefs, type CheckOptions } from "./check-defs.js";
export type * from "./checked-model.js";
export * from "./ipc-names.js";

export interface CheckedFile {
  readonly ast: DefsFile;
  /** undefined when the file has no usable subsystem statement; see the sink for why. */
  readonly checked: CheckedInterface | undefined;
}

/**
 * Preprocesses, parses and checks one .defs file. The semantic checks run only on a file that
 * parsed without errors, so a syntax error never cascades into semantic ones. With
 * `requireSubsystem: false` an include-only file of types is checked too (checked: undefined).
 */
export function checkDefsFile(
  path: string,
  opts: FrontendOptions,
  sink: DiagnosticSink,
): CheckedFile {
  const ast = parseDefsFile(path, opts, sink);
  if (ast.syntaxErrors) return { ast, checked: undefined };
  const checkOpts =
    opts.requireSubsystem !== undefined ? { requireSubsystem: opts.requireSubsystem } : {};
  return { ast, checked: checkDefs(ast, sink, checkOpts) };
}
