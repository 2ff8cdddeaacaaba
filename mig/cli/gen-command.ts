// `tsmig gen`: writes typed TypeScript stubs, server interfaces and dispatchers. Without FILE it
// regenerates generated/ from every defs/*.defs of the repository (what `tsmig check` verifies).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { DiagnosticSink } from "../diagnostics.js";
import { checkDefsFile } from "../check/index.js";
import { unreadable } from "./check-command.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, type CliContext } from "./context.js";
import {
  addPreprocessorOptions,
  preprocessOptions,
  type RawPreprocessorOptions,
} from "./options.js";
import { packageRoot } from "./repository.js";
import { printReport } from "./report.js";

interface GenOptions extends RawPreprocessorOptions {
  readonly out?: string;
  readonly runtime?: string;
}

/** The import specifier of the runtime from a file in `outDir`. */
function runtimeSpecifier(root: string, outDir: string): string {
  const rel = relative(resolve(outDir), join(root, "src", "kernel", "mig", "index.js"))
    .split(sep)
    .join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("gen")
    .description(
      "generate TypeScript client stubs, server interfaces and dispatchers from .defs files",
    )
    .argument(
      "[files...]",
      ".defs files (default: every defs/*.defs of the repository, into generated/)",
    )
    .option("-o, --out <dir>", "output folder for the named files (default: the current folder)")
    .option("--runtime <module>", "module specifier the output imports the MIG runtime from");
  addPreprocessorOptions(cmd).action(async (files: string[], raw: GenOptions) => {
    const pre = preprocessOptions(raw);
    if ("error" in pre) {
      ctx.io.stderr(`tsmig gen: error: ${pre.error} [E0902]\n`);
      ctx.exitCode = EXIT_USAGE;
      return;
    }
    const root = packageRoot();
    const sink = new DiagnosticSink();
    if (files.length === 0) {
      if (!root) {
        ctx.io.stderr("tsmig gen: error: no tsmach repository found and no .defs named [E0902]\n");
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      const { repositoryOutputs, writeToDisk } = await import("../emit/repository-outputs.js");
      const outputs = await repositoryOutputs(root, pre, sink);
      if (!outputs) {
        printReport(sink, "text", ctx.io);
        ctx.exitCode = EXIT_INPUT_ERRORS;
        return;
      }
      const { written, removed, unchanged } = writeToDisk(root, outputs);
      for (const p of written) ctx.io.stderr(`tsmig gen: wrote ${p}\n`);
      for (const p of removed) ctx.io.stderr(`tsmig gen: removed ${p}\n`);
      ctx.io.stderr(
        `tsmig gen: ${written.length} written, ${removed.length} removed, ${unchanged} unchanged\n`,
      );
      ctx.exitCode = EXIT_OK;
      return;
    }
    const outDir = raw.out ?? ".";
    const { generateTypeScript } = await import("../emit/generate.js");
    const { packageVersion } = await import("../emit/repository-outputs.js");
    const version = root ? packageVersion(root) : "0.0.0";
    const runtime = raw.runtime ?? (root ? runtimeSpecifier(root, outDir) : "tsmach/mig-runtime");
    let ioErrors = 0;
    const outputs: { path: string; content: string }[] = [];
    for (const file of files) {
      const why = unreadable(file);
      if (why !== undefined) {
        sink.error("E0900", `cannot read ${file}: ${why}`);
        ioErrors++;
        continue;
      }
      const { checked } = checkDefsFile(file, pre, sink);
      if (!checked) continue;
      const content = await generateTypeScript(checked, {
        sourcePath: file,
        version,
        runtimeImport: runtime,
      });
      outputs.push({ path: join(outDir, basename(file).replace(/\.defs$/, "") + ".ts"), content });
    }
    if (sink.items.length > 0) printReport(sink, "text", ctx.io);
    if (ioErrors > 0) ctx.exitCode = EXIT_USAGE;
    else if (sink.hasErrors()) ctx.exitCode = EXIT_INPUT_ERRORS;
    else {
      try {
        for (const o of outputs) {
          mkdirSync(dirname(o.path), { recursive: true });
          writeFileSync(o.path, o.content);
        }
      } catch (e) {
        ctx.io.stderr(`tsmig gen: error: cannot write: ${(e as Error).message} [E0900]\n`);
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      ctx.exitCode = EXIT_OK;
    }
  });
}
