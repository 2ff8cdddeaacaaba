// Include-guard detection: a file whose whole content is `#ifndef X ... #endif` need not be
// read again once X is defined (std_types.defs is included by every interface).
import type { LexToken } from "./c-lexer.js";

const OPENERS = new Set(["if", "ifdef", "ifndef"]);

function isHash(t: LexToken | undefined): boolean {
  return t !== undefined && t.bol && t.kind === "punct" && t.text === "#";
}

/** The guard macro of a file wrapped in `#ifndef X` ... `#endif` with no #else, or undefined. */
export function includeGuard(tokens: readonly LexToken[]): string | undefined {
  if (!isHash(tokens[0])) return undefined;
  const kw = tokens[1];
  const name = tokens[2];
  if (
    kw?.bol !== false ||
    kw.text !== "ifndef" ||
    name?.bol !== false ||
    name.kind !== "identifier"
  ) {
    return undefined;
  }
  if (tokens[3] !== undefined && !tokens[3].bol) return undefined;
  let depth = 1;
  for (let i = 3; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!isHash(t)) continue;
    const d = tokens[i + 1];
    if (d === undefined || d.bol) continue;
    if (OPENERS.has(d.text)) depth++;
    else if (depth === 1 && (d.text === "else" || d.text.startsWith("elif"))) return undefined;
    else if (d.text === "endif") {
      depth--;
      if (depth === 0) {
        // the matching #endif must end the file (only its own line may follow)
        for (let j = i + 2; j < tokens.length; j++) if (tokens[j]!.bol) return undefined;
        return name.text;
      }
    }
  }
  return undefined;
}
