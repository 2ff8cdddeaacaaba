// Prints a DiagnosticSink for a command: text (gcc-style, closing "N errors, M warnings" line,
// always printed, on stderr) or JSON (an array of records on stdout).
import { readFileSync } from "node:fs";
import type { DiagnosticSink } from "../diagnostics.js";
import { formatJson, formatText, type SourceReader } from "../diagnostic-format.js";
import type { CliIO } from "./context.js";

export type ReportFormat = "text" | "json";

export const readSourceFromDisk: SourceReader = (file) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

export function printReport(sink: DiagnosticSink, format: ReportFormat, io: CliIO): void {
  if (format === "json") io.stdout(formatJson(sink.items));
  else io.stderr(formatText(sink.items, readSourceFromDisk));
}
