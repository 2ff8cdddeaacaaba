// Prints a ts-morph source file structure to text with ts-morph's own structure printer, without the
// TypeScript parse that Project.createSourceFile runs on that text (two thirds of building a file).
import type { CodeBlockWriter, Project, SourceFileStructure } from "ts-morph";

type SourceText = Pick<SourceFileStructure, "statements">;

/**
 * The part of ts-morph's project internals createSourceFile(path, structure) prints with: it
 * writes the structure with the project's writer, then parses the text into a source file.
 */
interface PrinterInternals {
  readonly _context?: {
    readonly structurePrinterFactory?: {
      forSourceFile?(opts: { isAmbient: boolean }): {
        printText(writer: CodeBlockWriter, structure: SourceText): void;
      };
    };
  };
}

/**
 * The text project.createSourceFile(fileName, structure).getFullText() returns, the same bytes.
 * Uses the printer createSourceFile uses; when a ts-morph release no longer has it there, falls
 * back to createSourceFile itself (`direct: false` forces that path).
 */
export function printSourceFile(
  project: Project,
  fileName: string,
  structure: SourceText,
  direct = true,
): string {
  const factory = (project as unknown as PrinterInternals)._context?.structurePrinterFactory;
  if (direct && typeof factory?.forSourceFile === "function") {
    const writer = project.createWriter();
    factory.forSourceFile({ isAmbient: fileName.endsWith(".d.ts") }).printText(writer, structure);
    return writer.toString();
  }
  const sf = project.createSourceFile(fileName, structure, { overwrite: true });
  const text = sf.getFullText();
  project.removeSourceFile(sf);
  return text;
}
