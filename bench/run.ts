// `npm run bench -- [GROUP...] [--json]`: runs the benchmark groups (all by default) and prints
// a table, or one JSON object per line with --json (../shared/spec/bench-json.md).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatTable, type BenchGroup, type BenchResult } from "./harness.js";

/** Every group, in the order `npm run bench` runs them; each lives in bench/GROUP.ts. */
export const GROUPS = ["mig", "rpc", "disk"] as const;

async function loadGroup(name: string): Promise<BenchGroup | undefined> {
  const url = new URL(`./${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const mod = (await import(url.href)) as { group?: BenchGroup };
  return mod.group;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const names = argv.filter((a) => !a.startsWith("--"));
  const unknown = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark group ${unknown.join(", ")}; groups: ${GROUPS.join(", ")}`);
    return 2;
  }
  const selected = names.length > 0 ? names : [...GROUPS];
  const all: BenchResult[] = [];
  let failed = false;
  for (const name of selected) {
    const group = await loadGroup(name);
    if (!group) {
      console.error(`bench group ${name}: not built (no bench/${name}.ts)`);
      failed = true;
      continue;
    }
    try {
      const results = await group.run();
      for (const r of results) {
        if (json) console.log(JSON.stringify(r));
        all.push(r);
      }
    } catch (e) {
      console.error(`bench group ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      failed = true;
    }
  }
  if (!json && all.length > 0) console.log(formatTable(all));
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
