// `tsmig docs`: writes the protocol docs (Markdown and a static HTML site) of .defs files.
// Without FILE it documents every defs/*.defs of the repository into docs/protocols/.
import { join, relative } from "node:path";
import type { Command } from "commander";
import { DiagnosticSink } from "../diagnostics.js";
import type { FrontendOptions } from "../frontend.js";
import {
  DOCS_DIR,
  docsInputs,
  renderDocs,
  repositoryDefs,
  repositoryOptions,
  writeDocs,
} from "../docs/index.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, type CliContext } from "./context.js";
import {
  addPreprocessorOptions,
  preprocessOptions,
  type RawPreprocessorOptions,
} from "./options.js";
import { packageRoot } from "./repository.js";
import { printReport } from "./report.js";

interface DocsCommandOptions extends RawPreprocessorOptions {
  readonly out?: string;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("docs")
    .description("write protocol docs (Markdown and HTML) of .defs files")
    .argument(
      "[files...]",
      `.defs files (default: every defs/*.defs of the repository, into ${DOCS_DIR}/)`,
    )
    .option(
      "-o, --out <dir>",
      `output folder (default: ${DOCS_DIR} of the repository, or of the current folder with files)`,
    );
  addPreprocessorOptions(cmd).action((files: string[], raw: DocsCommandOptions) => {
    const pre = preprocessOptions(raw);
    if ("error" in pre) {
      ctx.io.stderr(`tsmig docs: error: ${pre.error} [E0902]\n`);
      ctx.exitCode = EXIT_USAGE;
      return;
    }
    let named = files.map((f) => ({ path: f, shown: f }));
    let opts: FrontendOptions = pre;
    let outDir = raw.out ?? DOCS_DIR;
    if (files.length === 0) {
      const root = packageRoot();
      if (root === undefined) {
        ctx.io.stderr("tsmig docs: error: no tsmach repository found and no .defs named [E0902]\n");
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      named = repositoryDefs(root);
      opts = repositoryOptions(root, pre);
      outDir = raw.out ?? join(root, DOCS_DIR);
    }
    const sink = new DiagnosticSink();
    const { inputs, ioErrors } = docsInputs(named, opts, sink);
    const docs = sink.hasErrors() ? undefined : renderDocs(inputs, sink);
    if (sink.items.length > 0) printReport(sink, "text", ctx.io);
    if (ioErrors > 0) {
      ctx.exitCode = EXIT_USAGE;
      return;
    }
    if (docs === undefined || sink.hasErrors()) {
      ctx.exitCode = EXIT_INPUT_ERRORS;
      return;
    }
    try {
      const { written, removed, unchanged } = writeDocs(outDir, docs);
      const where = relative(process.cwd(), outDir) || ".";
      for (const n of written) ctx.io.stderr(`tsmig docs: wrote ${join(where, n)}\n`);
      for (const n of removed) ctx.io.stderr(`tsmig docs: removed ${join(where, n)}\n`);
      ctx.io.stderr(
        `tsmig docs: ${written.length} written, ${removed.length} removed, ${unchanged} unchanged\n`,
      );
      ctx.exitCode = EXIT_OK;
    } catch (e) {
      ctx.io.stderr(`tsmig docs: error: cannot write ${outDir}: ${(e as Error).message} [E0900]\n`);
      ctx.exitCode = EXIT_USAGE;
    }
  });
}
