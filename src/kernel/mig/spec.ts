// The message descriptions generated stubs carry: every typed field of a request or reply as
// GNU MIG lays it out (descriptor, element kind, in-line or out-of-line), read by the codec.

/** How one msgt element is represented in TypeScript. */
export type MigElement =
  | "u8" // 8-bit elements: Uint8Array (or number for a single one)
  | "i16"
  | "i32"
  | "i64" // bigint
  | "f32"
  | "f64"
  | "bool" // boolean_t
  | "string" // c_string
  | "port" // a right, named by a branded number
  | "poly" // a right with a disposition chosen at run time (PolyRight)
  | "name" // MACH_MSG_TYPE_PORT_NAME: a plain number
  | "bytes"; // elements of an unusual size: raw bytes

/** scalar: one value; tuple: fixed small struct as a readonly array; fixed/variable: arrays. */
export type MigShape = "scalar" | "tuple" | "fixed" | "variable";

export interface MigField {
  /** The argument's name (the key of its value). */
  readonly name: string;
  readonly elem: MigElement;
  readonly shape: MigShape;
  /** msgt_name the sender writes; -1 when taken from a PolyRight at run time. */
  readonly sendName: number;
  /** msgt_name the receiver's TypeCheck expects; -1 when any right type is accepted. */
  readonly checkName: number;
  /** msgt_size: bits per element. */
  readonly size: number;
  /** msgt_number of a fixed field; for a variable one its in-line maximum (0: out-of-line only). */
  readonly number: number;
  /** In-line (true), out-of-line (false), or chosen at run time by size (null). */
  readonly inline: boolean | null;
  readonly longform: boolean;
  /** msgt_deallocate as the sender sets it. */
  readonly dealloc: boolean;
}

export type MigComplex = "yes" | "no" | "dynamic";

export interface MigMessageSpec {
  /** msgh_size of a fixed message, or with every in-line variable array empty. */
  readonly size: number;
  /** msgh_size with every in-line array at its maximum. */
  readonly maxSize: number;
  readonly complex: MigComplex;
  /** Typed fields in wire order (a reply's RetCode first). */
  readonly fields: readonly MigField[];
}

export interface MigRoutineSpec {
  readonly name: string;
  readonly kind: "routine" | "simpleroutine";
  readonly id: number;
  /** Disposition of the request port in msgh_bits (MACH_MSG_TYPE_COPY_SEND for mach_port_t). */
  readonly requestDisposition: number;
  /** Disposition of a user-supplied reply port (ureplyport), when the routine has one. */
  readonly userReplyDisposition?: number;
  readonly request: MigMessageSpec;
  readonly reply: MigMessageSpec | null;
  /** Out arrays whose capacity the caller states (CountInOut): array name → count argument. */
  readonly countInOut?: Readonly<Record<string, string>>;
}

export interface MigSubsystemSpec {
  readonly name: string;
  readonly base: number;
  /** One past the last routine slot. */
  readonly end: number;
}

/** A field description, in the compact form generated tables use (one call per field). */
export function migField(
  name: string,
  elem: MigElement,
  shape: MigShape,
  sendName: number,
  checkName: number,
  size: number,
  number: number,
  inline: boolean | null,
  longform: boolean,
  dealloc: boolean,
): MigField {
  return { name, elem, shape, sendName, checkName, size, number, inline, longform, dealloc };
}

/** A message description, in the compact form generated tables use. */
export function migMessage(
  size: number,
  maxSize: number,
  complex: MigComplex,
  fields: readonly MigField[],
): MigMessageSpec {
  return { size, maxSize, complex, fields };
}
