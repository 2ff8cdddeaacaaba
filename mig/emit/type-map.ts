// How MIG types become TypeScript: the runtime field description of each message field and the
// TypeScript type of each argument (number, bigint, boolean, string, typed arrays, branded rights).
import type { CheckedArgument } from "../check/checked-model.js";
import type { FieldPlacement, MessagePlacement } from "../layout/index.js";

/** The element kinds and shapes of the runtime's field descriptions (src/kernel/mig/spec.ts). */
export type Element =
  | "u8"
  | "i16"
  | "i32"
  | "i64"
  | "f32"
  | "f64"
  | "bool"
  | "string"
  | "port"
  | "poly"
  | "name"
  | "bytes";
export type Shape = "scalar" | "tuple" | "fixed" | "variable";

export interface FieldSpec {
  readonly name: string;
  readonly elem: Element;
  readonly shape: Shape;
  readonly sendName: number;
  readonly checkName: number;
  readonly size: number;
  readonly number: number;
  readonly inline: boolean | null;
  readonly longform: boolean;
  readonly dealloc: boolean;
}

export interface MessageSpec {
  readonly size: number;
  readonly maxSize: number;
  readonly complex: "yes" | "no" | "dynamic";
  readonly fields: readonly FieldSpec[];
}

const PORT_NAME = 15;
const isRight = (n: number): boolean => n >= 16 && n <= 21;
/** Largest struct kept as a readonly tuple rather than a typed array. */
const MAX_TUPLE = 16;

function elementOf(a: CheckedArgument, sendName: number, checkName: number): Element {
  const t = a.type;
  if (t.string) return "string";
  if (sendName === -1 || checkName === -1) return "poly";
  if (isRight(sendName) || isRight(checkName)) return "port";
  if (sendName === PORT_NAME || checkName === PORT_NAME) return "name";
  switch (t.size) {
    case 8:
      return "u8";
    case 16:
      return "i16";
    case 32:
      if (sendName === 0 || t.name === "boolean_t" || t.userType === "boolean_t") return "bool";
      return sendName === 10 ? "f32" : "i32";
    case 64:
      return sendName === 10 ? "f64" : "i64";
    default:
      return "bytes";
  }
}

function shapeOf(a: CheckedArgument, elem: Element): Shape {
  const t = a.type;
  if (t.varArray) return "variable";
  if (elem === "string") return "scalar";
  if (t.number === 1 && elem !== "bytes") return "scalar";
  if (t.struct && t.number <= MAX_TUPLE && elem !== "u8" && elem !== "bytes") return "tuple";
  return "fixed";
}

/** The runtime description of one placed field; `request` tells which side sends it. */
export function fieldSpec(f: FieldPlacement, request: boolean): FieldSpec {
  const serverName = f.descriptor.msgt_name;
  const sendName = request ? f.clientName : serverName;
  const checkName = request ? serverName : f.clientName;
  const elem = elementOf(f.argument, sendName, checkName);
  return {
    name: f.name,
    elem,
    shape: shapeOf(f.argument, elem),
    sendName,
    checkName,
    size: f.descriptor.msgt_size,
    number: f.descriptor.msgt_number ?? 0,
    inline: f.descriptor.inline,
    longform: f.descriptor.longform,
    dealloc: f.argument.deallocate === "yes",
  };
}

export function messageSpec(m: MessagePlacement, request: boolean): MessageSpec {
  return {
    size: m.size,
    maxSize: m.maxSize,
    complex: m.complex,
    fields: m.fields.map((f) => fieldSpec(f, request)),
  };
}

/** The branded right type a message type name denotes (a disposition or a received type). */
export function rightType(name: number): string {
  switch (name) {
    case 16:
    case 20:
    case 21:
      return "ReceiveRight";
    case 18:
      return "SendOnceRight";
    default:
      return "SendRight";
  }
}

const TYPED_ARRAY: Partial<Record<Element, string>> = {
  u8: "Uint8Array",
  bytes: "Uint8Array",
  i16: "Int16Array",
  i32: "Int32Array",
  i64: "BigInt64Array",
  f32: "Float32Array",
  f64: "Float64Array",
};

/** The TypeScript type of one element as `name` (this side's msgt_name) presents it. */
function elementType(elem: Element, name: number): string {
  switch (elem) {
    case "i64":
      return "bigint";
    case "bool":
      return "boolean";
    case "string":
      return "string";
    case "name":
      return "mach_port_name_t";
    case "port":
      return rightType(name);
    case "poly":
      return name === -1 ? "PolyRight" : rightType(name);
    default:
      return "number";
  }
}

/**
 * The TypeScript type of a field's value as one side sees it: `name` is the msgt_name that side
 * writes (sender) or expects (receiver).
 */
export function valueType(spec: FieldSpec, name: number, count: number): string {
  const el = elementType(spec.elem, name);
  if (spec.elem === "string") return "string";
  if (spec.shape === "scalar") return spec.elem === "u8" ? "number" : el;
  if (spec.shape === "tuple")
    return `readonly [${Array.from({ length: count }, () => el).join(", ")}]`;
  if (spec.elem === "port" || spec.elem === "poly" || spec.elem === "name" || spec.elem === "bool")
    return `readonly ${el}[]`;
  return TYPED_ARRAY[spec.elem] ?? "Uint8Array";
}

/** TypeScript words an argument name must not take as a parameter. */
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "as implements interface let package private protected public static yield await any boolean constructor " +
    "declare get module require number set string symbol type from of unknown never object bigint arguments eval"
  ).split(" "),
);

/** A safe identifier for a .defs argument name. */
export function identifier(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_$]/g, "_");
  const id = /^[0-9]/.test(clean) ? `_${clean}` : clean;
  return RESERVED.has(id) ? `${id}_` : id;
}
