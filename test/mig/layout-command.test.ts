// `tsmig layout` as a command: JSON Lines in argument order, -I/-D handling, and exit statuses
// 0 (layouts printed), 1 (errors in the input, nothing printed) and 2 (usage or I/O errors).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { main } from "../../mig/cli/main.js";
import type { InterfaceLayout } from "../../mig/layout/index.js";

async function run(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  return { status, stdout, stderr };
}

describe("tsmig layout", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmig-layout-cmd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  write("types.defs", "type port_t = MACH_MSG_TYPE_COPY_SEND;\n");
  const one = write(
    "one.defs",
    'subsystem one 100;\n#include "types.defs"\n#ifdef WITH_EXTRA\nroutine extra(p : port_t);\n#endif\nroutine r(p : port_t; x : int);\n',
  );
  const two = write(
    "two.defs",
    "subsystem two 200;\ntype port_t = MACH_MSG_TYPE_COPY_SEND;\nsimpleroutine s(p : port_t);\n",
  );
  const bad = write(
    "bad.defs",
    "subsystem bad 300;\ntype port_t = MACH_MSG_TYPE_COPY_SEND;\nroutine r(p : port_t; x : nothing_t);\n",
  );

  test("prints one JSON document per file, in argument order, with the file as given", async () => {
    const r = await run("layout", one, two);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    const docs = lines.map((l) => JSON.parse(l) as InterfaceLayout);
    expect(docs.map((d) => [d.file, d.subsystem, d.base])).toEqual([
      [one, "one", 100],
      [two, "two", 200],
    ]);
    expect(docs[0]!.routines[0]).toMatchObject({ name: "r", id: 100, kind: "routine" });
    expect(docs[1]!.routines[0]).toMatchObject({
      name: "s",
      id: 200,
      kind: "simpleroutine",
      reply: null,
    });
  });

  test("-D changes what the preprocessor keeps, and so the routines and their ids", async () => {
    const r = await run("layout", "-D", "WITH_EXTRA", one);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as InterfaceLayout;
    expect(doc.routines.map((x) => [x.name, x.id])).toEqual([
      ["extra", 100],
      ["r", 101],
    ]);
  });

  test("-I finds includes", async () => {
    const sub = write(
      "sub.defs",
      'subsystem sub 400;\n#include "types.defs"\nroutine r(p : port_t);\n',
    );
    const elsewhere = mkdtempSync(join(tmpdir(), "tsmig-layout-inc-"));
    try {
      const moved = join(elsewhere, "sub.defs");
      writeFileSync(moved, "subsystem sub 400;\n#include <types.defs>\nroutine r(p : port_t);\n");
      const without = await run("layout", moved);
      expect(without.status).toBe(1);
      const withI = await run("layout", "-I", dir, moved);
      expect(withI.status).toBe(0);
      expect((JSON.parse(withI.stdout) as InterfaceLayout).subsystem).toBe("sub");
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
    expect((await run("layout", sub)).status).toBe(0);
  });

  test("errors in the input: exit 1, diagnostics on stderr, nothing on stdout", async () => {
    const r = await run("layout", one, bad);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("bad.defs:3:27: error: type 'nothing_t' not defined [E0201]");
  });

  test("a file that cannot be read: exit 2", async () => {
    const r = await run("layout", join(dir, "missing.defs"));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("[E0900]");
    expect(r.stdout).toBe("");
  });

  test("no file: usage error", async () => {
    expect((await run("layout")).status).toBe(2);
  });
});
