// tsmach's own interface files (defs/) against gnumach's originals: the same routines, ids and
// message layouts as GNU MIG 1.8 gives for gnumach-dev's .defs, with no gnumach header needed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { checkDefsFile } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { layoutInterface, type InterfaceLayout } from "../../mig/layout/index.js";
import { runGnuMig } from "../helpers/gnu-mig.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";

const DEFS = join(import.meta.dirname, "..", "..", "defs");

/** Each interface of defs/ and the gnumach-dev file it restates. */
const PAIRS: readonly { mine: string; gnumach: string }[] = [
  { mine: "device.defs", gnumach: "device/device.defs" },
  { mine: "notify.defs", gnumach: "mach/notify.defs" },
  { mine: "mach_port.defs", gnumach: "mach/mach_port.defs" },
];

/** The type-only files, and the gnumach-dev files whose types they restate. */
const TYPE_FILES: readonly { mine: string; gnumach: string }[] = [
  { mine: "std_types.defs", gnumach: "mach/std_types.defs" },
  { mine: "mach_types.defs", gnumach: "mach/mach_types.defs" },
  { mine: "device_types.defs", gnumach: "device/device_types.defs" },
];

/** tsmig's layout of a file, with only the given include folders (none: defs/ stands alone). */
function tsmigLayout(
  file: string,
  includeDirs: readonly string[] = [],
  defines: readonly string[] = [],
): InterfaceLayout {
  const sink = new DiagnosticSink();
  const { checked } = checkDefsFile(
    file,
    { includeDirs, defines: defines.map((name) => ({ name })) },
    sink,
  );
  expect(sink.items.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(checked).toBeDefined();
  return layoutInterface(checked!, file);
}

/** Routine by routine, so that a failure names the routine. The file names are not compared. */
function expectSameLayout(mine: InterfaceLayout, ref: InterfaceLayout): void {
  expect({ subsystem: mine.subsystem, base: mine.base }).toEqual({
    subsystem: ref.subsystem,
    base: ref.base,
  });
  expect(mine.routines.map((r) => [r.name, r.id, r.kind])).toEqual(
    ref.routines.map((r) => [r.name, r.id, r.kind]),
  );
  for (let i = 0; i < ref.routines.length; i++) {
    const m = mine.routines[i]!;
    const g = ref.routines[i]!;
    expect({ routine: m.name, request: m.request, reply: m.reply }).toEqual({
      routine: g.name,
      request: g.request,
      reply: g.reply,
    });
  }
}

const scratch = mkdtempSync(join(tmpdir(), "tsmach-defs-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!need("mig", "gnumach"))(
  "defs/ agrees with gnumach's interfaces under GNU MIG 1.8",
  () => {
    test.each(PAIRS)(
      "$mine: tsmig on ours = GNU MIG on gnumach's $gnumach",
      ({ mine, gnumach }) => {
        const gnu = runGnuMig(join(GNUMACH_INCLUDE, gnumach));
        expect(gnu.status, gnu.messages).toBe(0);
        expectSameLayout(tsmigLayout(join(DEFS, mine)), gnu.layout!);
      },
    );

    test.each(PAIRS)(
      "$mine: GNU MIG on ours = GNU MIG on gnumach's $gnumach",
      ({ mine, gnumach }) => {
        // Ours must be valid MIG in its own right, not only for tsmig.
        const ours = runGnuMig(join(DEFS, mine));
        const theirs = runGnuMig(join(GNUMACH_INCLUDE, gnumach));
        expect(ours.status, ours.messages).toBe(0);
        expectSameLayout(ours.layout!, theirs.layout!);
      },
    );

    test("notify.defs with SEQNOS (msgseqno arguments) still matches gnumach's", () => {
      const gnu = runGnuMig(join(GNUMACH_INCLUDE, "mach/notify.defs"), { defines: ["SEQNOS"] });
      expect(gnu.status, gnu.messages).toBe(0);
      expectSameLayout(tsmigLayout(join(DEFS, "notify.defs"), [], ["SEQNOS"]), gnu.layout!);
    });

    test("device.defs keeps gnumach's ids: the skipped 2806-2808 and the irq calls at 2813, 2814", () => {
      const ids = new Map(
        tsmigLayout(join(DEFS, "device.defs")).routines.map((r) => [r.name, r.id]),
      );
      expect(ids.get("device_read_inband")).toBe(2805);
      expect(ids.get("device_map")).toBe(2809);
      expect(ids.get("device_intr_register")).toBe(2813);
      expect(ids.get("device_intr_ack")).toBe(2814);
      expect([...ids.values()].some((id) => id >= 2806 && id <= 2808)).toBe(false);
    });

    test("the notifications keep their ids 65, 66, 69, 70, 71, 72", () => {
      const ids = tsmigLayout(join(DEFS, "notify.defs")).routines.map((r) => [r.name, r.id]);
      expect(ids).toEqual([
        ["mach_notify_port_deleted", 65],
        ["mach_notify_msg_accepted", 66],
        ["mach_notify_port_destroyed", 69],
        ["mach_notify_no_senders", 70],
        ["mach_notify_send_once", 71],
        ["mach_notify_dead_name", 72],
      ]);
    });

    // Every type the type-only files declare, used as an argument once through ours and once
    // through gnumach's headers: the same descriptor and size for each.
    test.each(TYPE_FILES)(
      "every type of $mine has gnumach's wire form ($gnumach)",
      ({ mine, gnumach }) => {
        const names = [
          ...readFileSync(join(DEFS, mine), "utf8").matchAll(/^type\s+(\w+)\s*=/gm),
        ].map((m) => m[1]!);
        expect(names.length).toBeGreaterThan(4);
        const body = names
          .map((n, i) => `routine probe_${i}(server : mach_port_t; arg : ${n});\n`)
          .join("");
        const ourFile = join(scratch, `ours-${mine}`);
        const theirFile = join(scratch, `theirs-${mine}`);
        writeFileSync(ourFile, `subsystem probe 5000;\n#include "${join(DEFS, mine)}"\n${body}`);
        writeFileSync(theirFile, `subsystem probe 5000;\n#include <${gnumach}>\n${body}`);
        const gnu = runGnuMig(theirFile);
        expect(gnu.status, gnu.messages).toBe(0);
        expectSameLayout(tsmigLayout(ourFile), gnu.layout!);
        // GNU MIG agrees with itself through our headers as well.
        const gnuOurs = runGnuMig(ourFile);
        expect(gnuOurs.status, gnuOurs.messages).toBe(0);
        expectSameLayout(gnuOurs.layout!, gnu.layout!);
      },
    );

    test("defs/ includes nothing from gnumach: every #include is one of its own files", () => {
      for (const f of [
        ...PAIRS.map((p) => p.mine),
        ...TYPE_FILES.map((p) => p.mine),
        "device_notify.defs",
      ]) {
        const includes = [
          ...readFileSync(join(DEFS, f), "utf8").matchAll(/^#include\s+(\S+)/gm),
        ].map((m) => m[1]);
        for (const inc of includes)
          expect(inc, `${f} includes ${inc}`).toMatch(/^"[a-z_]+\.defs"$/);
      }
    });
  },
);

describe.skipIf(!need("mig", "gnumach", "gcc"))(
  "device_notify.defs is gnumach's device_intr_notification_t",
  () => {
    test("tsmig and GNU MIG lay it out alike: one id 100 simpleroutine carrying an int", () => {
      const mine = tsmigLayout(join(DEFS, "device_notify.defs"));
      const gnu = runGnuMig(join(DEFS, "device_notify.defs"));
      expect(gnu.status, gnu.messages).toBe(0);
      expectSameLayout(mine, gnu.layout!);
      expect(mine.routines.map((r) => [r.name, r.id, r.kind])).toEqual([
        ["device_intr_notify", 100, "simpleroutine"],
      ]);
    });

    test("its request is the struct of gnumach-dev's device/notify.h, byte for byte", () => {
      // gnumach sends this message by hand (no MIG stub): header, one int32 descriptor, the id.
      const src = join(scratch, "intr.c");
      writeFileSync(
        src,
        [
          "#include <stddef.h>",
          "#include <stdio.h>",
          "#include <device/notify.h>",
          "int main(void) {",
          '  printf("%zu %zu %zu %d\\n", sizeof(device_intr_notification_t),',
          "         offsetof(device_intr_notification_t, intr_type),",
          "         offsetof(device_intr_notification_t, id), DEVICE_INTR_NOTIFY);",
          "  return 0;",
          "}",
        ].join("\n"),
      );
      const exe = join(scratch, "intr");
      const cc = spawnSync("gcc", [`-I${GNUMACH_INCLUDE}`, "-o", exe, src], { encoding: "utf8" });
      expect(cc.status, cc.stderr).toBe(0);
      const [size, typeAt, idAt, msgId] = spawnSync(exe, { encoding: "utf8" })
        .stdout.trim()
        .split(" ")
        .map(Number);
      const r = tsmigLayout(join(DEFS, "device_notify.defs")).routines[0]!;
      expect(r.id).toBe(msgId);
      expect(r.request.size).toBe(size);
      expect(typeAt).toBe(32); // the descriptor right after the 32-byte header
      expect(idAt).toBe(typeAt! + 4);
      expect(r.request.args).toEqual([
        { name: "id", msgt_name: 2, msgt_size: 32, msgt_number: 1, inline: true, longform: false },
      ]);
    });
  },
);
