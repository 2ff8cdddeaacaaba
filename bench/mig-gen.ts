// mig.gen: regenerating TypeScript for everything (defs/ plus gnumach's corpus) in one tsmig
// process, against GNU MIG writing its C stubs for the same files (one process per file), same run.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  benchResult,
  measureProcessMillis,
  timeProcessMillis,
  type BenchResult,
} from "./harness.js";
import { GNU_MIG, GNUMACH_INCLUDE, TSMIG_BIN } from "./mig.js";

const DEFS = fileURLToPath(new URL("../../defs", import.meta.url));

/** The repository's interface files (those with a subsystem). */
function repositoryDefs(): string[] {
  if (!existsSync(DEFS)) return [];
  return readdirSync(DEFS)
    .filter((f) => f.endsWith(".defs"))
    .sort()
    .map((f) => join(DEFS, f))
    .filter((p) => /^\s*subsystem\b/im.test(readFileSync(p, "utf8")));
}

function gnuMig(file: string, outDir: string): number {
  return timeProcessMillis(
    GNU_MIG,
    ["-D__x86_64__", "-D__LP64__", `-I${DEFS}`, `-I${GNUMACH_INCLUDE}`, file],
    outDir,
  );
}

export async function benchGen(corpus: readonly string[], scratch: string): Promise<BenchResult[]> {
  const peerDir = join(scratch, "gen-c");
  const oursDir = join(scratch, "gen-ts");
  mkdirSync(peerDir, { recursive: true });
  mkdirSync(oursDir, { recursive: true });
  // Only files both compilers accept are measured.
  const files = [...repositoryDefs(), ...corpus].filter((f) => {
    try {
      gnuMig(f, peerDir);
      return true;
    } catch {
      return false;
    }
  });
  const ours = () =>
    timeProcessMillis(process.execPath, [
      TSMIG_BIN,
      "gen",
      "-I",
      DEFS,
      "-I",
      GNUMACH_INCLUDE,
      "-o",
      oursDir,
      ...files,
    ]);
  const peer = () => files.reduce((ms, f) => ms + gnuMig(f, peerDir), 0);
  const runs = 5;
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const [x] = measureProcessMillis(ours, { runs: 1, warmup: 0 });
    const [y] = measureProcessMillis(peer, { runs: 1, warmup: 0 });
    if (i > 0) {
      a.push(x!);
      b.push(y!);
    }
  }
  return [
    benchResult("mig.gen", "ms", a, "lower", {
      name: `GNU MIG (${files.length} x86_64-gnu-mig runs)`,
      samples: b,
    }),
  ];
}
