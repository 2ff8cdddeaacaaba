// The types GNU MIG 1.8 knows without a declaration: the named built-ins that the subsystem
// statement brings in (char, short, int, intptr_t, uintptr_t) and the types of implicit arguments.
import type { Span } from "../source.js";
import {
  MACH_MSG_TYPE_BOOLEAN,
  MACH_MSG_TYPE_CHAR,
  MACH_MSG_TYPE_INTEGER_16,
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_INTEGER_64,
  WORD_SIZE_BITS,
} from "./ipc-names.js";
import { allocType, calculateSizeInfo, type TypeState } from "./ipc-type.js";

function simple(name: string, ipcName: number, size: number, span?: Span): TypeState {
  const t = allocType();
  t.name = name;
  t.inName = ipcName;
  t.outName = ipcName;
  t.size = size;
  t.align = Math.max(1, Math.min(4, size / 8));
  t.userType = name;
  t.serverType = name;
  t.transType = name;
  if (span !== undefined) t.span = span;
  calculateSizeInfo(t);
  return t;
}

export interface BuiltinTypes {
  /** kern_return_t, the reply's RetCode. */
  readonly retCode: TypeState;
  /** mach_msg_type_number_t, of <name>Cnt arguments. */
  readonly count: TypeState;
  /** mach_msg_type_name_t, of <name>Poly arguments. */
  readonly polyName: TypeState;
  /** boolean_t, of <name>Dealloc and <name>SCopy arguments. */
  readonly dealloc: TypeState;
}

let cached: BuiltinTypes | undefined;

export function builtinTypes(): BuiltinTypes {
  cached ??= {
    retCode: simple("kern_return_t", MACH_MSG_TYPE_INTEGER_32, 32),
    count: simple("mach_msg_type_number_t", MACH_MSG_TYPE_INTEGER_32, WORD_SIZE_BITS),
    polyName: simple("mach_msg_type_name_t", MACH_MSG_TYPE_INTEGER_32, WORD_SIZE_BITS),
    dealloc: simple("boolean_t", MACH_MSG_TYPE_BOOLEAN, 32),
  };
  return cached;
}

/** The named types a subsystem statement defines (at its span). */
export function namedBuiltinTypes(span: Span): TypeState[] {
  return [
    simple("char", MACH_MSG_TYPE_CHAR, 8, span),
    simple("short", MACH_MSG_TYPE_INTEGER_16, 16, span),
    simple("int", MACH_MSG_TYPE_INTEGER_32, 32, span),
    simple("intptr_t", MACH_MSG_TYPE_INTEGER_64, 64, span),
    simple("uintptr_t", MACH_MSG_TYPE_INTEGER_64, 64, span),
  ];
}
