// A small builder of AML byte code (ACPI 6.5 chapter 20): names, integers, packages, buffers,
// scopes, devices, methods, and the resource descriptors a PCI root bridge's _CRS needs.

export type Aml = Uint8Array;

export function concat(parts: readonly Aml[]): Aml {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const bytes = (...b: number[]): Aml => Uint8Array.from(b);

/** PkgLength encoding of a body of `length` bytes, the encoding's own bytes included. */
export function pkgLength(length: number): Aml {
  if (length + 1 < 0x40) return bytes(length + 1);
  for (let n = 2; n <= 4; n++) {
    const total = length + n;
    if (total < 2 ** (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >>> (4 + 8 * (i - 1))) & 0xff);
      return bytes(...out);
    }
  }
  throw new RangeError(`AML package of ${length} bytes is too long`);
}

function withPkg(prefix: Aml, body: Aml): Aml {
  return concat([prefix, pkgLength(body.length), body]);
}

function nameSeg(seg: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new RangeError(`bad AML name segment "${seg}"`);
  const s = seg.padEnd(4, "_");
  return bytes(...[...s].map((c) => c.charCodeAt(0)));
}

/** A NameString: `\_SB.PCI0`, `^FOO`, `_PRT`. */
export function nameString(name: string): Aml {
  let prefix: number[] = [];
  let rest = name;
  if (rest.startsWith("\\")) {
    prefix = [0x5c];
    rest = rest.slice(1);
  }
  while (rest.startsWith("^")) {
    prefix.push(0x5e);
    rest = rest.slice(1);
  }
  const segs = rest === "" ? [] : rest.split(".");
  let path: Aml;
  if (segs.length === 0) path = bytes(0x00);
  else if (segs.length === 1) path = nameSeg(segs[0]!);
  else if (segs.length === 2) path = concat([bytes(0x2e), nameSeg(segs[0]!), nameSeg(segs[1]!)]);
  else path = concat([bytes(0x2f, segs.length), ...segs.map(nameSeg)]);
  return concat([bytes(...prefix), path]);
}

export function integer(v: number | bigint): Aml {
  const n = BigInt(v);
  if (n < 0n || n > 0xffffffffffffffffn) throw new RangeError(`AML integer ${v} out of range`);
  if (n === 0n) return bytes(0x00);
  if (n === 1n) return bytes(0x01);
  const le = (count: number) =>
    Array.from({ length: count }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  if (n <= 0xffn) return bytes(0x0a, ...le(1));
  if (n <= 0xffffn) return bytes(0x0b, ...le(2));
  if (n <= 0xffffffffn) return bytes(0x0c, ...le(4));
  return bytes(0x0e, ...le(8));
}

export function string(s: string): Aml {
  return concat([bytes(0x0d), bytes(...[...s].map((c) => c.charCodeAt(0) & 0x7f)), bytes(0x00)]);
}

/** EISAID("PNP0A08") as the compressed 32-bit integer. */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`bad EISA id "${id}"`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const b0 = (c(0) << 2) | (c(1) >> 3);
  const b1 = ((c(1) & 7) << 5) | c(2);
  const hex = parseInt(id.slice(3), 16);
  return bytes(0x0c, b0, b1, hex >> 8, hex & 0xff);
}

export function buffer(data: Aml): Aml {
  return withPkg(bytes(0x11), concat([integer(data.length), data]));
}

export function packageOf(elements: readonly Aml[]): Aml {
  if (elements.length > 255) throw new RangeError("AML Package holds at most 255 elements");
  return withPkg(bytes(0x12), concat([bytes(elements.length), ...elements]));
}

export function name(n: string, value: Aml): Aml {
  return concat([bytes(0x08), nameString(n), value]);
}

export function scope(n: string, body: readonly Aml[]): Aml {
  return withPkg(bytes(0x10), concat([nameString(n), ...body]));
}

export function device(n: string, body: readonly Aml[]): Aml {
  return withPkg(bytes(0x5b, 0x82), concat([nameString(n), ...body]));
}

export function method(n: string, args: number, serialized: boolean, body: readonly Aml[]): Aml {
  return withPkg(
    bytes(0x14),
    concat([nameString(n), bytes((args & 7) | (serialized ? 8 : 0)), ...body]),
  );
}

export const arg = (i: number): Aml => bytes(0x68 + i);
export const local = (i: number): Aml => bytes(0x60 + i);
export const returnOf = (v: Aml): Aml => concat([bytes(0xa4), v]);
export const store = (src: Aml, target: Aml): Aml => concat([bytes(0x70), src, target]);
export const ifThen = (predicate: Aml, body: readonly Aml[]): Aml =>
  withPkg(bytes(0xa0), concat([predicate, ...body]));
export const elseDo = (body: readonly Aml[]): Aml => withPkg(bytes(0xa1), concat(body));
/** A reference to a named object as a term (e.g. `Return (PRTA)`). */
export const ref = (n: string): Aml => nameString(n);

// Resource descriptors (ACPI 6.5, 6.4).
const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** WordBusNumber / WordIO as a producer with fixed min and max. */
export function wordAddress(type: "bus" | "io", min: number, max: number): Aml {
  const typeByte = type === "bus" ? 2 : 1;
  const specific = type === "io" ? 0x03 : 0x00;
  return bytes(
    0x88,
    ...u16(13),
    typeByte,
    0x0c,
    specific,
    ...u16(0),
    ...u16(min),
    ...u16(max),
    ...u16(0),
    ...u16(max - min + 1),
  );
}

/** DWordMemory, producer, fixed min/max, read-write, non-cacheable. */
export function dwordMemory(min: number, max: number): Aml {
  return bytes(
    0x87,
    ...u16(23),
    0,
    0x0c,
    0x01,
    ...u32(0),
    ...u32(min),
    ...u32(max),
    ...u32(0),
    ...u32(max - min + 1),
  );
}

/** IO(Decode16, min, max, align, length). */
export function ioPort(min: number, max: number, align: number, length: number): Aml {
  return bytes(0x47, 0x01, ...u16(min), ...u16(max), align, length);
}

/** Memory32Fixed(ReadWrite, base, length). */
export function memory32Fixed(base: number, length: number): Aml {
  return bytes(0x86, ...u16(9), 0x01, ...u32(base), ...u32(length));
}

/** A ResourceTemplate: the descriptors and an end tag, as a Buffer. */
export function resourceTemplate(descriptors: readonly Aml[]): Aml {
  return buffer(concat([...descriptors, bytes(0x79, 0x00)]));
}
