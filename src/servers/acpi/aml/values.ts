// AML data objects as the interpreter holds them (Integer, String, Buffer, Package,
// references) and the implicit and explicit conversions between them (ACPI 6.5 §19.3.5).
import { fault } from "../status.js";
import type { NsNode } from "./namespace.js";

export interface AmlUninitialized {
  type: "uninitialized";
}
export interface AmlInteger {
  type: "integer";
  value: bigint;
}
export interface AmlString {
  type: "string";
  value: string;
}
export interface AmlBuffer {
  type: "buffer";
  data: Uint8Array;
}
export interface AmlPackage {
  type: "package";
  elements: AmlValue[];
}
/** A name written in a Package, resolved lazily relative to the scope the Package was built in. */
export interface AmlNameRef {
  type: "nameref";
  path: string;
  scope: NsNode;
}
export interface AmlReference {
  type: "reference";
  ref: AmlRef;
}

export type AmlRef =
  | { readonly kind: "node"; readonly node: NsNode }
  | { readonly kind: "local" | "arg"; readonly slots: AmlValue[]; readonly index: number }
  | {
      readonly kind: "index";
      readonly container: AmlBuffer | AmlPackage | AmlString;
      readonly index: number;
    }
  | { readonly kind: "debug" };

export type AmlValue =
  AmlUninitialized | AmlInteger | AmlString | AmlBuffer | AmlPackage | AmlNameRef | AmlReference;

/** Largest Buffer, String or Package the interpreter will build: keeps random AML from exhausting memory. */
export const MAX_OBJECT_SIZE = 1 << 20;

export const UNINITIALIZED: AmlUninitialized = Object.freeze({
  type: "uninitialized",
}) as AmlUninitialized;

export function int(value: bigint | number): AmlInteger {
  return { type: "integer", value: typeof value === "bigint" ? value : BigInt(value) };
}
export function str(value: string): AmlString {
  return { type: "string", value };
}
export function buf(data: Uint8Array): AmlBuffer {
  return { type: "buffer", data };
}
export function pkg(elements: AmlValue[]): AmlPackage {
  return { type: "package", elements };
}

export function checkSize(n: number, what: string): void {
  if (!Number.isFinite(n) || n < 0 || n > MAX_OBJECT_SIZE) {
    fault(
      "AE_AML_BUFFER_LIMIT",
      `${what} of ${n} exceeds the interpreter's limit of ${MAX_OBJECT_SIZE}`,
    );
  }
}

const ONES_UP_TO_64 = Array.from({ length: 65 }, (_, i) => (1n << BigInt(i)) - 1n);

/** A mask of `width` one bits. */
export function ones(width: number): bigint {
  return ONES_UP_TO_64[width] ?? (1n << BigInt(width)) - 1n;
}

/** Copies an object the way Store and method returns do: Buffers, Strings and Packages are duplicated. */
export function copyValue(v: AmlValue, depth = 0): AmlValue {
  if (depth > 64) fault("AE_AML_NESTING", "package nesting deeper than 64 while copying");
  switch (v.type) {
    case "buffer":
      return buf(v.data.slice());
    case "string":
      return str(v.value);
    case "package":
      return pkg(v.elements.map((e) => copyValue(e, depth + 1)));
    case "integer":
      return int(v.value);
    default:
      return v;
  }
}

/** Implicit conversion of a String to an Integer: hexadecimal digits up to the first non-digit. */
function hexStringToInteger(s: string, width: number): bigint {
  let v = 0n;
  let t = s.trim();
  if (/^0x/i.test(t)) t = t.slice(2);
  for (const ch of t) {
    const d = parseInt(ch, 16);
    if (Number.isNaN(d)) break;
    v = ((v << 4n) | BigInt(d)) & ones(width);
  }
  return v;
}

export function bufferToInteger(data: Uint8Array, width: number): bigint {
  let v = 0n;
  const n = Math.min(data.length, width / 8);
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
  return v;
}

/** Implicit Integer conversion of a computational value (Integer, String, Buffer). */
export function toInteger(v: AmlValue, width: number): bigint {
  switch (v.type) {
    case "integer":
      return v.value & ones(width);
    case "string":
      return hexStringToInteger(v.value, width);
    case "buffer":
      return bufferToInteger(v.data, width);
    default:
      return fault(
        "AE_AML_OPERAND_TYPE",
        `expected an Integer, String or Buffer, got ${describeType(v)}`,
      );
  }
}

/** ToInteger: decimal, or hexadecimal with a 0x prefix, for Strings. */
export function explicitToInteger(v: AmlValue, width: number): bigint {
  if (v.type !== "string") return toInteger(v, width);
  const t = v.value.trim();
  if (/^0x/i.test(t)) return hexStringToInteger(t, width);
  let r = 0n;
  for (const ch of t) {
    if (ch < "0" || ch > "9") break;
    r = (r * 10n + BigInt(ch.charCodeAt(0) - 48)) & ones(width);
  }
  return r;
}

export function integerToBytes(value: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width / 8);
  let v = value;
  for (let i = 0; i < out.length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function toBuffer(v: AmlValue, width: number): Uint8Array {
  switch (v.type) {
    case "integer":
      return integerToBytes(v.value, width);
    case "string": {
      checkSize(v.value.length + 1, "String");
      const out = new Uint8Array(v.value.length === 0 ? 0 : v.value.length + 1);
      for (let i = 0; i < v.value.length; i++) out[i] = v.value.charCodeAt(i) & 0xff;
      return out;
    }
    case "buffer":
      return v.data;
    default:
      return fault(
        "AE_AML_OPERAND_TYPE",
        `expected an Integer, String or Buffer, got ${describeType(v)}`,
      );
  }
}

export function hex(v: bigint, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, "0");
}

/** Implicit String conversion: Integers as hexadecimal, Buffers as comma-separated hex bytes. */
export function toStringValue(v: AmlValue, width: number): string {
  switch (v.type) {
    case "integer":
      return hex(v.value, width / 4);
    case "string":
      return v.value;
    case "buffer":
      checkSize(v.data.length * 5, "String");
      return Array.from(v.data, (b) => "0x" + hex(BigInt(b), 2)).join(",");
    default:
      return fault(
        "AE_AML_OPERAND_TYPE",
        `expected an Integer, String or Buffer, got ${describeType(v)}`,
      );
  }
}

export function describeType(v: AmlValue): string {
  switch (v.type) {
    case "uninitialized":
      return "an uninitialized object";
    case "integer":
      return "an Integer";
    case "string":
      return "a String";
    case "buffer":
      return "a Buffer";
    case "package":
      return "a Package";
    case "nameref":
      return `a name reference (${v.path})`;
    case "reference":
      return "a reference";
  }
}
