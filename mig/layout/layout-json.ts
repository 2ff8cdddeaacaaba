// The machine-readable message layout of an interface, exactly the shape `tsmig layout` prints
// (../shared/spec/layout-json.md): routines, messages and their typed fields as GNU MIG 1.8 has them.

/** One typed field of a message body: its descriptor as the server-side stub sees it. */
export interface FieldLayout {
  /** The argument's name; a CountInOut count field is "<name>Cnt". */
  readonly name: string;
  /** msgt_name (msgtl_name in the long form); -1 where chosen at run time (polymorphic). */
  readonly msgt_name: number;
  /** Bits per element. */
  readonly msgt_size: number;
  /** Element count; for a variable array its inline maximum; null where unbounded. */
  readonly msgt_number: number | null;
  /** null where chosen at run time (arrays that go in-line or out-of-line). */
  readonly inline: boolean | null;
  /** A mach_msg_type_long_t descriptor. */
  readonly longform: boolean;
}

export type ComplexBit = "yes" | "no" | "dynamic";

export interface MessageLayout {
  /** msgh_size when fixed; when variable, the size with every inline variable array empty. */
  readonly size: number;
  readonly variable: boolean;
  readonly complex: ComplexBit;
  /** Typed body fields in wire order; the reply's RetCode is not listed. */
  readonly args: readonly FieldLayout[];
}

export interface RoutineLayout {
  readonly name: string;
  /** Request msgh_id; the reply's is id + 100. */
  readonly id: number;
  readonly kind: "routine" | "simpleroutine";
  readonly request: MessageLayout;
  readonly reply: MessageLayout | null;
}

export interface InterfaceLayout {
  /** The file as given on the command line. */
  readonly file: string;
  readonly subsystem: string;
  readonly base: number;
  readonly routines: readonly RoutineLayout[];
}
