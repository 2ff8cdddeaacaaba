// The MIG token vocabulary for chevrotain, and the classification of preprocessed C tokens into it.
// Keywords are case-insensitive (as GNU MIG's lexer); MACH_MSG_TYPE_* names are case-sensitive.
import { createToken, createTokenInstance, EOF, type IToken, type TokenType } from "chevrotain";
import type { PPToken } from "../token.js";
import type { Span } from "../source.js";
import { SYMBOLIC_IPC_TYPES } from "../ast.js";

/** A chevrotain token that remembers the preprocessed token it came from. */
export interface MigToken extends IToken {
  readonly pp: PPToken;
  /** Index of pp in the file's token array. */
  readonly index: number;
}

export function isMigToken(t: IToken): t is MigToken {
  return (t as Partial<MigToken>).pp !== undefined;
}

// Categories -----------------------------------------------------------------------------------

/** Anything a `waittime`/`msgoption` value or an import file name may be made of. */
export const Word = createToken({ name: "Word", pattern: /NA/ });
/** Every reserved word (used to say "X is a keyword" in errors). */
export const Keyword = createToken({ name: "Keyword", pattern: /NA/, categories: [Word] });
/** Every token except `>` `;` and EOF: the pieces of `<file.h>`. */
export const HeaderPart = createToken({ name: "HeaderPart", pattern: /NA/ });

// Leaves -----------------------------------------------------------------------------------------

export const Identifier = createToken({
  name: "Identifier",
  pattern: /NA/,
  categories: [Word, HeaderPart],
});
export const NumberTok = createToken({
  name: "Number",
  pattern: /NA/,
  categories: [Word, HeaderPart],
});
/** A number token whose text is not a valid C integer literal. */
export const BadNumber = createToken({
  name: "BadNumber",
  pattern: /NA/,
  categories: [HeaderPart],
});
export const StringTok = createToken({ name: "String", pattern: /NA/, categories: [HeaderPart] });
export const SymbolicType = createToken({
  name: "SymbolicType",
  pattern: /NA/,
  categories: [HeaderPart],
});
/** A character or char literal that MIG has no use for. */
export const Stray = createToken({ name: "Stray", pattern: /NA/, categories: [HeaderPart] });

// Punctuation ------------------------------------------------------------------------------------

function punct(name: string, label: string, header = true): TokenType {
  return createToken({
    name,
    pattern: /NA/,
    label: `'${label}'`,
    categories: header ? [HeaderPart] : [],
  });
}

export const Semi = punct("Semi", ";", false);
export const Colon = punct("Colon", ":");
export const Comma = punct("Comma", ",");
export const Plus = punct("Plus", "+");
export const Minus = punct("Minus", "-");
export const Star = punct("Star", "*");
export const Slash = punct("Slash", "/");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const Equal = punct("Equal", "=");
export const Caret = punct("Caret", "^");
export const LBrack = punct("LBrack", "[");
export const RBrack = punct("RBrack", "]");
export const LBrace = punct("LBrace", "{");
export const RBrace = punct("RBrace", "}");
export const Bar = punct("Bar", "|");
export const LAngle = punct("LAngle", "<");
export const RAngle = punct("RAngle", ">", false);
/** Other C punctuators (`.`, `~`, `&`, ...): only meaningful inside `<file.h>`. */
export const OtherPunct = punct("OtherPunct", "punctuator");

const PUNCT: Record<string, TokenType> = {
  ";": Semi,
  ":": Colon,
  ",": Comma,
  "+": Plus,
  "-": Minus,
  "*": Star,
  "/": Slash,
  "(": LParen,
  ")": RParen,
  "=": Equal,
  "^": Caret,
  "[": LBrack,
  "]": RBrack,
  "{": LBrace,
  "}": RBrace,
  "|": Bar,
  "<": LAngle,
  ">": RAngle,
};

// Keywords -----------------------------------------------------------------------------------------

function keyword(word: string): TokenType {
  return createToken({
    name: `kw_${word}`,
    pattern: /NA/,
    label: `'${word}'`,
    categories: [Keyword, Word, HeaderPart],
  });
}

export const KW = {
  routine: keyword("routine"),
  simpleroutine: keyword("simpleroutine"),
  subsystem: keyword("subsystem"),
  msgoption: keyword("msgoption"),
  msgseqno: keyword("msgseqno"),
  waittime: keyword("waittime"),
  nowaittime: keyword("nowaittime"),
  in: keyword("in"),
  out: keyword("out"),
  inout: keyword("inout"),
  requestport: keyword("requestport"),
  replyport: keyword("replyport"),
  ureplyport: keyword("ureplyport"),
  sreplyport: keyword("sreplyport"),
  array: keyword("array"),
  of: keyword("of"),
  serverprefix: keyword("serverprefix"),
  userprefix: keyword("userprefix"),
  serverdemux: keyword("serverdemux"),
  rcsid: keyword("rcsid"),
  import: keyword("import"),
  uimport: keyword("uimport"),
  simport: keyword("simport"),
  type: keyword("type"),
  kernelserver: keyword("kernelserver"),
  kerneluser: keyword("kerneluser"),
  skip: keyword("skip"),
  struct: keyword("struct"),
  intran: keyword("intran"),
  intranpayload: keyword("intranpayload"),
  outtran: keyword("outtran"),
  destructor: keyword("destructor"),
  ctype: keyword("ctype"),
  cusertype: keyword("cusertype"),
  cservertype: keyword("cservertype"),
  c_string: keyword("c_string"),
  islong: keyword("islong"),
  isnotlong: keyword("isnotlong"),
  dealloc: keyword("dealloc"),
  notdealloc: keyword("notdealloc"),
  servercopy: keyword("servercopy"),
  countinout: keyword("countinout"),
  retcode: keyword("retcode"),
  polymorphic: keyword("polymorphic"),
} as const;

export type KeywordName = keyof typeof KW;

const KEYWORDS = new Map<string, TokenType>(Object.entries(KW));

/** Lower-cased keyword name of a reserved word, or undefined. */
export function keywordOf(text: string): KeywordName | undefined {
  const lower = text.toLowerCase();
  return KEYWORDS.has(lower) ? (lower as KeywordName) : undefined;
}

/** Keywords that only ever begin a statement: a line starting with one ends a runaway statement. */
export const STATEMENT_KEYWORDS: ReadonlySet<string> = new Set([
  "routine",
  "simpleroutine",
  "subsystem",
  "type",
  "skip",
  "import",
  "uimport",
  "simport",
  "serverprefix",
  "userprefix",
  "serverdemux",
  "rcsid",
  "nowaittime",
]);

const SYMBOLIC = new Set<string>(SYMBOLIC_IPC_TYPES.filter((n) => n !== "polymorphic"));

export const ALL_TOKEN_TYPES: TokenType[] = [
  Word,
  Keyword,
  HeaderPart,
  Identifier,
  NumberTok,
  BadNumber,
  StringTok,
  SymbolicType,
  Stray,
  ...Object.values(PUNCT),
  OtherPunct,
  ...Object.values(KW),
];

// Integer literals -------------------------------------------------------------------------------

/** The value of a C integer literal (decimal, 0x hex, 0 octal, u/l suffixes), or undefined. */
export function integerValue(text: string): number | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uU][lL]{0,2}|[lL]{1,2}[uU]?)?$/.exec(text);
  if (!m) return undefined;
  const digits = m[1]!;
  const v = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith("0")
      ? parseInt(digits.slice(1), 8)
      : parseInt(digits, 10);
  return Number.isSafeInteger(v) && v <= 0xffffffff ? v : undefined;
}

// Classification ---------------------------------------------------------------------------------

/** Where diagnostics and AST nodes point for a token: the macro invocation when it came from one. */
export function siteSpan(pp: PPToken): Span {
  return pp.provenance.expandedFrom ?? pp.span;
}

export function classify(pp: PPToken): TokenType {
  switch (pp.kind) {
    case "identifier": {
      if (SYMBOLIC.has(pp.text)) return SymbolicType;
      return KEYWORDS.get(pp.text.toLowerCase()) ?? Identifier;
    }
    case "number":
      return integerValue(pp.text) === undefined ? BadNumber : NumberTok;
    case "string":
      return StringTok;
    case "punct":
      return PUNCT[pp.text] ?? OtherPunct;
    default:
      return Stray;
  }
}

/** Chevrotain tokens for pp[from, to): offsets are indexes into pp, lines/columns from site spans. */
export function toMigTokens(pp: readonly PPToken[], from = 0, to = pp.length): MigToken[] {
  const out: MigToken[] = [];
  for (let i = from; i < to; i++) {
    const t = pp[i]!;
    const s = siteSpan(t);
    const tok = createTokenInstance(
      classify(t),
      t.text,
      i,
      i,
      s.line,
      s.endLine,
      s.col,
      s.endCol,
    ) as MigToken;
    (tok as { pp: PPToken }).pp = t;
    (tok as { index: number }).index = i;
    out.push(tok);
  }
  return out;
}

export function isEof(t: IToken): boolean {
  return t.tokenType === EOF;
}
