// Checks one routine as GNU MIG 1.8's routine.c does: argument kinds, the request and reply
// ports, flags, the implicit RetCode/count/CountInOut/poly/dealloc/servercopy arguments, errors.
import type { Argument, RoutineStatement } from "../ast.js";
import type { DiagnosticSink } from "../diagnostics.js";
import type { Span } from "../source.js";
import type { ArgumentRole, CheckedArgument, CheckedRoutine, Deallocate } from "./checked-model.js";
import {
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_POLYMORPHIC,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
  WORD_SIZE_BITS,
} from "./ipc-names.js";
import {
  checkDeallocate,
  checkFlags,
  checkIsLong,
  portSizeBits,
  type TypeState,
} from "./ipc-type.js";
import { builtinTypes } from "./builtin-types.js";
import { evalTypeDefinition, type TypeScope } from "./type-spec.js";

const POLY = MACH_MSG_TYPE_POLYMORPHIC;

interface ArgState {
  name: string;
  role: ArgumentRole;
  type?: TypeState;
  inRequest: boolean;
  inReply: boolean;
  send: boolean;
  returned: boolean;
  userArg: boolean;
  serverArg: boolean;
  deallocate: Deallocate;
  longForm: boolean;
  serverCopy: boolean;
  countInOut: boolean;
  parent?: string;
  count?: string;
  poly?: string;
  multiplier: number;
  explicit: boolean;
  span: Span;
  doc: readonly string[];
}

function argState(
  name: string,
  role: ArgumentRole,
  span: Span,
  doc: readonly string[] = [],
): ArgState {
  const s: ArgState = {
    name,
    role,
    inRequest: false,
    inReply: false,
    send: false,
    returned: false,
    userArg: false,
    serverArg: false,
    deallocate: "no",
    longForm: false,
    serverCopy: false,
    countInOut: false,
    multiplier: 1,
    explicit: true,
    span,
    doc,
  };
  switch (role) {
    case "in":
      Object.assign(s, { inRequest: true, send: true, userArg: true, serverArg: true });
      break;
    case "out":
      Object.assign(s, { inReply: true, returned: true, userArg: true, serverArg: true });
      break;
    case "inout":
      Object.assign(s, {
        inRequest: true,
        inReply: true,
        send: true,
        returned: true,
        userArg: true,
        serverArg: true,
      });
      break;
    case "requestPort":
      Object.assign(s, { send: true, userArg: true, serverArg: true });
      break;
    case "waitTime":
    case "msgOption":
      s.userArg = true;
      break;
    case "msgSeqno":
      Object.assign(s, { send: true, serverArg: true });
      break;
    default:
      break;
  }
  return s;
}

export interface RoutineContext {
  readonly scope: TypeScope;
  readonly sink: DiagnosticSink;
  readonly kernelServer: boolean;
  readonly kernelUser: boolean;
  readonly base: number;
  readonly number: number;
  readonly userPrefix: string;
  readonly serverPrefix: string;
  readonly waitTime?: string;
  readonly msgOption?: string;
}

function argType(a: Argument, ctx: RoutineContext): TypeState | undefined {
  if (a.type.kind === "typeName") {
    const t = ctx.scope.lookup(a.type.name.name);
    if (t === undefined) {
      ctx.scope.undefinedType(a.type.name.name, a.type.name.span);
      return undefined;
    }
    return t;
  }
  return evalTypeDefinition(a.type, ctx.scope);
}

/** Checks a routine statement; returns its checked form (also when errors were reported). */
export function checkRoutine(r: RoutineStatement, ctx: RoutineContext): CheckedRoutine {
  const { sink } = ctx;
  const kindName = r.simple ? "SimpleRoutine" : "Routine";
  const name = r.name.name;
  const oneWay = r.simple;
  const args: ArgState[] = [];

  const retCode = argState("RetCode", "retCode", r.name.span);
  retCode.type = builtinTypes().retCode;
  retCode.inReply = true;
  retCode.explicit = false;
  args.push(retCode);

  let requestPort: ArgState | undefined;
  let uReplyPort: ArgState | undefined;
  let sReplyPort: ArgState | undefined;
  let waitTime: ArgState | undefined;
  let msgOption: ArgState | undefined;
  let msgSeqno: ArgState | undefined;

  const multiple = (what: string, old: ArgState | undefined, span: Span): void => {
    if (old !== undefined)
      sink.warning("W0208", `multiple ${what} args in ${name}; ${old.name} won't be used`, span);
  };

  for (const a of r.args) {
    let role: ArgumentRole;
    let replyUser = false;
    let replyServer = false;
    switch (a.argKind) {
      case undefined:
        role = requestPort === undefined ? "requestPort" : "in";
        break;
      case "in":
        role = "in";
        break;
      case "out":
        role = "out";
        break;
      case "inout":
        role = "inout";
        break;
      case "requestport":
        role = "requestPort";
        break;
      case "replyport":
        role = "replyPort";
        replyUser = replyServer = true;
        break;
      case "ureplyport":
        role = "replyPort";
        replyUser = true;
        break;
      case "sreplyport":
        role = "replyPort";
        replyServer = true;
        break;
      case "waittime":
        role = "waitTime";
        break;
      case "msgoption":
        role = "msgOption";
        break;
      case "msgseqno":
        role = "msgSeqno";
        break;
    }
    const s = argState(a.name.name, role, a.name.span, a.doc);
    if (role === "replyPort")
      Object.assign(s, { send: true, userArg: replyUser, serverArg: replyServer });
    switch (role) {
      case "requestPort":
        multiple("RequestPort", requestPort, a.name.span);
        requestPort = s;
        break;
      case "replyPort":
        if (replyUser) {
          multiple("UserReplyPort", uReplyPort, a.name.span);
          uReplyPort = s;
        }
        if (replyServer) {
          multiple("ServerReplyPort", sReplyPort, a.name.span);
          sReplyPort = s;
        }
        break;
      case "waitTime":
        multiple("WaitTime", waitTime, a.name.span);
        waitTime = s;
        break;
      case "msgOption":
        multiple("MsgOption", msgOption, a.name.span);
        msgOption = s;
        break;
      case "msgSeqno":
        multiple("MsgSeqno", msgSeqno, a.name.span);
        msgSeqno = s;
        break;
      default:
        break;
    }
    args.push(s);
    const t = argType(a, ctx);
    if (t === undefined || t.broken) continue;
    s.type = t;
    processArgFlags(s, a, t, ctx);
    if (t.varArray && t.inLine && s.inRequest && s.inReply) {
      sink.error("E0205", `${s.name}: inline variable-sized arguments can't be InOut`, a.name.span);
    }
    args.push(...implicitArgs(s, t, ctx));
  }

  if (requestPort === undefined) {
    sink.error("E0203", `${kindName} ${name} doesn't have a server port argument`, r.name.span);
  } else if (requestPort.type !== undefined) {
    const t = requestPort.type;
    const okName =
      t.outName === MACH_MSG_TYPE_PORT_SEND ||
      t.outName === MACH_MSG_TYPE_PORT_SEND_ONCE ||
      t.outName === POLY;
    if (!okName || !singleValue(t, portSizeBits(ctx))) {
      sink.error(
        "E0212",
        `argument ${requestPort.name} isn't a proper request port`,
        requestPort.span,
      );
    }
  }
  for (const rp of new Set([uReplyPort, sReplyPort])) {
    if (rp?.type === undefined) continue;
    const t = rp.type;
    const okName =
      t.outName === MACH_MSG_TYPE_PORT_SEND ||
      t.outName === MACH_MSG_TYPE_PORT_SEND_ONCE ||
      t.outName === POLY ||
      t.outName === 0;
    if (!okName || !singleValue(t, portSizeBits(ctx)))
      sink.error("E0213", `argument ${rp.name} isn't a proper reply port`, rp.span);
  }
  for (const n of [waitTime, msgOption, msgSeqno]) {
    if (n?.type === undefined) continue;
    const t = n.type;
    if (
      t.inName !== MACH_MSG_TYPE_INTEGER_32 ||
      t.outName !== MACH_MSG_TYPE_INTEGER_32 ||
      !singleValue(t, WORD_SIZE_BITS)
    ) {
      sink.error("E0214", `argument ${n.name} should have been a MACH_MSG_TYPE_INTEGER_32`, n.span);
    }
  }

  for (const s of args) {
    const t = s.type;
    if (!s.explicit || t === undefined || t.serverType === t.transType) continue;
    const sendRcv = s.send && (s.serverArg || s.role === "in" || s.role === "inout");
    if (sendRcv && t.inTrans === undefined) {
      sink.warning("W0209", `${s.name}: argument has no in-translation function`, s.span);
    }
    if (s.returned && t.outTrans === undefined) {
      sink.warning("W0209", `${s.name}: argument has no out-translation function`, s.span);
    }
  }

  if (oneWay) {
    const out = args.find((s) => s.explicit && s.returned);
    if (out !== undefined)
      sink.error("E0204", `${kindName} ${name} has OUT argument ${out.name}`, out.span);
  }

  const seen = new Map<string, ArgState>();
  for (const s of args) {
    if (s.role === "retCode" || s.role === "countInOut") continue;
    const prev = seen.get(s.name);
    if (prev !== undefined && (s.explicit || prev.explicit)) {
      const where = s.explicit ? s : prev;
      sink.error("E0208", `${name}: two arguments named ${s.name}`, where.span);
    } else seen.set(s.name, s);
  }

  // An ArgState with its type is a CheckedArgument (the TypeState is its IpcTypeInfo).
  const frozen: CheckedArgument[] = args.filter(
    (s): s is ArgState & { type: TypeState } => s.type !== undefined,
  );
  return {
    name,
    kind: r.simple ? "simpleroutine" : "routine",
    number: ctx.number,
    id: ctx.base + ctx.number,
    replyId: ctx.base + ctx.number + 100,
    userName: ctx.userPrefix + name,
    serverName: ctx.serverPrefix + name,
    args: frozen,
    requestPort: requestPort?.name ?? "",
    ...(uReplyPort !== undefined ? { userReplyPort: uReplyPort.name } : {}),
    ...(sReplyPort !== undefined ? { serverReplyPort: sReplyPort.name } : {}),
    ...(waitTime !== undefined ? { waitTime: waitTime.name } : {}),
    ...(msgOption !== undefined ? { msgOption: msgOption.name } : {}),
    ...(msgSeqno !== undefined ? { msgSeqno: msgSeqno.name } : {}),
    ...(ctx.waitTime !== undefined ? { globalWaitTime: ctx.waitTime } : {}),
    ...(ctx.msgOption !== undefined ? { globalMsgOption: ctx.msgOption } : {}),
    span: r.span,
    doc: r.doc,
  };
}

function singleValue(t: TypeState, bits: number): boolean {
  return (
    t.number === 1 &&
    t.size === bits &&
    t.inLine &&
    t.deallocate === "no" &&
    t.struct &&
    !t.varArray
  );
}

/** rtProcessArgFlags. */
function processArgFlags(s: ArgState, a: Argument, t: TypeState, ctx: RoutineContext): void {
  const { sink } = ctx;
  const flags = checkFlags(new Set(a.flags.map((f) => f.flag)), s.name, sink, a.name.span);
  if (
    ((ctx.kernelServer && s.returned) || (ctx.kernelUser && s.send)) &&
    flags.has("dealloc") &&
    t.deallocate === "no"
  ) {
    s.deallocate = "yes";
  } else {
    s.deallocate = checkDeallocate(t, flags, t.deallocate, s.name, sink, a.name.span);
  }
  s.longForm = checkIsLong(t, flags, t.longForm, s.name, sink, a.name.span);
  if (flags.has("servercopy")) {
    if (t.indefinite && s.send && (s.role === "in" || s.role === "inout")) s.serverCopy = true;
    else sink.warning("W0204", `${s.name}: ServerCopy on argument is meaningless`, a.name.span);
  }
  if (flags.has("countinout")) {
    if (t.varArray && t.inLine && s.inReply) s.countInOut = true;
    else sink.warning("W0205", `${s.name}: CountInOut on argument is meaningless`, a.name.span);
  }
}

/** The arguments GNU MIG adds after an argument, in its order: poly, CountInOut, count, dealloc, servercopy. */
function implicitArgs(s: ArgState, t: TypeState, ctx: RoutineContext): ArgState[] {
  const out: ArgState[] = [];
  const b = builtinTypes();
  const implicit = (suffix: string, role: ArgumentRole, type: TypeState): ArgState => {
    const a = argState(s.name + suffix, role, s.span);
    a.type = type;
    a.explicit = false;
    a.parent = s.name;
    return a;
  };
  if (t.inName === POLY || t.outName === POLY) {
    const p = implicit("Poly", "poly", b.polyName);
    p.send = s.send;
    p.returned = s.returned;
    if (s.send) {
      if (t.inName === POLY) p.userArg = true;
      if (t.outName === POLY) p.serverArg = true;
    }
    if (s.returned) {
      if (t.inName === POLY && !ctx.kernelServer) p.serverArg = true;
      if (t.outName === POLY) p.userArg = true;
      if (ctx.kernelServer && t.outName === POLY) p.serverArg = true;
    }
    s.poly = p.name;
    out.push(p);
  }
  if (s.countInOut) {
    const c = implicit("Cnt", "countInOut", b.count);
    c.inRequest = true;
    c.send = true;
    c.parent = undefined;
    out.push(c);
  }
  if (t.varArray) {
    const c = implicit("Cnt", "count", b.count);
    c.multiplier = t.element?.number ?? 1;
    if (!t.string) {
      c.userArg = true;
      c.serverArg = true;
      c.send = s.send;
      c.returned = s.returned;
    }
    s.count = c.name;
    out.push(c);
  }
  if (s.deallocate === "maybe") {
    const d = implicit("Dealloc", "dealloc", b.dealloc);
    d.userArg = s.send;
    d.serverArg = s.returned;
    d.send = s.send;
    d.returned = s.returned;
    out.push(d);
  }
  if (s.serverCopy) {
    const c = implicit("SCopy", "serverCopy", b.dealloc);
    c.serverArg = true;
    c.send = true;
    out.push(c);
  }
  return out;
}
