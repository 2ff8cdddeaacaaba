// Include resolution: finds `#include "f"` (the including file's folder, then -I folders) and
// `<f>` (-I folders only), reading and lexing each file once per preprocessor run.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { lexSource, type LexedSource } from "./c-lexer.js";
import { includeGuard } from "./include-guard.js";

export type ReadFile = (path: string) => string | undefined;

export const readFileFromDisk: ReadFile = (p) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};

/** A source file read and lexed, shared by every #include of it in one run. */
export interface SourceFile {
  readonly path: string;
  readonly lexed: LexedSource;
  /** The include-guard macro when the whole file is `#ifndef X ... #endif`. */
  readonly guard: string | undefined;
  /** False until the file's file-level problems have been reported once. */
  reported: boolean;
}

export interface FoundInclude {
  readonly file: SourceFile;
  /** Index of the -I folder it was found in; -1 for the including file's folder. */
  readonly dirIndex: number;
}

/**
 * Lexed files shared by the runs of one process (`tsmig check` over many .defs lexes
 * std_types.defs once). An entry is reused only when the file's text is unchanged.
 */
const lexCache = new Map<string, { text: string; lexed: LexedSource; guard: string | undefined }>();
const LEX_CACHE_FILES = 128;

function lexCached(p: string, text: string): { lexed: LexedSource; guard: string | undefined } {
  const hit = lexCache.get(p);
  if (hit !== undefined && hit.text === text) return hit;
  const lexed = lexSource(text, p);
  const entry = { text, lexed, guard: includeGuard(lexed.tokens) };
  if (lexCache.size >= LEX_CACHE_FILES) lexCache.delete(lexCache.keys().next().value!);
  lexCache.set(p, entry);
  return entry;
}

export class IncludeResolver {
  private readonly files = new Map<string, SourceFile | null>();

  constructor(
    private readonly includeDirs: readonly string[],
    private readonly readFile: ReadFile,
  ) {}

  /** Reads and lexes `p` (once); undefined when it cannot be read. */
  load(p: string, text?: string): SourceFile | undefined {
    const cached = this.files.get(p);
    if (cached !== undefined) return cached ?? undefined;
    const content = text ?? this.readFile(p);
    if (content === undefined) {
      this.files.set(p, null);
      return undefined;
    }
    const { lexed, guard } = lexCached(p, content);
    const file: SourceFile = { path: p, lexed, guard, reported: false };
    this.files.set(p, file);
    return file;
  }

  /** The folders searched for `name`, in order (for the "not found" message). */
  searchPath(angled: boolean, includer: string, startAfter = -2): { dir: string; index: number }[] {
    const dirs: { dir: string; index: number }[] = [];
    if (!angled && startAfter < -1) dirs.push({ dir: path.dirname(includer), index: -1 });
    this.includeDirs.forEach((dir, index) => {
      if (index > startAfter) dirs.push({ dir, index });
    });
    return dirs;
  }

  /**
   * Finds an included file. `startAfter` is for #include_next: search the -I folders after that
   * index only.
   */
  resolve(
    name: string,
    angled: boolean,
    includer: string,
    startAfter = -2,
  ): FoundInclude | undefined {
    if (path.isAbsolute(name)) {
      const file = this.load(path.normalize(name));
      return file ? { file, dirIndex: -1 } : undefined;
    }
    for (const { dir, index } of this.searchPath(angled, includer, startAfter)) {
      const file = this.load(path.join(dir, name));
      if (file) return { file, dirIndex: index };
    }
    return undefined;
  }
}
