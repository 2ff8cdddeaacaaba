// What the protocol docs say about one subsystem, independent of Markdown or HTML: ids, routines,
// arguments with direction, type and wire descriptor, message sizes, and the comments as prose.
import type { DefsFile } from "../ast.js";
import type {
  CheckedArgument,
  CheckedInterface,
  CheckedRoutine,
  IpcTypeInfo,
} from "../check/checked-model.js";
import { interfaceMessages } from "../layout/index.js";
import type { ComplexBit, FieldLayout, FieldPlacement, MessagePlacement } from "../layout/index.js";
import { replyRange, requestRange, type IdRange } from "./id-ranges.js";
import { proseOf, type Paragraph } from "./prose.js";

/** Where one argument travels, and as what. */
export interface WirePlace {
  /** "request"/"reply": a typed field; "header": a port of the message header; "none": not sent. */
  readonly message: "request" | "reply" | "header" | "none";
  /** For a header port: msgh_request_port or msgh_reply_port; otherwise a short explanation. */
  readonly note?: string;
  /** The descriptor as the server receives it (request) or writes it (reply). */
  readonly descriptor?: FieldLayout;
  /** msgt_name as the client sends it (request) or expects it (reply), when it differs. */
  readonly clientName?: number;
  /** Offset of the descriptor in the message (preceding variable arrays empty). */
  readonly offset?: number;
  /** An in-line variable-length array (msgt_number is its maximum). */
  readonly variable?: boolean;
  /** An earlier variable-length array moves this field: `offset` is its lowest. */
  readonly afterVariable?: boolean;
}

export interface ArgumentDoc {
  readonly name: string;
  /** The .defs direction keyword (in, out, inout, requestport, sreplyport, ...). */
  readonly direction: string;
  /** Added by MIG itself (RetCode, a CountInOut count). */
  readonly implicit: boolean;
  readonly typeName: string;
  /** The C type of the client stub, when it differs from the type's name. */
  readonly cType?: string;
  readonly places: readonly WirePlace[];
  readonly prose: readonly Paragraph[];
}

export interface MessageDoc {
  readonly id: number;
  readonly size: number;
  readonly maxSize: number;
  readonly variable: boolean;
  readonly complex: ComplexBit;
}

export interface RoutineDoc {
  readonly name: string;
  readonly kind: "routine" | "simpleroutine";
  readonly request: MessageDoc;
  /** null for a simpleroutine. */
  readonly reply: MessageDoc | null;
  readonly args: readonly ArgumentDoc[];
  readonly prose: readonly Paragraph[];
}

export interface TypeDoc {
  readonly name: string;
  readonly cType?: string;
  readonly inName: number;
  readonly outName: number;
  readonly size: number;
  readonly number: number;
  readonly inLine: boolean;
  readonly longForm: boolean;
  readonly varArray: boolean;
  readonly prose: readonly Paragraph[];
}

export interface SubsystemDoc {
  /** File name of its pages, without extension: unique in a docs set. */
  readonly slug: string;
  readonly name: string;
  readonly base: number;
  /** The .defs file as shown to people. */
  readonly path: string;
  readonly kernelUser: boolean;
  readonly kernelServer: boolean;
  readonly requestIds: IdRange;
  readonly replyIds: IdRange;
  readonly prose: readonly Paragraph[];
  readonly routines: readonly RoutineDoc[];
  /** The named types the routines' arguments use, in order of first use. */
  readonly types: readonly TypeDoc[];
}

function direction(a: CheckedArgument, r: CheckedRoutine): string {
  switch (a.role) {
    case "requestPort":
      return "requestport";
    case "replyPort":
      if (a.name === r.serverReplyPort && a.name !== r.userReplyPort) return "sreplyport";
      if (a.name === r.userReplyPort && a.name !== r.serverReplyPort) return "ureplyport";
      return "replyport";
    case "waitTime":
      return "waittime";
    case "msgOption":
      return "msgoption";
    case "msgSeqno":
      return "msgseqno";
    case "in":
    case "out":
    case "inout":
      return a.role;
    case "retCode":
      return "out";
    default:
      return a.send && a.returned ? "inout" : a.returned ? "out" : "in";
  }
}

function wirePlace(message: "request" | "reply", f: FieldPlacement): WirePlace {
  const place: WirePlace = {
    message,
    descriptor: f.descriptor,
    offset: f.descriptorOffset,
    variable: f.variable,
    afterVariable: f.afterVariable,
  };
  return f.clientName !== f.descriptor.msgt_name ? { ...place, clientName: f.clientName } : place;
}

function placesOf(
  a: CheckedArgument,
  request: MessagePlacement,
  reply: MessagePlacement | null,
): WirePlace[] {
  const places: WirePlace[] = [];
  for (const f of request.fields) if (f.argument === a) places.push(wirePlace("request", f));
  for (const f of reply?.fields ?? []) if (f.argument === a) places.push(wirePlace("reply", f));
  if (places.length > 0) return places;
  switch (a.role) {
    case "requestPort":
      return [{ message: "header", note: "msgh_request_port" }];
    case "replyPort":
      return [{ message: "header", note: "msgh_reply_port" }];
    case "waitTime":
      return [{ message: "none", note: "the client's receive timeout" }];
    case "msgOption":
      return [{ message: "none", note: "options of the client's mach_msg" }];
    case "msgSeqno":
      return [{ message: "none", note: "the request's sequence number, from the kernel" }];
    default:
      return [{ message: "none", note: "not carried in a typed field" }];
  }
}

function messageDoc(id: number, m: MessagePlacement): MessageDoc {
  return { id, size: m.size, maxSize: m.maxSize, variable: m.variable, complex: m.complex };
}

function typeDocsOf(
  routines: readonly CheckedRoutine[],
  typeProse: ReadonlyMap<string, readonly string[]>,
): TypeDoc[] {
  const seen = new Map<string, TypeDoc>();
  for (const r of routines)
    for (const a of r.args) {
      const t: IpcTypeInfo = a.type;
      if (!a.explicit || t.name === "" || seen.has(t.name)) continue;
      const doc: TypeDoc = {
        name: t.name,
        ...(t.userType !== undefined && t.userType !== t.name ? { cType: t.userType } : {}),
        inName: t.inName,
        outName: t.outName,
        size: t.size,
        number: t.number,
        inLine: t.inLine,
        longForm: t.longForm,
        varArray: t.varArray,
        prose: proseOf(typeProse.get(t.name) ?? []),
      };
      seen.set(t.name, doc);
    }
  return [...seen.values()];
}

/** The doc comments of every `type` statement by name (the last definition wins). */
function typeComments(ast: DefsFile | undefined): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const s of ast?.statements ?? [])
    if (s.kind === "type") out.set(s.definition.name.name, s.doc);
  return out;
}

/** The documentation model of one checked interface. */
export function subsystemDoc(
  slug: string,
  path: string,
  checked: CheckedInterface,
  ast?: DefsFile,
): SubsystemDoc {
  const requests = requestRange(checked, ast);
  const routines: RoutineDoc[] = interfaceMessages(checked).map((m) => {
    const r = m.routine;
    const args: ArgumentDoc[] = r.args
      .filter((a) => a.explicit || placesOf(a, m.request, m.reply)[0]!.message !== "none")
      .filter((a) => a.role !== "poly")
      .map((a) => ({
        name: a.name,
        direction: direction(a, r),
        implicit: !a.explicit,
        typeName: a.type.name === "" ? "(anonymous)" : a.type.name,
        ...(a.type.userType !== undefined && a.type.userType !== a.type.name
          ? { cType: a.type.userType }
          : {}),
        places: placesOf(a, m.request, m.reply),
        prose: proseOf(a.doc),
      }));
    return {
      name: r.name,
      kind: r.kind,
      request: messageDoc(r.id, m.request),
      reply: m.reply === null ? null : messageDoc(r.replyId, m.reply),
      args,
      prose: proseOf(r.doc),
    };
  });
  return {
    slug,
    name: checked.subsystem.name,
    base: checked.subsystem.base,
    path,
    kernelUser: checked.subsystem.kernelUser,
    kernelServer: checked.subsystem.kernelServer,
    requestIds: requests,
    replyIds: replyRange(requests),
    prose: proseOf(checked.subsystem.doc),
    routines,
    types: typeDocsOf(checked.routines, typeComments(ast)),
  };
}
