// The tsmig command line (and tsmach boot's interface summary): exit statuses 0/1/2, the text and
// JSON diagnostic formats, -I/-D/-U, and no stack trace whatever the input.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../mig/cli/main.js";
import { main as tsmach } from "../../src/boot/cli.js";
import { packageRoot } from "../../mig/cli/repository.js";
import { need, GNUMACH_INCLUDE } from "../helpers/tools.js";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function tsmig(...argv: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const code = await main(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code, out, err };
}

let dir: string;
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text);
  return p;
};

const GOOD =
  "subsystem s 100;\ntype port_t = MACH_MSG_TYPE_COPY_SEND;\ntype i32 = MACH_MSG_TYPE_INTEGER_32;\nroutine r(p: port_t; in a: i32);\n";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tsmig-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tsmig check", () => {
  it("exits 0 on a good file and closes with the summary line", async () => {
    const r = await tsmig("check", file("good.defs", GOOD));
    expect(r).toEqual({ code: 0, out: "", err: "0 errors, 0 warnings\n" });
  });

  it("exits 1 on a syntax error and prints location, source line, underline and summary", async () => {
    const p = file(
      "bad.defs",
      "subsystem s 100;\ntype int = MACH_MSG_TYPE_INTEGER_32;\nroutine in(a: int);\n",
    );
    const r = await tsmig("check", p);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `${p}:3:9: error: 'in' is a keyword and cannot be used as a routine name [E0103]\n` +
        "routine in(a: int);\n" +
        "        ^~\n" +
        "1 error, 0 warnings\n",
    );
  });

  it("keeps tabs in the underline so it lines up, and reports every error of the file", async () => {
    const p = file("tabs.defs", "subsystem s abc;\n\troutine\tfoo(inn a: int);\n");
    const r = await tsmig("check", p);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")).toEqual([
      `${p}:1:13: error: subsystem base must be an integer, found 'abc' [E0104]`,
      "subsystem s abc;",
      "            ^~~",
      `${p}:2:14: error: unknown argument kind 'inn'; expected in, out, inout, requestport, replyport, sreplyport, ureplyport, waittime, msgoption or msgseqno [E0108]`,
      "\troutine\tfoo(inn a: int);",
      "\t       \t    ^~~",
      "2 errors, 0 warnings",
      "",
    ]);
  });

  it("shows the include chain of an error in an included file", async () => {
    const inc = file("inc/types.defs", "type t = array[3 of int;\n");
    const p = file("main.defs", "subsystem s 1;\n#include <types.defs>\n");
    const r = await tsmig("check", "-I", join(dir, "inc"), p);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${inc}:1:18: error: malformed array type: expected ']', found keyword 'of' [E0109]\n`,
    );
    expect(r.err).toContain(`  included from ${p}:2:1\n`);
  });

  it("prints JSON records with --format json", async () => {
    const p = file("bad2.defs", "subsystem s 100;\nskip 0x;\n");
    const r = await tsmig("check", "--format", "json", p);
    expect(r.code).toBe(1);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out)).toEqual([
      {
        file: p,
        line: 2,
        col: 6,
        endLine: 2,
        endCol: 8,
        severity: "error",
        code: "E0112",
        message: "invalid integer literal '0x'",
        includedFrom: [],
      },
    ]);
  });

  it("prints an empty JSON array for a good file", async () => {
    const r = await tsmig("check", "--format=json", file("good2.defs", GOOD));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([]);
  });

  it("passes -D and -U to the preprocessor", async () => {
    const p = file(
      "cond.defs",
      "subsystem s 1;\n#ifdef BROKEN\nskip x;\n#endif\n#ifndef __x86_64__\nskip y;\n#endif\n",
    );
    expect((await tsmig("check", p)).code).toBe(0);
    const d = await tsmig("check", "-D", "BROKEN", p);
    expect(d.code).toBe(1);
    expect(d.err).toContain(`${p}:3:6: error:`);
    const u = await tsmig("check", "-U__x86_64__", p);
    expect(u.code).toBe(1);
    expect(u.err).toContain(`${p}:6:6: error:`);
    expect((await tsmig("check", "-DBROKEN=1", "--target", "none", p)).code).toBe(1);
  });

  it("exits 2 with E0900 when a file cannot be read", async () => {
    const r = await tsmig("check", join(dir, "missing.defs"));
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `tsmig: error: cannot read ${join(dir, "missing.defs")}: no such file [E0900]`,
    );
    const d = await tsmig("check", dir);
    expect(d.code).toBe(2);
    expect(d.err).toContain("is a directory [E0900]");
  });

  it("exits 2 on usage errors", async () => {
    expect((await tsmig()).code).toBe(2);
    expect((await tsmig("frobnicate")).code).toBe(2);
    expect((await tsmig("check", "--bogus", "x.defs")).code).toBe(2);
    const f = await tsmig("check", "--format", "xml", "x.defs");
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/xml/);
    const d = await tsmig("check", "-D", "1bad", "x.defs");
    expect(d.code).toBe(2);
    expect(d.err).toContain("-D 1bad: '1bad' is not a macro name [E0902]");
  });

  it("exits 0 for --help and lists the check command", async () => {
    const r = await tsmig("--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain("check");
  });

  it("never prints a stack trace, even for binary garbage", async () => {
    const p = join(dir, "garbage.defs");
    writeFileSync(p, Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256)));
    const r = await tsmig("check", p);
    expect(r.code).toBe(1);
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(r.err).toMatch(/\d+ errors?, \d+ warnings?\n$/);
  });

  it.skipIf(!need("gnumach"))("checks the gnumach corpus with no diagnostics", async () => {
    const files = [
      "device/device.defs",
      "mach/mach.defs",
      "mach/mach_host.defs",
      "mach/mach_port.defs",
      "mach/memory_object.defs",
      "mach_debug/mach_debug.defs",
      "mach/x86_64/mach_i386.defs",
    ].map((f) => join(GNUMACH_INCLUDE, f));
    const r = await tsmig("check", "-I", GNUMACH_INCLUDE, ...files);
    expect(r).toEqual({ code: 0, out: "", err: "0 errors, 0 warnings\n" });
  });
});

describe("the repository", () => {
  it("finds the tsmach package root from the compiler's sources", () => {
    expect(packageRoot()).toBe(join(__dirname, "..", ".."));
  });
});

describe("tsmach interfaces (the summary of defs/)", () => {
  async function boot(root: string): Promise<Run> {
    let out = "";
    let err = "";
    const code = await tsmach(
      ["interfaces"],
      { stdout: (s) => void (out += s), stderr: (s) => void (err += s) },
      root,
    );
    return { code, out, err };
  }

  it("says so when defs/ has no .defs", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsmach-empty-"));
    const r = await boot(root);
    expect(r).toEqual({
      code: 0,
      out: "tsmach: no .defs files in defs/ yet, no interfaces to summarize\n",
      err: "",
    });
    rmSync(root, { recursive: true });
  });

  it("summarizes each interface: subsystem, base, routine count and names", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsmach-defs-"));
    mkdirSync(join(root, "defs"));
    writeFileSync(
      join(root, "defs", "std.defs"),
      "type port_t = MACH_MSG_TYPE_COPY_SEND;\ntype i32 = MACH_MSG_TYPE_INTEGER_32;\n",
    );
    writeFileSync(
      join(root, "defs", "pci.defs"),
      "subsystem pci 4500;\n#include <std.defs>\nroutine pci_read(p: port_t; in a: i32);\nskip;\nsimpleroutine pci_poke(p: port_t; in a: i32);\n",
    );
    const r = await boot(root);
    expect(r.err).toBe("");
    expect(r.out).toBe(
      "tsmach: 1 interface in defs/\n  pci (base 4500, 2 routines) from defs/pci.defs\n    pci_read, pci_poke\n",
    );
    expect(r.code).toBe(0);
    writeFileSync(join(root, "defs", "bad.defs"), "subsystem bad x;\n");
    const b = await boot(root);
    expect(b.code).toBe(1);
    expect(b.err).toContain("subsystem base must be an integer, found 'x' [E0104]");
    rmSync(root, { recursive: true });
  });

  it("exits 2 on an unknown subcommand", async () => {
    const code = await tsmach(["fly"], { stdout: () => undefined, stderr: () => undefined });
    expect(code).toBe(2);
  });
});

describe("diagnostics in macro expansions", () => {
  it("point at the invocation, with the invocation's include chain", async () => {
    file("inc2/m.h", "#define BAD 0x\n");
    const p = file("m.defs", "subsystem s 1;\n#include <m.h>\nskip BAD;\n");
    const r = await tsmig("check", "-I", join(dir, "inc2"), p);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `${p}:3:6: error: invalid integer literal '0x' [E0112]\nskip BAD;\n     ^~~\n1 error, 0 warnings\n`,
    );
  });
});
