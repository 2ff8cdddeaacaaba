// Parses AML byte code into Terms. Method invocations need their argument counts, so names
// are looked up in the namespace as parsing goes, from the scope the code runs in.
import { fault } from "../status.js";
import { isNameStringStart, type NamePath } from "./names.js";
import { followAlias, type Namespace, type NsNode } from "./namespace.js";
import { ExtOp, Op } from "./opcodes.js";
import { AmlReader } from "./reader.js";
import type { BlockKind, FieldElement, Term } from "./ast.js";
import { int, str } from "./values.js";

/** Value the Revision opcode returns: the AML interpreter's version, in ACPICA's date style. */
export const INTERPRETER_REVISION = 0x20261126n;

const MAX_NESTING = 128;

/** Opcodes that produce no value and may not appear where a TermArg is required. */
const NOT_VALUES = new Set<Term["op"]>([
  "block",
  "method",
  "defName",
  "alias",
  "opRegion",
  "dataRegion",
  "field",
  "createField",
  "mutex",
  "event",
  "external",
  "if",
  "while",
  "return",
  "break",
  "continue",
  "noop",
]);

export class AmlParser {
  private depth = 0;

  constructor(
    readonly r: AmlReader,
    private readonly ns: Namespace,
    private scope: NsNode,
  ) {}

  /** Parses a TermList up to `end`. */
  termList(end: number): Term[] {
    return this.within(end, () => {
      const out: Term[] = [];
      while (this.r.pos < end) out.push(this.term(false));
      return out;
    });
  }

  /** Runs `fn` with the reader's end narrowed to `end`, so nothing inside can read past it. */
  private within<T>(end: number, fn: () => T): T {
    const saved = this.r.end;
    if (end > saved) fault("AE_AML_PARSE", "object runs past its enclosing object", this.r.pos);
    this.r.end = end;
    try {
      return fn();
    } finally {
      this.r.end = saved;
    }
  }

  /**
   * One TermObj. With `shallow`, the bodies of Scope, Device, Processor, PowerResource and
   * ThermalZone are left unparsed (the loader walks them itself, creating names as it goes).
   */
  term(shallow: boolean): Term {
    if (++this.depth > MAX_NESTING) {
      this.depth = 0;
      fault("AE_AML_NESTING", `AML nests deeper than ${MAX_NESTING} levels`, this.r.pos);
    }
    try {
      return this.parseOp(shallow);
    } finally {
      this.depth--;
    }
  }

  termArg(): Term {
    const at = this.r.pos;
    const t = this.term(false);
    if (NOT_VALUES.has(t.op))
      fault("AE_AML_BAD_OPCODE", `${t.op} used where a value is required`, at);
    return t;
  }

  /** SuperName: a name (a method call only when `allowCall`), Local, Arg, Debug or a reference opcode. */
  superName(allowCall: boolean): Term {
    const b = this.r.peek();
    if (b !== undefined && isNameStringStart(b)) return this.nameTerm(this.r.pos, allowCall);
    if (b === 0x00) fault("AE_AML_PARSE", "NullName where a SuperName is required", this.r.pos);
    const t = this.termArg();
    switch (t.op) {
      case "local":
      case "arg":
      case "debug":
      case "refOf":
      case "derefOf":
      case "index":
      case "call":
      case "name":
        return t;
      default:
        return fault("AE_AML_OPERAND_TYPE", `${t.op} cannot be used as a SuperName`, t.at);
    }
  }

  /** Target: a SuperName, or the NullName (0x00) for "no target". */
  target(): Term | null {
    if (this.r.peek() === 0x00) {
      this.r.pos++;
      return null;
    }
    return this.superName(true);
  }

  private argCountFor(path: NamePath): number | undefined {
    if (path.segments.length === 0) return undefined;
    const node = this.ns.resolve(this.scope, path);
    if (!node) return undefined;
    const o = followAlias(node).object;
    if (o.kind === "method") return o.argCount;
    if (o.kind === "external" && o.objectType === 8) return o.argCount;
    return undefined;
  }

  private nameTerm(at: number, allowCall: boolean): Term {
    const path = this.r.nameString();
    if (allowCall) {
      const n = this.argCountFor(path);
      if (n !== undefined) {
        const args: Term[] = [];
        for (let i = 0; i < n; i++) args.push(this.termArg());
        return { op: "call", at, path, args };
      }
    }
    return { op: "name", at, path };
  }

  private packageElements(end: number): Term[] {
    return this.within(end, () => {
      const out: Term[] = [];
      while (this.r.pos < end) {
        const b = this.r.peek()!;
        if (isNameStringStart(b))
          out.push({ op: "name", at: this.r.pos, path: this.r.nameString() });
        else out.push(this.termArg());
      }
      return out;
    });
  }

  private fieldList(end: number, flags: number): FieldElement[] {
    return this.within(end, () => this.fieldElements(end, flags));
  }

  private fieldElements(end: number, flags: number): FieldElement[] {
    const r = this.r;
    const out: FieldElement[] = [];
    let bit = 0;
    let access = flags & 0x0f;
    while (r.pos < end) {
      const b = r.peek()!;
      if (b === 0x00) {
        r.pos++;
        bit += r.pkgLengthValue();
      } else if (b === 0x01) {
        r.pos++;
        access = r.byte() & 0x0f;
        r.byte();
      } else if (b === 0x02) {
        r.pos++;
        if (r.peek() === Op.Buffer) this.termArg();
        else r.nameString();
      } else if (b === 0x03) {
        r.pos++;
        access = r.byte() & 0x0f;
        r.byte();
        r.byte();
      } else {
        const name = r.nameSeg();
        const len = r.pkgLengthValue();
        out.push({ name, bitOffset: bit, bitLength: len, accessType: access });
        bit += len;
      }
      if (bit > 0xffffffff) fault("AE_AML_PARSE", "field list longer than 2^32 bits", r.pos);
    }
    return out;
  }

  private block(
    at: number,
    kind: BlockKind,
    shallow: boolean,
    params: (r: AmlReader) => number[],
  ): Term {
    const r = this.r;
    const end = r.pkgEnd();
    const [path, p] = this.within(end, () => [r.nameString(), params(r)] as const);
    const bodyStart = r.pos;
    if (shallow) {
      r.pos = end;
      return { op: "block", at, kind, path, params: p, body: [], bodyStart, bodyEnd: end };
    }
    const saved = this.scope;
    const node = this.ns.nodeAt(this.scope, path);
    if (node) this.scope = node;
    try {
      const body = this.termList(end);
      return { op: "block", at, kind, path, params: p, body, bodyStart, bodyEnd: end };
    } finally {
      this.scope = saved;
    }
  }

  private parseOp(shallow: boolean): Term {
    const r = this.r;
    const at = r.pos;
    const b = r.byte();
    switch (b) {
      case Op.Zero:
        return { op: "const", at, value: int(0n) };
      case Op.One:
        return { op: "const", at, value: int(1n) };
      case Op.Ones:
        return { op: "const", at, value: int(0xffffffffffffffffn) };
      case Op.BytePrefix:
        return { op: "const", at, value: int(r.byte()) };
      case Op.WordPrefix:
        return { op: "const", at, value: int(r.word()) };
      case Op.DWordPrefix:
        return { op: "const", at, value: int(r.dword()) };
      case Op.QWordPrefix:
        return { op: "const", at, value: int(r.qword()) };
      case Op.StringPrefix:
        return { op: "const", at, value: str(r.asciiz()) };
      case Op.Alias: {
        const source = r.nameString();
        return { op: "alias", at, source, alias: r.nameString() };
      }
      case Op.Name: {
        const path = r.nameString();
        return { op: "defName", at, path, value: this.termArg() };
      }
      case Op.Scope:
        return this.block(at, "scope", shallow, () => []);
      case Op.Buffer: {
        const end = r.pkgEnd();
        const size = this.within(end, () => this.termArg());
        const bytes = r.bytes.slice(r.pos, end);
        r.pos = end;
        return { op: "buffer", at, size, bytes };
      }
      case Op.Package: {
        const end = r.pkgEnd();
        const count: Term = {
          op: "const",
          at: r.pos,
          value: int(this.within(end, () => r.byte())),
        };
        return { op: "package", at, count, elements: this.packageElements(end) };
      }
      case Op.VarPackage: {
        const end = r.pkgEnd();
        const count = this.within(end, () => this.termArg());
        return { op: "package", at, count, elements: this.packageElements(end) };
      }
      case Op.Method: {
        const end = r.pkgEnd();
        const [path, flags] = this.within(end, () => [r.nameString(), r.byte()] as const);
        const bodyStart = r.pos;
        r.pos = end;
        return { op: "method", at, path, flags, bodyStart, bodyEnd: end };
      }
      case Op.External: {
        const path = r.nameString();
        const objectType = r.byte();
        return { op: "external", at, path, objectType, argCount: r.byte() & 7 };
      }
      case Op.Store:
      case Op.CopyObject: {
        const source = this.termArg();
        return {
          op: b === Op.Store ? "store" : "copyObject",
          at,
          source,
          target: this.superName(true),
        };
      }
      case Op.RefOf:
        return { op: "refOf", at, operand: this.superName(false) };
      case Op.Add:
      case Op.Concat:
      case Op.Subtract:
      case Op.Multiply:
      case Op.ShiftLeft:
      case Op.ShiftRight:
      case Op.And:
      case Op.Nand:
      case Op.Or:
      case Op.Nor:
      case Op.Xor:
      case Op.ConcatRes:
      case Op.Mod: {
        const a = this.termArg();
        const c = this.termArg();
        return { op: "binary", at, code: b, a, b: c, target: this.target() };
      }
      case Op.Increment:
      case Op.Decrement:
        return {
          op: "incdec",
          at,
          delta: b === Op.Increment ? 1n : -1n,
          target: this.superName(true),
        };
      case Op.Divide: {
        const a = this.termArg();
        const d = this.termArg();
        const remainder = this.target();
        return { op: "divide", at, a, b: d, remainder, quotient: this.target() };
      }
      case Op.Not:
      case Op.FindSetLeftBit:
      case Op.FindSetRightBit:
      case Op.ToBuffer:
      case Op.ToDecimalString:
      case Op.ToHexString:
      case Op.ToInteger: {
        const operand = this.termArg();
        return { op: "unary", at, code: b, operand, target: this.target() };
      }
      case Op.DerefOf:
        return { op: "derefOf", at, operand: this.termArg() };
      case Op.Notify: {
        const target = this.superName(false);
        return { op: "notify", at, target, value: this.termArg() };
      }
      case Op.SizeOf:
        return { op: "sizeOf", at, operand: this.superName(false) };
      case Op.ObjectType:
        return { op: "objectType", at, operand: this.superName(false) };
      case Op.Index: {
        const source = this.termArg();
        const index = this.termArg();
        return { op: "index", at, source, index, target: this.target() };
      }
      case Op.Match: {
        const p = this.termArg();
        const op1 = r.byte();
        const obj1 = this.termArg();
        const op2 = r.byte();
        const obj2 = this.termArg();
        return { op: "match", at, pkg: p, op1, obj1, op2, obj2, start: this.termArg() };
      }
      case Op.CreateBitField:
      case Op.CreateByteField:
      case Op.CreateWordField:
      case Op.CreateDWordField:
      case Op.CreateQWordField: {
        const unit = {
          [Op.CreateBitField]: 1,
          [Op.CreateByteField]: 8,
          [Op.CreateWordField]: 16,
          [Op.CreateDWordField]: 32,
          [Op.CreateQWordField]: 64,
        }[b];
        const source = this.termArg();
        const index = this.termArg();
        return { op: "createField", at, unit, source, index, bits: null, path: r.nameString() };
      }
      case Op.LAnd:
      case Op.LOr:
      case Op.LEqual:
      case Op.LGreater:
      case Op.LLess: {
        const a = this.termArg();
        return { op: "logic", at, code: b, a, b: this.termArg() };
      }
      case Op.LNot:
        return { op: "logic", at, code: b, a: this.termArg(), b: null };
      case Op.ToString: {
        const operand = this.termArg();
        const length = this.termArg();
        return { op: "toString", at, operand, length, target: this.target() };
      }
      case Op.Mid: {
        const source = this.termArg();
        const index = this.termArg();
        const length = this.termArg();
        return { op: "mid", at, source, index, length, target: this.target() };
      }
      case Op.Continue:
        return { op: "continue", at };
      case Op.Break:
        return { op: "break", at };
      case Op.Noop:
      case Op.BreakPoint:
        return { op: "noop", at };
      case Op.If: {
        const end = r.pkgEnd();
        const predicate = this.within(end, () => this.termArg());
        const then = this.termList(end);
        let otherwise: Term[] | null = null;
        if (r.peek() === Op.Else) {
          r.pos++;
          const elseEnd = r.pkgEnd();
          otherwise = this.termList(elseEnd);
        }
        return { op: "if", at, predicate, then, otherwise };
      }
      case Op.Else: {
        // An Else with no If before it: nothing can select it, so it is skipped.
        r.pos = r.pkgEnd();
        return { op: "noop", at };
      }
      case Op.While: {
        const end = r.pkgEnd();
        const predicate = this.within(end, () => this.termArg());
        return { op: "while", at, predicate, body: this.termList(end) };
      }
      case Op.Return:
        return { op: "return", at, value: r.atEnd ? null : this.termArg() };
      case Op.ExtPrefix:
        return this.parseExtOp(at, shallow);
      default:
        if (b >= Op.Local0 && b <= Op.Local7) return { op: "local", at, index: b - Op.Local0 };
        if (b >= Op.Arg0 && b <= Op.Arg6) return { op: "arg", at, index: b - Op.Arg0 };
        if (isNameStringStart(b)) {
          r.pos = at;
          return this.nameTerm(at, true);
        }
        return fault(
          "AE_AML_BAD_OPCODE",
          `unknown AML opcode 0x${b.toString(16).padStart(2, "0")}`,
          at,
        );
    }
  }

  private parseExtOp(at: number, shallow: boolean): Term {
    const r = this.r;
    const b = r.byte();
    switch (b) {
      case ExtOp.Mutex: {
        const path = r.nameString();
        return { op: "mutex", at, path, syncLevel: r.byte() & 0x0f };
      }
      case ExtOp.Event:
        return { op: "event", at, path: r.nameString() };
      case ExtOp.CondRefOf: {
        const operand = this.superName(false);
        return { op: "condRefOf", at, operand, target: this.target() };
      }
      case ExtOp.CreateField: {
        const source = this.termArg();
        const index = this.termArg();
        const bits = this.termArg();
        return { op: "createField", at, unit: 0, source, index, bits, path: r.nameString() };
      }
      case ExtOp.LoadTable: {
        const args: Term[] = [];
        for (let i = 0; i < 6; i++) args.push(this.termArg());
        return { op: "unsupported", at, what: "LoadTable", args };
      }
      case ExtOp.Load: {
        r.nameString();
        const t = this.target();
        return { op: "unsupported", at, what: "Load", args: t ? [t] : [] };
      }
      case ExtOp.Unload:
        return { op: "unsupported", at, what: "Unload", args: [this.superName(false)] };
      case ExtOp.Stall:
        return { op: "stall", at, duration: this.termArg() };
      case ExtOp.Sleep:
        return { op: "sleep", at, duration: this.termArg() };
      case ExtOp.Acquire: {
        const object = this.superName(false);
        const t = r.pos;
        return { op: "acquire", at, object, timeout: { op: "const", at: t, value: int(r.word()) } };
      }
      case ExtOp.Wait: {
        const object = this.superName(false);
        return { op: "wait", at, object, timeout: this.termArg() };
      }
      case ExtOp.Signal:
        return { op: "signal", at, object: this.superName(false) };
      case ExtOp.Reset:
        return { op: "reset", at, object: this.superName(false) };
      case ExtOp.Release:
        return { op: "release", at, object: this.superName(false) };
      case ExtOp.FromBCD:
      case ExtOp.ToBCD: {
        const operand = this.termArg();
        return { op: "unary", at, code: 0x5b00 | b, operand, target: this.target() };
      }
      case ExtOp.Revision:
        return { op: "const", at, value: int(INTERPRETER_REVISION) };
      case ExtOp.Debug:
        return { op: "debug", at };
      case ExtOp.Fatal: {
        const type = r.byte();
        const code = r.dword();
        return { op: "fatal", at, type, code, arg: this.termArg() };
      }
      case ExtOp.Timer:
        return { op: "timer", at };
      case ExtOp.OpRegion: {
        const path = r.nameString();
        const space = r.byte();
        const offset = this.termArg();
        return { op: "opRegion", at, path, space, offset, length: this.termArg() };
      }
      case ExtOp.DataRegion: {
        const path = r.nameString();
        return {
          op: "dataRegion",
          at,
          path,
          args: [this.termArg(), this.termArg(), this.termArg()],
        };
      }
      case ExtOp.Field: {
        const end = r.pkgEnd();
        const [first, flags] = this.within(end, () => [r.nameString(), r.byte()] as const);
        const elements = this.fieldList(end, flags);
        return {
          op: "field",
          at,
          flavor: "region",
          first,
          second: null,
          bankValue: null,
          flags,
          elements,
        };
      }
      case ExtOp.IndexField: {
        const end = r.pkgEnd();
        const [first, second, flags] = this.within(
          end,
          () => [r.nameString(), r.nameString(), r.byte()] as const,
        );
        const elements = this.fieldList(end, flags);
        return {
          op: "field",
          at,
          flavor: "index",
          first,
          second,
          bankValue: null,
          flags,
          elements,
        };
      }
      case ExtOp.BankField: {
        const end = r.pkgEnd();
        const [first, second, bankValue, flags] = this.within(
          end,
          () => [r.nameString(), r.nameString(), this.termArg(), r.byte()] as const,
        );
        const elements = this.fieldList(end, flags);
        return { op: "field", at, flavor: "bank", first, second, bankValue, flags, elements };
      }
      case ExtOp.Device:
        return this.block(at, "device", shallow, () => []);
      case ExtOp.ThermalZone:
        return this.block(at, "thermalZone", shallow, () => []);
      case ExtOp.Processor:
        return this.block(at, "processor", shallow, (rd) => [rd.byte(), rd.dword(), rd.byte()]);
      case ExtOp.PowerRes:
        return this.block(at, "powerResource", shallow, (rd) => [rd.byte(), rd.word()]);
      default:
        return fault(
          "AE_AML_BAD_OPCODE",
          `unknown AML opcode 0x5b 0x${b.toString(16).padStart(2, "0")}`,
          at,
        );
    }
  }
}
