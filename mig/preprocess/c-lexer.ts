// The C lexer of the built-in preprocessor: turns one file's text into preprocessing tokens.
// Handles line splices, comments (kept for doc comments), literals and header names, one pass.
import type { PPTokenKind, SourceComment } from "../token.js";
import type { Span } from "../source.js";

/** "header" is the `<file>` of an #include line; it never leaves the preprocessor. */
export type LexKind = PPTokenKind | "header";

/** A lexical problem: file-level (unterminated comment) or carried by one token. */
export interface LexProblem {
  readonly code: "E0001" | "E0002";
  readonly message: string;
  readonly span: Span;
}

export interface LexToken {
  readonly kind: LexKind;
  readonly text: string;
  readonly span: Span;
  /** White space or a comment separated this token from the previous one. */
  readonly spaceBefore: boolean;
  /** First token of a logical line: a `#` here starts a directive. */
  readonly bol: boolean;
  /** Comments since the previous token (comments on directive lines are dropped). */
  readonly comments: readonly SourceComment[];
  /** Reported only when the token is used outside a skipped group. */
  readonly problem?: LexProblem;
}

export interface LexedSource {
  readonly file: string;
  readonly tokens: readonly LexToken[];
  /** Problems reported whenever the file is read (unterminated comments). */
  readonly problems: readonly LexProblem[];
}

const NO_COMMENTS: readonly SourceComment[] = Object.freeze([]);

// Character classes, indexed by char code (ASCII only; anything else is "other").
const IDENT_START = new Uint8Array(128);
const IDENT_PART = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  IDENT_START[c] = /[A-Za-z_]/.test(ch) ? 1 : 0;
  IDENT_PART[c] = /[A-Za-z0-9_]/.test(ch) ? 1 : 0;
}

const PUNCT3 = new Set(["...", "<<=", ">>="]);
const PUNCT2 = new Set([
  "->",
  "++",
  "--",
  "<<",
  ">>",
  "<=",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "*=",
  "/=",
  "%=",
  "+=",
  "-=",
  "&=",
  "^=",
  "|=",
  "##",
]);
const PUNCT1 = new Set("[](){}.&*+-~!/%<>^|?:;=,#".split(""));

const CH_NL = 10;
const CH_BACKSLASH = 92;

/** Removes backslash-newline splices; `map[i]` is the original offset of spliced char i. */
function splice(text: string): { s: string; map?: Int32Array } {
  if (text.indexOf("\\\n") < 0 && text.indexOf("\\\r\n") < 0) return { s: text };
  const parts: string[] = [];
  const map = new Int32Array(text.length + 1);
  let n = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === CH_BACKSLASH) {
      if (text.charCodeAt(i + 1) === CH_NL) {
        i += 2;
        continue;
      }
      if (text.charCodeAt(i + 1) === 13 && text.charCodeAt(i + 2) === CH_NL) {
        i += 3;
        continue;
      }
    }
    parts.push(text[i]!);
    map[n++] = i;
    i++;
  }
  map[n] = text.length;
  return { s: parts.join(""), map: map.subarray(0, n + 1) };
}

/** Offsets of the first character of every line of the original text. */
function lineStarts(text: string): number[] {
  const starts = [0];
  let i = text.indexOf("\n");
  while (i >= 0) {
    starts.push(i + 1);
    i = text.indexOf("\n", i + 1);
  }
  return starts;
}

/** Converts original offsets to 1-based line/column, fast for increasing offsets. */
class PositionMap {
  private hint = 0;
  constructor(private readonly starts: readonly number[]) {}

  lineIndex(off: number): number {
    const st = this.starts;
    let h = this.hint;
    if (st[h]! <= off && (h + 1 >= st.length || st[h + 1]! > off)) return h;
    if (h + 1 < st.length && st[h + 1]! <= off && (h + 2 >= st.length || st[h + 2]! > off)) {
      this.hint = h + 1;
      return h + 1;
    }
    let lo = 0;
    let hi = st.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (st[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    this.hint = lo;
    h = lo;
    return h;
  }

  /** Span of original offsets [start, end). */
  span(file: string, start: number, end: number): Span {
    const l1 = this.lineIndex(start);
    const col = start - this.starts[l1]! + 1;
    const l2 = end - 1 > start ? this.lineIndex(end - 1) : l1;
    const endCol = end - this.starts[l2]! + 1;
    // keep the hint near the start so the next token looks up quickly
    this.hint = l2;
    return { file, line: l1 + 1, col, endLine: l2 + 1, endCol };
  }
}

/** The text of a comment without delimiters and without the ` * ` decoration of each line. */
export function commentText(raw: string, block: boolean): string {
  if (!block) return raw.trim();
  if (raw.indexOf("\n") < 0) return raw.replace(/^\*+/, "").replace(/\*+$/, "").trim();
  const lines = raw.split("\n").map((line, i) => {
    const l = line.replace(/\r$/, "");
    return i === 0 ? l.replace(/^\*+/, "") : l.replace(/^[ \t]*\*(?!\/)[ \t]?/, "");
  });
  while (lines.length > 0 && lines[0]!.trim() === "") lines.shift();
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  // drop the common indentation the remaining lines share
  let indent = Infinity;
  for (const l of lines) {
    if (l.trim() === "") continue;
    const m = /^[ \t]*/.exec(l)!;
    indent = Math.min(indent, m[0].length);
  }
  const cut = indent === Infinity ? 0 : indent;
  return lines
    .map((l) => l.slice(Math.min(cut, l.length - l.trimStart().length)).trimEnd())
    .join("\n");
}

/** Lexes one file. Never throws; problems are recorded as values. */
export function lexSource(text: string, file: string): LexedSource {
  const { s, map } = splice(text);
  const pos = new PositionMap(lineStarts(text));
  const orig = map ? (i: number): number => map[i]! : (i: number): number => i;
  const spanOf = (start: number, end: number): Span =>
    pos.span(file, orig(start), end > start ? orig(end - 1) + 1 : orig(start));

  const tokens: LexToken[] = [];
  const problems: LexProblem[] = [];
  const n = s.length;
  let i = 0;
  let bol = true;
  let space = false;
  let comments: SourceComment[] | undefined;
  let inDirective = false; // between a line-initial `#` and the end of that line
  let directiveWords = 0; // tokens seen after that `#`
  let headerNext = false; // the next token may be a <header-name>

  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === CH_NL) {
      bol = true;
      space = true;
      inDirective = false;
      headerNext = false;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      space = true;
      i++;
      continue;
    }
    if (c === 47 /* / */) {
      const d = s.charCodeAt(i + 1);
      if (d === 42 /* * */) {
        const close = s.indexOf("*/", i + 2);
        const end = close < 0 ? n : close + 2;
        if (close < 0) {
          problems.push({
            code: "E0001",
            message: "unterminated comment: '/*' has no matching '*/'",
            span: spanOf(i, i + 2),
          });
        } else if (!inDirective) {
          (comments ??= []).push({
            text: commentText(s.slice(i + 2, close), true),
            span: spanOf(i, end),
          });
        }
        space = true;
        i = end;
        continue;
      }
      if (d === 47) {
        let end = s.indexOf("\n", i + 2);
        if (end < 0) end = n;
        if (!inDirective) {
          (comments ??= []).push({
            text: commentText(s.slice(i + 2, end), false),
            span: spanOf(i, end),
          });
        }
        space = true;
        i = end;
        continue;
      }
    }

    const start = i;
    let kind: LexKind;
    let problem: LexProblem | undefined;
    if (c < 128 && IDENT_START[c] === 1) {
      i++;
      while (i < n) {
        const e = s.charCodeAt(i);
        if (e < 128 && IDENT_PART[e] === 1) i++;
        else break;
      }
      kind = "identifier";
    } else if ((c >= 48 && c <= 57) || (c === 46 && isDigit(s.charCodeAt(i + 1)))) {
      i++;
      while (i < n) {
        const e = s.charCodeAt(i);
        if ((e === 43 || e === 45) && isExpMark(s.charCodeAt(i - 1))) i++;
        else if (e === 46 || (e < 128 && IDENT_PART[e] === 1)) i++;
        else break;
      }
      kind = "number";
    } else if (c === 34 || c === 39) {
      // "string" or 'char'
      i++;
      let closed = false;
      while (i < n) {
        const e = s.charCodeAt(i);
        if (e === c) {
          i++;
          closed = true;
          break;
        }
        if (e === CH_NL) break;
        if (e === CH_BACKSLASH && i + 1 < n && s.charCodeAt(i + 1) !== CH_NL) i += 2;
        else i++;
      }
      if (i > n) i = n;
      let end = i;
      if (!closed) while (end > start + 1 && isHSpace(s.charCodeAt(end - 1))) end--;
      kind = c === 34 ? "string" : "char";
      if (!closed) {
        const what = c === 34 ? "string literal" : "character constant";
        const q = c === 34 ? '"' : "'";
        problem = {
          code: "E0002",
          message: `unterminated ${what}: missing closing ${q} before the end of the line`,
          span: spanOf(start, end),
        };
      }
      i = end;
    } else if (headerNext && c === 60 /* < */ && headerClose(s, i) > 0) {
      i = headerClose(s, i);
      kind = "header";
    } else {
      kind = "punct";
      const three = s.substr(i, 3);
      if (PUNCT3.has(three)) i += 3;
      else if (PUNCT2.has(three.slice(0, 2))) i += 2;
      else if (PUNCT1.has(s[i]!)) i += 1;
      else {
        kind = "other";
        // keep a surrogate pair together
        i += c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1;
      }
    }

    const text = s.slice(start, i);
    // one object shape for every token keeps the consumers' property accesses monomorphic
    tokens.push({
      kind,
      text,
      span: spanOf(start, i),
      spaceBefore: space,
      bol,
      comments: comments ?? NO_COMMENTS,
      problem,
    });

    if (bol && text === "#") {
      inDirective = true;
      directiveWords = 0;
    } else if (inDirective) {
      directiveWords++;
      headerNext =
        directiveWords === 1 &&
        kind === "identifier" &&
        (text === "include" || text === "include_next" || text === "import");
    }
    bol = false;
    space = false;
    comments = undefined;
  }
  return { file, tokens, problems };
}

/** Offset just past the `>` of a header name starting at `i`, or -1 when the line has none. */
function headerClose(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const e = s.charCodeAt(j);
    if (e === 62) return j + 1;
    if (e === CH_NL) return -1;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isExpMark(c: number): boolean {
  return c === 101 || c === 69 || c === 112 || c === 80; // e E p P
}

function isHSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}
