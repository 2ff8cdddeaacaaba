// The generator over gnumach's whole interface corpus: every .defs yields a module whose routine
// tables transcribe `tsmig layout` exactly, with a stub per routine and a dispatcher; and the
// branded right types refuse a right of the wrong kind (checked by `npm run typecheck`).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { checkDefsFile } from "../../mig/check/index.js";
import { layoutInterface } from "../../mig/layout/index.js";
import type {
  MigRoutineSpec,
  PolyRight,
  ReceiveRight,
  SendOnceRight,
  SendRight,
} from "../../src/kernel/mig/index.js";
import { counter_add } from "../../generated/example_counter.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";
import { generateInto, importModule } from "./gen-support.js";

function corpus(): string[] {
  const files: string[] = [];
  for (const dir of ["device", "mach", "mach_debug", "mach/x86_64"]) {
    let names: string[] = [];
    try {
      names = readdirSync(join(GNUMACH_INCLUDE, dir)).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(GNUMACH_INCLUDE, dir, n);
      if (n.endsWith(".defs") && /^\s*subsystem\b/m.test(readFileSync(p, "utf8"))) files.push(p);
    }
  }
  return files;
}

describe.skipIf(!need("gnumach"))("tsmig gen over gnumach's interfaces", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmig-corpus-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("generates every interface, transcribing its layout", async () => {
    const files = corpus();
    expect(files.length).toBe(19);
    let routines = 0;
    for (const file of files) {
      const sink = new DiagnosticSink();
      const { checked } = checkDefsFile(
        file,
        { includeDirs: [GNUMACH_INCLUDE], defines: [], undefines: [], target: "x86_64" },
        sink,
      );
      const layout = layoutInterface(checked!);
      const mod = await importModule<Record<string, unknown>>(
        await generateInto(join(dir, String(routines)), file, [GNUMACH_INCLUDE]),
      );
      const table = mod[`${layout.subsystem}_routines`] as Record<string, MigRoutineSpec>;
      expect(Object.keys(table), file).toEqual(layout.routines.map((r) => r.name));
      for (const r of layout.routines) {
        const spec = table[r.name]!;
        expect({ id: spec.id, kind: spec.kind, size: spec.request.size }).toEqual({
          id: r.id,
          kind: r.kind,
          size: r.request.size,
        });
        expect(spec.request.complex).toBe(r.request.complex);
        expect(
          spec.request.fields.map((f) => [f.name, f.checkName, f.size, f.inline, f.longform]),
        ).toEqual(
          r.request.args.map((a) => [a.name, a.msgt_name, a.msgt_size, a.inline, a.longform]),
        );
        if (r.reply) {
          expect(spec.reply!.size).toBe(r.reply.size);
          expect(
            spec
              .reply!.fields.slice(1)
              .map((f) => [f.name, f.sendName, f.size, f.inline, f.longform]),
          ).toEqual(
            r.reply.args.map((a) => [a.name, a.msgt_name, a.msgt_size, a.inline, a.longform]),
          );
        } else expect(spec.reply).toBeNull();
        routines++;
      }
      const userNames = checked!.routines.map((r) => r.userName);
      for (const n of userNames) expect(typeof mod[n], `${file}: ${n}`).toBe("function");
      expect(typeof mod[checked!.serverDemux ?? `${layout.subsystem}_server`]).toBe("function");
    }
    expect(routines).toBe(186);
  }, 120_000);
});

describe("branded rights", () => {
  it("keep send, send-once and receive rights apart at compile time", () => {
    expectTypeOf<SendRight>().not.toMatchTypeOf<SendOnceRight>();
    expectTypeOf<SendOnceRight>().not.toMatchTypeOf<SendRight>();
    expectTypeOf<ReceiveRight>().not.toMatchTypeOf<SendRight>();
    expectTypeOf<number>().not.toMatchTypeOf<SendRight>();
    expectTypeOf<SendRight>().toMatchTypeOf<number>();
    expectTypeOf<PolyRight>().toHaveProperty("disposition");
    // A generated stub takes the right its disposition needs (COPY_SEND: a send right).
    expectTypeOf(counter_add).parameter(1).toEqualTypeOf<SendRight>();
    expectTypeOf(counter_add).parameter(1).not.toEqualTypeOf<SendOnceRight>();
  });
});
