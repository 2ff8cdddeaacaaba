// `tsmig layout`: prints the wire layout of each .defs file as one JSON document per line
// (shared spec layout-json.md); diagnostics go to stderr, and on any error nothing is printed.
import type { Command } from "commander";
import { DiagnosticSink } from "../diagnostics.js";
import { checkDefsFile } from "../check/index.js";
import { layoutInterface } from "../layout/index.js";
import type { InterfaceLayout } from "../layout/index.js";
import { unreadable } from "./check-command.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, type CliContext } from "./context.js";
import {
  addPreprocessorOptions,
  preprocessOptions,
  type RawPreprocessorOptions,
} from "./options.js";
import { printReport } from "./report.js";

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("layout")
    .description("print the message layout of .defs files as JSON Lines (one document per file)")
    .argument("<files...>", ".defs files");
  addPreprocessorOptions(cmd).action((files: string[], raw: RawPreprocessorOptions) => {
    const opts = preprocessOptions(raw);
    if ("error" in opts) {
      ctx.io.stderr(`tsmig layout: error: ${opts.error} [E0902]\n`);
      ctx.exitCode = EXIT_USAGE;
      return;
    }
    const sink = new DiagnosticSink();
    const layouts: InterfaceLayout[] = [];
    let ioErrors = 0;
    for (const file of files) {
      const why = unreadable(file);
      if (why !== undefined) {
        sink.error("E0900", `cannot read ${file}: ${why}`);
        ioErrors++;
        continue;
      }
      const { checked } = checkDefsFile(file, opts, sink);
      if (checked !== undefined) layouts.push(layoutInterface(checked, file));
    }
    if (sink.items.length > 0) printReport(sink, "text", ctx.io);
    if (ioErrors > 0) ctx.exitCode = EXIT_USAGE;
    else if (sink.hasErrors()) ctx.exitCode = EXIT_INPUT_ERRORS;
    else {
      ctx.io.stdout(layouts.map((l) => JSON.stringify(l) + "\n").join(""));
      ctx.exitCode = EXIT_OK;
    }
  });
}
