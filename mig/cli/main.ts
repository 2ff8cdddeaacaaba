// The `tsmig` command: parses argv with commander and runs one subcommand; returns the exit status.
// Subcommands live in their own modules, each exporting register(program, ctx), listed below.
import { Command, CommanderError } from "commander";
import { EXIT_OK, EXIT_USAGE, processIO, type CliContext, type CliIO } from "./context.js";
import { register as registerCheck } from "./check-command.js";
import { register as registerLayout } from "./layout-command.js";
import { register as registerGen } from "./gen-command.js";
import { register as registerDocs } from "./docs-command.js";

type Register = (program: Command, ctx: CliContext) => void;

/** Every subcommand of tsmig; a new one is one import and one entry here. */
const COMMANDS: readonly Register[] = [registerCheck, registerLayout, registerGen, registerDocs];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("tsmig")
    .description("tsmig, the MIG compiler of tsmach: GNU MIG 1.8 .defs to TypeScript")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) })
    .showHelpAfterError("(run tsmig --help for usage)");
  for (const register of COMMANDS) register(program, ctx);
  for (const sub of program.commands) sub.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs tsmig with argv (without node and the script); never throws, never prints a stack trace. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const ctx: CliContext = { io, exitCode: EXIT_OK };
  try {
    const program = buildProgram(ctx);
    if (argv.length === 0) {
      io.stderr(program.helpInformation());
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const why = e instanceof Error ? e.message : String(e);
    io.stderr(`tsmig: error: internal error: ${why} [E0901]\n`);
    return EXIT_USAGE;
  }
}
