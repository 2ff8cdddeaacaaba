// Conformance of tsmig's message layouts with GNU MIG 1.8 (Debian's x86_64-gnu-mig): every
// interface .defs of gnumach-dev and the feature fixtures, routine by routine, field by field.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { checkDefsFile } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { layoutInterface, type InterfaceLayout } from "../../mig/layout/index.js";
import { runGnuMig } from "../helpers/gnu-mig.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";

/** The 19 interface .defs gnumach-dev installs (the type-only ones come in through #include). */
export const GNUMACH_INTERFACES = [
  "device/device.defs",
  "device/device_reply.defs",
  "device/device_request.defs",
  "mach/bootstrap.defs",
  "mach/default_pager.defs",
  "mach/default_pager_helper.defs",
  "mach/exc.defs",
  "mach/experimental.defs",
  "mach/gnumach.defs",
  "mach/mach.defs",
  "mach/mach4.defs",
  "mach/mach_host.defs",
  "mach/mach_port.defs",
  "mach/memory_object.defs",
  "mach/memory_object_default.defs",
  "mach/notify.defs",
  "mach/task_notify.defs",
  "mach/x86_64/mach_i386.defs",
  "mach_debug/mach_debug.defs",
].map((f) => join(GNUMACH_INCLUDE, f));

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "defs");
const FIXTURE_FILES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".defs"))
  .sort()
  .map((f) => join(FIXTURES, f));

const tsmigMemo = new Map<string, { layout: InterfaceLayout; sink: DiagnosticSink }>();

function tsmigLayout(
  file: string,
  defines: readonly string[] = [],
): { layout: InterfaceLayout; sink: DiagnosticSink } {
  const key = JSON.stringify([file, defines]);
  const done = tsmigMemo.get(key);
  if (done !== undefined) return done;
  const sink = new DiagnosticSink();
  const { checked } = checkDefsFile(
    file,
    { includeDirs: [GNUMACH_INCLUDE], defines: defines.map((name) => ({ name })) },
    sink,
  );
  expect(checked, sink.items.map((d) => d.message).join("\n")).toBeDefined();
  const result = { layout: layoutInterface(checked!, file), sink };
  tsmigMemo.set(key, result);
  return result;
}

/** Compares routine by routine so a failure names the routine and the field. */
function expectSameLayout(mine: InterfaceLayout, gnu: InterfaceLayout): void {
  expect({ subsystem: mine.subsystem, base: mine.base }).toEqual({
    subsystem: gnu.subsystem,
    base: gnu.base,
  });
  expect(mine.routines.map((r) => r.name)).toEqual(gnu.routines.map((r) => r.name));
  for (let i = 0; i < gnu.routines.length; i++) {
    const g = gnu.routines[i]!;
    const m = mine.routines[i]!;
    expect({ routine: m.name, id: m.id, kind: m.kind }).toEqual({
      routine: g.name,
      id: g.id,
      kind: g.kind,
    });
    expect({ routine: m.name, request: m.request }).toEqual({
      routine: g.name,
      request: g.request,
    });
    expect({ routine: m.name, reply: m.reply }).toEqual({ routine: g.name, reply: g.reply });
  }
}

describe.skipIf(!need("mig", "gnumach"))(
  "tsmig layout agrees with GNU MIG 1.8 on gnumach-dev's interfaces",
  () => {
    test("there are 19 interfaces with 186 routines, and tsmig checks them without a diagnostic", () => {
      let routines = 0;
      for (const f of GNUMACH_INTERFACES) {
        const { layout, sink } = tsmigLayout(f);
        expect(sink.items, f).toEqual([]);
        routines += layout.routines.length;
      }
      expect(GNUMACH_INTERFACES).toHaveLength(19);
      expect(routines).toBe(186);
    });

    test.each(GNUMACH_INTERFACES)("%s", (file) => {
      const gnu = runGnuMig(file);
      expect(gnu.status, gnu.messages).toBe(0);
      expectSameLayout(tsmigLayout(file).layout, gnu.layout!);
    });

    // gnumach builds its own side with KERNEL_SERVER: KernelServer subsystems, where rights travel
    // as 64-bit ipc_port_t pointers (KernelUser ones are in the fixtures).
    test.each(GNUMACH_INTERFACES)("%s as the kernel builds it (-DKERNEL_SERVER)", (file) => {
      const gnu = runGnuMig(file, { defines: ["KERNEL_SERVER"] });
      expect(gnu.status, gnu.messages).toBe(0);
      expectSameLayout(tsmigLayout(file, ["KERNEL_SERVER"]).layout, gnu.layout!);
    });
  },
);

describe.skipIf(!need("mig", "gnumach"))(
  "tsmig layout agrees with GNU MIG 1.8 on the feature fixtures",
  () => {
    test("the fixture corpus is there", () => {
      expect(FIXTURE_FILES.length).toBeGreaterThanOrEqual(6);
    });

    test.each(FIXTURE_FILES)("%s", (file) => {
      const gnu = runGnuMig(file);
      expect(gnu.status, gnu.messages).toBe(0);
      const { layout, sink } = tsmigLayout(file);
      expect(sink.errorCount, sink.items.map((d) => d.message).join("\n")).toBe(0);
      expectSameLayout(layout, gnu.layout!);
    });

    test.each(FIXTURE_FILES)("%s: tsmig warns where GNU MIG warns", (file) => {
      const gnu = runGnuMig(file);
      const gnuWarnings = gnu.messages
        .split("\n")
        .filter((l) => l.includes("warning: "))
        .map((l) => l.slice(l.indexOf("warning: ") + 9).trim())
        .sort();
      const { sink } = tsmigLayout(file);
      const mine = sink.items
        .filter((d) => d.severity === "warning")
        .map((d) => d.message)
        .sort();
      expect(mine).toEqual(gnuWarnings);
    });
  },
);
