// Diagnostics as values: a stable code from the catalog, a severity, a message and a Span.
// Every phase reports into a DiagnosticSink; the CLI renders them (see diagnostic-format.ts).
import type { IncludeFrame, Span } from "./source.js";
import type { DiagnosticCode } from "./diagnostic-catalog.js";

export type Severity = "error" | "warning";

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  /** Where: the offending token. Absent only for file-less problems (usage, I/O of the root file). */
  readonly span?: Span;
  /** Innermost first: the #include directives that led to span.file. */
  readonly includedFrom?: readonly IncludeFrame[];
}

export class DiagnosticSink {
  readonly items: Diagnostic[] = [];

  report(d: Diagnostic): void {
    this.items.push(d);
  }

  error(
    code: DiagnosticCode,
    message: string,
    span?: Span,
    includedFrom?: readonly IncludeFrame[],
  ): void {
    this.report({ code, severity: "error", message, span, includedFrom });
  }

  warning(
    code: DiagnosticCode,
    message: string,
    span?: Span,
    includedFrom?: readonly IncludeFrame[],
  ): void {
    this.report({ code, severity: "warning", message, span, includedFrom });
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === "error").length;
  }

  get warningCount(): number {
    return this.items.filter((d) => d.severity === "warning").length;
  }

  hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }
}
