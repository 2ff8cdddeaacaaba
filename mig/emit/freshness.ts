// The freshness check run by `tsmig check` without files (and so by `npm test`): regenerates in
// memory everything `tsmig gen` writes and names each stale, missing or extra file.
import { DiagnosticSink } from "../diagnostics.js";
import type { FrontendOptions } from "../frontend.js";
import type { CliIO } from "../cli/context.js";
import { printReport } from "../cli/report.js";
import { compareWithDisk, repositoryOutputs } from "./repository-outputs.js";

/** Returns the exit status: 0 fresh, 1 stale (or .defs errors). */
export async function checkFreshness(
  root: string,
  opts: FrontendOptions,
  io: CliIO,
): Promise<number> {
  const sink = new DiagnosticSink();
  const files = await repositoryOutputs(root, opts, sink);
  if (!files) {
    printReport(sink, "text", io);
    return 1;
  }
  const { stale, missing, extra } = compareWithDisk(root, files);
  for (const p of stale)
    io.stderr(`tsmig check: ${p} is stale: it differs from what defs/ generates\n`);
  for (const p of missing) io.stderr(`tsmig check: ${p} is missing\n`);
  for (const p of extra) io.stderr(`tsmig check: ${p} is extra: no .defs in defs/ generates it\n`);
  const bad = stale.length + missing.length + extra.length;
  if (bad > 0) {
    io.stderr(
      `tsmig check: ${bad} generated file(s) out of date; run \`npm run gen\` (tsmig gen) and commit the result\n`,
    );
    return 1;
  }
  return 0;
}
