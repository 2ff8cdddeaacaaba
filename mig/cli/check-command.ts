// `tsmig check`: preprocess, parse and check .defs files and report every problem; nothing is written.
// Without FILE it checks every defs/*.defs of the repository (with -I defs).
import { join, relative } from "node:path";
import { Option, type Command } from "commander";
import { DiagnosticSink } from "../diagnostics.js";
import type { FrontendOptions } from "../frontend.js";
import { unreadable } from "../file-access.js";
import { checkDefsFile } from "../check/index.js";
import type { DefsFile } from "../ast.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, type CliContext } from "./context.js";
import {
  addPreprocessorOptions,
  preprocessOptions,
  type RawPreprocessorOptions,
} from "./options.js";
import { packageRoot, repositoryDefsFiles } from "./repository.js";
import { printReport, type ReportFormat } from "./report.js";

export { unreadable } from "../file-access.js";

export interface CheckResult {
  readonly files: DefsFile[];
  /** Files that could not be read at all (E0900 reported). */
  readonly ioErrors: number;
}

/** Runs the front end and the semantic checks over each file; unreadable files are E0900. */
export function checkFiles(
  paths: readonly string[],
  opts: FrontendOptions,
  sink: DiagnosticSink,
): CheckResult {
  const files: DefsFile[] = [];
  let ioErrors = 0;
  for (const path of paths) {
    const why = unreadable(path);
    if (why) {
      sink.error("E0900", `cannot read ${path}: ${why}`);
      ioErrors++;
      continue;
    }
    files.push(checkDefsFile(path, opts, sink).ast);
  }
  return { files, ioErrors };
}

interface CheckOptions extends RawPreprocessorOptions {
  readonly format: ReportFormat;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("check")
    .description("preprocess and parse .defs files and report problems (no output is written)")
    .argument("[files...]", ".defs files to check (default: every defs/*.defs of the repository)");
  addPreprocessorOptions(cmd)
    .addOption(
      new Option("--format <format>", "diagnostics as text or json")
        .choices(["text", "json"])
        .default("text"),
    )
    .action(async (files: string[], raw: CheckOptions) => {
      const pre = preprocessOptions(raw);
      if ("error" in pre) {
        ctx.io.stderr(`tsmig check: error: ${pre.error} [E0902]\n`);
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      let paths = files;
      let opts: FrontendOptions = pre;
      if (paths.length === 0) {
        const root = packageRoot();
        paths = root ? repositoryDefsFiles(root) : [];
        if (paths.length === 0) {
          const where = root ? relative(process.cwd(), join(root, "defs")) || "defs" : "defs";
          if (raw.format === "json") ctx.io.stdout("[]\n");
          else ctx.io.stderr(`tsmig check: no .defs files in ${where}/, nothing to check\n`);
          ctx.exitCode = EXIT_OK;
          return;
        }
        opts = {
          ...pre,
          includeDirs: [join(root!, "defs"), ...pre.includeDirs],
          requireSubsystem: false,
        };
      }
      const sink = new DiagnosticSink();
      const { ioErrors } = checkFiles(paths, opts, sink);
      printReport(sink, raw.format, ctx.io);
      ctx.exitCode = ioErrors > 0 ? EXIT_USAGE : sink.hasErrors() ? EXIT_INPUT_ERRORS : EXIT_OK;
      // Without files, also verify that generated/ is what `tsmig gen` would write (loads the emitter).
      if (files.length === 0 && ctx.exitCode === EXIT_OK) {
        const { checkFreshness } = await import("../emit/freshness.js");
        ctx.exitCode = await checkFreshness(packageRoot()!, pre, ctx.io);
      }
    });
}
