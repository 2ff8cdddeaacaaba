// Preprocessor options shared by tsmig subcommands: -I DIR, -D NAME[=VALUE], -U NAME, --target.
// Parsed and validated here so every command accepts them the same way.
import { Option, type Command } from "commander";
import type { PreprocessOptions } from "../preprocess/index.js";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds -I, -D, -U and --target to a command. */
export function addPreprocessorOptions(cmd: Command): Command {
  return cmd
    .option(
      "-I, --include <dir>",
      "add a directory to the #include search path (repeatable)",
      collect,
      [],
    )
    .option("-D, --define <name[=value]>", "define a macro, as cc -D (repeatable)", collect, [])
    .option(
      "-U, --undefine <name>",
      "undefine a macro, e.g. -U __x86_64__ (repeatable)",
      collect,
      [],
    )
    .addOption(
      new Option("--target <target>", "predefined macros: x86_64 (__x86_64__, __LP64__) or none")
        .choices(["x86_64", "none"])
        .default("x86_64"),
    );
}

export interface RawPreprocessorOptions {
  readonly include: string[];
  readonly define: string[];
  readonly undefine: string[];
  readonly target: "x86_64" | "none";
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validated options, or the message of the first invalid one. */
export function preprocessOptions(
  raw: RawPreprocessorOptions,
): PreprocessOptions | { error: string } {
  const defines: { name: string; value?: string }[] = [];
  for (const d of raw.define) {
    const eq = d.indexOf("=");
    const name = eq < 0 ? d : d.slice(0, eq);
    if (!IDENT.test(name)) return { error: `-D ${d}: '${name}' is not a macro name` };
    defines.push(eq < 0 ? { name } : { name, value: d.slice(eq + 1) });
  }
  for (const u of raw.undefine)
    if (!IDENT.test(u)) return { error: `-U ${u}: '${u}' is not a macro name` };
  return { includeDirs: raw.include, defines, undefines: raw.undefine, target: raw.target };
}
