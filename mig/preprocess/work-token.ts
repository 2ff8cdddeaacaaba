// The preprocessor's working token: a PPToken plus the macro names it may no longer expand
// (its "hide set", after Prosser's algorithm for C macro expansion).
import type { PPToken } from "../token.js";
import type { Span } from "../source.js";
import type { LexKind } from "./c-lexer.js";

export interface WorkToken extends Omit<PPToken, "kind"> {
  readonly kind: LexKind;
  /** Macros this token came out of; it must not expand them again. */
  readonly hide?: ReadonlySet<string>;
}

/** Where a diagnostic about this token should point: the macro invocation, else the token. */
export function whereOf(t: WorkToken): Span {
  return t.provenance.expandedFrom ?? t.span;
}

export function isPunct(t: WorkToken | undefined, text: string): boolean {
  return t !== undefined && t.kind === "punct" && t.text === text;
}

/** Hide-set union; shares the operands when one of them adds nothing. */
export function hideUnion(
  a: ReadonlySet<string> | undefined,
  b: ReadonlySet<string> | undefined,
): ReadonlySet<string> | undefined {
  if (a === undefined || a.size === 0) return b;
  if (b === undefined || b.size === 0) return a;
  if (a === b || contains(a, b)) return a;
  if (contains(b, a)) return b;
  const u = new Set(a);
  for (const x of b) u.add(x);
  return u;
}

function contains(big: ReadonlySet<string>, small: ReadonlySet<string>): boolean {
  if (small.size > big.size) return false;
  for (const x of small) if (!big.has(x)) return false;
  return true;
}

export function hideIntersect(
  a: ReadonlySet<string> | undefined,
  b: ReadonlySet<string> | undefined,
): ReadonlySet<string> | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === b) return a;
  const r = new Set<string>();
  for (const x of a) if (b.has(x)) r.add(x);
  return r.size === 0 ? undefined : r;
}

/** Converts a working token to the PPToken the parser sees (drops the hide set). */
export function toPPToken(t: WorkToken): PPToken {
  return {
    kind: t.kind === "header" ? "string" : t.kind,
    text: t.text,
    span: t.span,
    provenance: t.provenance,
    spaceBefore: t.spaceBefore,
    comments: t.comments,
  };
}
