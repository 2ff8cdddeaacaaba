// The macro table: #define lines parsed into macros, lookup, #undef, redefinition checks.
// Object-like and function-like macros, with variadic `...`/__VA_ARGS__ parameters.
import type { Span } from "../source.js";
import { isPunct, type WorkToken } from "./work-token.js";

export interface Macro {
  readonly name: string;
  /** Parameter names of a function-like macro (`__VA_ARGS__` last when variadic); absent if object-like. */
  readonly params?: readonly string[];
  readonly variadic: boolean;
  readonly body: readonly WorkToken[];
  /** For each body token: the index of the parameter it names, or -1. */
  readonly bodyParam: readonly number[];
  /** The macro name in the #define (or the -D option). */
  readonly span: Span;
}

export interface DefineProblem {
  readonly message: string;
  readonly span: Span;
}

export type DefineResult = { readonly macro: Macro } | { readonly problem: DefineProblem };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isIdentifierName(s: string): boolean {
  return IDENT.test(s);
}

/**
 * Parses the tokens of a #define line after the directive name. `directive` is where to point
 * when the line has no tokens at all.
 */
export function parseDefine(line: readonly WorkToken[], directive: Span): DefineResult {
  const nameTok = line[0];
  if (nameTok === undefined)
    return { problem: { message: "#define needs a macro name", span: directive } };
  if (nameTok.kind !== "identifier") {
    return {
      problem: {
        message: `macro names must be identifiers, not '${nameTok.text}'`,
        span: nameTok.span,
      },
    };
  }
  if (nameTok.text === "defined") {
    return { problem: { message: "'defined' cannot be used as a macro name", span: nameTok.span } };
  }
  let i = 1;
  let params: string[] | undefined;
  let variadic = false;
  const next = line[1];
  if (isPunct(next, "(") && !next!.spaceBefore) {
    params = [];
    i = 2;
    let closed = false;
    for (;;) {
      const t = line[i];
      if (t === undefined) break;
      if (isPunct(t, ")") && params.length === 0) {
        i++;
        closed = true;
        break;
      }
      if (isPunct(t, "...")) {
        variadic = true;
        params.push("__VA_ARGS__");
        i++;
        if (!isPunct(line[i], ")")) {
          const at = line[i] ?? t;
          return { problem: { message: "'...' must be the last macro parameter", span: at.span } };
        }
        i++;
        closed = true;
        break;
      }
      if (t.kind !== "identifier") {
        return {
          problem: {
            message: `expected a parameter name in macro '${nameTok.text}', found '${t.text}'`,
            span: t.span,
          },
        };
      }
      if (t.text === "__VA_ARGS__") {
        return {
          problem: { message: "__VA_ARGS__ can only name the '...' parameter", span: t.span },
        };
      }
      if (params.includes(t.text)) {
        return { problem: { message: `duplicate macro parameter '${t.text}'`, span: t.span } };
      }
      params.push(t.text);
      i++;
      const sep = line[i];
      if (isPunct(sep, ",")) {
        i++;
        continue;
      }
      if (isPunct(sep, ")")) {
        i++;
        closed = true;
        break;
      }
      if (sep === undefined) break;
      return {
        problem: {
          message: `expected ',' or ')' in the parameter list of '${nameTok.text}', found '${sep.text}'`,
          span: sep.span,
        },
      };
    }
    if (!closed) {
      return {
        problem: {
          message: `missing ')' in the parameter list of macro '${nameTok.text}'`,
          span: nameTok.span,
        },
      };
    }
  }

  const body: WorkToken[] = [];
  const bodyParam: number[] = [];
  for (let j = i; j < line.length; j++) {
    const t = line[j]!;
    const stripped: WorkToken = {
      ...t,
      spaceBefore: j === i ? false : t.spaceBefore,
      comments: [],
    };
    body.push(stripped);
    bodyParam.push(params !== undefined && t.kind === "identifier" ? params.indexOf(t.text) : -1);
  }
  if (body.length > 0) {
    if (isPunct(body[0], "##")) {
      return { problem: { message: "'##' cannot begin a macro body", span: body[0]!.span } };
    }
    if (isPunct(body[body.length - 1], "##")) {
      return {
        problem: { message: "'##' cannot end a macro body", span: body[body.length - 1]!.span },
      };
    }
  }
  if (params !== undefined) {
    for (let j = 0; j < body.length; j++) {
      if (isPunct(body[j], "#") && (bodyParam[j + 1] ?? -1) < 0) {
        return {
          problem: { message: "'#' is not followed by a macro parameter", span: body[j]!.span },
        };
      }
    }
  }
  const macro: Macro = params
    ? { name: nameTok.text, params, variadic, body, bodyParam, span: nameTok.span }
    : { name: nameTok.text, variadic, body, bodyParam, span: nameTok.span };
  return { macro };
}

/** Two definitions are the same when parameters and body tokens (and their spacing) match. */
export function sameDefinition(a: Macro, b: Macro): boolean {
  if ((a.params === undefined) !== (b.params === undefined)) return false;
  if (a.params && b.params) {
    if (a.params.length !== b.params.length || a.variadic !== b.variadic) return false;
    for (let i = 0; i < a.params.length; i++) if (a.params[i] !== b.params[i]) return false;
  }
  if (a.body.length !== b.body.length) return false;
  for (let i = 0; i < a.body.length; i++) {
    const x = a.body[i]!;
    const y = b.body[i]!;
    if (x.text !== y.text || (i > 0 && x.spaceBefore !== y.spaceBefore)) return false;
  }
  return true;
}

export class MacroTable {
  private readonly macros = new Map<string, Macro>();

  get(name: string): Macro | undefined {
    return this.macros.get(name);
  }

  has(name: string): boolean {
    return this.macros.has(name);
  }

  /** Defines a macro; returns the previous, different definition when it replaces one. */
  define(m: Macro): Macro | undefined {
    const old = this.macros.get(m.name);
    this.macros.set(m.name, m);
    return old !== undefined && !sameDefinition(old, m) ? old : undefined;
  }

  undefine(name: string): void {
    this.macros.delete(name);
  }

  get size(): number {
    return this.macros.size;
  }
}
