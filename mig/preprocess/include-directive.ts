// The operand of an #include line: "FILE", <FILE>, or macros that expand to one of them
// (a computed include). Parsing only; include-resolver.ts finds the file.
import type { Span } from "../source.js";
import { isPunct, type WorkToken } from "./work-token.js";

export interface IncludeTarget {
  readonly name: string;
  /** <FILE>: searched in the -I folders only. */
  readonly angled: boolean;
  /** Tokens after the file name (worth a warning). */
  readonly rest: readonly WorkToken[];
  /** The last token of the file name as written, for the directive's span. */
  readonly last: Span;
}

export type IncludeTargetResult = IncludeTarget | { readonly problem: string; readonly span: Span };

/**
 * Reads the file name from the tokens after `#include` (at least one). `expand` macro-expands
 * a line for the computed form; `directive` names the directive in messages.
 */
export function includeTarget(
  line: readonly WorkToken[],
  expand: (toks: readonly WorkToken[]) => WorkToken[],
  directive: string,
): IncludeTargetResult {
  const first = line[0]!;
  const lastWritten = line[line.length - 1]!.span;
  if (first.kind === "header" || first.kind === "string") {
    return {
      name: first.text.slice(1, -1),
      angled: first.kind === "header",
      rest: line.slice(1),
      last: first.span,
    };
  }
  const toks = expand(line);
  const head = toks[0];
  if (head !== undefined && head.kind === "string") {
    return { name: head.text.slice(1, -1), angled: false, rest: toks.slice(1), last: lastWritten };
  }
  if (head !== undefined && isPunct(head, "<")) {
    const close = toks.findIndex((t) => isPunct(t, ">"));
    if (close < 0) {
      return {
        problem: `missing '>' after ${directive} <`,
        span: { ...first.span, endLine: lastWritten.endLine, endCol: lastWritten.endCol },
      };
    }
    const name = toks
      .slice(1, close)
      .map((t, k) => (k > 0 && t.spaceBefore ? " " : "") + t.text)
      .join("");
    return { name, angled: true, rest: toks.slice(close + 1), last: lastWritten };
  }
  return {
    problem: `${directive} expects "FILE" or <FILE>, found '${first.text}'`,
    span: first.span,
  };
}
