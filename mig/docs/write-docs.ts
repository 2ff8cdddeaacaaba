// Writes the protocol docs into a folder: changed files only, and removes pages tsmig wrote
// earlier for subsystems that are gone (files it did not write are never touched).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isGeneratedDoc } from "./render-docs.js";

export interface DocsWriteResult {
  readonly written: string[];
  readonly removed: string[];
  readonly unchanged: number;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Pages in `dir` that tsmig docs wrote, by name (sorted). */
export function ownedDocs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && /\.(html|md|css)$/.test(d.name))
    .map((d) => d.name)
    .filter((n) => isGeneratedDoc(readOrUndefined(join(dir, n)) ?? ""))
    .sort();
}

/** Writes `files` (names relative to `dir`); throws on I/O errors (the CLI reports them). */
export function writeDocs(dir: string, files: ReadonlyMap<string, string>): DocsWriteResult {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  let unchanged = 0;
  for (const [name, content] of files) {
    const path = join(dir, name);
    if (readOrUndefined(path) === content) {
      unchanged++;
      continue;
    }
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
    written.push(name);
  }
  const removed = ownedDocs(dir).filter((n) => !files.has(n));
  for (const n of removed) rmSync(join(dir, n));
  return { written, removed, unchanged };
}
