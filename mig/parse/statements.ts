// Splits a file's tokens into statements before parsing, so one bad statement cannot swallow the next:
// a statement ends at ';' outside ( ) and { }, or before a statement keyword that begins a line.
import { KW, STATEMENT_KEYWORDS, siteSpan, type MigToken } from "./tokens.js";

export interface Chunk {
  /** Token indexes [start, end); end includes the closing ';' when terminated. */
  readonly start: number;
  readonly end: number;
  readonly terminated: boolean;
  /** Indexes of '(' '[' '{' still open when the chunk ended, outermost first. */
  readonly unclosed: readonly number[];
}

export interface Split {
  readonly chunks: Chunk[];
  /** Indexes of ')' ']' '}' that close nothing. */
  readonly unmatchedClosers: ReadonlySet<number>;
}

const CLOSER_OF: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const STATEMENT_TYPES = new Set([...STATEMENT_KEYWORDS].map((k) => KW[k as keyof typeof KW]));

function startsLine(tokens: readonly MigToken[], i: number): boolean {
  if (i === 0) return true;
  const a = siteSpan(tokens[i - 1]!.pp);
  const b = siteSpan(tokens[i]!.pp);
  return a.file !== b.file || a.endLine !== b.line;
}

export function splitStatements(tokens: readonly MigToken[]): Split {
  const chunks: Chunk[] = [];
  const unmatchedClosers = new Set<number>();
  let start = 0;
  let stack: number[] = [];
  const close = (end: number, terminated: boolean): void => {
    if (end > start) chunks.push({ start, end, terminated, unclosed: stack });
    start = end;
    stack = [];
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const text = t.pp.kind === "punct" ? t.image : "";
    if (i > start && STATEMENT_TYPES.has(t.tokenType) && startsLine(tokens, i)) close(i, false);
    if (text === ";") {
      const top = stack.length > 0 ? tokens[stack[stack.length - 1]!]!.image : undefined;
      if (top === undefined || top === "[") close(i + 1, true);
    } else if (text in CLOSER_OF) {
      stack.push(i);
    } else if (text === ")" || text === "]" || text === "}") {
      const top = stack.length > 0 ? tokens[stack[stack.length - 1]!]!.image : undefined;
      if (top !== undefined && CLOSER_OF[top] === text) stack.pop();
      else if (!stack.some((s) => CLOSER_OF[tokens[s]!.image] === text)) unmatchedClosers.add(i);
      else {
        // Closes an outer group: the inner ones were left open.
        while (stack.length > 0 && CLOSER_OF[tokens[stack[stack.length - 1]!]!.image] !== text)
          stack.pop();
        stack.pop();
      }
    }
  }
  close(tokens.length, false);
  return { chunks, unmatchedClosers };
}
