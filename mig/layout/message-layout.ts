// The x86_64 GNU Mach wire layout of each routine's request and reply, as GNU MIG 1.8 lays them
// out: 32-byte header, 4- or 12-byte descriptors, data packed to 4 bytes, OOL data as a pointer.
import type { CheckedArgument, CheckedInterface, CheckedRoutine } from "../check/checked-model.js";
import {
  isPortName,
  MACH_MSG_TYPE_POLYMORPHIC,
  SIZEOF_MACH_MSG_HEADER,
  SIZEOF_MACH_MSG_TYPE,
  SIZEOF_MACH_MSG_TYPE_LONG,
  WORD_SIZE,
} from "../check/ipc-names.js";
import type {
  ComplexBit,
  FieldLayout,
  InterfaceLayout,
  MessageLayout,
  RoutineLayout,
} from "./layout-json.js";

/** One typed field of a message body, with where it lies and what the stubs must do with it. */
export interface FieldPlacement {
  /** The argument carried (for a CountInOut count: the count argument, named "<name>Cnt"). */
  readonly argument: CheckedArgument;
  readonly name: string;
  /** The descriptor as the server-side stub checks it (request) or writes it (reply). */
  readonly descriptor: FieldLayout;
  /** msgt_name as the client stub sends it (request) or checks it (reply); -1 for polymorphic. */
  readonly clientName: number;
  /**
   * Offset of the descriptor from the start of the message, with every preceding variable-sized
   * in-line array empty (see `afterVariable`).
   */
  readonly descriptorOffset: number;
  /** 4 (mach_msg_type_t) or 12 (mach_msg_type_long_t). */
  readonly descriptorSize: number;
  /** Offset of the data (or of the out-of-line pointer), same convention. */
  readonly dataOffset: number;
  /** Bytes of data in the body at most (the pointer's 8 when out-of-line), before padding. */
  readonly dataSize: number;
  /** Padding after the data at its maximum, up to 4 bytes. */
  readonly padSize: number;
  /** Bytes the field takes with its data empty (variable arrays) or fixed: data + padding. */
  readonly minDataSize: number;
  /** An in-line variable-length array: the message size varies with its count. */
  readonly variable: boolean;
  /** An unbounded array that travels in-line or out-of-line, chosen at run time. */
  readonly indefinite: boolean;
  /** True when an earlier variable-length field shifts this one at run time. */
  readonly afterVariable: boolean;
}

export interface MessagePlacement {
  /** msgh_size when fixed; with every in-line variable array empty when variable. */
  readonly size: number;
  /** msgh_size with every in-line array at its maximum. */
  readonly maxSize: number;
  readonly variable: boolean;
  readonly complex: ComplexBit;
  /** Every typed field; in a reply the first is RetCode. */
  readonly fields: readonly FieldPlacement[];
}

export interface RoutineMessages {
  readonly routine: CheckedRoutine;
  readonly request: MessagePlacement;
  /** null for a simpleroutine. */
  readonly reply: MessagePlacement | null;
}

const POLY = MACH_MSG_TYPE_POLYMORPHIC;

/** GNU MIG's rtCheckSimpleIn/Out: whether MACH_MSGH_BITS_COMPLEX is always, never or sometimes set. */
function complexBit(
  args: readonly CheckedArgument[],
  name: (a: CheckedArgument) => number,
): ComplexBit {
  let may = false;
  let must = false;
  for (const a of args) {
    const n = name(a);
    if (n === POLY || a.type.indefinite) may = true;
    if (isPortName(n) || !a.type.inLine) must = true;
  }
  if (must) return "yes";
  return may ? "dynamic" : "no";
}

function placeMessage(
  args: readonly CheckedArgument[],
  serverName: (a: CheckedArgument) => number,
  clientName: (a: CheckedArgument) => number,
  complexName: (a: CheckedArgument) => number,
): MessagePlacement {
  let offset = SIZEOF_MACH_MSG_HEADER;
  let maxSize = SIZEOF_MACH_MSG_HEADER;
  let afterVariable = false;
  const fields: FieldPlacement[] = [];
  for (const a of args) {
    const t = a.type;
    if (a.longForm) {
      offset = (offset + WORD_SIZE - 1) & ~(WORD_SIZE - 1);
      maxSize = (maxSize + WORD_SIZE - 1) & ~(WORD_SIZE - 1);
    }
    const descriptorSize = a.longForm ? SIZEOF_MACH_MSG_TYPE_LONG : SIZEOF_MACH_MSG_TYPE;
    const variable = t.varArray && t.inLine;
    const n = serverName(a);
    fields.push({
      argument: a,
      name: a.name,
      descriptor: {
        name: a.name,
        msgt_name: n === POLY ? -1 : n,
        msgt_size: t.size,
        msgt_number: t.varArray && !t.inLine ? null : t.number,
        inline: t.indefinite ? null : t.inLine,
        longform: a.longForm,
      },
      clientName: clientName(a) === POLY ? -1 : clientName(a),
      descriptorOffset: offset,
      descriptorSize,
      dataOffset: offset + descriptorSize,
      dataSize: t.typeSize,
      padSize: t.padSize,
      minDataSize: t.minTypeSize,
      variable,
      indefinite: t.indefinite,
      afterVariable,
    });
    offset += descriptorSize + t.minTypeSize;
    maxSize += descriptorSize + t.typeSize + t.padSize;
    if (variable) afterVariable = true;
  }
  return {
    size: offset,
    maxSize,
    variable: fields.some((f) => f.variable),
    complex: complexBit(args, complexName),
    fields,
  };
}

/** The request and reply layouts of one checked routine. */
export function layoutRoutine(r: CheckedRoutine, kernelServer: boolean): RoutineMessages {
  const requestArgs = r.args.filter((a) => a.inRequest);
  const replyArgs = r.args.filter((a) => a.inReply);
  const inName = (a: CheckedArgument): number => a.type.inName;
  const outName = (a: CheckedArgument): number => a.type.outName;
  const request = placeMessage(requestArgs, outName, inName, outName);
  const replyName = kernelServer ? outName : inName;
  const reply =
    r.kind === "simpleroutine" ? null : placeMessage(replyArgs, replyName, outName, replyName);
  return { routine: r, request, reply };
}

/** Every routine's messages, in declaration order. */
export function interfaceMessages(checked: CheckedInterface): RoutineMessages[] {
  return checked.routines.map((r) => layoutRoutine(r, checked.subsystem.kernelServer));
}

function messageJson(m: MessagePlacement, skipRetCode: boolean): MessageLayout {
  return {
    size: m.size,
    variable: m.variable,
    complex: m.complex,
    args: m.fields
      .filter((f) => !(skipRetCode && f.argument.role === "retCode"))
      .map((f) => f.descriptor),
  };
}

function routineJson(m: RoutineMessages): RoutineLayout {
  return {
    name: m.routine.name,
    id: m.routine.id,
    kind: m.routine.kind,
    request: messageJson(m.request, false),
    reply: m.reply === null ? null : messageJson(m.reply, true),
  };
}

/** The layout of a checked interface in the shape `tsmig layout` prints (layout-json.md). */
export function layoutInterface(
  checked: CheckedInterface,
  file: string = checked.file,
): InterfaceLayout {
  return {
    file,
    subsystem: checked.subsystem.name,
    base: checked.subsystem.base,
    routines: interfaceMessages(checked).map(routineJson),
  };
}
