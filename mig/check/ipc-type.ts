// Builds IPC types from type specifications exactly as GNU MIG 1.8's type.c does: short and long
// IPC forms, arrays, ^out-of-line, struct[N], inline structs, c_string, flags and size info.
import type { IpcFlag, IpcFlagName, IpcType, PrimIpcType } from "../ast.js";
import type { Span } from "../source.js";
import type { DiagnosticSink } from "../diagnostics.js";
import type { Deallocate, IpcTypeInfo } from "./checked-model.js";
import {
  INDEFINITE_INLINE_BYTES,
  KERNEL_PORT_SIZE_BITS,
  MACH_MSG_TYPE_BYTE,
  MACH_MSG_TYPE_INTEGER_16,
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_POLYMORPHIC,
  MACH_MSG_TYPE_STRING_C,
  SIZEOF_POINTER,
  SYMBOLIC_IPC_TYPE_INFO,
  USER_PORT_SIZE_BITS,
  WORD_SIZE_BITS,
} from "./ipc-names.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A type under construction: GNU MIG's ipc_type_t with its pending IPC flags. */
export interface TypeState extends Mutable<IpcTypeInfo> {
  flags: Set<IpcFlagName>;
  element?: TypeState;
  /** Set on the stand-in for an undefined type, so later checks stay quiet about it. */
  broken: boolean;
}

const POLY = MACH_MSG_TYPE_POLYMORPHIC;

export function allocType(): TypeState {
  return {
    name: "",
    inName: 0,
    outName: 0,
    size: 0,
    number: 1,
    inLine: true,
    longForm: false,
    deallocate: "no",
    struct: true,
    string: false,
    varArray: false,
    indefinite: false,
    typeSize: 0,
    padSize: 0,
    minTypeSize: 0,
    align: 1,
    flags: new Set(),
    broken: false,
  };
}

/** A stand-in for a type that could not be built (already reported). */
export function brokenType(name = ""): TypeState {
  const t = allocType();
  t.name = name;
  t.broken = true;
  t.size = WORD_SIZE_BITS;
  t.userType = name || "int";
  t.serverType = t.userType;
  t.transType = t.userType;
  calculateSizeInfo(t);
  return t;
}

function naturalAlign(sizeBits: number): number {
  return Math.max(1, Math.min(4, Math.ceil(sizeBits / 8)));
}

/** itCalculateSizeInfo: body bytes, padding and minimum size; returns GNU MIG's size warnings. */
export function calculateSizeInfo(t: TypeState): string[] {
  const warnings: string[] = [];
  if (t.inLine) {
    const bytes = Math.ceil((t.number * t.size) / 8);
    const padding = (4 - (bytes % 4)) % 4;
    t.typeSize = bytes;
    t.padSize = padding;
    t.minTypeSize = t.varArray ? 0 : bytes + padding;
  } else {
    t.typeSize = SIZEOF_POINTER;
    t.padSize = 0;
    t.minTypeSize = SIZEOF_POINTER;
  }
  if ((t.number * t.size) % 8 !== 0) warnings.push("size of C types must be multiples of 8 bits");
  if (t.typeSize === 0 && !t.varArray) warnings.push("a type of size 0");
  return warnings;
}

function copyType(old: TypeState): TypeState {
  return { ...old, flags: new Set(old.flags), name: "", element: old };
}

/** itResetType: a derived type does not inherit translation or C type annotations. */
export function resetType(t: TypeState): TypeState {
  t.inTrans = undefined;
  t.inTransPayload = undefined;
  t.outTrans = undefined;
  t.destructor = undefined;
  t.userType = undefined;
  t.serverType = undefined;
  t.transType = undefined;
  return t;
}

export interface IpcTypeValue {
  readonly inName: number;
  readonly outName: number;
  readonly size: number;
  /** A|B with different sizes, already reported. */
  readonly sizeConflict?: boolean;
}

function primValue(p: PrimIpcType, portSize: number): IpcTypeValue {
  if (p.kind === "numericIpcType")
    return { inName: p.value.value, outName: p.value.value, size: 0 };
  const info = SYMBOLIC_IPC_TYPE_INFO[p.name];
  return { inName: info.inName, outName: info.outName, size: info.port ? portSize : info.size };
}

/** The bits of a right in this subsystem: 64 (ipc_port_t) in KernelServer/KernelUser ones. */
export function portSizeBits(ctx: {
  readonly kernelServer: boolean;
  readonly kernelUser: boolean;
}): number {
  return ctx.kernelServer || ctx.kernelUser ? KERNEL_PORT_SIZE_BITS : USER_PORT_SIZE_BITS;
}

/** The (send, receive, default size) meaning of `A` or `A|B`. */
export function ipcTypeValue(ipc: IpcType, sink: DiagnosticSink, portSize: number): IpcTypeValue {
  const a = primValue(ipc.send, portSize);
  if (ipc.receive === undefined) return a;
  const b = primValue(ipc.receive, portSize);
  let size = a.size;
  if (a.size !== b.size) {
    if (a.size === 0) size = b.size;
    else if (b.size !== 0) {
      sink.error("E0211", `sizes in IPC types (${a.size}, ${b.size}) aren't equal`, ipc.span);
      return { inName: a.inName, outName: b.outName, size: 0, sizeConflict: true };
    }
  }
  return { inName: a.inName, outName: b.outName, size };
}

/** itLongDecl: `(IPCType, size, flags...)`. */
export function longDecl(
  v: IpcTypeValue,
  size: number,
  flags: readonly IpcFlag[],
  sink: DiagnosticSink | undefined,
  span: Span,
): TypeState {
  if (v.size !== 0 && v.size !== size) {
    sink?.warning("W0206", `IPC type decl has strange size (${size} instead of ${v.size})`, span);
  }
  const t = allocType();
  t.inName = v.inName;
  t.outName = v.outName;
  t.size = size;
  t.align = naturalAlign(size);
  if (v.inName === MACH_MSG_TYPE_STRING_C) {
    t.struct = false;
    t.string = true;
  }
  for (const f of flags) {
    if (t.flags.has(f.flag)) sink?.warning("W0201", `redundant IPC flag ${f.flag} ignored`, f.span);
    else t.flags.add(f.flag);
  }
  const warnings = calculateSizeInfo(t);
  if (sink !== undefined) for (const w of warnings) sink.warning("W0207", w, span);
  return t;
}

/** itShortDecl: `IPCType` alone, which needs a default size. */
export function shortDecl(v: IpcTypeValue, sink: DiagnosticSink, span: Span): TypeState {
  if (v.size === 0) {
    if (!v.sizeConflict)
      sink.error(
        "E0210",
        "this IPC type has no default size: use the full form (TYPE, SIZE)",
        span,
      );
    const t = longDecl(v, WORD_SIZE_BITS, [], undefined, span);
    t.broken = true;
    return t;
  }
  return longDecl(v, v.size, [], sink, span);
}

function reportSizeWarnings(t: TypeState, sink: DiagnosticSink, span: Span): void {
  for (const w of calculateSizeInfo(t)) sink.warning("W0207", w, span);
}

function tooComplicated(sink: DiagnosticSink, span: Span): void {
  sink.error(
    "E0209",
    "IPC type decl is too complicated (an array or pointer of an out-of-line or variable-sized type)",
    span,
  );
}

/** itVarArrayDecl: `array[] of T` (number 0: unbounded) and `array[*:N] of T`. */
export function varArrayDecl(
  number: number,
  old: TypeState,
  sink: DiagnosticSink,
  span: Span,
): TypeState {
  const t = resetType(copyType(old));
  if (!t.inLine || t.varArray) tooComplicated(sink, span);
  if (number !== 0) t.number *= number;
  else {
    const bytes = Math.ceil((t.number * t.size) / 8);
    t.number = bytes === 0 ? 0 : Math.floor(INDEFINITE_INLINE_BYTES / bytes) * t.number;
    t.indefinite = true;
  }
  t.varArray = true;
  t.struct = false;
  t.string = false;
  reportSizeWarnings(t, sink, span);
  return t;
}

/** itArrayDecl: `array[N] of T`. */
export function arrayDecl(
  number: number,
  old: TypeState,
  sink: DiagnosticSink,
  span: Span,
): TypeState {
  return fixedDecl(number, old, false, sink, span);
}

/** `array[N]` and `struct[N]`: N of T, inline only, with or without C struct layout. */
function fixedDecl(
  number: number,
  old: TypeState,
  struct: boolean,
  sink: DiagnosticSink,
  span: Span,
): TypeState {
  const t = resetType(copyType(old));
  if (!t.inLine || t.varArray) tooComplicated(sink, span);
  t.number *= number;
  t.struct = struct;
  t.string = false;
  reportSizeWarnings(t, sink, span);
  return t;
}

/** itPtrDecl: `^T`, out-of-line data (the body carries an 8-byte pointer). */
export function ptrDecl(t: TypeState, sink: DiagnosticSink, span: Span): TypeState {
  if (!t.inLine || (t.varArray && !t.indefinite && t.number > 0)) tooComplicated(sink, span);
  t.number = 0;
  t.indefinite = false;
  t.inLine = false;
  t.struct = true;
  t.string = false;
  reportSizeWarnings(t, sink, span);
  return t;
}

/** itStructDecl: `struct[N] of T`. */
export function structDecl(
  number: number,
  old: TypeState,
  sink: DiagnosticSink,
  span: Span,
): TypeState {
  return fixedDecl(number, old, true, sink, span);
}

/** itCStringDecl: `c_string[N]` and `c_string[*:N]`, arrays of (MACH_MSG_TYPE_STRING_C, 8). */
export function cStringDecl(
  count: number,
  varying: boolean,
  sink: DiagnosticSink,
  span: Span,
): TypeState {
  const element = longDecl(
    { inName: MACH_MSG_TYPE_STRING_C, outName: MACH_MSG_TYPE_STRING_C, size: 8 },
    8,
    [],
    sink,
    span,
  );
  finishDecl("char", element, { sink, kernelServer: false, kernelUser: false }, span);
  const t = resetType(copyType(element));
  t.number = count;
  t.varArray = varying;
  t.struct = false;
  t.string = true;
  reportSizeWarnings(t, sink, span);
  return t;
}

/**
 * `struct { T1 a; T2 b; ... }`: the C layout of the fields (each aligned to its natural alignment,
 * at most 4 bytes; a variable array at its maximum), sent as 32-bit, 16-bit or 8-bit units by
 * the strictest alignment.
 */
export function inlineStructDecl(
  fields: readonly { readonly type: TypeState; readonly span: Span; readonly name: string }[],
  sink: DiagnosticSink,
  span: Span,
): TypeState {
  let offset = 0;
  let align = 1;
  for (const f of fields) {
    if (!f.type.inLine) {
      sink.error("E0218", `struct field ${f.name}: type ${f.type.name} must be in-line`, f.span);
      continue;
    }
    const a = f.type.align;
    offset = Math.ceil(offset / a) * a + f.type.typeSize;
    align = Math.max(align, a);
  }
  const bytes = Math.ceil(offset / align) * align;
  const t = allocType();
  const unit =
    align === 4
      ? { name: MACH_MSG_TYPE_INTEGER_32, size: 32 }
      : align === 2
        ? { name: MACH_MSG_TYPE_INTEGER_16, size: 16 }
        : { name: MACH_MSG_TYPE_BYTE, size: 8 };
  t.inName = unit.name;
  t.outName = unit.name;
  t.size = unit.size;
  t.number = bytes / align;
  t.align = align;
  t.struct = true;
  reportSizeWarnings(t, sink, span);
  return t;
}

export interface DeclContext {
  readonly sink: DiagnosticSink;
  readonly kernelServer: boolean;
  readonly kernelUser: boolean;
}

/** itCalculateNameInfo: default C types; on the kernel side of an interface, ports are ipc_port_t. */
export function calculateNameInfo(t: TypeState, ctx: DeclContext): void {
  if (t.userType === undefined) t.userType = t.name;
  if (t.serverType === undefined) t.serverType = t.name;
  const portish =
    (t.inName === POLY && t.outName === POLY) || isPort(t.inName) || isPort(t.outName);
  if (ctx.kernelServer && t.serverType === "mach_port_t" && portish) t.serverType = "ipc_port_t";
  if (ctx.kernelUser && t.userType === "mach_port_t" && portish) t.userType = "ipc_port_t";
  if (t.transType === undefined) t.transType = t.serverType;
}

function isPort(n: number): boolean {
  return n >= 16 && n <= 21;
}

/** itCheckFlags: drops contradictory flags with a warning. */
export function checkFlags(
  flags: Set<IpcFlagName>,
  name: string,
  sink: DiagnosticSink,
  span: Span,
): Set<IpcFlagName> {
  const f = new Set(flags);
  if (f.has("islong") && f.has("isnotlong")) {
    sink.warning("W0200", `${name}: IsLong and IsNotLong cancel out`, span);
    f.delete("islong");
    f.delete("isnotlong");
  }
  if (f.has("dealloc[]") && (f.has("dealloc") || f.has("notdealloc"))) {
    sink.warning("W0200", `${name}: Dealloc and NotDealloc ignored with Dealloc[]`, span);
    f.delete("dealloc");
    f.delete("notdealloc");
  }
  if (f.has("dealloc") && f.has("notdealloc")) {
    sink.warning("W0200", `${name}: Dealloc and NotDealloc cancel out`, span);
    f.delete("dealloc");
    f.delete("notdealloc");
  }
  return f;
}

/** itCheckDeallocate. */
export function checkDeallocate(
  t: IpcTypeInfo,
  flags: Set<IpcFlagName>,
  dfault: Deallocate,
  name: string,
  sink: DiagnosticSink,
  span: Span,
): Deallocate {
  let d = dfault;
  if (flags.has("dealloc[]")) d = "maybe";
  if (flags.has("dealloc")) d = "yes";
  if (flags.has("notdealloc")) d = "no";
  if (d === dfault) {
    if (flags.has("dealloc[]")) sink.warning("W0201", `${name}: Dealloc[] is redundant`, span);
    if (flags.has("dealloc")) sink.warning("W0201", `${name}: Dealloc is redundant`, span);
    if (flags.has("notdealloc")) sink.warning("W0201", `${name}: NotDealloc is redundant`, span);
  }
  if ((flags.has("dealloc[]") || flags.has("dealloc") || flags.has("notdealloc")) && d !== "no") {
    if (t.inLine && !t.indefinite)
      sink.warning("W0202", `${name}: Dealloc will cause an IPC error`, span);
  }
  return d;
}

export type UseLong = 0 | 1 | 2 | 3 | 4;
export const NOT_LONG = 0;
export const CAN_BE_LONG = 1;
export const SHOULD_BE_LONG = 2;
export const MUST_BE_LONG = 3;
export const TOO_LONG = 4;

/** itUseLong: whether the descriptor can, should or must be a mach_msg_type_long_t. */
export function useLong(t: IpcTypeInfo): UseLong {
  let u: UseLong = NOT_LONG;
  if (t.inName === POLY || t.outName === POLY || t.varArray) u = CAN_BE_LONG;
  if ((t.varArray && !t.inLine) || t.indefinite) u = SHOULD_BE_LONG;
  if (
    (t.inName !== POLY && t.inName >= 1 << 8) ||
    (t.outName !== POLY && t.outName >= 1 << 8) ||
    t.size >= 1 << 8 ||
    t.number >= 1 << 12
  )
    u = MUST_BE_LONG;
  if (
    (t.inName !== POLY && t.inName >= 1 << 16) ||
    (t.outName !== POLY && t.outName >= 1 << 16) ||
    t.size >= 1 << 16
  )
    u = TOO_LONG;
  return u;
}

/** itCheckIsLong; a descriptor that cannot hold the type is an error (GNU MIG only warns). */
export function checkIsLong(
  t: IpcTypeInfo,
  flags: Set<IpcFlagName>,
  dfault: boolean,
  name: string,
  sink: DiagnosticSink,
  span: Span,
): boolean {
  let long = dfault;
  if (flags.has("islong")) long = true;
  if (flags.has("isnotlong")) long = false;
  if (long === dfault) {
    if (flags.has("islong")) sink.warning("W0201", `${name}: IsLong is redundant`, span);
    if (flags.has("isnotlong")) sink.warning("W0201", `${name}: IsNotLong is redundant`, span);
  }
  if (flags.has("islong") || flags.has("isnotlong")) {
    const u = useLong(t);
    if (long && u <= NOT_LONG) sink.warning("W0203", `${name}: doesn't need IsLong`, span);
    if (!long && u >= MUST_BE_LONG) {
      sink.error(
        "E0207",
        `${name}: too big for IsNotLong: a mach_msg_type_t holds at most 4095 elements of 255 bits`,
        span,
      );
    }
  }
  return long;
}

/** itCheckDecl: names the type and settles its C types, flags, deallocation and descriptor form. */
export function finishDecl(name: string, t: TypeState, ctx: DeclContext, span: Span): void {
  const { sink } = ctx;
  t.name = name;
  calculateNameInfo(t, ctx);
  if (t.broken) return;
  if (t.varArray) {
    if (t.inTrans !== undefined || t.inTransPayload !== undefined || t.outTrans !== undefined) {
      sink.error("E0215", `${name}: can't translate variable-sized arrays`, span);
    }
    if (t.destructor !== undefined)
      sink.error("E0215", `${name}: can't destroy variable-sized array`, span);
  }
  if (t.varArray && t.inLine) {
    if (
      t.element === undefined ||
      t.element.userType === undefined ||
      t.element.serverType === undefined
    ) {
      sink.error("E0206", `${name}: variable-sized in-line arrays need a named base type`, span);
    }
  }
  t.flags = checkFlags(t.flags, name, sink, span);
  t.deallocate = checkDeallocate(t, t.flags, "no", name, sink, span);
  const u = useLong(t);
  if (u === TOO_LONG) {
    sink.error(
      "E0207",
      `${name}: too big for mach_msg_type_long_t (element size and type name must be below 65536)`,
      span,
    );
  }
  t.longForm = checkIsLong(t, t.flags, u >= SHOULD_BE_LONG, name, sink, span);
}

/**
 * The type as the checked model exposes it: read-only from here on (the construction state that
 * comes along, flags and broken, is not part of IpcTypeInfo).
 */
export function freezeType(t: TypeState): IpcTypeInfo {
  return t;
}
