// The parsed form of AML terms that the interpreter executes: one node per AML opcode
// family, each carrying the byte offset it came from for error messages.
import type { NamePath } from "./names.js";
import type { AmlValue } from "./values.js";

export type BlockKind = "scope" | "device" | "thermalZone" | "processor" | "powerResource";

export interface FieldElement {
  readonly name: string;
  readonly bitOffset: number;
  readonly bitLength: number;
  readonly accessType: number;
}

type At = { readonly at: number };

export type Term = At &
  (
    | { readonly op: "const"; readonly value: AmlValue }
    | { readonly op: "buffer"; readonly size: Term; readonly bytes: Uint8Array }
    | { readonly op: "package"; readonly count: Term; readonly elements: readonly Term[] }
    | { readonly op: "local" | "arg"; readonly index: number }
    | { readonly op: "debug" }
    | { readonly op: "name"; readonly path: NamePath }
    | { readonly op: "call"; readonly path: NamePath; readonly args: readonly Term[] }
    | { readonly op: "store" | "copyObject"; readonly source: Term; readonly target: Term }
    | {
        readonly op: "binary";
        readonly code: number;
        readonly a: Term;
        readonly b: Term;
        readonly target: Term | null;
      }
    | {
        readonly op: "divide";
        readonly a: Term;
        readonly b: Term;
        readonly remainder: Term | null;
        readonly quotient: Term | null;
      }
    | {
        readonly op: "unary";
        readonly code: number;
        readonly operand: Term;
        readonly target: Term | null;
      }
    | {
        readonly op: "toString";
        readonly operand: Term;
        readonly length: Term;
        readonly target: Term | null;
      }
    | {
        readonly op: "mid";
        readonly source: Term;
        readonly index: Term;
        readonly length: Term;
        readonly target: Term | null;
      }
    | { readonly op: "incdec"; readonly delta: 1n | -1n; readonly target: Term }
    | { readonly op: "logic"; readonly code: number; readonly a: Term; readonly b: Term | null }
    | { readonly op: "refOf" | "sizeOf" | "objectType" | "derefOf"; readonly operand: Term }
    | { readonly op: "condRefOf"; readonly operand: Term; readonly target: Term | null }
    | {
        readonly op: "index";
        readonly source: Term;
        readonly index: Term;
        readonly target: Term | null;
      }
    | {
        readonly op: "match";
        readonly pkg: Term;
        readonly op1: number;
        readonly obj1: Term;
        readonly op2: number;
        readonly obj2: Term;
        readonly start: Term;
      }
    | { readonly op: "notify"; readonly target: Term; readonly value: Term }
    | { readonly op: "sleep" | "stall"; readonly duration: Term }
    | { readonly op: "acquire" | "wait"; readonly object: Term; readonly timeout: Term }
    | { readonly op: "release" | "signal" | "reset"; readonly object: Term }
    | { readonly op: "timer" }
    | { readonly op: "fatal"; readonly type: number; readonly code: number; readonly arg: Term }
    | { readonly op: "unsupported"; readonly what: string; readonly args: readonly Term[] }
    | {
        readonly op: "if";
        readonly predicate: Term;
        readonly then: readonly Term[];
        readonly otherwise: readonly Term[] | null;
      }
    | { readonly op: "while"; readonly predicate: Term; readonly body: readonly Term[] }
    | { readonly op: "return"; readonly value: Term | null }
    | { readonly op: "break" | "continue" | "noop" }
    // Named objects
    | {
        readonly op: "block";
        readonly kind: BlockKind;
        readonly path: NamePath;
        /** Processor: ProcID, PblkAddr, PblkLen. PowerResource: SystemLevel, ResourceOrder. */
        readonly params: readonly number[];
        /** Parsed body; empty when parsed shallowly, in which case [bodyStart, bodyEnd) holds it. */
        readonly body: readonly Term[];
        readonly bodyStart: number;
        readonly bodyEnd: number;
      }
    | {
        readonly op: "method";
        readonly path: NamePath;
        readonly flags: number;
        readonly bodyStart: number;
        readonly bodyEnd: number;
      }
    | { readonly op: "defName"; readonly path: NamePath; readonly value: Term }
    | { readonly op: "alias"; readonly source: NamePath; readonly alias: NamePath }
    | {
        readonly op: "opRegion";
        readonly path: NamePath;
        readonly space: number;
        readonly offset: Term;
        readonly length: Term;
      }
    | { readonly op: "dataRegion"; readonly path: NamePath; readonly args: readonly Term[] }
    | {
        readonly op: "field";
        readonly flavor: "region" | "index" | "bank";
        /** Region (Field, BankField) or index field (IndexField). */
        readonly first: NamePath;
        /** Data field (IndexField) or bank field (BankField). */
        readonly second: NamePath | null;
        readonly bankValue: Term | null;
        readonly flags: number;
        readonly elements: readonly FieldElement[];
      }
    | {
        readonly op: "createField";
        /** Bits per field for CreateBit/Byte/Word/DWord/QWordField; 0 for CreateField. */
        readonly unit: number;
        readonly source: Term;
        readonly index: Term;
        readonly bits: Term | null;
        readonly path: NamePath;
      }
    | { readonly op: "mutex"; readonly path: NamePath; readonly syncLevel: number }
    | { readonly op: "event"; readonly path: NamePath }
    | {
        readonly op: "external";
        readonly path: NamePath;
        readonly objectType: number;
        readonly argCount: number;
      }
  );

export type TermOf<K extends Term["op"]> = Extract<Term, { op: K }>;
