// Property tests: random and mutated AML never makes the loader or the interpreter throw,
// every problem comes back as an AcpiError (never an internal one), and every evaluation
// stops within its step budget.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AmlInterpreter,
  Run,
  loadDefinitionBlock,
  evaluatePrt,
  routePciIrq,
  type AmlValue,
} from "../../src/servers/acpi/aml/index.js";
import type { AcpiError } from "../../src/servers/acpi/status.js";
import { decodeResources } from "../../src/servers/acpi/aml/resources.js";
import {
  parseFadt,
  parseMadt,
  parseMcfg,
  findRsdp,
  validateTable,
} from "../../src/servers/acpi/tables.js";
import { hasTool } from "../helpers/tools.js";
import { compileAsl, fixChecksum, makeDsdt } from "./acpi-fixtures.js";
import { amlProgram } from "./aml-generator.js";

const STEPS = 1500;

function noInternal(e: AcpiError): void {
  expect(e.code, e.message).not.toBe("AE_AML_INTERNAL");
}

/** Loads `table`, then evaluates up to `pick` methods with the given args; asserts the contract. */
async function exercise(table: Uint8Array, pick: number, args: bigint[]): Promise<void> {
  const interp = new AmlInterpreter({
    maxSteps: STEPS,
    maxCallDepth: 16,
    regions: {
      read: (a) => (a.address * 0x9e3779b1n) & 0xffn,
      write: () => undefined,
    },
  });
  const loaded = await loadDefinitionBlock(interp, table);
  if (!loaded.ok) {
    noInternal(loaded.error);
    return;
  }
  loaded.value.errors.forEach(noInternal);
  expect(loaded.value.steps).toBeLessThanOrEqual(STEPS + 1);
  interp.checkMethods().forEach((p) => noInternal(p.error));
  const methods = [...interp.namespace.walk()]
    .filter((n) => n.object.kind === "method")
    .slice(0, pick);
  for (const m of methods) {
    const run = new Run(STEPS);
    const argv: AmlValue[] = args.map((value) => ({ type: "integer", value }));
    const r = await interp.evaluate(m, argv, run);
    if (!r.ok) noInternal(r.error);
    expect(run.steps).toBeLessThanOrEqual(STEPS + 1);
  }
  const prt = await evaluatePrt(interp, "\\_SB.PCI0");
  if (!prt.ok) noInternal(prt.error);
  const route = await routePciIrq(interp, 0x1f, 2, 0);
  if (!route.ok) noInternal(route.error);
}

/** Opcode bytes, name characters and prefixes: random AML that gets past the first byte. */
const vocabulary = [
  0x00, 0x01, 0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x10, 0x11, 0x12, 0x13, 0x14, 0x08, 0x06, 0x15,
  0x5b, 0x5c, 0x5e, 0x2e, 0x2f, 0x60, 0x61, 0x68, 0x69, 0x70, 0x71, 0x72, 0x73, 0x75, 0x76, 0x78,
  0x79, 0x7b, 0x83, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8d, 0x8e, 0x90, 0x92, 0x93, 0x95, 0x96, 0x99,
  0x9c, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa4, 0xa5, 0x41, 0x42, 0x5f, 0x80, 0x81, 0x82, 0x84, 0x85,
  0x86, 0x87, 0x88, 0x01, 0x02, 0x12, 0x13, 0x21, 0x22, 0x23, 0x27, 0x30, 0x31, 0x33,
];

const bigintArgs = fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 7 });

describe("random AML", () => {
  it("random bytes load and evaluate without throwing, within the step limit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 400 }),
        fc.integer({ min: 1, max: 2 }),
        bigintArgs,
        async (body, rev, args) => {
          await exercise(makeDsdt(body, rev), 6, args);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("byte soup built from AML opcodes and names loads and evaluates without throwing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...vocabulary), { maxLength: 300 }),
        bigintArgs,
        async (body, args) => {
          await exercise(makeDsdt(Uint8Array.from(body)), 6, args);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("byte soup run as a method body parses lazily and evaluates without throwing", async () => {
    let evaluated = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...vocabulary), { maxLength: 200 }),
        bigintArgs,
        async (soup, args) => {
          // Name (GBUF, Buffer (4) {}) then Method (TEST, 2) { <soup> } with a 2-byte PkgLength
          const prelude = [0x08, 0x47, 0x42, 0x55, 0x46, 0x11, 0x03, 0x0a, 0x04];
          const len = soup.length + 7;
          const method = [
            0x14,
            0x40 | (len & 0x0f),
            len >> 4,
            0x54,
            0x45,
            0x53,
            0x54,
            0x02,
            ...soup,
          ];
          const interp = new AmlInterpreter({
            maxSteps: STEPS,
            regions: { read: () => 0n, write: () => undefined },
          });
          const loaded = await loadDefinitionBlock(interp, makeDsdt([...prelude, ...method]));
          expect(loaded.ok && loaded.value.errors).toEqual([]);
          const run = new Run(STEPS);
          const r = await interp.evaluate(
            "\\TEST",
            args.slice(0, 2).map((value) => ({ type: "integer", value })),
            run,
          );
          if (!r.ok) noInternal(r.error);
          else evaluated++;
          expect(run.steps).toBeLessThanOrEqual(STEPS + 1);
        },
      ),
      { numRuns: 400 },
    );
    // The generator must reach the interpreter, not just the parser's first error.
    expect(evaluated).toBeGreaterThan(20);
  });

  it("generated well-formed methods parse cleanly and every evaluation ends within the step limit", async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        amlProgram.filter((p) => p.length < 4000),
        bigintArgs,
        async (program, args) => {
          const interp = new AmlInterpreter({ maxSteps: STEPS, maxCallDepth: 8 });
          const loaded = await loadDefinitionBlock(interp, makeDsdt(program));
          expect(loaded.ok && loaded.value.errors).toEqual([]);
          expect(interp.checkMethods()).toEqual([]);
          const run = new Run(STEPS);
          const argv: AmlValue[] = [0, 1].map((i) => ({
            type: "integer",
            value: args[i] ?? BigInt(i),
          }));
          const r = await interp.evaluate("\\TEST", argv, run);
          const outcome = r.ok ? "ok" : r.error.code;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          expect([
            "AE_AML_PARSE",
            "AE_AML_BAD_OPCODE",
            "AE_AML_BAD_NAME",
            "AE_AML_INTERNAL",
          ]).not.toContain(outcome);
          expect(run.steps).toBeLessThanOrEqual(STEPS + 1);
        },
      ),
      { numRuns: 300 },
    );
    // Many programs run to completion (about a third; the threshold leaves room for chance);
    // loops that never end are stopped by the step limit.
    expect(outcomes.get("ok") ?? 0).toBeGreaterThan(50);
  });

  it("a While(One) loop at table level is stopped by the step limit", async () => {
    const interp = new AmlInterpreter({ maxSteps: 500 });
    const r = await loadDefinitionBlock(interp, makeDsdt([0xa2, 0x03, 0x01, 0xa3]));
    expect(r.ok && r.value.errors.map((e) => e.code)).toEqual(["AE_AML_INFINITE_LOOP"]);
  });

  it("a huge Buffer or Package size is refused, not allocated", async () => {
    const interp = new AmlInterpreter();
    // Name (BIG, Buffer (0xFFFFFFFF) {}) and Name (PKG, VarPackage (0xFFFFFFFF) {})
    const r = await loadDefinitionBlock(
      interp,
      makeDsdt([
        0x08, 0x42, 0x49, 0x47, 0x5f, 0x11, 0x06, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x08, 0x50, 0x4b,
        0x47, 0x5f, 0x13, 0x06, 0x0c, 0xff, 0xff, 0xff, 0xff,
      ]),
    );
    expect(r.ok && r.value.errors.map((e) => e.code)).toEqual([
      "AE_AML_BUFFER_LIMIT",
      "AE_AML_BUFFER_LIMIT",
    ]);
  });

  it("deeply nested packages fail with AE_AML_NESTING instead of overflowing the stack", async () => {
    const depth = 3000;
    const body: number[] = [0x08, 0x44, 0x45, 0x45, 0x50];
    // Name (DEEP, Package (1) { Package (1) { ... } }) with 3-byte PkgLengths, built inside out
    const prefixes: number[][] = [];
    let len = 1;
    for (let i = 0; i < depth; i++) {
      const pl = len + 4;
      prefixes.push([0x12, 0x80 | (pl & 0x0f), (pl >> 4) & 0xff, (pl >> 12) & 0xff, 0x01]);
      len += 5;
    }
    const inner = [...prefixes.reverse().flat(), 0x00];
    const r = await loadDefinitionBlock(new AmlInterpreter(), makeDsdt([...body, ...inner]));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.errors.map((e) => e.code)).toContain("AE_AML_NESTING");
  });
});

describe.skipIf(!hasTool("iasl"))("mutated real AML", () => {
  const fixtures: Uint8Array[] = [];
  beforeAll(() => {
    for (const name of ["q35-dsdt", "loop-prt-dsdt", "ops-dsdt"]) fixtures.push(compileAsl(name));
  });

  it("fixtures with flipped, inserted and deleted bytes never make the interpreter throw", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.integer({ min: 0, max: 255 }),
            fc.constantFrom("flip", "insert", "delete", "set"),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        bigintArgs,
        async (which, edits, args) => {
          const bytes = [...fixtures[which]!];
          for (const [pos, value, kind] of edits) {
            const at = 36 + (pos % Math.max(1, bytes.length - 36));
            if (kind === "flip") bytes[at] = (bytes[at] ?? 0) ^ (1 << (value & 7));
            else if (kind === "set") bytes[at] = value;
            else if (kind === "insert") bytes.splice(at, 0, value);
            else bytes.splice(at, 1);
          }
          const table = Uint8Array.from(bytes);
          table.set(
            [table.length & 0xff, (table.length >> 8) & 0xff, (table.length >> 16) & 0xff, 0],
            4,
          );
          await exercise(fixChecksum(table), 8, args);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("table parsers on random bytes", () => {
  it("never throw on arbitrary input", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom("FACP", "APIC", "MCFG", "DSDT"),
        (bytes, sig) => {
          const t = Uint8Array.from(bytes);
          if (t.length >= 8) {
            for (let i = 0; i < 4; i++) t[i] = sig.charCodeAt(i);
            t.set([t.length & 0xff, t.length >> 8, 0, 0], 4);
            fixChecksum(t, 9);
          }
          validateTable(t);
          parseFadt(t);
          parseMadt(t);
          parseMcfg(t);
          findRsdp(t, 0xe0000);
          decodeResources(t);
        },
      ),
      { numRuns: 500 },
    );
  });
});
