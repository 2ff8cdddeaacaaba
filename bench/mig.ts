// The `mig` benchmark group: tsmig as whole processes over gnumach's 19 interfaces against GNU
// MIG run once per file, as build systems call it (mig.check, mig.layout; mig.gen joins here).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  benchResult,
  measureProcessMillis,
  timeProcessMillis,
  type BenchGroup,
  type BenchResult,
} from "./harness.js";

export const GNUMACH_INCLUDE = "/usr/include/x86_64-linux-gnu";
const CORPUS_DIRS = ["device", "mach", "mach_debug", "mach/x86_64"];
export const GNU_MIG = "x86_64-gnu-mig";

/** Every gnumach .defs with a subsystem statement (the interface files, not the type-only ones). */
export function gnumachCorpus(): string[] {
  const files: string[] = [];
  for (const dir of CORPUS_DIRS) {
    const full = join(GNUMACH_INCLUDE, dir);
    if (!existsSync(full)) continue;
    for (const name of readdirSync(full).sort()) {
      if (!name.endsWith(".defs")) continue;
      const path = join(full, name);
      if (/^\s*subsystem\b/im.test(readFileSync(path, "utf8"))) files.push(path);
    }
  }
  return files;
}

export const TSMIG_BIN = fileURLToPath(new URL("../../bin/tsmig.js", import.meta.url));

/** One GNU MIG process per file, writing user, server and header stubs into `outDir`. */
export function gnuMigOverCorpus(files: readonly string[], outDir: string): number {
  let ms = 0;
  for (const f of files) {
    ms += timeProcessMillis(
      GNU_MIG,
      ["-D__x86_64__", "-D__LP64__", `-I${GNUMACH_INCLUDE}`, f],
      outDir,
    );
  }
  return ms;
}

function tsmig(command: string, files: readonly string[]): number {
  return timeProcessMillis(process.execPath, [TSMIG_BIN, command, "-I", GNUMACH_INCLUDE, ...files]);
}

export const group: BenchGroup = {
  name: "mig",
  async run(): Promise<BenchResult[]> {
    const files = gnumachCorpus();
    if (files.length === 0)
      throw new Error(`no gnumach .defs under ${GNUMACH_INCLUDE} (gnumach-dev)`);
    const out = mkdtempSync(join(tmpdir(), "tsmig-bench-"));
    try {
      const opts = { runs: 5, warmup: 1 };
      // Interleave ours and the peer so that machine noise hits both alike.
      const results: BenchResult[] = [];
      for (const cmd of ["check", "layout"] as const) {
        const ours: number[] = [];
        const peer: number[] = [];
        for (let i = 0; i < opts.runs + opts.warmup; i++) {
          const [a] = measureProcessMillis(() => tsmig(cmd, files), { runs: 1, warmup: 0 });
          const [b] = measureProcessMillis(() => gnuMigOverCorpus(files, out), {
            runs: 1,
            warmup: 0,
          });
          if (i >= opts.warmup) {
            ours.push(a!);
            peer.push(b!);
          }
        }
        results.push(
          benchResult(`mig.${cmd}`, "ms", ours, "lower", {
            name: `GNU MIG (${files.length} x86_64-gnu-mig runs)`,
            samples: peer,
          }),
        );
      }
      const gen = await loadGen();
      if (gen) results.push(...(await gen(files, out)));
      return results;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
};

type GenBench = (files: readonly string[], scratch: string) => Promise<BenchResult[]>;

/** mig.gen lives in bench/mig-gen.ts, next to the code generator it measures. */
async function loadGen(): Promise<GenBench | undefined> {
  const url = new URL("./mig-gen.js", import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const mod = (await import(url.href)) as { benchGen?: GenBench };
  return mod.benchGen;
}
