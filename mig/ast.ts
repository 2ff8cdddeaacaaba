// The abstract syntax tree of a GNU MIG 1.8 .defs file, as produced by mig/parse/.
// Every node carries a Span; routines, arguments and declarations keep their doc comments.
import type { Span } from "./source.js";

// ---------------------------------------------------------------------------------------------
// Leaves

/** A name as written (case preserved), with where it is written. */
export interface Identifier {
  readonly kind: "identifier";
  readonly name: string;
  readonly span: Span;
}

/** An integer literal (decimal as GNU MIG reads it; hex and octal C literals are also accepted). */
export interface NumberLiteral {
  readonly kind: "number";
  readonly value: number;
  /** The literal as written, e.g. "0x10" or "2400". */
  readonly text: string;
  readonly span: Span;
}

/** Integer expressions in sizes: `+ - * /` over literals, left associative, `*` `/` binding tighter. */
export type IntExpr = NumberLiteral | BinaryExpr | ParenExpr;

export interface BinaryExpr {
  readonly kind: "binary";
  readonly op: "+" | "-" | "*" | "/";
  readonly left: IntExpr;
  readonly right: IntExpr;
  readonly span: Span;
}

/** `( expr )`: kept so spans and reprinting stay faithful; evaluates to its inner expression. */
export interface ParenExpr {
  readonly kind: "paren";
  readonly expr: IntExpr;
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// IPC types

/**
 * The symbolic IPC type names the GNU MIG lexer knows (case-sensitive), plus the
 * case-insensitive keyword `polymorphic` (which, unlike MACH_MSG_TYPE_POLYMORPHIC, has the
 * size of a port).
 */
export const SYMBOLIC_IPC_TYPES = [
  "MACH_MSG_TYPE_UNSTRUCTURED",
  "MACH_MSG_TYPE_BIT",
  "MACH_MSG_TYPE_BOOLEAN",
  "MACH_MSG_TYPE_INTEGER_16",
  "MACH_MSG_TYPE_INTEGER_32",
  "MACH_MSG_TYPE_INTEGER_64",
  "MACH_MSG_TYPE_CHAR",
  "MACH_MSG_TYPE_BYTE",
  "MACH_MSG_TYPE_INTEGER_8",
  "MACH_MSG_TYPE_REAL",
  "MACH_MSG_TYPE_STRING",
  "MACH_MSG_TYPE_STRING_C",
  "MACH_MSG_TYPE_MOVE_RECEIVE",
  "MACH_MSG_TYPE_COPY_SEND",
  "MACH_MSG_TYPE_MAKE_SEND",
  "MACH_MSG_TYPE_MOVE_SEND",
  "MACH_MSG_TYPE_MAKE_SEND_ONCE",
  "MACH_MSG_TYPE_MOVE_SEND_ONCE",
  "MACH_MSG_TYPE_PORT_NAME",
  "MACH_MSG_TYPE_PORT_RECEIVE",
  "MACH_MSG_TYPE_PORT_SEND",
  "MACH_MSG_TYPE_PORT_SEND_ONCE",
  "MACH_MSG_TYPE_POLYMORPHIC",
  "polymorphic",
] as const;

export type SymbolicIpcTypeName = (typeof SYMBOLIC_IPC_TYPES)[number];

/** One primitive IPC type: a symbolic name or a raw msgt_name number. */
export type PrimIpcType = SymbolicIpcType | NumericIpcType;

export interface SymbolicIpcType {
  readonly kind: "symbolicIpcType";
  /** Canonical spelling: the MACH_MSG_TYPE_* name, or "polymorphic" whatever its case. */
  readonly name: SymbolicIpcTypeName;
  readonly span: Span;
}

export interface NumericIpcType {
  readonly kind: "numericIpcType";
  readonly value: NumberLiteral;
  readonly span: Span;
}

/** `A` or `A|B` (A is the type when sending, B when receiving). */
export interface IpcType {
  readonly kind: "ipcType";
  readonly send: PrimIpcType;
  /** Present for the `A|B` form. */
  readonly receive?: PrimIpcType;
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Flags (on arguments and in the long type form)

/**
 * IPC flags as written (lower-cased). `dealloc[]` is "dealloc[]" (GNU MIG's flMaybeDealloc);
 * `retcode` is accepted and means nothing (flNone).
 */
export type IpcFlagName =
  | "dealloc"
  | "dealloc[]"
  | "notdealloc"
  | "servercopy"
  | "countinout"
  | "islong"
  | "isnotlong"
  | "retcode";

export interface IpcFlag {
  readonly kind: "ipcFlag";
  readonly flag: IpcFlagName;
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Type specifications

export type TypeSpec =
  | ShortTypeSpec
  | LongTypeSpec
  | TypeNameRef
  | ArrayTypeSpec
  | PointerTypeSpec
  | StructArrayTypeSpec
  | InlineStructTypeSpec
  | CStringTypeSpec;

/** `MACH_MSG_TYPE_INTEGER_32`, `17`, `polymorphic|MACH_MSG_TYPE_PORT_SEND_ONCE`. */
export interface ShortTypeSpec {
  readonly kind: "shortType";
  readonly ipc: IpcType;
  readonly span: Span;
}

/** `(IPCType, size[, flag]...)`; size in bits. */
export interface LongTypeSpec {
  readonly kind: "longType";
  readonly ipc: IpcType;
  readonly size: IntExpr;
  readonly flags: readonly IpcFlag[];
  readonly span: Span;
}

/** A reference to a previously declared type (`int`, `mach_port_t`). */
export interface TypeNameRef {
  readonly kind: "typeName";
  readonly name: Identifier;
  readonly span: Span;
}

/**
 * `array[] of T` / `array[*] of T` (variable, unbounded), `array[*:N] of T` (variable, at most
 * N), `array[N] of T` (fixed).
 */
export interface ArrayTypeSpec {
  readonly kind: "array";
  readonly bound: ArrayBound;
  readonly element: TypeSpec;
  readonly span: Span;
}

export type ArrayBound =
  | { readonly kind: "unbounded"; readonly form: "[]" | "[*]"; readonly span: Span }
  | { readonly kind: "variable"; readonly max: IntExpr; readonly span: Span }
  | { readonly kind: "fixed"; readonly size: IntExpr; readonly span: Span };

/** `^T`: out-of-line data. */
export interface PointerTypeSpec {
  readonly kind: "pointer";
  readonly target: TypeSpec;
  readonly span: Span;
}

/** `struct[N] of T`. */
export interface StructArrayTypeSpec {
  readonly kind: "structArray";
  readonly count: IntExpr;
  readonly element: TypeSpec;
  readonly span: Span;
}

/** `struct { T1 a; T2 b; }` (MIG 1.8: C-like layout of named inline types). */
export interface InlineStructTypeSpec {
  readonly kind: "struct";
  readonly fields: readonly StructField[];
  readonly span: Span;
}

export interface StructField {
  readonly kind: "structField";
  readonly type: Identifier;
  readonly name: Identifier;
  readonly span: Span;
}

/** `c_string[N]` (fixed) and `c_string[*:N]` (varying, at most N). */
export interface CStringTypeSpec {
  readonly kind: "cString";
  readonly size: IntExpr;
  readonly varying: boolean;
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Type annotations (GNU MIG's TransTypeSpec), in source order

export type TypeAnnotation =
  | CTypeAnnotation
  | InTranAnnotation
  | InTranPayloadAnnotation
  | OutTranAnnotation
  | DestructorAnnotation;

/** `ctype: T` (both sides), `cusertype: T`, `cservertype: T`. */
export interface CTypeAnnotation {
  readonly kind: "ctype" | "cusertype" | "cservertype";
  readonly cType: Identifier;
  readonly span: Span;
}

/** `intran: TransType function(ServerType)`. */
export interface InTranAnnotation {
  readonly kind: "intran";
  readonly transType: Identifier;
  readonly function: Identifier;
  readonly serverType: Identifier;
  readonly span: Span;
}

/** `intranpayload: TransType function`. */
export interface InTranPayloadAnnotation {
  readonly kind: "intranpayload";
  readonly transType: Identifier;
  readonly function: Identifier;
  readonly span: Span;
}

/** `outtran: ServerType function(TransType)`. */
export interface OutTranAnnotation {
  readonly kind: "outtran";
  readonly serverType: Identifier;
  readonly function: Identifier;
  readonly transType: Identifier;
  readonly span: Span;
}

/** `destructor: function(TransType)`. */
export interface DestructorAnnotation {
  readonly kind: "destructor";
  readonly function: Identifier;
  readonly transType: Identifier;
  readonly span: Span;
}

/** `name = spec annotations...`: the body of a `type` statement, or an inline argument type. */
export interface TypeDefinition {
  readonly kind: "typeDefinition";
  readonly name: Identifier;
  readonly spec: TypeSpec;
  readonly annotations: readonly TypeAnnotation[];
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Routines and arguments

/** GNU MIG's Direction; absent when the argument has none (akNone). */
export type ArgumentKind =
  | "in"
  | "out"
  | "inout"
  | "requestport"
  | "replyport"
  | "sreplyport"
  | "ureplyport"
  | "waittime"
  | "msgoption"
  | "msgseqno";

export interface Argument {
  readonly kind: "argument";
  /** Lower-cased direction keyword; undefined when none was written. */
  readonly argKind?: ArgumentKind;
  /** Span of the direction keyword, when written. */
  readonly argKindSpan?: Span;
  readonly name: Identifier;
  /** `: typename` or `: newname = spec ...`. */
  readonly type: TypeNameRef | TypeDefinition;
  readonly flags: readonly IpcFlag[];
  /** Comments on lines before the argument, in order. */
  readonly doc: readonly string[];
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Statements

export type Statement =
  | SubsystemStatement
  | RoutineStatement
  | SkipStatement
  | TypeStatement
  | ImportStatement
  | ServerPrefixStatement
  | UserPrefixStatement
  | ServerDemuxStatement
  | WaitTimeStatement
  | NoWaitTimeStatement
  | MsgOptionStatement
  | RcsIdStatement
  | EmptyStatement
  | BrokenStatement;

export interface SubsystemModifier {
  readonly kind: "subsystemModifier";
  readonly modifier: "KernelUser" | "KernelServer";
  readonly span: Span;
}

/** `subsystem [KernelUser|KernelServer]... NAME BASE;`. */
export interface SubsystemStatement {
  readonly kind: "subsystem";
  readonly modifiers: readonly SubsystemModifier[];
  readonly name: Identifier;
  readonly base: NumberLiteral;
  readonly doc: readonly string[];
  readonly span: Span;
}

/** `routine NAME(args);` or `simpleroutine NAME(args);`. */
export interface RoutineStatement {
  readonly kind: "routine";
  readonly simple: boolean;
  readonly name: Identifier;
  readonly args: readonly Argument[];
  /** Comments on lines before the routine keyword, in order. */
  readonly doc: readonly string[];
  readonly span: Span;
}

/** `skip;` (count absent, meaning 1) or `skip N;`. */
export interface SkipStatement {
  readonly kind: "skip";
  readonly count?: NumberLiteral;
  readonly span: Span;
}

/** `type NAME = spec annotations...;`. */
export interface TypeStatement {
  readonly kind: "type";
  readonly definition: TypeDefinition;
  readonly doc: readonly string[];
  readonly span: Span;
}

/** `import <f>;`, `uimport "f";`, `simport <f>;`. */
export interface ImportStatement {
  readonly kind: "import";
  readonly which: "import" | "uimport" | "simport";
  /** The file name with its delimiters, as GNU MIG emits it: `<mach/std_types.h>` or `"x.h"`. */
  readonly file: string;
  readonly delimiter: "angle" | "quote";
  readonly fileSpan: Span;
  readonly span: Span;
}

export interface ServerPrefixStatement {
  readonly kind: "serverPrefix";
  readonly prefix: Identifier;
  readonly span: Span;
}

export interface UserPrefixStatement {
  readonly kind: "userPrefix";
  readonly prefix: Identifier;
  readonly span: Span;
}

export interface ServerDemuxStatement {
  readonly kind: "serverDemux";
  readonly name: Identifier;
  readonly span: Span;
}

/** `waittime VALUE;` (VALUE: a C expression word, e.g. a number or a macro name). */
export interface WaitTimeStatement {
  readonly kind: "waitTime";
  readonly value: string;
  readonly valueSpan: Span;
  readonly span: Span;
}

export interface NoWaitTimeStatement {
  readonly kind: "noWaitTime";
  readonly span: Span;
}

/** `msgoption VALUE;` (MACH_MSG_OPTION_NONE cancels). */
export interface MsgOptionStatement {
  readonly kind: "msgOption";
  readonly value: string;
  readonly valueSpan: Span;
  readonly span: Span;
}

/** `rcsid "text";`. */
export interface RcsIdStatement {
  readonly kind: "rcsId";
  /** The string without its quotes. */
  readonly value: string;
  readonly span: Span;
}

/** A lone `;`. */
export interface EmptyStatement {
  readonly kind: "empty";
  readonly span: Span;
}

/**
 * A statement with a syntax error, already reported. Later phases must skip it (and should not
 * report errors that follow from its absence when `file.syntaxErrors` is true).
 */
export interface BrokenStatement {
  readonly kind: "broken";
  /**
   * The statement keyword when it was recognised (lower-cased: "routine", "simpleroutine",
   * "type", "subsystem", ...), else undefined. A broken routine still takes a message id.
   */
  readonly keyword?: string;
  /** The declared name when it could be read (routine or type name). */
  readonly name?: Identifier;
  readonly span: Span;
}

/** One parsed .defs file (after preprocessing: includes are merged in). */
export interface DefsFile {
  readonly kind: "defsFile";
  /** The path of the root file as given. */
  readonly path: string;
  readonly statements: readonly Statement[];
  /** True when any syntax (or preprocessor) error was reported for this file. */
  readonly syntaxErrors: boolean;
  readonly span: Span;
}
