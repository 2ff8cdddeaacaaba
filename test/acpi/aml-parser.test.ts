// The AML byte-code layer: PkgLength encodings, NameStrings with root and parent prefixes and
// dual/multi segments, method invocation arity from the namespace, and resource templates.
import { describe, expect, it } from "vitest";
import {
  AmlInterpreter,
  decodeResources,
  loadDefinitionBlock,
  eisaIdFromString,
  eisaIdToString,
} from "../../src/servers/acpi/aml/index.js";
import { AmlReader } from "../../src/servers/acpi/aml/reader.js";
import { formatNamePath, parseNamePath } from "../../src/servers/acpi/aml/names.js";
import { need } from "../helpers/tools.js";
import { compileAslText, makeDsdt } from "./acpi-fixtures.js";

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe("AmlReader", () => {
  it("decodes one- to four-byte PkgLengths", () => {
    const cases: [number[], number][] = [
      [[0x3f], 0x3f],
      [[0x41, 0x12], 0x121],
      [[0x82, 0x34, 0x12], 0x12342],
      [[0xc3, 0x21, 0x43, 0x65], 0x6543213],
    ];
    for (const [bytes, value] of cases) {
      const r = new AmlReader(Uint8Array.from(bytes), 0, bytes.length);
      expect(r.pkgLengthValue()).toBe(value);
      expect(r.pos).toBe(bytes.length);
    }
  });

  it("rejects a PkgLength with reserved bits or running past its container", () => {
    expect(() => new AmlReader(Uint8Array.from([0x70, 0x00]), 0, 2).pkgLengthValue()).toThrow(
      /reserved/,
    );
    expect(() => new AmlReader(Uint8Array.from([0x10, 0, 0]), 0, 3).pkgEnd()).toThrow(/outside/);
  });

  it("reads root, parent-prefixed, dual and multi NameStrings", () => {
    const read = (bytes: number[]): string =>
      formatNamePath(new AmlReader(Uint8Array.from(bytes), 0, bytes.length).nameString());
    expect(read([0x5c, ...ascii("_SB_")])).toBe("\\_SB_");
    expect(read([0x5e, 0x5e, ...ascii("FOO_")])).toBe("^^FOO_");
    expect(read([0x2e, ...ascii("PCI0ISA_")])).toBe("PCI0.ISA_");
    expect(read([0x5c, 0x2f, 3, ...ascii("_SB_PCI0LPCB")])).toBe("\\_SB_.PCI0.LPCB");
    expect(read([0x5c, 0x00])).toBe("\\");
    expect(() => read([0x31, ...ascii("ABC")])).toThrow(/NameSeg/);
  });

  it("parses and prints ASL name text", () => {
    expect(parseNamePath("\\_SB.PCI0._PRT")).toEqual({
      root: true,
      parents: 0,
      segments: ["_SB_", "PCI0", "_PRT"],
    });
    expect(parseNamePath("^^LNK")).toEqual({ root: false, parents: 2, segments: ["LNK_"] });
  });
});

describe("EISA ids", () => {
  it("decodes and encodes the compressed _HID form", () => {
    expect(eisaIdToString(0x080ad041)).toBe("PNP0A08");
    expect(eisaIdToString(0x0f0cd041)).toBe("PNP0C0F");
    expect(eisaIdFromString("PNP0A03")).toBe(0x030ad041);
    expect(eisaIdFromString("bad")).toBeUndefined();
  });
});

describe("hand-assembled AML", () => {
  it("loads Scope, Device, Name, Alias and Method with 2-byte PkgLengths and a root-relative call", async () => {
    // Device (\_SB.DEV1) { Name (VAL, 0x1234) }  Alias (\_SB.DEV1.VAL, VAL2)
    // Method (GET, 0) { Return (\_SB.DEV1.VAL) }  padded so the Method needs a 2-byte PkgLength
    const body = [0xa4, 0x5c, 0x2f, 3, ...ascii("_SB_DEV1VAL_"), ...new Array(70).fill(0xa3)];
    const method = [
      0x14,
      0x40 | ((body.length + 7) & 0x0f),
      (body.length + 7) >> 4,
      ...ascii("GET_"),
      0x00,
      ...body,
    ];
    const device = [
      0x5b,
      0x82,
      0x13,
      0x5c,
      0x2e,
      ...ascii("_SB_DEV1"),
      0x08,
      ...ascii("VAL_"),
      0x0b,
      0x34,
      0x12,
    ];
    const alias = [0x06, 0x5c, 0x2f, 3, ...ascii("_SB_DEV1VAL_"), ...ascii("VAL2")];
    const interp = new AmlInterpreter();
    const r = await loadDefinitionBlock(interp, makeDsdt([...device, ...alias, ...method]));
    expect(r.ok && r.value.errors).toEqual([]);
    const get = await interp.evaluate("\\GET");
    expect(get.ok && get.value).toEqual({ type: "integer", value: 0x1234n });
    const v2 = await interp.evaluate("\\VAL2");
    expect(v2.ok && v2.value).toEqual({ type: "integer", value: 0x1234n });
  });

  it("reports an unknown opcode with its offset and keeps the names before it", async () => {
    const interp = new AmlInterpreter();
    const r = await loadDefinitionBlock(interp, makeDsdt([0x08, ...ascii("AAAA"), 0x01, 0x02]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.errors).toEqual([
      expect.objectContaining({ code: "AE_AML_BAD_OPCODE", offset: 36 + 6 }),
    ]);
    expect(interp.namespace.lookup("\\AAAA")).toBeDefined();
  });

  it("refuses tables that are not definition blocks or whose header lies", async () => {
    const interp = new AmlInterpreter();
    const notDsdt = await loadDefinitionBlock(interp, new Uint8Array(40));
    expect(!notDsdt.ok && notDsdt.error.code).toBe("AE_BAD_SIGNATURE");
    const t = makeDsdt([0xa3]);
    t[4] = 200;
    const long = await loadDefinitionBlock(interp, t);
    expect(!long.ok && long.error.code).toBe("AE_BAD_HEADER");
  });

  it("flags a bad checksum but still loads the table", async () => {
    const interp = new AmlInterpreter();
    const t = makeDsdt([0x08, ...ascii("BBBB"), 0x01]);
    t[9] ^= 0xff;
    const r = await loadDefinitionBlock(interp, t);
    expect(r.ok && r.value.errors.map((e) => e.code)).toEqual(["AE_BAD_CHECKSUM"]);
    expect(interp.namespace.lookup("\\BBBB")).toBeDefined();
  });
});

describe.skipIf(!need("iasl"))("method invocation arity", () => {
  it("calls methods declared later in the table and through relative, parent and External paths", async () => {
    const aml = compileAslText(`
      DefinitionBlock ("", "DSDT", 2, "TSMACH", "ARITY", 1)
      {
          External (\\_SB.LATE, MethodObj)
          Method (FRST, 1, NotSerialized)
          {
              Return (\\_SB.LATE (Arg0, 0x10))
          }
          Scope (\\_SB)
          {
              Method (LATE, 2, NotSerialized) { Return ((Arg0 + Arg1)) }
              Device (DEV0)
              {
                  Method (UP, 1, NotSerialized) { Return (^^^ADD3 (Arg0, One, ^PEER ())) }
                  Method (SRCH, 0, NotSerialized) { Return (LATE (0x05, 0x06)) }
                  Method (PEER, 0, NotSerialized) { Return (0x02) }
              }
          }
          Method (ADD3, 3, NotSerialized) { Return (((Arg0 + Arg1) + Arg2)) }
      }`);
    const interp = new AmlInterpreter();
    const r = await loadDefinitionBlock(interp, aml);
    expect(r.ok && r.value.errors).toEqual([]);
    const first = await interp.evaluate("\\FRST", [{ type: "integer", value: 1n }]);
    expect(first.ok && first.value).toEqual({ type: "integer", value: 0x11n });
    const up = await interp.evaluate("\\_SB.DEV0.UP", [{ type: "integer", value: 10n }]);
    expect(up.ok && up.value).toEqual({ type: "integer", value: 13n });
    const search = await interp.evaluate("\\_SB.DEV0.SRCH");
    expect(search.ok && search.value).toEqual({ type: "integer", value: 11n });
  });
});

describe("resource templates", () => {
  it("decodes IRQ, Extended Interrupt, I/O and Memory32Fixed descriptors", () => {
    const data = Uint8Array.from([
      0x23,
      0x20,
      0x0c,
      0x18, // IRQ (Level, ActiveLow, Shared) {5,10,11}
      0x22,
      0x02,
      0x00, // IRQNoFlags () {1}
      0x89,
      0x0a,
      0x00,
      0x0b,
      0x02,
      0x10,
      0,
      0,
      0,
      0x11,
      0,
      0,
      0, // Interrupt (Consumer, Edge, ActiveHigh, Shared) {16, 17}
      0x47,
      0x01,
      0xf8,
      0x0c,
      0xf8,
      0x0c,
      0x01,
      0x08, // IO (Decode16, 0xCF8, 0xCF8, 1, 8)
      0x86,
      0x09,
      0x00,
      0x01,
      0x00,
      0x00,
      0xc0,
      0xfe,
      0x00,
      0x10,
      0x00,
      0x00, // Memory32Fixed (ReadWrite, 0xFEC00000, 0x1000)
      0x79,
      0x00,
    ]);
    const r = decodeResources(data);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual([
      { type: "irq", irqs: [5, 10, 11], edge: false, activeLow: true, shared: true, wake: false },
      { type: "irq", irqs: [1], edge: true, activeLow: false, shared: false, wake: false },
      {
        type: "extended-irq",
        consumer: true,
        edge: true,
        activeLow: false,
        shared: true,
        wake: false,
        interrupts: [16, 17],
      },
      { type: "io", decode16: true, min: 0xcf8, max: 0xcf8, alignment: 1, length: 8 },
      { type: "memory32-fixed", writable: true, base: 0xfec00000, length: 0x1000 },
    ]);
  });

  it("rejects truncated descriptors", () => {
    const r = decodeResources(Uint8Array.from([0x89, 0x0a, 0x00, 0x01, 0x01, 0x10]));
    expect(!r.ok && r.error.code).toBe("AE_AML_BAD_RESOURCE");
    const count = decodeResources(
      Uint8Array.from([0x89, 0x06, 0x00, 0x01, 0x05, 0x10, 0, 0, 0, 0x79, 0]),
    );
    expect(!count.ok && count.error.code).toBe("AE_AML_BAD_RESOURCE");
  });
});
