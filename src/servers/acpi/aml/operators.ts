// AML operators on data values that are more than one line of arithmetic: Concatenate,
// ConcatenateResTemplate, comparisons, Match, Mid, BCD and the To*String conversions.
import { fault } from "../status.js";
import {
  buf,
  checkSize,
  describeType,
  int,
  str,
  toBuffer,
  toInteger,
  toStringValue,
  hex,
  type AmlValue,
} from "./values.js";

/** Concatenate (ACPI 6.5 §19.6.12): the second operand converts to the first one's type. */
export function concatenate(a: AmlValue, b: AmlValue, width: number): AmlValue {
  switch (a.type) {
    case "integer": {
      const x = toBuffer(a, width);
      const y = toBuffer(int(toInteger(b, width)), width);
      const out = new Uint8Array(x.length + y.length);
      out.set(x);
      out.set(y, x.length);
      return buf(out);
    }
    case "string": {
      const s = a.value + toStringValue(b, width);
      checkSize(s.length, "String");
      return str(s);
    }
    case "buffer": {
      const y = toBuffer(b, width);
      checkSize(a.data.length + y.length, "Buffer");
      const out = new Uint8Array(a.data.length + y.length);
      out.set(a.data);
      out.set(y, a.data.length);
      return buf(out);
    }
    default:
      return fault("AE_AML_OPERAND_TYPE", `Concatenate cannot take ${describeType(a)}`);
  }
}

function withoutEndTag(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n >= 2 && data[n - 2] === 0x79) return data.subarray(0, n - 2);
  return data;
}

/** ConcatenateResTemplate: both templates' descriptors, one End Tag. */
export function concatResourceTemplates(a: AmlValue, b: AmlValue, width: number): AmlValue {
  const x = withoutEndTag(toBuffer(a, width));
  const y = withoutEndTag(toBuffer(b, width));
  checkSize(x.length + y.length + 2, "Buffer");
  const out = new Uint8Array(x.length + y.length + 2);
  out.set(x);
  out.set(y, x.length);
  out[out.length - 2] = 0x79;
  // A zero checksum byte means "treat the template as checksummed".
  out[out.length - 1] = 0;
  return buf(out);
}

/** -1, 0 or 1 comparing `a` with `b` converted to `a`'s type (Integer, String or Buffer). */
export function compareValues(a: AmlValue, b: AmlValue, width: number): number {
  if (a.type === "integer") {
    const y = toInteger(b, width);
    return a.value === y ? 0 : a.value < y ? -1 : 1;
  }
  if (a.type === "string") {
    const y = toStringValue(b, width);
    return a.value === y ? 0 : a.value < y ? -1 : 1;
  }
  if (a.type === "buffer") {
    const y = toBuffer(b, width);
    const n = Math.min(a.data.length, y.length);
    for (let i = 0; i < n; i++) if (a.data[i] !== y[i]) return a.data[i]! < y[i]! ? -1 : 1;
    return a.data.length === y.length ? 0 : a.data.length < y.length ? -1 : 1;
  }
  return fault("AE_AML_OPERAND_TYPE", `cannot compare ${describeType(a)}`);
}

/** One Match() test: MTR 0, MEQ 1, MLE 2, MLT 3, MGE 4, MGT 5. */
export function matchCompare(op: number, element: AmlValue, obj: AmlValue, width: number): boolean {
  if (op === 0) return true;
  if (element.type !== "integer" && element.type !== "string" && element.type !== "buffer")
    return false;
  let c: number;
  try {
    c = compareValues(element, obj, width);
  } catch {
    return false;
  }
  switch (op) {
    case 1:
      return c === 0;
    case 2:
      return c <= 0;
    case 3:
      return c < 0;
    case 4:
      return c >= 0;
    case 5:
      return c > 0;
    default:
      return fault("AE_AML_OPERAND_TYPE", `Match operator ${op} is not defined`);
  }
}

export function midOf(src: AmlValue, index: bigint, length: bigint, width: number): AmlValue {
  if (src.type === "string") {
    const i = index > BigInt(src.value.length) ? src.value.length : Number(index);
    const end = length > BigInt(src.value.length - i) ? src.value.length : i + Number(length);
    return str(src.value.slice(i, end));
  }
  const data = toBuffer(src, width);
  const i = index > BigInt(data.length) ? data.length : Number(index);
  const end = length > BigInt(data.length - i) ? data.length : i + Number(length);
  return buf(data.slice(i, end));
}

export function decimalString(v: AmlValue, width: number): string {
  if (v.type === "integer") return v.value.toString(10);
  if (v.type === "string") return v.value;
  return Array.from(toBuffer(v, width), (b) => b.toString(10)).join(",");
}

export function hexString(v: AmlValue, width: number): string {
  if (v.type === "integer") return "0x" + hex(v.value, width / 4);
  if (v.type === "string") return v.value;
  return Array.from(toBuffer(v, width), (b) => "0x" + hex(BigInt(b), 2)).join(",");
}

export function toBcd(v: bigint): bigint {
  let out = 0n;
  let shift = 0n;
  let x = v;
  do {
    out |= (x % 10n) << shift;
    x /= 10n;
    shift += 4n;
  } while (x > 0n && shift < 64n);
  return out;
}

export function fromBcd(v: bigint): bigint {
  let out = 0n;
  let mul = 1n;
  for (let x = v; x > 0n; x >>= 4n) {
    out += (x & 0xfn) * mul;
    mul *= 10n;
  }
  return out;
}
