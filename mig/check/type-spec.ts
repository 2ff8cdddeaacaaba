// Turns the AST's type specifications and `name = spec annotations` definitions into IPC types,
// following GNU MIG's parser actions (TypeSpec, TransTypeSpec, NamedTypeSpec).
import type { TypeAnnotation, TypeDefinition, TypeSpec } from "../ast.js";
import type { DiagnosticSink } from "../diagnostics.js";
import type { Span } from "../source.js";
import { evalCount } from "./int-expr.js";
import {
  arrayDecl,
  brokenType,
  cStringDecl,
  finishDecl,
  inlineStructDecl,
  ipcTypeValue,
  longDecl,
  portSizeBits,
  ptrDecl,
  resetType,
  shortDecl,
  structDecl,
  varArrayDecl,
  type DeclContext,
  type TypeState,
} from "./ipc-type.js";

export interface TypeScope extends DeclContext {
  /** The named type in force, if any. */
  lookup(name: string): TypeState | undefined;
  /** Reports a use of an undefined type name. */
  undefinedType(name: string, span: Span): void;
}

/** itPrevDecl: a copy of a named type whose element is the named type itself. */
function prevDecl(name: string, span: Span, scope: TypeScope): TypeState {
  const old = scope.lookup(name);
  if (old === undefined) {
    scope.undefinedType(name, span);
    return brokenType(name);
  }
  return { ...old, flags: new Set(old.flags), name: "", element: old };
}

/** The IPC type of a type specification (before annotations and naming). */
export function evalTypeSpec(spec: TypeSpec, scope: TypeScope): TypeState {
  const { sink } = scope;
  switch (spec.kind) {
    case "shortType":
      return shortDecl(ipcTypeValue(spec.ipc, sink, portSizeBits(scope)), sink, spec.span);
    case "longType": {
      const v = ipcTypeValue(spec.ipc, sink, portSizeBits(scope));
      const size = evalCount(spec.size, sink, "the IPC type size", true);
      if (size === undefined) return brokenType();
      return longDecl(v, size, spec.flags, sink, spec.span);
    }
    case "typeName":
      return prevDecl(spec.name.name, spec.name.span, scope);
    case "array": {
      const element = evalTypeSpec(spec.element, scope);
      if (element.broken) return element;
      switch (spec.bound.kind) {
        case "unbounded":
          return varArrayDecl(0, element, sink, spec.span);
        case "variable": {
          const n = evalCount(spec.bound.max, sink, "the array bound", true);
          if (n === undefined) return brokenType();
          return varArrayDecl(n, element, sink, spec.span);
        }
        case "fixed": {
          const n = evalCount(spec.bound.size, sink, "the array size");
          if (n === undefined) return brokenType();
          return arrayDecl(n, element, sink, spec.span);
        }
      }
      break;
    }
    case "pointer": {
      const target = evalTypeSpec(spec.target, scope);
      if (target.broken) return target;
      return ptrDecl(target, sink, spec.span);
    }
    case "structArray": {
      const element = evalTypeSpec(spec.element, scope);
      if (element.broken) return element;
      const n = evalCount(spec.count, sink, "the struct count");
      if (n === undefined) return brokenType();
      return structDecl(n, element, sink, spec.span);
    }
    case "struct": {
      const fields: { type: TypeState; span: Span; name: string }[] = [];
      let broken = false;
      const names = new Set<string>();
      for (const f of spec.fields) {
        if (names.has(f.name.name)) {
          sink.error("E0208", `struct field ${f.name.name} is declared twice`, f.name.span);
        }
        names.add(f.name.name);
        const t = scope.lookup(f.type.name);
        if (t === undefined) {
          scope.undefinedType(f.type.name, f.type.span);
          broken = true;
          continue;
        }
        fields.push({ type: t, span: f.span, name: f.name.name });
      }
      if (broken) return brokenType();
      return inlineStructDecl(fields, sink, spec.span);
    }
    case "cString": {
      const n = evalCount(spec.size, sink, "the c_string size");
      if (n === undefined) return brokenType();
      return cStringDecl(n, spec.varying, sink, spec.span);
    }
  }
  return brokenType();
}

function conflict(
  sink: DiagnosticSink,
  what: string,
  old: string | undefined,
  now: string,
  span: Span,
): void {
  if (old !== undefined && old !== now)
    sink.warning("W0210", `conflicting ${what} (${old}, ${now})`, span);
}

/** The TypeState fields a translation annotation sets, with their names in W0210. */
type AnnotatedField =
  | "transType"
  | "inTrans"
  | "inTransPayload"
  | "outTrans"
  | "destructor"
  | "userType"
  | "serverType";

const FIELD_NAMES: Record<AnnotatedField, string> = {
  transType: "translation types",
  inTrans: "in-translation functions",
  inTransPayload: "in-translation functions",
  outTrans: "out-translation functions",
  destructor: "destructor functions",
  userType: "user types",
  serverType: "server types",
};

/** The fields each annotation sets, in the order GNU MIG checks them. */
function annotationFields(a: TypeAnnotation): [AnnotatedField, string][] {
  switch (a.kind) {
    case "intran":
      return [
        ["transType", a.transType.name],
        ["inTrans", a.function.name],
        ["serverType", a.serverType.name],
      ];
    case "intranpayload":
      return [
        ["transType", a.transType.name],
        ["inTransPayload", a.function.name],
      ];
    case "outtran":
      return [
        ["serverType", a.serverType.name],
        ["outTrans", a.function.name],
        ["transType", a.transType.name],
      ];
    case "destructor":
      return [
        ["destructor", a.function.name],
        ["transType", a.transType.name],
      ];
    case "ctype":
      return [
        ["userType", a.cType.name],
        ["serverType", a.cType.name],
      ];
    case "cusertype":
      return [["userType", a.cType.name]];
    case "cservertype":
      return [["serverType", a.cType.name]];
  }
}

/** TransTypeSpec: C type and translation annotations, in source order. */
export function applyAnnotations(
  t: TypeState,
  annotations: readonly TypeAnnotation[],
  sink: DiagnosticSink,
): void {
  for (const a of annotations)
    for (const [field, value] of annotationFields(a)) {
      conflict(sink, FIELD_NAMES[field], t[field], value, a.span);
      t[field] = value;
    }
}

/** NamedTypeSpec: `name = spec annotations`, checked and named (not yet entered in the scope). */
export function evalTypeDefinition(def: TypeDefinition, scope: TypeScope): TypeState {
  const t = resetType(evalTypeSpec(def.spec, scope));
  applyAnnotations(t, def.annotations, scope.sink);
  finishDecl(def.name.name, t, scope, def.name.span);
  return t;
}
