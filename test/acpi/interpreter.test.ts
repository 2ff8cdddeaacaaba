// The AML interpreter's semantics, one fixture method per feature (test/fixtures/acpi/
// ops-dsdt.asl compiled with iasl): arithmetic, logic, loops, strings, buffers, packages,
// references, object types, fields, synchronisation, recursion and the failure limits.
import { beforeAll, describe, expect, it } from "vitest";
import {
  AmlInterpreter,
  loadDefinitionBlock,
  type AmlValue,
} from "../../src/servers/acpi/aml/index.js";
import { need } from "../helpers/tools.js";
import { compileAsl } from "./acpi-fixtures.js";

type Plain = bigint | string | number[] | Plain[] | { ref: string } | null;

function plain(v: AmlValue): Plain {
  switch (v.type) {
    case "integer":
      return v.value;
    case "string":
      return v.value;
    case "buffer":
      return [...v.data];
    case "package":
      return v.elements.map(plain);
    case "reference":
      return { ref: v.ref.kind === "node" ? v.ref.node.path : v.ref.kind };
    default:
      return null;
  }
}

const ONES = 0xffffffffffffffffn;

describe.skipIf(!need("iasl"))("AML interpreter semantics", () => {
  let interp: AmlInterpreter;
  const mem = new Map<bigint, bigint>();
  const accesses: string[] = [];

  beforeAll(async () => {
    interp = new AmlInterpreter({
      maxSteps: 20_000,
      regions: {
        read(a) {
          accesses.push(`R ${a.address.toString(16)}/${a.width}`);
          return mem.get(a.address) ?? 0n;
        },
        write(a, v) {
          accesses.push(`W ${a.address.toString(16)}/${a.width}=${v.toString(16)}`);
          mem.set(a.address, v);
        },
      },
    });
    const r = await loadDefinitionBlock(interp, compileAsl("ops-dsdt"));
    expect(r.ok && r.value.errors).toEqual([]);
    expect(interp.checkMethods()).toEqual([]);
  });

  async function call(method: string, ...args: number[]): Promise<Plain> {
    const r = await interp.evaluate(
      `\\${method}`,
      args.map((a) => ({ type: "integer", value: BigInt(a) })),
    );
    if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
    return plain(r.value);
  }

  async function failure(method: string, ...args: number[]): Promise<string> {
    const r = await interp.evaluate(
      `\\${method}`,
      args.map((a) => ({ type: "integer", value: BigInt(a) })),
    );
    return r.ok ? "ok" : r.error.code;
  }

  it("uses 64-bit integers for a revision 2 DSDT", () => {
    expect(interp.integerWidth).toBe(64);
  });

  it("does arithmetic, shifts, xor and Divide with remainder and quotient", async () => {
    // ((2+3)*3)-1 = 14; 14<<4|5 = 0xE5; ^0xFF = 0x1A = 26; 26/7 = 3 r 5; 26%5 = 1
    expect(await call("ARIT", 2, 3)).toEqual([14n, 0xe5n, 0x1an, 5n, 3n, 1n]);
  });

  it("evaluates LAnd/LOr/LNot, the LNot-composed comparisons and If/ElseIf/Else", async () => {
    expect(await call("LOGI", 5, 3)).toBe(0x21n);
    expect(await call("LOGI", 3, 5)).toBe(0x0en);
    expect(await call("LOGI", 0x10, 3)).toBe(0x11n);
    expect(await call("LOGI", 3, 3)).toBe(0x08n);
  });

  it("runs While with Break and Continue", async () => {
    expect(await call("LOOP", 10)).toBe(30n);
    expect(await call("LOOP", 0)).toBe(0n);
  });

  it("concatenates and converts strings", async () => {
    expect(await call("STRS", 255)).toEqual([
      "hello world",
      11n,
      "0x00000000000000FF",
      "255",
      "world",
      0x1fn,
      42n,
    ]);
  });

  it("creates word, bit and arbitrary fields over a buffer and writes through them", async () => {
    // WRD0 at byte 1 = 0xBEEF, BIT0 sets bit 0; FLD0 = bits 16..27 = 0x0BE
    expect(await call("BUFS", 0xbeef)).toEqual([[0x11, 0xef, 0xbe, 0x40], 0xben, 6n, 0xbbn, 8n]);
  });

  it("builds variable packages, follows RefOf/DerefOf/Index and Match", async () => {
    expect(await call("PKGS", 4)).toEqual([4n, 0x1234n, 4n, 0n, 4n, "x"]);
  });

  it("stores through a reference passed as an argument and answers CondRefOf", async () => {
    // Local0 set to 9 through Arg0; CondRefOf finds DEV0 but not a missing name or an unresolved External
    expect(await call("REFS", 9)).toEqual([9n, ONES, 0n, 6n, 0n]);
  });

  it("reports ObjectType for data, devices, mutexes, processors, fields and thermal zones", async () => {
    expect(await call("TYPS")).toEqual([1n, 2n, 3n, 6n, 9n, 12n, 5n, 13n]);
  });

  it("splits field accesses by access width, preserves neighbouring bits and selects banks", async () => {
    accesses.length = 0;
    mem.clear();
    expect(await call("FLDS", 0x11223344)).toEqual([0x11223344n, 0xabcn, 0n]);
    expect(accesses.slice(0, 6)).toEqual([
      "W e0000/32=11223344",
      "R e0004/32",
      "W e0004/32=abc0",
      "R e0008/32",
      "W e0008/32=2",
      "W e000c/8=5a",
    ]);
  });

  it("acquires mutexes, waits on and signals events, and records Notify", async () => {
    interp.notifications.length = 0;
    expect(await call("SYNC")).toEqual([0n, ONES, 0n]);
    expect(interp.notifications).toEqual([{ device: "\\_SB_.DEV0", value: 0x80n }]);
  });

  it("recurses, and evaluates bit, BCD and alias operations", async () => {
    expect(await call("NEST", 10)).toBe(55n);
    expect(await call("MISC", 0x1234)).toEqual([
      13n,
      3n,
      0xffffffffffffedcbn,
      0x30n,
      0xfffffffffffffffbn,
      0x4660n,
      1234n,
      0x1234n,
    ]);
  });

  it("removes names a method creates when it returns", async () => {
    expect(await call("TEMP")).toBe(0x99n);
    expect(await call("TEMP")).toBe(0x99n);
    expect(interp.namespace.lookup("\\TEMP.TMP0")).toBeUndefined();
  });

  it("runs concurrent evaluations one at a time, so their method-local names do not collide", async () => {
    const all = await Promise.all([1, 2, 3, 4].map(() => interp.evaluate("\\TEMP")));
    expect(all.map((r) => (r.ok ? plain(r.value) : r.error.code))).toEqual([
      0x99n,
      0x99n,
      0x99n,
      0x99n,
    ]);
  });

  it("stops an endless loop at the step limit and deep recursion at the call depth", async () => {
    expect(await failure("SPIN")).toBe("AE_AML_INFINITE_LOOP");
    expect(await failure("DEEP", 1)).toBe("AE_AML_NESTING");
  });

  it("turns runtime faults into error values", async () => {
    expect(await failure("DIV0", 0)).toBe("AE_AML_DIVIDE_BY_ZERO");
    expect(await failure("CALX")).toBe("AE_NOT_FOUND");
    expect(await failure("NOPE")).toBe("AE_NOT_FOUND");
    expect(await failure("ARIT")).toBe("AE_AML_UNINITIALIZED");
  });

  it("evaluates named data, processors' children and the predefined \\_OSI", async () => {
    const gpkg = await interp.evaluate("\\GPKG");
    expect(gpkg.ok && plain(gpkg.value)).toEqual([10n, "two", [3n, 4n]]);
    const pval = await interp.evaluate("\\CPU0.PVAL");
    expect(pval.ok && plain(pval.value)).toBe(0x77n);
    const osi = await interp.evaluate("\\_OSI", [{ type: "string", value: "Windows 2015" }]);
    expect(osi.ok && plain(osi.value)).toBe(ONES);
    const linux = await interp.evaluate("\\_OSI", [{ type: "string", value: "Linux" }]);
    expect(linux.ok && plain(linux.value)).toBe(0n);
  });
});
