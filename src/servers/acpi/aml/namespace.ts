// The ACPI namespace: a tree of four-character named nodes rooted at `\`, the objects they
// hold (devices, methods, data, regions, fields, ...) and the AML name search rules.
import { fault } from "../status.js";
import { formatNamePath, parseNamePath, type NamePath } from "./names.js";
import type { Term } from "./ast.js";
import type { AmlBuffer, AmlValue } from "./values.js";

export type NativeMethod = (args: readonly AmlValue[]) => AmlValue;

export interface MethodObject {
  readonly kind: "method";
  readonly argCount: number;
  readonly serialized: boolean;
  readonly syncLevel: number;
  /** The AML of the table that declared the method, and the body's extent in it. */
  readonly code: Uint8Array;
  readonly start: number;
  readonly end: number;
  /** Parsed body, cached after the first call. */
  parsed?: Term[];
  readonly native?: NativeMethod;
}

export interface RegionObject {
  readonly kind: "region";
  readonly space: number;
  readonly offset: bigint;
  readonly length: bigint;
  /** PCI address of a PCI_Config region, worked out from _ADR/_BBN/_SEG on first access. */
  pci?: { segment: number; bus: number; device: number; function: number };
}

/** Access type from FieldFlags bits 0-3: 0 AnyAcc, 1 Byte, 2 Word, 3 DWord, 4 QWord, 5 Buffer. */
export interface FieldCommon {
  readonly bitOffset: number;
  readonly bitLength: number;
  readonly accessType: number;
  /** 0 Preserve, 1 WriteAsOnes, 2 WriteAsZeros. */
  readonly updateRule: number;
}

export type FieldUnitObject = {
  readonly kind: "field";
} & FieldCommon &
  (
    | { readonly flavor: "region"; readonly region: NsNode }
    | {
        readonly flavor: "bank";
        readonly region: NsNode;
        readonly bank: NsNode;
        readonly bankValue: bigint;
      }
    | { readonly flavor: "index"; readonly index: NsNode; readonly data: NsNode }
  );

export interface BufferFieldObject {
  readonly kind: "bufferField";
  readonly buffer: AmlBuffer;
  readonly bitOffset: number;
  readonly bitLength: number;
}

export type NsObject =
  | { readonly kind: "scope" }
  | { readonly kind: "device" }
  | { readonly kind: "thermalZone" }
  | {
      readonly kind: "processor";
      readonly procId: number;
      readonly pblkAddress: number;
      readonly pblkLength: number;
    }
  | { readonly kind: "powerResource"; readonly systemLevel: number; readonly resourceOrder: number }
  | { readonly kind: "data"; value: AmlValue }
  | MethodObject
  | RegionObject
  | FieldUnitObject
  | BufferFieldObject
  | { readonly kind: "mutex"; readonly syncLevel: number; depth: number }
  | { readonly kind: "event"; count: number }
  | { readonly kind: "alias"; readonly target: NsNode }
  | { readonly kind: "external"; readonly objectType: number; readonly argCount: number };

export class NsNode {
  readonly children = new Map<string, NsNode>();

  constructor(
    readonly name: string,
    readonly parent: NsNode | null,
    public object: NsObject,
  ) {}

  /** Absolute path, e.g. "\\_SB_.PCI0". */
  get path(): string {
    const segs: string[] = [];
    for (let n: NsNode | null = this; n && n.parent; n = n.parent) segs.unshift(n.name);
    return "\\" + segs.join(".");
  }
}

const ROOT_SCOPES = ["_GPE", "_PR_", "_SB_", "_SI_", "_TZ_"];

/** Interfaces `\_OSI` answers true for: the newest Windows strings real firmware tests for. */
const OSI_STRINGS = new Set([
  "Windows 2000",
  "Windows 2001",
  "Windows 2001 SP1",
  "Windows 2001.1",
  "Windows 2001 SP2",
  "Windows 2001.1 SP1",
  "Windows 2006",
  "Windows 2006.1",
  "Windows 2006 SP1",
  "Windows 2006 SP2",
  "Windows 2009",
  "Windows 2012",
  "Windows 2013",
  "Windows 2015",
  "Windows 2016",
  "Windows 2017",
  "Windows 2017.2",
  "Windows 2018",
  "Windows 2018.2",
  "Windows 2019",
  "Windows 2020",
  "Windows 2021",
  "Windows 2022",
  "Module Device",
  "Processor Device",
  "3.0 Thermal Model",
  "3.0 _SCP Extensions",
  "Processor Aggregator Device",
  "Extended Address Space Descriptor",
]);

export class Namespace {
  readonly root = new NsNode("\\", null, { kind: "scope" });

  constructor() {
    for (const s of ROOT_SCOPES)
      this.root.children.set(s, new NsNode(s, this.root, { kind: "scope" }));
    this.add(this.root, "_GL_", { kind: "mutex", syncLevel: 0, depth: 0 });
    this.add(this.root, "_OS_", {
      kind: "data",
      value: { type: "string", value: "Microsoft Windows NT" },
    });
    this.add(this.root, "_REV", { kind: "data", value: { type: "integer", value: 2n } });
    const osi: NativeMethod = (args) => {
      const a = args[0];
      const yes = a !== undefined && a.type === "string" && OSI_STRINGS.has(a.value);
      return { type: "integer", value: yes ? 0xffffffffffffffffn : 0n };
    };
    this.add(this.root, "_OSI", {
      kind: "method",
      argCount: 1,
      serialized: false,
      syncLevel: 0,
      code: new Uint8Array(0),
      start: 0,
      end: 0,
      native: osi,
    });
  }

  private add(parent: NsNode, name: string, object: NsObject): NsNode {
    const n = new NsNode(name, parent, object);
    parent.children.set(name, n);
    return n;
  }

  /** The node a path names from `scope`, without the single-segment upward search. */
  nodeAt(scope: NsNode, path: NamePath): NsNode | undefined {
    let n: NsNode | null = path.root ? this.root : scope;
    for (let i = 0; i < path.parents; i++) {
      n = n.parent;
      if (!n) return undefined;
    }
    for (const seg of path.segments) {
      const target: NsNode = followAlias(n);
      const c = target.children.get(seg);
      if (!c) return undefined;
      n = c;
    }
    return n;
  }

  /** ACPI name resolution: a bare single NameSeg is searched for in the scope, then its parents. */
  resolve(scope: NsNode, path: NamePath): NsNode | undefined {
    if (path.root || path.parents > 0 || path.segments.length !== 1)
      return this.nodeAt(scope, path);
    const seg = path.segments[0]!;
    for (let n: NsNode | null = scope; n; n = n.parent) {
      const c = n.children.get(seg);
      if (c) return c;
    }
    return undefined;
  }

  /** Resolves "\\_SB.PCI0._PRT"-style text from the root (or from `scope` for relative text). */
  lookup(text: string, scope: NsNode = this.root): NsNode | undefined {
    return this.resolve(scope, parseNamePath(text));
  }

  /** Creates a node; its parent must exist and the name must be new (AE_ALREADY_EXISTS). */
  create(scope: NsNode, path: NamePath, object: NsObject, offset?: number): NsNode {
    if (path.segments.length === 0)
      fault("AE_AML_BAD_NAME", "cannot create an object with an empty name", offset);
    const parentPath: NamePath = { ...path, segments: path.segments.slice(0, -1) };
    const parent = this.nodeAt(scope, parentPath);
    if (!parent)
      fault("AE_NOT_FOUND", `parent scope of ${formatNamePath(path)} does not exist`, offset);
    const owner = followAlias(parent);
    const name = path.segments[path.segments.length - 1]!;
    const existing = owner.children.get(name);
    if (existing) {
      if (existing.object.kind === "external") {
        existing.object = object;
        return existing;
      }
      fault("AE_ALREADY_EXISTS", `${existing.path} already exists`, offset);
    }
    return this.add(owner, name, object);
  }

  remove(node: NsNode): void {
    if (node.parent && node.parent.children.get(node.name) === node)
      node.parent.children.delete(node.name);
  }

  /** Every node below the root, depth first, parents before children. */
  *walk(from: NsNode = this.root): Generator<NsNode> {
    for (const c of from.children.values()) {
      yield c;
      yield* this.walk(c);
    }
  }
}

export function followAlias(n: NsNode): NsNode {
  let cur = n;
  for (let i = 0; i < 16 && cur.object.kind === "alias"; i++) cur = cur.object.target;
  return cur;
}
