// The mechanisms that make `tsmig gen` fast keep its output byte for byte: structures printed
// without ts-morph's parse, prettier's standalone core and two plugins, generation in batches.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkDefsFile } from "../../mig/check/index.js";
import type { CheckedInterface } from "../../mig/check/checked-model.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { formatTypeScript, isFormatted, PRETTIER_OPTIONS } from "../../mig/emit/format.js";
import { generateTypeScript } from "../../mig/emit/generate.js";
import { repositoryOutputs } from "../../mig/emit/repository-outputs.js";
import { emitInterfaceSource } from "../../mig/emit/typescript-emitter.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";

const ROOT = resolve(import.meta.dirname, "../..");
const DEFS = join(ROOT, "defs");

/** Every interface of defs/ (and gnumach's, when installed), checked. */
function interfaces(): { name: string; checked: CheckedInterface }[] {
  const files = readdirSync(DEFS)
    .filter((f) => f.endsWith(".defs"))
    .map((f) => join(DEFS, f));
  if (need("gnumach")) {
    for (const dir of ["device", "mach"]) {
      for (const n of readdirSync(join(GNUMACH_INCLUDE, dir)))
        if (n.endsWith(".defs")) files.push(join(GNUMACH_INCLUDE, dir, n));
    }
  }
  const out: { name: string; checked: CheckedInterface }[] = [];
  for (const f of files.sort()) {
    if (!/^\s*subsystem\b/m.test(readFileSync(f, "utf8"))) continue;
    const { checked } = checkDefsFile(
      f,
      { includeDirs: [DEFS, GNUMACH_INCLUDE], defines: [], undefines: [], target: "x86_64" },
      new DiagnosticSink(),
    );
    if (checked) out.push({ name: f, checked });
  }
  return out;
}

describe("tsmig gen's fast paths", () => {
  const all = interfaces();

  it("prints ts-morph structures exactly as Project.createSourceFile does", async () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    const tsm = await import("ts-morph");
    const project = new tsm.Project({
      useInMemoryFileSystem: true,
      skipLoadingLibFiles: true,
      skipFileDependencyResolution: true,
      manipulationSettings: { quoteKind: tsm.QuoteKind.Double },
    });
    for (const { name, checked } of all) {
      const opts = { runtimeImport: "../r.js", header: "// h" };
      const direct = emitInterfaceSource(tsm, project, checked, opts);
      const parsed = emitInterfaceSource(tsm, project, checked, { ...opts, directPrint: false });
      expect(direct, name).toBe(parsed);
      expect(direct).toContain(
        `export function ${checked.serverDemux ?? `${checked.subsystem.name}_server`}`,
      );
    }
    expect(project.getSourceFiles()).toHaveLength(0);
  });

  it("formats with the standalone core exactly as prettier's full entry formats", async () => {
    const prettier = await import("prettier");
    const tsm = await import("ts-morph");
    const project = new tsm.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
    // Submitted all at once: each answer must come back to its own module.
    const sources = all
      .slice(0, 8)
      .map(({ checked }) =>
        emitInterfaceSource(tsm, project, checked, { runtimeImport: "../r.js", header: "// h" }),
      );
    const ours = await Promise.all(sources.map((s) => formatTypeScript(s)));
    for (let i = 0; i < sources.length; i++) {
      expect(ours[i]).toBe(await prettier.format(sources[i]!, PRETTIER_OPTIONS));
      expect(await isFormatted(ours[i]!)).toBe(true);
      expect(await isFormatted(sources[i]!)).toBe(false);
    }
  });

  it("reports prettier's error for text that does not parse, and keeps working", async () => {
    await expect(formatTypeScript("export const = ;")).rejects.toThrow(
      /SyntaxError|Unexpected|expected/i,
    );
    expect(await formatTypeScript("export const a   =  1")).toBe("export const a = 1;\n");
  });

  it("generates concurrently the same bytes as one at a time, in order", async () => {
    const opts = { sourcePath: "x.defs", version: "test", runtimeImport: "../r.js" };
    const some = all.slice(0, 6);
    const together = await Promise.all(
      some.map(({ checked }) => generateTypeScript(checked, opts)),
    );
    for (let i = 0; i < some.length; i++)
      expect(together[i]).toBe(await generateTypeScript(some[i]!.checked, opts));
  });

  it("regenerates generated/ as committed (repository outputs in one batch)", async () => {
    const sink = new DiagnosticSink();
    const files = await repositoryOutputs(
      ROOT,
      { includeDirs: [], defines: [], undefines: [], target: "x86_64" },
      sink,
    );
    expect(sink.hasErrors()).toBe(false);
    expect(files!.length).toBeGreaterThan(0);
    for (const f of files!)
      expect(f.content, f.path).toBe(readFileSync(join(ROOT, f.path), "utf8"));
  });
});
