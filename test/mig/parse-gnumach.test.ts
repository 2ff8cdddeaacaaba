// The gnumach-dev corpus: every installed interface .defs (19 with a subsystem) parses through the
// real preprocessor and parser with no diagnostic, with the subsystems and routines GNU MIG sees.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { need, GNUMACH_INCLUDE } from "../helpers/tools.js";
import { parseDefsFile } from "../../mig/frontend.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import type { RoutineStatement, SubsystemStatement } from "../../mig/ast.js";

// [file, subsystem, base, routines + simpleroutines] (counts as GNU MIG 1.8 generates server stubs)
const CORPUS: [string, string, number, number][] = [
  ["device/device.defs", "device", 2800, 12],
  ["device/device_reply.defs", "device_reply", 2900, 5],
  ["device/device_request.defs", "device_request", 2800, 5],
  ["mach/bootstrap.defs", "bootstrap", 999999, 1],
  ["mach/default_pager.defs", "default_pager", 2275, 6],
  ["mach/default_pager_helper.defs", "dp_helper", 888888, 1],
  ["mach/exc.defs", "exc", 2400, 1],
  ["mach/experimental.defs", "experimental", 424242, 3],
  ["mach/gnumach.defs", "gnumach", 4200, 12],
  ["mach/mach.defs", "mach", 2000, 44],
  ["mach/mach4.defs", "mach4", 4000, 2],
  ["mach/mach_host.defs", "mach_host", 2600, 38],
  ["mach/mach_port.defs", "mach_port", 3200, 20],
  ["mach/memory_object.defs", "memory_object", 2200, 9],
  ["mach/memory_object_default.defs", "memory_object_default", 2250, 2],
  ["mach/notify.defs", "notify", 64, 6],
  ["mach/task_notify.defs", "task_notify", 4400, 1],
  ["mach_debug/mach_debug.defs", "mach_debug", 3000, 12],
  ["mach/x86_64/mach_i386.defs", "mach_i386", 3800, 6],
];

function parse(rel: string) {
  const sink = new DiagnosticSink();
  const file = parseDefsFile(join(GNUMACH_INCLUDE, rel), { includeDirs: [GNUMACH_INCLUDE] }, sink);
  return { sink, file };
}

describe.skipIf(!need("gnumach"))("gnumach-dev interface definitions", () => {
  it.each(CORPUS)(
    "%s: subsystem %s %i with %i routines, no diagnostics",
    (rel, name, base, count) => {
      const { sink, file } = parse(rel);
      expect(sink.items).toEqual([]);
      expect(file.syntaxErrors).toBe(false);
      const subs = file.statements.filter((s): s is SubsystemStatement => s.kind === "subsystem");
      expect(subs.map((s) => [s.name.name, s.base.value])).toEqual([[name, base]]);
      expect(file.statements.filter((s) => s.kind === "routine")).toHaveLength(count);
      expect(file.statements.some((s) => s.kind === "broken")).toBe(false);
    },
  );

  it("finds 186 routines in the 19 files, as GNU MIG does", () => {
    const total = CORPUS.map(
      ([rel]) => parse(rel).file.statements.filter((s) => s.kind === "routine").length,
    ).reduce((a, b) => a + b);
    expect(total).toBe(186);
  });

  it("reads mach.defs as GNU MIG: KernelServer-free subsystem, skips, routine order, doc comments", () => {
    const { file } = parse("mach/mach.defs");
    const routines = file.statements.filter((s): s is RoutineStatement => s.kind === "routine");
    expect(routines[0]!.name.name).toBe("task_create");
    expect(routines[0]!.simple).toBe(false);
    expect(routines[0]!.args.map((a) => [a.argKind, a.name.name])).toEqual([
      [undefined, "target_task"],
      [undefined, "inherit_memory"],
      ["out", "child_task"],
    ]);
    expect(routines[0]!.doc.join(" ")).toMatch(/task/i);
    const skips = file.statements.filter((s) => s.kind === "skip");
    expect(skips.length).toBeGreaterThan(0);
    // Types come in through #include of std_types.defs / mach_types.defs.
    const types = file.statements
      .filter((s) => s.kind === "type")
      .map((s) => (s.kind === "type" ? s.definition.name.name : ""));
    expect(types).toContain("mach_port_t");
    expect(types).toContain("vm_offset_t");
  });

  it("keeps the include chain on statements from included files", () => {
    const { file } = parse("mach/mach.defs");
    const t = file.statements.find(
      (s) => s.kind === "type" && s.definition.name.name === "int32_t",
    );
    expect(t?.span.file).toBe(join(GNUMACH_INCLUDE, "mach/std_types.defs"));
  });

  it("reads device_t's intran/outtran/destructor annotations when compiled for the kernel server", () => {
    const sink = new DiagnosticSink();
    const file = parseDefsFile(
      join(GNUMACH_INCLUDE, "device/device.defs"),
      { includeDirs: [GNUMACH_INCLUDE], defines: [{ name: "KERNEL_SERVER", value: "1" }] },
      sink,
    );
    expect(sink.items).toEqual([]);
    const dev = file.statements.find(
      (s) => s.kind === "type" && s.definition.name.name === "device_t",
    );
    expect(dev?.kind).toBe("type");
    if (dev?.kind === "type") {
      expect(dev.definition.spec).toMatchObject({
        kind: "typeName",
        name: { name: "mach_port_t" },
      });
      expect(dev.definition.annotations).toMatchObject([
        { kind: "ctype", cType: { name: "mach_port_t" } },
        {
          kind: "intran",
          transType: { name: "device_t" },
          function: { name: "dev_port_lookup" },
          serverType: { name: "mach_port_t" },
        },
        {
          kind: "outtran",
          serverType: { name: "mach_port_t" },
          function: { name: "convert_device_to_port" },
          transType: { name: "device_t" },
        },
        {
          kind: "destructor",
          function: { name: "device_deallocate" },
          transType: { name: "device_t" },
        },
      ]);
    }
  });
});
