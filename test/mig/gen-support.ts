// Helpers of the code-generation suites: check and generate a .defs into a folder (importing the
// runtime of this checkout), import the result, and a task whose mach_msg records what is sent.
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { checkDefsFile } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { generateTypeScript } from "../../mig/emit/generate.js";
import type { TaskApi } from "../../src/kernel/task-api.js";

const RUNTIME = resolve(import.meta.dirname, "../../src/kernel/mig/index.js");

/** Generates `defs` into `dir`; returns the output path (throws with diagnostics on errors). */
export async function generateInto(
  dir: string,
  defs: string,
  includeDirs: string[] = [],
): Promise<string> {
  const sink = new DiagnosticSink();
  const { checked } = checkDefsFile(
    defs,
    { includeDirs, defines: [], undefines: [], target: "x86_64" },
    sink,
  );
  if (!checked || sink.hasErrors())
    throw new Error(`${defs}: ${sink.items.map((d) => d.message).join("; ")}`);
  let runtime = relative(dir, RUNTIME).split(sep).join("/");
  if (!runtime.startsWith(".")) runtime = `./${runtime}`;
  const text = await generateTypeScript(checked, {
    sourcePath: basename(defs),
    version: "test",
    runtimeImport: runtime,
  });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, basename(defs).replace(/\.defs$/, ".ts"));
  writeFileSync(out, text);
  return out;
}

/** Imports a generated module. */
export async function importModule<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(path).href)) as T;
}

/** `task` with mach_msg replaced: each message sent is recorded, then `answer` decides the result. */
export function recordingTask(
  task: TaskApi,
  answer: (buf: Uint8Array, option: number) => number | Promise<number> = () => 0x10000003,
): { api: TaskApi; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const api = new Proxy(task, {
    get(target, prop) {
      if (prop === "mach_msg") {
        return (buf: Uint8Array, option: number, sendSize: number) => {
          sent.push(buf.slice(0, sendSize));
          return Promise.resolve(answer(buf, option));
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { api, sent };
}
