// The `tsmach` command: `boot` (the whole chain on a machine), devread/devwrite, ps/portinfo,
// lspci, acpi tables, and `interfaces`, which summarizes the interfaces of every defs/*.defs.
import { relative } from "node:path";
import { Command, CommanderError } from "commander";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import type { DefsFile, RoutineStatement, SubsystemStatement } from "../../mig/ast.js";
import { checkFiles } from "../../mig/cli/check-command.js";
import {
  EXIT_INPUT_ERRORS,
  EXIT_OK,
  EXIT_USAGE,
  processIO,
  type CliIO,
} from "../../mig/cli/context.js";
import { packageRoot, repositoryDefsFiles } from "../../mig/cli/repository.js";
import { printReport } from "../../mig/cli/report.js";
import { join } from "node:path";
import { registerDriverCommands } from "./driver-commands.js";
import { registerDiskCommands } from "./disk-commands.js";
import { registerInspectCommands } from "./inspect-commands.js";

/** One interface found in defs/: its subsystem and routines (skips are not routines). */
export interface InterfaceSummary {
  readonly file: string;
  readonly subsystem: string;
  readonly base: number;
  readonly routines: readonly string[];
}

export function summarize(file: DefsFile): InterfaceSummary | undefined {
  const sub = file.statements.find((s): s is SubsystemStatement => s.kind === "subsystem");
  if (!sub) return undefined;
  const routines = file.statements
    .filter((s): s is RoutineStatement => s.kind === "routine")
    .map((r) => r.name.name);
  return { file: file.path, subsystem: sub.name.name, base: sub.base.value, routines };
}

/** The `boot` summary as text (one block per interface). */
export function formatSummary(interfaces: readonly InterfaceSummary[], root: string): string {
  const lines = [
    `tsmach: ${interfaces.length} interface${interfaces.length === 1 ? "" : "s"} in defs/`,
  ];
  for (const i of interfaces) {
    lines.push(
      `  ${i.subsystem} (base ${i.base}, ${i.routines.length} routine${i.routines.length === 1 ? "" : "s"}) from ${relative(root, i.file)}`,
    );
    if (i.routines.length > 0) lines.push(`    ${i.routines.join(", ")}`);
  }
  return lines.join("\n") + "\n";
}

function boot(io: CliIO, rootOverride?: string): number {
  const root = rootOverride ?? packageRoot();
  if (!root) {
    io.stderr("tsmach boot: cannot find the tsmach package root [E0900]\n");
    return EXIT_USAGE;
  }
  const files = repositoryDefsFiles(root);
  if (files.length === 0) {
    io.stdout("tsmach: no .defs files in defs/ yet, no interfaces to summarize\n");
    return EXIT_OK;
  }
  const sink = new DiagnosticSink();
  const { files: parsed, ioErrors } = checkFiles(
    files,
    { includeDirs: [join(root, "defs")], requireSubsystem: false },
    sink,
  );
  if (sink.items.length > 0) printReport(sink, "text", io);
  if (ioErrors > 0) return EXIT_USAGE;
  if (sink.hasErrors()) return EXIT_INPUT_ERRORS;
  const interfaces = parsed.map(summarize).filter((s): s is InterfaceSummary => s !== undefined);
  io.stdout(formatSummary(interfaces, root));
  return EXIT_OK;
}

/** Runs tsmach with argv (without node and the script); never throws. */
export async function main(argv: string[], io: CliIO = processIO, root?: string): Promise<number> {
  let code = EXIT_OK;
  try {
    const program = new Command("tsmach")
      .description("tsmach: GNU/Hurd's driver architecture in TypeScript")
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    program
      .command("interfaces")
      .description("compile defs/ and summarize the interfaces")
      .exitOverride()
      .action(() => {
        code = boot(io, root);
      });
    registerDriverCommands(program, io, (c) => (code = c));
    registerDiskCommands(program, io, (c) => (code = c));
    registerInspectCommands(program, io, (c) => (code = c));
    if (argv.length === 0) {
      io.stderr(program.helpInformation());
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    io.stderr(`tsmach: error: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_USAGE;
  }
}
