// The checked model of an interface: GNU MIG's view of a .defs after the semantic checks
// (its ipc_type_t, argument_t and routine_t), consumed by the layout, the code generator and docs.
import type { Span } from "../source.js";

export type Deallocate = "no" | "yes" | "maybe";

/** One IPC type, as GNU MIG 1.8 computes it (ipc_type_t). Sizes for x86_64 GNU Mach. */
export interface IpcTypeInfo {
  /** The type's name; "" for an anonymous type (an array element spelled inline). */
  readonly name: string;
  /** msgt_name when sending (MACH_MSG_TYPE_POLYMORPHIC, -1, when chosen at run time). */
  readonly inName: number;
  /** msgt_name when receiving. */
  readonly outName: number;
  /** Bits per element (msgt_size). */
  readonly size: number;
  /** Elements: the fixed count, or for a variable array its in-line maximum (0 when out-of-line). */
  readonly number: number;
  /** Carried in the message body (false: out-of-line, an 8-byte pointer in the body). */
  readonly inLine: boolean;
  /** Described by a mach_msg_type_long_t (12 bytes) rather than a mach_msg_type_t (4 bytes). */
  readonly longForm: boolean;
  readonly deallocate: Deallocate;
  /** A single C value or struct (passed by value), as opposed to an array. */
  readonly struct: boolean;
  /** A c_string. */
  readonly string: boolean;
  /** A variable-length array: the count travels in msgt_number. */
  readonly varArray: boolean;
  /** An unbounded array (array[] of T) that goes in-line or out-of-line at run time. */
  readonly indefinite: boolean;
  /** Bytes in the body: the data (in-line, at its maximum), or the pointer (out-of-line). */
  readonly typeSize: number;
  /** Padding after in-line data up to a 4-byte boundary. */
  readonly padSize: number;
  /** Bytes in the body with variable arrays empty: typeSize + padSize, 0 for a variable array. */
  readonly minTypeSize: number;
  /** C alignment of one value in bytes (at most 4: messages are packed to 4 bytes). */
  readonly align: number;
  /** The element type of an array, when the array was built from a named type. */
  readonly element?: IpcTypeInfo;
  /** C types of the user and the server side, and the server's translated type (absent on an
   *  anonymous type, such as an array element spelled in place). */
  readonly userType?: string;
  readonly serverType?: string;
  readonly transType?: string;
  readonly inTrans?: string;
  readonly inTransPayload?: string;
  readonly outTrans?: string;
  readonly destructor?: string;
  /** Where the type is declared (for built-ins: the subsystem statement). */
  readonly span?: Span;
}

/**
 * What an argument is (GNU MIG's akeXXX): the explicit kinds, and the implicit arguments GNU MIG
 * adds (RetCode, a variable array's count, CountInOut, a poly name, dealloc and servercopy flags).
 */
export type ArgumentRole =
  | "requestPort"
  | "replyPort"
  | "waitTime"
  | "msgOption"
  | "msgSeqno"
  | "in"
  | "out"
  | "inout"
  | "retCode"
  | "count"
  | "countInOut"
  | "poly"
  | "dealloc"
  | "serverCopy";

export interface CheckedArgument {
  readonly name: string;
  readonly role: ArgumentRole;
  readonly type: IpcTypeInfo;
  /** Has a typed field in the request body (akbRequest). */
  readonly inRequest: boolean;
  /** Has a typed field in the reply body (akbReply). */
  readonly inReply: boolean;
  /** Its value travels from client to server (akbSend). */
  readonly send: boolean;
  /** Its value travels from server to client (akbReturn). */
  readonly returned: boolean;
  /** A parameter of the client stub / of the server routine (a ureplyport is client-only, ...). */
  readonly userArg: boolean;
  readonly serverArg: boolean;
  /** Whether the sender's out-of-line memory is deallocated ("maybe": decided per call). */
  readonly deallocate: Deallocate;
  readonly longForm: boolean;
  readonly serverCopy: boolean;
  readonly countInOut: boolean;
  /** For implicit arguments: the argument they belong to. */
  readonly parent?: string;
  /** For an array: its count argument's name; for a CountInOut array, also its in-count. */
  readonly count?: string;
  readonly poly?: string;
  /** The count field scale: msgt_number = count * multiplier (elements per C element). */
  readonly multiplier: number;
  /** False for arguments GNU MIG adds itself. */
  readonly explicit: boolean;
  readonly span: Span;
  readonly doc: readonly string[];
}

export interface CheckedRoutine {
  readonly name: string;
  readonly kind: "routine" | "simpleroutine";
  /** Slot after the subsystem base (skips included). */
  readonly number: number;
  /** Request msgh_id; the reply's is id + 100. */
  readonly id: number;
  readonly replyId: number;
  /** C names of the client stub and the server routine (userprefix / serverprefix applied). */
  readonly userName: string;
  readonly serverName: string;
  /** Every argument in GNU MIG's order: RetCode first, then each argument and its implicit ones. */
  readonly args: readonly CheckedArgument[];
  readonly requestPort: string;
  /** Reply port arguments, when written (otherwise MIG supplies one). */
  readonly userReplyPort?: string;
  readonly serverReplyPort?: string;
  readonly waitTime?: string;
  readonly msgOption?: string;
  readonly msgSeqno?: string;
  /** The global `waittime` / `msgoption` in force for this routine. */
  readonly globalWaitTime?: string;
  readonly globalMsgOption?: string;
  readonly span: Span;
  readonly doc: readonly string[];
}

export interface CheckedSubsystem {
  readonly name: string;
  readonly base: number;
  readonly kernelUser: boolean;
  readonly kernelServer: boolean;
  readonly span: Span;
  readonly doc: readonly string[];
}

export interface CheckedImport {
  readonly which: "import" | "uimport" | "simport";
  readonly file: string;
}

export interface CheckedInterface {
  readonly file: string;
  readonly subsystem: CheckedSubsystem;
  readonly routines: readonly CheckedRoutine[];
  /** Every named type in force at the end of the file, built-ins included. */
  readonly types: ReadonlyMap<string, IpcTypeInfo>;
  readonly imports: readonly CheckedImport[];
  readonly serverDemux?: string;
  readonly rcsId?: string;
}
