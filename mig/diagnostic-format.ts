// Renders diagnostics for people (gcc-style lines with the source line and a ^~~~ underline) and
// for tools (JSON records with file, line, col, endLine, endCol, severity, code, message).
import type { Diagnostic } from "./diagnostics.js";

/** Returns a file's text, or undefined when it cannot be read (the source line is then omitted). */
export type SourceReader = (file: string) => string | undefined;

/** Caches whole files split into lines, so rendering many diagnostics reads each file once. */
export function lineReader(read: SourceReader): (file: string, line: number) => string | undefined {
  const cache = new Map<string, string[] | undefined>();
  return (file, line) => {
    if (!cache.has(file)) {
      let text: string | undefined;
      try {
        text = read(file);
      } catch {
        text = undefined;
      }
      cache.set(file, text?.split(/\r?\n/));
    }
    return cache.get(file)?.[line - 1];
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The closing line of a report: "2 errors, 1 warning". */
export function summaryLine(errors: number, warnings: number): string {
  return `${plural(errors, "error")}, ${plural(warnings, "warning")}`;
}

/** The underline for columns [col, endCol) of a source line; tabs are kept so it lines up. */
export function underline(source: string, col: number, endCol: number): string {
  const start = Math.max(1, Math.min(col, source.length + 1));
  const end = Math.max(start + 1, Math.min(endCol, source.length + 1));
  const pad = source.slice(0, start - 1).replace(/[^\t]/g, " ");
  return `${pad}^${"~".repeat(end - start - 1)}`;
}

/** One diagnostic as text: the location line, the source line, the underline, the include chain. */
export function formatDiagnostic(
  d: Diagnostic,
  line: (file: string, line: number) => string | undefined,
): string {
  const out: string[] = [];
  const s = d.span;
  const where = s ? `${s.file}:${s.line}:${s.col}` : "tsmig";
  out.push(`${where}: ${d.severity}: ${d.message} [${d.code}]`);
  if (s) {
    const src = line(s.file, s.line);
    if (src !== undefined) {
      out.push(src);
      out.push(underline(src, s.col, s.endLine === s.line ? s.endCol : src.length + 1));
    }
  }
  for (const f of d.includedFrom ?? [])
    out.push(`  included from ${f.span.file}:${f.span.line}:${f.span.col}`);
  return out.join("\n");
}

/**
 * A whole report as text: every diagnostic, then the summary line, which is always there
 * ("0 errors, 0 warnings" for a clean run) so scripts and people see the check happened.
 */
export function formatText(diagnostics: readonly Diagnostic[], read: SourceReader): string {
  const line = lineReader(read);
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const parts = diagnostics.map((d) => formatDiagnostic(d, line));
  parts.push(summaryLine(errors, diagnostics.length - errors));
  return parts.join("\n") + "\n";
}

export interface DiagnosticRecord {
  readonly file: string | null;
  readonly line: number | null;
  readonly col: number | null;
  readonly endLine: number | null;
  readonly endCol: number | null;
  readonly severity: Diagnostic["severity"];
  readonly code: string;
  readonly message: string;
  readonly includedFrom: readonly {
    readonly file: string;
    readonly line: number;
    readonly col: number;
  }[];
}

export function toRecord(d: Diagnostic): DiagnosticRecord {
  const s = d.span;
  return {
    file: s?.file ?? null,
    line: s?.line ?? null,
    col: s?.col ?? null,
    endLine: s?.endLine ?? null,
    endCol: s?.endCol ?? null,
    severity: d.severity,
    code: d.code,
    message: d.message,
    includedFrom: (d.includedFrom ?? []).map((f) => ({
      file: f.span.file,
      line: f.span.line,
      col: f.span.col,
    })),
  };
}

/** A whole report as JSON: an array of records (empty when all is well), newline-terminated. */
export function formatJson(diagnostics: readonly Diagnostic[]): string {
  return JSON.stringify(diagnostics.map(toRecord), null, 2) + "\n";
}
