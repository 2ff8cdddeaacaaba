// What the docs need from .defs files on disk: each file checked (front end and semantics),
// with its AST; an unreadable file is E0900, an include-only file (no subsystem) is skipped.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { checkDefsFile } from "../check/index.js";
import type { DiagnosticSink } from "../diagnostics.js";
import { unreadable } from "../file-access.js";
import type { FrontendOptions } from "../frontend.js";
import type { DocsInput } from "./render-docs.js";

export interface DefsToDocument {
  /** Where to read it. */
  readonly path: string;
  /** How the docs name it. */
  readonly shown: string;
}

/** Checks each file; returns the inputs of the docs and how many files could not be read. */
export function docsInputs(
  files: readonly DefsToDocument[],
  opts: FrontendOptions,
  sink: DiagnosticSink,
): { inputs: DocsInput[]; ioErrors: number } {
  const inputs: DocsInput[] = [];
  let ioErrors = 0;
  for (const f of files) {
    const why = unreadable(f.path);
    if (why !== undefined) {
      sink.error("E0900", `cannot read ${f.path}: ${why}`);
      ioErrors++;
      continue;
    }
    const { ast, checked } = checkDefsFile(f.path, opts, sink);
    if (checked !== undefined) inputs.push({ path: f.shown, checked, ast });
  }
  return { inputs, ioErrors };
}

/** Every defs/*.defs of the repository at `root`, sorted, shown as "defs/NAME.defs". */
export function repositoryDefs(root: string): DefsToDocument[] {
  const dir = join(root, "defs");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".defs"))
    .sort()
    .map((f) => ({ path: join(dir, f), shown: `defs/${f}` }));
}

/** The options the repository's .defs are read with: defs/ first on the include path. */
export function repositoryOptions(root: string, opts: FrontendOptions): FrontendOptions {
  return {
    ...opts,
    includeDirs: [join(root, "defs"), ...opts.includeDirs],
    requireSubsystem: false,
  };
}
