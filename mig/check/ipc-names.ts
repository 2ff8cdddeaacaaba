// The MACH_MSG_TYPE_* names of GNU Mach's mach/message.h: their msgt_name numbers, and what GNU
// MIG 1.8's lexer makes of each (the name sent, the name received, the default size in bits).
import type { SymbolicIpcTypeName } from "../ast.js";

/** MACH_MSG_TYPE_POLYMORPHIC: the name is chosen at run time ((mach_msg_type_name_t) -1). */
export const MACH_MSG_TYPE_POLYMORPHIC = -1;

// The numbers themselves are <mach/message.h>'s, kept once, in the runtime's msg-type.ts.
export {
  MACH_MSG_TYPE_UNSTRUCTURED,
  MACH_MSG_TYPE_BIT,
  MACH_MSG_TYPE_BOOLEAN,
  MACH_MSG_TYPE_INTEGER_16,
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_CHAR,
  MACH_MSG_TYPE_BYTE,
  MACH_MSG_TYPE_INTEGER_8,
  MACH_MSG_TYPE_REAL,
  MACH_MSG_TYPE_INTEGER_64,
  MACH_MSG_TYPE_STRING,
  MACH_MSG_TYPE_STRING_C,
  MACH_MSG_TYPE_PORT_NAME,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_RECEIVE,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
} from "../../src/kernel/msg-type.js";
import {
  MACH_MSG_TYPE_UNSTRUCTURED,
  MACH_MSG_TYPE_BIT,
  MACH_MSG_TYPE_BOOLEAN,
  MACH_MSG_TYPE_INTEGER_16,
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_CHAR,
  MACH_MSG_TYPE_BYTE,
  MACH_MSG_TYPE_INTEGER_8,
  MACH_MSG_TYPE_REAL,
  MACH_MSG_TYPE_INTEGER_64,
  MACH_MSG_TYPE_STRING,
  MACH_MSG_TYPE_STRING_C,
  MACH_MSG_TYPE_PORT_NAME,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_RECEIVE,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
} from "../../src/kernel/msg-type.js";

/** x86_64 GNU Mach as Debian's mig-x86-64-gnu targets it: natural_t and ports are 32 bits. */
export const WORD_SIZE_BITS = 32;
export const WORD_SIZE = 4;
/** Out-of-line data travels as a pointer. */
export const SIZEOF_POINTER = 8;
export const SIZEOF_MACH_MSG_HEADER = 32;
export const SIZEOF_MACH_MSG_TYPE = 4;
export const SIZEOF_MACH_MSG_TYPE_LONG = 12;
/** Unbounded in-line arrays (array[] of T) carry at most this many bytes in-line. */
export const INDEFINITE_INLINE_BYTES = 2048;

/** A right, by the name a descriptor carries (MACH_MSG_TYPE_PORT_ANY). */
export function isPortName(name: number): boolean {
  return name >= MACH_MSG_TYPE_MOVE_RECEIVE && name <= MACH_MSG_TYPE_MAKE_SEND_ONCE;
}

/** Bits of a right in a message: a name (32) to user tasks, an ipc_port_t pointer (64) in the kernel. */
export const USER_PORT_SIZE_BITS = 32;
export const KERNEL_PORT_SIZE_BITS = 64;

export interface SymbolicIpcTypeInfo {
  /** A right (or polymorphic): its default size is the port size of the subsystem. */
  readonly port?: true;
  /** msgt_name when sending. */
  readonly inName: number;
  /** msgt_name when receiving. */
  readonly outName: number;
  /** Default size in bits; 0: none, the long form (TYPE, SIZE) is needed. */
  readonly size: number;
}

const POLY = MACH_MSG_TYPE_POLYMORPHIC;

/** What each symbolic IPC type means (GNU MIG's lexer table). */
export const SYMBOLIC_IPC_TYPE_INFO: Readonly<Record<SymbolicIpcTypeName, SymbolicIpcTypeInfo>> = {
  MACH_MSG_TYPE_UNSTRUCTURED: {
    inName: MACH_MSG_TYPE_UNSTRUCTURED,
    outName: MACH_MSG_TYPE_UNSTRUCTURED,
    size: 0,
  },
  MACH_MSG_TYPE_BIT: { inName: MACH_MSG_TYPE_BIT, outName: MACH_MSG_TYPE_BIT, size: 1 },
  MACH_MSG_TYPE_BOOLEAN: {
    inName: MACH_MSG_TYPE_BOOLEAN,
    outName: MACH_MSG_TYPE_BOOLEAN,
    size: 32,
  },
  MACH_MSG_TYPE_INTEGER_16: {
    inName: MACH_MSG_TYPE_INTEGER_16,
    outName: MACH_MSG_TYPE_INTEGER_16,
    size: 16,
  },
  MACH_MSG_TYPE_INTEGER_32: {
    inName: MACH_MSG_TYPE_INTEGER_32,
    outName: MACH_MSG_TYPE_INTEGER_32,
    size: 32,
  },
  MACH_MSG_TYPE_INTEGER_64: {
    inName: MACH_MSG_TYPE_INTEGER_64,
    outName: MACH_MSG_TYPE_INTEGER_64,
    size: 64,
  },
  MACH_MSG_TYPE_CHAR: { inName: MACH_MSG_TYPE_CHAR, outName: MACH_MSG_TYPE_CHAR, size: 8 },
  MACH_MSG_TYPE_BYTE: { inName: MACH_MSG_TYPE_BYTE, outName: MACH_MSG_TYPE_BYTE, size: 8 },
  MACH_MSG_TYPE_INTEGER_8: {
    inName: MACH_MSG_TYPE_INTEGER_8,
    outName: MACH_MSG_TYPE_INTEGER_8,
    size: 8,
  },
  MACH_MSG_TYPE_REAL: { inName: MACH_MSG_TYPE_REAL, outName: MACH_MSG_TYPE_REAL, size: 0 },
  MACH_MSG_TYPE_STRING: { inName: MACH_MSG_TYPE_STRING, outName: MACH_MSG_TYPE_STRING, size: 0 },
  MACH_MSG_TYPE_STRING_C: {
    inName: MACH_MSG_TYPE_STRING_C,
    outName: MACH_MSG_TYPE_STRING_C,
    size: 0,
  },
  MACH_MSG_TYPE_MOVE_RECEIVE: {
    port: true,
    inName: MACH_MSG_TYPE_MOVE_RECEIVE,
    outName: MACH_MSG_TYPE_PORT_RECEIVE,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_COPY_SEND: {
    port: true,
    inName: MACH_MSG_TYPE_COPY_SEND,
    outName: MACH_MSG_TYPE_PORT_SEND,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_MAKE_SEND: {
    port: true,
    inName: MACH_MSG_TYPE_MAKE_SEND,
    outName: MACH_MSG_TYPE_PORT_SEND,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_MOVE_SEND: {
    port: true,
    inName: MACH_MSG_TYPE_MOVE_SEND,
    outName: MACH_MSG_TYPE_PORT_SEND,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_MAKE_SEND_ONCE: {
    port: true,
    inName: MACH_MSG_TYPE_MAKE_SEND_ONCE,
    outName: MACH_MSG_TYPE_PORT_SEND_ONCE,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_MOVE_SEND_ONCE: {
    port: true,
    inName: MACH_MSG_TYPE_MOVE_SEND_ONCE,
    outName: MACH_MSG_TYPE_PORT_SEND_ONCE,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_PORT_NAME: {
    inName: MACH_MSG_TYPE_PORT_NAME,
    outName: MACH_MSG_TYPE_PORT_NAME,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_PORT_RECEIVE: {
    port: true,
    inName: POLY,
    outName: MACH_MSG_TYPE_PORT_RECEIVE,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_PORT_SEND: {
    port: true,
    inName: POLY,
    outName: MACH_MSG_TYPE_PORT_SEND,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_PORT_SEND_ONCE: {
    port: true,
    inName: POLY,
    outName: MACH_MSG_TYPE_PORT_SEND_ONCE,
    size: WORD_SIZE_BITS,
  },
  MACH_MSG_TYPE_POLYMORPHIC: { inName: POLY, outName: POLY, size: 0 },
  polymorphic: { port: true, inName: POLY, outName: POLY, size: WORD_SIZE_BITS },
};
