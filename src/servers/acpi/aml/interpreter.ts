// The AML interpreter: evaluates control methods and named objects over the namespace,
// with a step limit so no table can hang it and field accesses routed to a RegionHandler.
import { errorFromCaught, fault, ok, type AcpiError, type AcpiResult } from "../status.js";
import type { Term } from "./ast.js";
import { eisaIdToString } from "./eisa-id.js";
import { formatNamePath, parseNamePath } from "./names.js";
import {
  followAlias,
  Namespace,
  type NsNode,
  type NsObject,
  type MethodObject,
  type RegionObject,
} from "./namespace.js";
import { ObjectTypeCode, Op } from "./opcodes.js";
import {
  decimalString,
  concatenate,
  concatResourceTemplates,
  compareValues,
  fromBcd,
  hexString,
  matchCompare,
  midOf,
  toBcd,
} from "./operators.js";
import { declare } from "./declarations.js";
import { AmlParser } from "./parser.js";
import { AmlReader } from "./reader.js";
import {
  readBufferField,
  readFieldUnit,
  writeBufferField,
  writeFieldUnit,
  type FieldContext,
  type PciAddress,
  type RegionHandler,
} from "./regions.js";
import {
  buf,
  checkSize,
  copyValue,
  describeType,
  explicitToInteger,
  int,
  ones,
  pkg,
  str,
  toBuffer,
  toInteger,
  toStringValue,
  UNINITIALIZED,
  type AmlBuffer,
  type AmlRef,
  type AmlValue,
} from "./values.js";

export interface InterpreterOptions {
  /** Where OperationRegion accesses go. Without one, any field access fails with AE_NO_HANDLER. */
  readonly regions?: RegionHandler;
  /** Terms one evaluation (or one table load) may execute before failing with AE_AML_INFINITE_LOOP. */
  readonly maxSteps?: number;
  /** Nested method calls allowed before AE_AML_NESTING. */
  readonly maxCallDepth?: number;
  /** Called for every Notify(device, value) the AML executes. */
  readonly onNotify?: (device: string, value: bigint) => void;
}

export const DEFAULT_MAX_STEPS = 200_000;
export const DEFAULT_MAX_CALL_DEPTH = 32;

/** One evaluation's budget. */
export class Run {
  steps = 0;
  depth = 0;
  constructor(readonly limit: number) {}
}

export interface Frame {
  readonly run: Run;
  readonly scope: NsNode;
  /** The AML the running terms were parsed from (Method bodies refer into it). */
  readonly code: Uint8Array;
  readonly locals: AmlValue[];
  readonly args: AmlValue[];
  /** Names created while a method runs, removed when it returns; null at table load. */
  readonly temporaries: NsNode[] | null;
}

type Flow = undefined | "break" | "continue" | { readonly value: AmlValue };

const PCI_ROOT_IDS = new Set(["PNP0A03", "PNP0A08"]);

export class AmlInterpreter {
  readonly namespace = new Namespace();
  /** 32 for tables of revision < 2, else 64 (set by the loader from the DSDT). */
  integerWidth: 32 | 64 = 64;
  readonly maxSteps: number;
  readonly maxCallDepth: number;
  regions: RegionHandler | undefined;
  /** Notify() calls seen, oldest first (the last 256). */
  readonly notifications: { device: string; value: bigint }[] = [];
  private readonly onNotify: ((device: string, value: bigint) => void) | undefined;

  constructor(options: InterpreterOptions = {}) {
    this.regions = options.regions;
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxCallDepth = options.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH;
    this.onNotify = options.onNotify;
  }

  // ---------------------------------------------------------------- public API

  /**
   * Evaluates a named object: calls a method with `args`, reads a field, or returns a copy of
   * a data object. `path` is ASL text ("\\_SB.PCI0._PRT") or a node. Evaluations (and table
   * loads) run one at a time, like ACPICA's interpreter lock: method-local names and
   * register sequences of concurrent callers never interleave.
   */
  evaluate(
    path: string | NsNode,
    args: readonly AmlValue[] = [],
    run = new Run(this.maxSteps),
  ): Promise<AcpiResult<AmlValue>> {
    return this.exclusive(() => this.evaluateUnlocked(path, args, run));
  }

  /** Evaluates `name` below `device` if it exists; ok(undefined) when it does not. */
  evaluateOptional(
    device: NsNode,
    name: string,
    run?: Run,
  ): Promise<AcpiResult<AmlValue | undefined>> {
    return this.exclusive(() => this.evaluateOptionalUnlocked(device, name, run));
  }

  /** Runs `fn` when every earlier evaluation or load has finished. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    return prev.then(fn).finally(release);
  }

  private tail: Promise<void> = Promise.resolve();

  private async evaluateUnlocked(
    path: string | NsNode,
    args: readonly AmlValue[],
    run: Run,
  ): Promise<AcpiResult<AmlValue>> {
    try {
      const node = typeof path === "string" ? this.namespace.lookup(path) : path;
      if (!node)
        return {
          ok: false,
          error: { code: "AE_NOT_FOUND", message: `${String(path)} does not exist` },
        };
      const frame = this.topFrame(run, node.parent ?? node);
      const target = followAlias(node);
      const v =
        target.object.kind === "method"
          ? await this.invoke(target, [...args], frame)
          : await this.readNode(target, frame, true);
      return ok(copyValue(v));
    } catch (e) {
      return { ok: false, error: errorFromCaught(e) };
    }
  }

  private async evaluateOptionalUnlocked(
    device: NsNode,
    name: string,
    run?: Run,
  ): Promise<AcpiResult<AmlValue | undefined>> {
    const node = followAlias(device).children.get(name);
    if (!node) return ok(undefined);
    return this.evaluateUnlocked(node, [], run ?? new Run(this.maxSteps));
  }

  /** Parses every control method's body without running it; returns the problems found. */
  checkMethods(): { path: string; error: AcpiError }[] {
    const problems: { path: string; error: AcpiError }[] = [];
    for (const node of this.namespace.walk()) {
      const o = node.object;
      if (o.kind !== "method" || o.native) continue;
      try {
        this.parsedBody(node, o);
      } catch (e) {
        problems.push({ path: node.path, error: errorFromCaught(e) });
      }
    }
    return problems;
  }

  /** A frame for code at table-load level (no method, permanent names). */
  topFrame(run: Run, scope: NsNode, code: Uint8Array = new Uint8Array(0)): Frame {
    return { run, scope, code, locals: freshSlots(8), args: freshSlots(7), temporaries: null };
  }

  /** The _HID and _CID ids of a device, as strings ("PNP0A08"). */
  deviceIds(device: NsNode, run?: Run): Promise<string[]> {
    return this.exclusive(() => this.deviceIdsUnlocked(device, run));
  }

  isPciRootBridge(device: NsNode, run?: Run): Promise<boolean> {
    return this.exclusive(async () =>
      (await this.deviceIdsUnlocked(device, run)).some((id) => PCI_ROOT_IDS.has(id)),
    );
  }

  private async deviceIdsUnlocked(device: NsNode, run?: Run): Promise<string[]> {
    const ids: string[] = [];
    for (const name of ["_HID", "_CID"]) {
      const r = await this.evaluateOptionalUnlocked(device, name, run);
      if (!r.ok || r.value === undefined) continue;
      const v = r.value;
      const list = v.type === "package" ? v.elements : [v];
      for (const e of list) {
        if (e.type === "integer") ids.push(eisaIdToString(Number(e.value & 0xffffffffn)));
        else if (e.type === "string") ids.push(e.value);
      }
    }
    return ids;
  }

  // ---------------------------------------------------------------- execution

  step(run: Run): void {
    if (++run.steps > run.limit)
      fault("AE_AML_INFINITE_LOOP", `evaluation exceeded the limit of ${run.limit} steps`);
  }

  private parsedBody(node: NsNode, m: MethodObject): Term[] {
    if (!m.parsed) {
      const parser = new AmlParser(new AmlReader(m.code, m.start, m.end), this.namespace, node);
      m.parsed = parser.termList(m.end);
    }
    return m.parsed;
  }

  async invoke(node: NsNode, args: AmlValue[], caller: Frame): Promise<AmlValue> {
    const m = node.object;
    if (m.kind !== "method") return fault("AE_AML_OPERAND_TYPE", `${node.path} is not a method`);
    if (m.native) return m.native(args);
    const run = caller.run;
    if (run.depth >= this.maxCallDepth)
      fault(
        "AE_AML_NESTING",
        `method calls nest deeper than ${this.maxCallDepth} (at ${node.path})`,
      );
    this.step(run);
    const body = this.parsedBody(node, m);
    const slots = freshSlots(7);
    for (let i = 0; i < Math.min(args.length, 7); i++) slots[i] = args[i]!;
    const frame: Frame = {
      run,
      scope: node,
      code: m.code,
      locals: freshSlots(8),
      args: slots,
      temporaries: [],
    };
    run.depth++;
    try {
      const flow = await this.execList(body, frame);
      return typeof flow === "object" ? flow.value : UNINITIALIZED;
    } finally {
      run.depth--;
      for (const t of frame.temporaries!.reverse()) this.namespace.remove(t);
    }
  }

  async execList(terms: readonly Term[], f: Frame): Promise<Flow> {
    for (const t of terms) {
      const flow = await this.execTerm(t, f);
      if (flow !== undefined) return flow;
    }
    return undefined;
  }

  private async execTerm(t: Term, f: Frame): Promise<Flow> {
    this.step(f.run);
    switch (t.op) {
      case "if": {
        const cond = await this.intOf(t.predicate, f);
        if (cond !== 0n) return this.execList(t.then, f);
        return t.otherwise ? this.execList(t.otherwise, f) : undefined;
      }
      case "while":
        for (;;) {
          this.step(f.run);
          if ((await this.intOf(t.predicate, f)) === 0n) return undefined;
          const flow = await this.execList(t.body, f);
          if (flow === "break") return undefined;
          if (typeof flow === "object") return flow;
        }
      case "return":
        return { value: t.value ? copyValue(await this.value(t.value, f)) : UNINITIALIZED };
      case "break":
      case "continue":
        return t.op;
      case "noop":
        return undefined;
      case "block": {
        const node = await declare(this, t, f);
        await this.execList(t.body, { ...f, scope: node });
        return undefined;
      }
      case "method":
      case "defName":
      case "alias":
      case "opRegion":
      case "dataRegion":
      case "field":
      case "createField":
      case "mutex":
      case "event":
      case "external":
        await declare(this, t, f);
        return undefined;
      default:
        await this.evalTerm(t, f);
        return undefined;
    }
  }

  // ---------------------------------------------------------------- reading and writing

  private fieldContext(f: Frame): FieldContext {
    return {
      integerWidth: this.integerWidth,
      handler: this.regions,
      step: () => this.step(f.run),
      pciAddressOf: (region) => this.pciAddressOf(region, f),
      readNode: (n) => this.readNode(n, f, true),
      writeNode: (n, v) => this.storeToRef({ kind: "node", node: n }, v, f),
    };
  }

  /** The PCI function a PCI_Config region addresses: _ADR of its device, _BBN/_SEG of its root bridge. */
  private async pciAddressOf(regionNode: NsNode, f: Frame): Promise<PciAddress> {
    const region = regionNode.object as RegionObject;
    if (region.pci) return region.pci;
    const device = regionNode.parent ?? this.namespace.root;
    const intValue = async (owner: NsNode, name: string): Promise<number> => {
      const node = owner.children.get(name);
      if (!node) return 0;
      const v = await this.readNode(followAlias(node), f, true);
      return Number(toInteger(v, this.integerWidth) & 0xffffffffn);
    };
    const adr = await intValue(device, "_ADR");
    let bus = 0;
    let segment = 0;
    for (let n: NsNode | null = device; n; n = n.parent) {
      if (
        n.object.kind === "device" &&
        (await this.deviceIdsUnlocked(n, f.run)).some((id) => PCI_ROOT_IDS.has(id))
      ) {
        bus = (await intValue(n, "_BBN")) & 0xff;
        segment = (await intValue(n, "_SEG")) & 0xffff;
        break;
      }
    }
    region.pci = { segment, bus, device: (adr >>> 16) & 0x1f, function: adr & 0x7 };
    return region.pci;
  }

  /** The value a named object stands for in an expression. */
  async readNode(node: NsNode, f: Frame, callMethods: boolean): Promise<AmlValue> {
    const n = followAlias(node);
    const o = n.object;
    switch (o.kind) {
      case "data":
        return o.value;
      case "field":
        return readFieldUnit(o, this.fieldContext(f));
      case "bufferField":
        return readBufferField(o, this.integerWidth);
      case "method":
        if (!callMethods) return { type: "reference", ref: { kind: "node", node: n } };
        if (o.argCount !== 0)
          fault("AE_AML_OPERAND_TYPE", `${n.path} needs ${o.argCount} arguments`);
        return this.invoke(n, [], f);
      case "external":
        return fault("AE_NOT_FOUND", `${n.path} is declared External but no table defines it`);
      default:
        return { type: "reference", ref: { kind: "node", node: n } };
    }
  }

  private async readRef(ref: AmlRef, f: Frame): Promise<AmlValue> {
    switch (ref.kind) {
      case "node":
        return this.readNode(ref.node, f, false);
      case "local":
      case "arg":
        return ref.slots[ref.index]!;
      case "debug":
        return UNINITIALIZED;
      case "index": {
        const c = ref.container;
        if (c.type === "package") {
          const e = c.elements[ref.index];
          if (e === undefined)
            return fault(
              "AE_AML_PACKAGE_LIMIT",
              `index ${ref.index} is past the package's ${c.elements.length} elements`,
            );
          return e;
        }
        if (c.type === "buffer") {
          const b = c.data[ref.index];
          if (b === undefined)
            return fault(
              "AE_AML_BUFFER_LIMIT",
              `index ${ref.index} is past the buffer's ${c.data.length} bytes`,
            );
          return int(b);
        }
        if (ref.index >= c.value.length)
          return fault("AE_AML_BUFFER_LIMIT", `index ${ref.index} is past the string's end`);
        return int(c.value.charCodeAt(ref.index));
      }
    }
  }

  /** Store semantics (ACPI 6.5 §19.3.5.8): implicit conversion to named objects' types. */
  async storeToRef(ref: AmlRef, v: AmlValue, f: Frame): Promise<void> {
    const w = this.integerWidth;
    switch (ref.kind) {
      case "debug":
        return;
      case "local":
        ref.slots[ref.index] = copyValue(v);
        return;
      case "arg": {
        const cur = ref.slots[ref.index]!;
        if (cur.type === "reference" && cur.ref.kind !== "index")
          return this.storeToRef(cur.ref, v, f);
        ref.slots[ref.index] = copyValue(v);
        return;
      }
      case "index": {
        const c = ref.container;
        if (c.type === "package") {
          if (ref.index >= c.elements.length)
            fault("AE_AML_PACKAGE_LIMIT", `index ${ref.index} is past the package's end`);
          c.elements[ref.index] = copyValue(v);
        } else if (c.type === "buffer") {
          if (ref.index >= c.data.length)
            fault("AE_AML_BUFFER_LIMIT", `index ${ref.index} is past the buffer's end`);
          c.data[ref.index] = Number(toInteger(v, w) & 0xffn);
        } else {
          if (ref.index >= c.value.length)
            fault("AE_AML_BUFFER_LIMIT", `index ${ref.index} is past the string's end`);
          const ch = String.fromCharCode(Number(toInteger(v, w) & 0xffn));
          c.value = c.value.slice(0, ref.index) + ch + c.value.slice(ref.index + 1);
        }
        return;
      }
      case "node": {
        const n = followAlias(ref.node);
        const o = n.object;
        switch (o.kind) {
          case "data": {
            const cur = o.value;
            if (cur.type === "integer") o.value = int(toInteger(v, w));
            else if (cur.type === "string") o.value = str(toStringValue(v, w));
            else if (cur.type === "buffer") cur.data = toBuffer(v, w).slice();
            else o.value = copyValue(v);
            return;
          }
          case "field":
            return writeFieldUnit(o, v, this.fieldContext(f));
          case "bufferField":
            return writeBufferField(o, v, w);
          default:
            return fault("AE_AML_OPERAND_TYPE", `cannot store to ${n.path} (${o.kind})`);
        }
      }
    }
  }

  /** The reference a SuperName or Target term designates. */
  private async refFor(t: Term, f: Frame): Promise<AmlRef> {
    switch (t.op) {
      case "local":
        return { kind: "local", slots: f.locals, index: t.index };
      case "arg":
        return { kind: "arg", slots: f.args, index: t.index };
      case "debug":
        return { kind: "debug" };
      case "name": {
        const n = this.namespace.resolve(f.scope, t.path);
        if (!n) return fault("AE_NOT_FOUND", `${formatNamePath(t.path)} does not exist`, t.at);
        return { kind: "node", node: followAlias(n) };
      }
      case "derefOf": {
        const v = await this.evalTerm(t.operand, f);
        if (v.type === "reference") return v.ref;
        if (v.type === "string")
          return this.refFor({ op: "name", at: t.at, path: parseNamePath(v.value) }, f);
        return fault("AE_AML_OPERAND_TYPE", `DerefOf target is ${describeType(v)}`, t.at);
      }
      default: {
        const v = await this.evalTerm(t, f);
        if (v.type === "reference") return v.ref;
        return fault("AE_AML_OPERAND_TYPE", `${t.op} does not designate a storage location`, t.at);
      }
    }
  }

  private async storeTarget(target: Term | null, v: AmlValue, f: Frame): Promise<void> {
    if (target) await this.storeToRef(await this.refFor(target, f), v, f);
  }

  // ---------------------------------------------------------------- expressions

  /** Evaluates a TermArg to an operand: element references from Index are read through. */
  async value(t: Term, f: Frame): Promise<AmlValue> {
    const v = await this.evalTerm(t, f);
    if (v.type === "reference" && v.ref.kind === "index") return this.readRef(v.ref, f);
    return v;
  }

  async intOf(t: Term, f: Frame): Promise<bigint> {
    const v = await this.value(t, f);
    if (v.type === "uninitialized") fault("AE_AML_UNINITIALIZED", "operand is uninitialized", t.at);
    return toInteger(v, this.integerWidth);
  }

  private truth(b: boolean): AmlValue {
    return int(b ? ones(this.integerWidth) : 0n);
  }

  /** @internal Evaluates one term to a value. */
  async evalTerm(t: Term, f: Frame): Promise<AmlValue> {
    this.step(f.run);
    const w = this.integerWidth;
    const mask = ones(w);
    switch (t.op) {
      case "const":
        return t.value.type === "integer" ? int(t.value.value & mask) : copyValue(t.value);
      case "buffer": {
        const size = Number(await this.intOf(t.size, f));
        checkSize(size, "Buffer");
        const data = new Uint8Array(Math.max(size, t.bytes.length));
        data.set(t.bytes);
        return buf(data);
      }
      case "package": {
        const count = Number(await this.intOf(t.count, f));
        checkSize(count, "Package");
        const elements: AmlValue[] = [];
        for (const e of t.elements.slice(0, count)) {
          if (e.op === "name") {
            const node = this.namespace.resolve(f.scope, e.path);
            elements.push(
              node
                ? { type: "reference", ref: { kind: "node", node: followAlias(node) } }
                : { type: "nameref", path: formatNamePath(e.path), scope: f.scope },
            );
          } else elements.push(copyValue(await this.value(e, f)));
        }
        while (elements.length < count) elements.push(UNINITIALIZED);
        return pkg(elements);
      }
      case "local": {
        const v = f.locals[t.index]!;
        if (v.type === "uninitialized")
          fault("AE_AML_UNINITIALIZED", `Local${t.index} is read before it is set`, t.at);
        return v;
      }
      case "arg": {
        const v = f.args[t.index]!;
        if (v.type === "uninitialized")
          fault("AE_AML_UNINITIALIZED", `Arg${t.index} was not passed`, t.at);
        return v;
      }
      case "debug":
        return { type: "reference", ref: { kind: "debug" } };
      case "name": {
        const n = this.namespace.resolve(f.scope, t.path);
        if (!n) return fault("AE_NOT_FOUND", `${formatNamePath(t.path)} does not exist`, t.at);
        return this.readNode(n, f, true);
      }
      case "call": {
        const n = this.namespace.resolve(f.scope, t.path);
        if (!n)
          return fault("AE_NOT_FOUND", `method ${formatNamePath(t.path)} does not exist`, t.at);
        const target = followAlias(n);
        if (target.object.kind !== "method")
          return fault("AE_NOT_FOUND", `${target.path} is not a loaded method`, t.at);
        const args: AmlValue[] = [];
        for (const a of t.args) args.push(await this.value(a, f));
        return this.invoke(target, args, f);
      }
      case "store": {
        const v = await this.value(t.source, f);
        await this.storeToRef(await this.refFor(t.target, f), v, f);
        return v;
      }
      case "copyObject": {
        const v = await this.value(t.source, f);
        const ref = await this.refFor(t.target, f);
        if (ref.kind === "node") {
          const n = followAlias(ref.node);
          if (
            n.object.kind === "data" ||
            n.object.kind === "field" ||
            n.object.kind === "bufferField"
          ) {
            n.object = { kind: "data", value: copyValue(v) };
          } else fault("AE_AML_OPERAND_TYPE", `CopyObject cannot replace ${n.path}`, t.at);
        } else if (ref.kind === "local" || ref.kind === "arg") ref.slots[ref.index] = copyValue(v);
        else await this.storeToRef(ref, v, f);
        return v;
      }
      case "binary": {
        const a = await this.value(t.a, f);
        const b = await this.value(t.b, f);
        let r: AmlValue;
        if (t.code === Op.Concat) r = concatenate(a, b, w);
        else if (t.code === Op.ConcatRes) r = concatResourceTemplates(a, b, w);
        else {
          const x = toInteger(a, w);
          const y = toInteger(b, w);
          let v: bigint;
          switch (t.code) {
            case Op.Add:
              v = x + y;
              break;
            case Op.Subtract:
              v = x - y;
              break;
            case Op.Multiply:
              v = x * y;
              break;
            case Op.ShiftLeft:
              v = y >= BigInt(w) ? 0n : x << y;
              break;
            case Op.ShiftRight:
              v = y >= BigInt(w) ? 0n : x >> y;
              break;
            case Op.And:
              v = x & y;
              break;
            case Op.Nand:
              v = ~(x & y);
              break;
            case Op.Or:
              v = x | y;
              break;
            case Op.Nor:
              v = ~(x | y);
              break;
            case Op.Xor:
              v = x ^ y;
              break;
            case Op.Mod:
              if (y === 0n) fault("AE_AML_DIVIDE_BY_ZERO", "Mod by zero", t.at);
              v = x % y;
              break;
            default:
              return fault("AE_AML_INTERNAL", `binary opcode 0x${t.code.toString(16)}`, t.at);
          }
          r = int(BigInt.asUintN(w, v));
        }
        await this.storeTarget(t.target, r, f);
        return r;
      }
      case "divide": {
        const x = await this.intOf(t.a, f);
        const y = await this.intOf(t.b, f);
        if (y === 0n) fault("AE_AML_DIVIDE_BY_ZERO", "Divide by zero", t.at);
        const q = int(x / y);
        await this.storeTarget(t.remainder, int(x % y), f);
        await this.storeTarget(t.quotient, q, f);
        return q;
      }
      case "unary": {
        const a = await this.value(t.operand, f);
        let r: AmlValue;
        switch (t.code) {
          case Op.Not:
            r = int(~toInteger(a, w) & mask);
            break;
          case Op.FindSetLeftBit: {
            const x = toInteger(a, w);
            r = int(x === 0n ? 0 : x.toString(2).length);
            break;
          }
          case Op.FindSetRightBit: {
            const x = toInteger(a, w);
            r = int(x === 0n ? 0 : (x & -x).toString(2).length);
            break;
          }
          case Op.ToBuffer:
            r = buf(toBuffer(a, w).slice());
            break;
          case Op.ToDecimalString:
            r = str(decimalString(a, w));
            break;
          case Op.ToHexString:
            r = str(hexString(a, w));
            break;
          case Op.ToInteger:
            r = int(explicitToInteger(a, w));
            break;
          case 0x5b28:
            r = int(fromBcd(toInteger(a, w)) & mask);
            break;
          case 0x5b29:
            r = int(toBcd(toInteger(a, w)) & mask);
            break;
          default:
            return fault("AE_AML_INTERNAL", `unary opcode 0x${t.code.toString(16)}`, t.at);
        }
        await this.storeTarget(t.target, r, f);
        return r;
      }
      case "toString": {
        const a = await this.value(t.operand, f);
        const len = await this.intOf(t.length, f);
        const bytes = toBuffer(a, w);
        let s = "";
        for (let i = 0; i < bytes.length && BigInt(i) < len && bytes[i] !== 0; i++)
          s += String.fromCharCode(bytes[i]!);
        const r = str(s);
        await this.storeTarget(t.target, r, f);
        return r;
      }
      case "mid": {
        const src = await this.value(t.source, f);
        const idx = await this.intOf(t.index, f);
        const len = await this.intOf(t.length, f);
        const r = midOf(src, idx, len, w);
        await this.storeTarget(t.target, r, f);
        return r;
      }
      case "incdec": {
        const ref = await this.refFor(t.target, f);
        const cur = await this.readRef(ref, f);
        const r = int(BigInt.asUintN(w, toInteger(cur, w) + t.delta));
        await this.storeToRef(ref, r, f);
        return r;
      }
      case "logic": {
        const a = await this.value(t.a, f);
        if (t.code === Op.LNot) return this.truth(toInteger(a, w) === 0n);
        const b = await this.value(t.b!, f);
        switch (t.code) {
          case Op.LAnd:
            return this.truth(toInteger(a, w) !== 0n && toInteger(b, w) !== 0n);
          case Op.LOr:
            return this.truth(toInteger(a, w) !== 0n || toInteger(b, w) !== 0n);
          case Op.LEqual:
            return this.truth(compareValues(a, b, w) === 0);
          case Op.LGreater:
            return this.truth(compareValues(a, b, w) > 0);
          case Op.LLess:
            return this.truth(compareValues(a, b, w) < 0);
          default:
            return fault("AE_AML_INTERNAL", `logic opcode 0x${t.code.toString(16)}`, t.at);
        }
      }
      case "refOf":
        return { type: "reference", ref: await this.refFor(t.operand, f) };
      case "condRefOf": {
        let ref: AmlRef | undefined;
        if (t.operand.op === "name") {
          const n = this.namespace.resolve(f.scope, t.operand.path);
          if (n && followAlias(n).object.kind !== "external")
            ref = { kind: "node", node: followAlias(n) };
        } else if (t.operand.op === "local" || t.operand.op === "arg") {
          const slots = t.operand.op === "local" ? f.locals : f.args;
          if (slots[t.operand.index]!.type !== "uninitialized")
            ref = { kind: t.operand.op, slots, index: t.operand.index };
        } else {
          try {
            ref = await this.refFor(t.operand, f);
          } catch {
            ref = undefined;
          }
        }
        if (!ref) return this.truth(false);
        await this.storeTarget(t.target, { type: "reference", ref }, f);
        return this.truth(true);
      }
      case "sizeOf": {
        const v = await this.derefForInspection(t.operand, f);
        if (v.type === "string") return int(v.value.length);
        if (v.type === "buffer") return int(v.data.length);
        if (v.type === "package") return int(v.elements.length);
        return fault(
          "AE_AML_OPERAND_TYPE",
          `SizeOf needs a String, Buffer or Package, got ${describeType(v)}`,
          t.at,
        );
      }
      case "objectType":
        return int(await this.objectTypeOf(t.operand, f));
      case "derefOf": {
        const v = await this.evalTerm(t.operand, f);
        if (v.type === "reference") return this.readRef(v.ref, f);
        if (v.type === "string") {
          const n = this.namespace.resolve(f.scope, parseNamePath(v.value));
          if (!n) return fault("AE_NOT_FOUND", `DerefOf("${v.value}"): no such object`, t.at);
          return this.readNode(n, f, false);
        }
        return fault(
          "AE_AML_OPERAND_TYPE",
          `DerefOf needs a reference, got ${describeType(v)}`,
          t.at,
        );
      }
      case "index": {
        const src = await this.value(t.source, f);
        const idx = await this.intOf(t.index, f);
        if (src.type !== "package" && src.type !== "buffer" && src.type !== "string") {
          return fault(
            "AE_AML_OPERAND_TYPE",
            `Index needs a Package, Buffer or String, got ${describeType(src)}`,
            t.at,
          );
        }
        const size =
          src.type === "package"
            ? src.elements.length
            : src.type === "buffer"
              ? src.data.length
              : src.value.length;
        if (idx >= BigInt(size)) {
          return fault(
            src.type === "package" ? "AE_AML_PACKAGE_LIMIT" : "AE_AML_BUFFER_LIMIT",
            `index ${idx} is past the end (${size} elements)`,
            t.at,
          );
        }
        const r: AmlValue = {
          type: "reference",
          ref: { kind: "index", container: src, index: Number(idx) },
        };
        await this.storeTarget(t.target, r, f);
        return r;
      }
      case "match": {
        const p = await this.value(t.pkg, f);
        if (p.type !== "package")
          return fault(
            "AE_AML_OPERAND_TYPE",
            `Match needs a Package, got ${describeType(p)}`,
            t.at,
          );
        const o1 = await this.value(t.obj1, f);
        const o2 = await this.value(t.obj2, f);
        const start = await this.intOf(t.start, f);
        for (let i = Number(start); i < p.elements.length; i++) {
          this.step(f.run);
          const e = p.elements[i]!;
          if (matchCompare(t.op1, e, o1, w) && matchCompare(t.op2, e, o2, w)) return int(i);
        }
        return int(mask);
      }
      case "notify": {
        const ref = await this.refFor(t.target, f);
        const value = await this.intOf(t.value, f);
        const device = ref.kind === "node" ? ref.node.path : "?";
        this.notifications.push({ device, value });
        if (this.notifications.length > 256) this.notifications.shift();
        this.onNotify?.(device, value);
        return UNINITIALIZED;
      }
      case "sleep":
      case "stall":
        await this.intOf(t.duration, f);
        return UNINITIALIZED;
      case "acquire":
      case "wait": {
        const n = await this.syncObject(t.object, f);
        await this.intOf(t.timeout, f);
        const o = n.object;
        if (t.op === "acquire" && o.kind === "mutex") {
          o.depth++;
          return int(0n);
        }
        if (t.op === "wait" && o.kind === "event") {
          if (o.count > 0) {
            o.count--;
            return int(0n);
          }
          return int(mask);
        }
        return fault(
          "AE_AML_OPERAND_TYPE",
          `${n.path} is not a ${t.op === "acquire" ? "Mutex" : "Event"}`,
          t.at,
        );
      }
      case "release":
      case "signal":
      case "reset": {
        const n = await this.syncObject(t.object, f);
        const o = n.object;
        if (t.op === "release" && o.kind === "mutex") o.depth = Math.max(0, o.depth - 1);
        else if (t.op === "signal" && o.kind === "event") o.count++;
        else if (t.op === "reset" && o.kind === "event") o.count = 0;
        else fault("AE_AML_OPERAND_TYPE", `${n.path} cannot be used with ${t.op}`, t.at);
        return UNINITIALIZED;
      }
      case "timer":
        return int(BigInt.asUintN(w, process.hrtime.bigint() / 100n));
      case "fatal": {
        const arg = await this.intOf(t.arg, f);
        return fault(
          "AE_AML_FATAL",
          `Fatal(type 0x${t.type.toString(16)}, code 0x${t.code.toString(16)}, arg 0x${arg.toString(16)})`,
          t.at,
        );
      }
      case "unsupported":
        return fault("AE_NOT_IMPLEMENTED", `${t.what} is not supported by this interpreter`, t.at);
      default:
        return fault("AE_AML_BAD_OPCODE", `${t.op} cannot be evaluated as a value`, t.at);
    }
  }

  private async syncObject(t: Term, f: Frame): Promise<NsNode> {
    const ref = await this.refFor(t, f);
    if (ref.kind !== "node")
      return fault("AE_AML_OPERAND_TYPE", "synchronisation object must be a name", t.at);
    return ref.node;
  }

  /** The object a SuperName designates, without calling methods or reading fields twice. */
  private async derefForInspection(t: Term, f: Frame): Promise<AmlValue> {
    const ref = await this.refFor(t, f);
    let v = await this.readRef(ref, f);
    for (
      let i = 0;
      i < 8 && v.type === "reference" && (ref.kind === "local" || ref.kind === "arg");
      i++
    )
      v = await this.readRef(v.ref, f);
    return v;
  }

  private async objectTypeOf(t: Term, f: Frame): Promise<number> {
    const ref = await this.refFor(t, f);
    if (ref.kind === "debug") return ObjectTypeCode.DebugObject;
    if (ref.kind === "node") return nodeTypeCode(ref.node.object);
    return valueTypeCode(await this.readRef(ref, f));
  }
}

function freshSlots(n: number): AmlValue[] {
  return Array.from({ length: n }, () => UNINITIALIZED);
}

function valueTypeCode(v: AmlValue): number {
  switch (v.type) {
    case "integer":
      return ObjectTypeCode.Integer;
    case "string":
      return ObjectTypeCode.String;
    case "buffer":
      return ObjectTypeCode.Buffer;
    case "package":
      return ObjectTypeCode.Package;
    case "reference":
      return v.ref.kind === "node" ? nodeTypeCode(v.ref.node.object) : ObjectTypeCode.Uninitialized;
    default:
      return ObjectTypeCode.Uninitialized;
  }
}

export function nodeTypeCode(o: NsObject): number {
  switch (o.kind) {
    case "data":
      return valueTypeCode(o.value);
    case "field":
      return ObjectTypeCode.FieldUnit;
    case "device":
      return ObjectTypeCode.Device;
    case "event":
      return ObjectTypeCode.Event;
    case "method":
      return ObjectTypeCode.Method;
    case "mutex":
      return ObjectTypeCode.Mutex;
    case "region":
      return ObjectTypeCode.OperationRegion;
    case "powerResource":
      return ObjectTypeCode.PowerResource;
    case "processor":
      return ObjectTypeCode.Processor;
    case "thermalZone":
      return ObjectTypeCode.ThermalZone;
    case "bufferField":
      return ObjectTypeCode.BufferField;
    default:
      return ObjectTypeCode.Uninitialized;
  }
}

export type { AmlBuffer };
