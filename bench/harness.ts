// The benchmark harness: repeated timed runs after a warm-up, summarised as the
// shared bench-json spec wants (median/min/max/runs, a peer measured beside it, the ratio).
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

/** One line of `npm run bench -- --json` output (../shared/spec/bench-json.md). */
export interface BenchResult {
  bench: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  peer?: string;
  peer_median?: number;
  ratio?: number;
}

/** A named group (`npm run bench -- GROUP`), producing its results. */
export interface BenchGroup {
  readonly name: string;
  run(): Promise<BenchResult[]>;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("summarize: no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: s.length };
}

export interface MeasureOptions {
  /** Timed runs (samples). */
  runs?: number;
  /** Untimed runs first. */
  warmup?: number;
  /**
   * Keep warming up (whole untimed runs) until this many milliseconds have passed, after the
   * `warmup` runs: a path through worker threads runs its first few thousand operations while
   * V8 is still compiling it, and a fixed count of runs can end long before that is done.
   */
  warmupMs?: number;
  /** Operations per run; each sample is the time of one operation. */
  iterations?: number;
}

/** Times `op` and returns per-operation samples in microseconds. */
export async function measureMicros(
  op: () => unknown,
  { runs = 7, warmup = 2, iterations = 1, warmupMs = 0 }: MeasureOptions = {},
): Promise<number[]> {
  const samples: number[] = [];
  const warmUntil = performance.now() + warmupMs;
  for (let r = 0; r < warmup; r++) await runIterations(op, iterations);
  while (performance.now() < warmUntil) await runIterations(op, iterations);
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      const v = op();
      if (v instanceof Promise) await v;
    }
    samples.push(((performance.now() - t0) * 1000) / iterations);
  }
  return samples;
}

async function runIterations(op: () => unknown, iterations: number): Promise<void> {
  for (let i = 0; i < iterations; i++) {
    const v = op();
    if (v instanceof Promise) await v;
  }
}

/** Times one whole process run (spawn to exit) in milliseconds; throws if it fails. */
export function timeProcessMillis(command: string, args: readonly string[], cwd?: string): number {
  const t0 = performance.now();
  const r = spawnSync(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${command} exited ${r.status}: ${String(r.stderr).slice(0, 400)}`);
  }
  return ms;
}

/** Samples of a repeated whole-process measurement (milliseconds). */
export function measureProcessMillis(
  fn: () => number,
  { runs = 7, warmup = 1 }: MeasureOptions = {},
): number[] {
  const out: number[] = [];
  for (let r = 0; r < warmup + runs; r++) {
    const ms = fn();
    if (r >= warmup) out.push(ms);
  }
  return out;
}

/**
 * Builds a result line. `better` says whether smaller figures (times) or larger (rates) are
 * better, which fixes the ratio: peer/ours for times, ours/peer for rates.
 */
export function benchResult(
  bench: string,
  unit: string,
  ours: readonly number[],
  better: "lower" | "higher",
  peer?: { name: string; samples: readonly number[] },
): BenchResult {
  const s = summarize(ours);
  const r: BenchResult = { bench, unit, ...roundSummary(s) };
  if (peer) {
    const p = summarize(peer.samples);
    r.peer = peer.name;
    r.peer_median = round(p.median);
    r.ratio = round(better === "lower" ? p.median / s.median : s.median / p.median);
  }
  return r;
}

function round(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(digits, 6)));
}

function roundSummary(s: Summary): Summary {
  return { median: round(s.median), min: round(s.min), max: round(s.max), runs: s.runs };
}

/** The human table. */
export function formatTable(results: readonly BenchResult[]): string {
  const rows = [["bench", "median", "min", "max", "unit", "runs", "peer", "peer median", "ratio"]];
  for (const r of results) {
    rows.push([
      r.bench,
      String(r.median),
      String(r.min),
      String(r.max),
      r.unit,
      String(r.runs),
      r.peer ?? "",
      r.peer_median === undefined ? "" : String(r.peer_median),
      r.ratio === undefined ? "" : `${r.ratio}x`,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
