// Named-object declarations as AML executes them (at table load and inside methods): Scope,
// Device, Method, Name, Alias, OperationRegion, Field/IndexField/BankField, Create*Field, ...
import { fault } from "../status.js";
import type { Term, TermOf } from "./ast.js";
import type { AmlInterpreter, Frame } from "./interpreter.js";
import { formatNamePath, type NamePath } from "./names.js";
import { followAlias, type NsNode, type NsObject } from "./namespace.js";
import { DATA_TABLE_SPACE } from "./regions.js";
import { copyValue, describeType } from "./values.js";

function createNode(
  interp: AmlInterpreter,
  f: Frame,
  path: NamePath,
  object: NsObject,
  at: number,
): NsNode {
  const node = interp.namespace.create(f.scope, path, object, at);
  f.temporaries?.push(node);
  return node;
}

/** Creates the object a declaration term names; returns its node (for blocks, the scope to enter). */
export async function declare(interp: AmlInterpreter, t: Term, f: Frame): Promise<NsNode> {
  switch (t.op) {
    case "block": {
      if (t.kind === "scope") {
        const node = interp.namespace.resolve(f.scope, t.path);
        if (!node)
          return fault("AE_NOT_FOUND", `Scope(${formatNamePath(t.path)}) names no object`, t.at);
        return followAlias(node);
      }
      const [a = 0, b = 0, c = 0] = t.params;
      const object: NsObject =
        t.kind === "processor"
          ? { kind: "processor", procId: a, pblkAddress: b, pblkLength: c }
          : t.kind === "powerResource"
            ? { kind: "powerResource", systemLevel: a, resourceOrder: b }
            : { kind: t.kind };
      return createNode(interp, f, t.path, object, t.at);
    }
    case "method":
      return createNode(
        interp,
        f,
        t.path,
        {
          kind: "method",
          argCount: t.flags & 7,
          serialized: (t.flags & 8) !== 0,
          syncLevel: t.flags >> 4,
          code: f.code,
          start: t.bodyStart,
          end: t.bodyEnd,
        },
        t.at,
      );
    case "defName": {
      const v = copyValue(await interp.evalTerm(t.value, f));
      return createNode(interp, f, t.path, { kind: "data", value: v }, t.at);
    }
    case "alias": {
      const src = interp.namespace.resolve(f.scope, t.source);
      if (!src)
        return fault(
          "AE_NOT_FOUND",
          `Alias source ${formatNamePath(t.source)} does not exist`,
          t.at,
        );
      return createNode(interp, f, t.alias, { kind: "alias", target: followAlias(src) }, t.at);
    }
    case "opRegion": {
      const offset = await interp.intOf(t.offset, f);
      const length = await interp.intOf(t.length, f);
      return createNode(
        interp,
        f,
        t.path,
        { kind: "region", space: t.space, offset, length },
        t.at,
      );
    }
    case "dataRegion": {
      for (const a of t.args) await interp.evalTerm(a, f);
      return createNode(
        interp,
        f,
        t.path,
        { kind: "region", space: DATA_TABLE_SPACE, offset: 0n, length: 0n },
        t.at,
      );
    }
    case "field":
      return declareField(interp, t, f);
    case "createField": {
      const source = await interp.value(t.source, f);
      if (source.type !== "buffer")
        return fault(
          "AE_AML_OPERAND_TYPE",
          `Create*Field needs a Buffer, got ${describeType(source)}`,
          t.at,
        );
      const index = Number(await interp.intOf(t.index, f));
      const bitOffset = t.unit === 1 || t.unit === 0 ? index : index * 8;
      const bitLength = t.unit === 0 ? Number(await interp.intOf(t.bits!, f)) : t.unit;
      if (bitOffset + bitLength > source.data.length * 8 || (bitLength === 0 && t.unit === 0)) {
        return fault(
          "AE_AML_BUFFER_LIMIT",
          `field [${bitOffset}, +${bitLength}) is outside the ${source.data.length}-byte buffer`,
          t.at,
        );
      }
      return createNode(
        interp,
        f,
        t.path,
        { kind: "bufferField", buffer: source, bitOffset, bitLength },
        t.at,
      );
    }
    case "mutex":
      return createNode(
        interp,
        f,
        t.path,
        { kind: "mutex", syncLevel: t.syncLevel, depth: 0 },
        t.at,
      );
    case "event":
      return createNode(interp, f, t.path, { kind: "event", count: 0 }, t.at);
    case "external":
      return declareExternal(interp, t, f);
    default:
      return fault("AE_AML_INTERNAL", `${t.op} is not a declaration`, t.at);
  }
}

function declareExternal(interp: AmlInterpreter, t: TermOf<"external">, f: Frame): NsNode {
  const existing = interp.namespace.nodeAt(f.scope, t.path);
  if (existing) return existing;
  // Missing parents become placeholders that a later real declaration replaces.
  let scope: NsNode = t.path.root ? interp.namespace.root : f.scope;
  for (let i = 0; i < t.path.parents; i++) scope = scope.parent ?? scope;
  const segs = t.path.segments;
  for (let i = 0; i < segs.length; i++) {
    const last = i === segs.length - 1;
    const child = followAlias(scope).children.get(segs[i]!);
    if (child) {
      scope = child;
      continue;
    }
    const object: NsObject = {
      kind: "external",
      objectType: last ? t.objectType : 0,
      argCount: last ? t.argCount : 0,
    };
    scope = interp.namespace.create(
      scope,
      { root: false, parents: 0, segments: [segs[i]!] },
      object,
      t.at,
    );
    f.temporaries?.push(scope);
  }
  return scope;
}

async function declareField(interp: AmlInterpreter, t: TermOf<"field">, f: Frame): Promise<NsNode> {
  const first = interp.namespace.resolve(f.scope, t.first);
  if (!first) return fault("AE_NOT_FOUND", `${formatNamePath(t.first)} does not exist`, t.at);
  const firstNode = followAlias(first);
  let second: NsNode | undefined;
  if (t.second) {
    const s = interp.namespace.resolve(f.scope, t.second);
    if (!s) return fault("AE_NOT_FOUND", `${formatNamePath(t.second)} does not exist`, t.at);
    second = followAlias(s);
  }
  const updateRule = (t.flags >> 5) & 3;
  if (t.flavor !== "index" && firstNode.object.kind !== "region") {
    return fault("AE_AML_OPERAND_TYPE", `${firstNode.path} is not an OperationRegion`, t.at);
  }
  const bankValue = t.bankValue ? await interp.intOf(t.bankValue, f) : 0n;
  let last = f.scope;
  for (const e of t.elements) {
    const common = {
      kind: "field" as const,
      bitOffset: e.bitOffset,
      bitLength: e.bitLength,
      accessType: e.accessType,
      updateRule,
    };
    const object: NsObject =
      t.flavor === "region"
        ? { ...common, flavor: "region", region: firstNode }
        : t.flavor === "bank"
          ? { ...common, flavor: "bank", region: firstNode, bank: second!, bankValue }
          : { ...common, flavor: "index", index: firstNode, data: second! };
    last = createNode(interp, f, { root: false, parents: 0, segments: [e.name] }, object, t.at);
  }
  return last;
}
