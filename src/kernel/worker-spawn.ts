// Starting a worker thread from a module path, the same way from TypeScript sources (vitest,
// tsx: the worker loads tsx first) and from the compiled dist/ JavaScript.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** Where a worker module really is, and how Node must be told to load it. */
export interface WorkerModule {
  /** Absolute file path of the module that will run. */
  readonly path: string;
  /** True for TypeScript: the worker must register tsx before importing it. */
  readonly typescript: boolean;
}

/** Why a worker module could not be found; `tried` lists every file looked at. */
export interface WorkerModuleMissing {
  readonly missing: true;
  readonly tried: readonly string[];
}

function toPath(module: string | URL): string {
  if (module instanceof URL) return fileURLToPath(module);
  return module.startsWith("file:") ? fileURLToPath(module) : module;
}

/**
 * Finds the module to run. Callers name the module as they import it (`./x.js` beside
 * themselves, via `new URL("./x.js", import.meta.url)`); when only the TypeScript source exists
 * (running under vitest or tsx) the `.ts` sibling is used, and the reverse when a `.ts` is named
 * but only the compiled `.js` is there.
 */
export function resolveWorkerModule(module: string | URL): WorkerModule | WorkerModuleMissing {
  const path = toPath(module);
  const candidates = [path];
  if (path.endsWith(".js")) candidates.push(path.slice(0, -3) + ".ts");
  else if (path.endsWith(".mjs")) candidates.push(path.slice(0, -4) + ".mts");
  else if (path.endsWith(".ts")) candidates.push(path.slice(0, -3) + ".js");
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const typescript = file.endsWith(".ts") || file.endsWith(".mts");
    return { path: file, typescript };
  }
  return { missing: true, tried: candidates };
}

export type SpawnWorkerOptions = Omit<WorkerOptions, "eval">;

/** The spawned worker, or the reason there is none (errors as values). */
export type SpawnWorkerResult = { ok: true; worker: Worker } | { ok: false; error: string };

/**
 * The worker's entry for a TypeScript module. On Node 20 `execArgv: ["--import", "tsx"]` does
 * not reach a worker's own module graph (the loader hooks it registers are not applied to the
 * worker's entry), so the entry is a small script that registers tsx through its API and then
 * imports the module.
 */
function typescriptBootstrap(path: string): string | undefined {
  let api: string;
  try {
    // The require condition names index.cjs; its ESM twin index.mjs sits beside it.
    api = createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs");
  } catch {
    return undefined;
  }
  const apiUrl = JSON.stringify(pathToFileURL(api).href);
  const moduleUrl = JSON.stringify(pathToFileURL(path).href);
  return `import(${apiUrl}).then((tsx) => { tsx.register(); return import(${moduleUrl}); });\n`;
}

/**
 * Spawns a worker thread running `module` (see resolveWorkerModule); a `.ts` module runs
 * through tsx, a `.js` one directly.
 */
export function spawnWorker(
  module: string | URL,
  options: SpawnWorkerOptions = {},
): SpawnWorkerResult {
  const found = resolveWorkerModule(module);
  if ("missing" in found) {
    return { ok: false, error: `worker module not found (tried ${found.tried.join(", ")})` };
  }
  let entry: URL | string = pathToFileURL(found.path);
  if (found.typescript) {
    const boot = typescriptBootstrap(found.path);
    if (boot === undefined)
      return { ok: false, error: `${found.path} is TypeScript and tsx is not installed` };
    entry = boot;
  }
  try {
    const worker = new Worker(entry, { ...options, eval: found.typescript });
    return { ok: true, worker };
  } catch (e) {
    return {
      ok: false,
      error: `cannot start worker ${found.path}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
