// Words for syntax error messages: how a token is named, what a set of expected tokens means,
// and a "did you mean" guess for misspelt statement keywords.
import { EOF, type IToken } from "chevrotain";
import { Keyword, StringTok, STATEMENT_KEYWORDS } from "./tokens.js";

export function describeToken(t: IToken): string {
  if (t.tokenType === EOF) return "the end of the statement";
  if (t.tokenType.CATEGORIES?.includes(Keyword)) return `keyword '${t.image}'`;
  if (t.tokenType === StringTok) return `string ${t.image}`;
  return `'${t.image}'`;
}

const NAMES: Record<string, string> = {
  Identifier: "a name",
  Number: "an integer",
  String: "a string",
  SymbolicType: "an IPC type",
  Word: "a value",
  HeaderPart: "a file name",
  EOF: "the end of the statement",
  OtherPunct: "a punctuator",
};

/** What the grammar wanted, in words; some rules have a better summary than their token list. */
export function describeExpected(names: readonly string[], rule: string): string {
  if (rule === "typeSpec")
    return "a type (a type name, an IPC type, (IPCType, size), array, struct, c_string or ^)";
  if (rule === "primIpcType" || rule === "ipcType")
    return "an IPC type (MACH_MSG_TYPE_..., polymorphic or a number)";
  if (rule === "intPrimary") return "an integer";
  if (rule === "argumentType") return "a type name (or NAME = type)";
  if (rule === "annotation" && names.length > 1)
    return "ctype:, cusertype:, cservertype:, intran:, outtran:, intranpayload: or destructor:";
  const words = [
    ...new Set(
      names.map((n) => NAMES[n] ?? (n.startsWith("kw_") ? `'${n.slice(3)}'` : labelOf(n))),
    ),
  ];
  if (words.length === 0) return "something else";
  if (words.length === 1) return words[0]!;
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

const PUNCT_LABELS: Record<string, string> = {
  Semi: "';'",
  Colon: "':'",
  Comma: "','",
  Plus: "'+'",
  Minus: "'-'",
  Star: "'*'",
  Slash: "'/'",
  LParen: "'('",
  RParen: "')'",
  Equal: "'='",
  Caret: "'^'",
  LBrack: "'['",
  RBrack: "']'",
  LBrace: "'{'",
  RBrace: "'}'",
  Bar: "'|'",
  LAngle: "'<'",
  RAngle: "'>'",
};

function labelOf(name: string): string {
  return PUNCT_LABELS[name] ?? name;
}

function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

/** The statement keyword closest to a misspelt word (edit distance at most 2), if any. */
export function suggestKeyword(word: string): string | undefined {
  if (word.length > 40) return undefined;
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of [...STATEMENT_KEYWORDS, "waittime", "msgoption"]) {
    const dd = distance(lower, k);
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return best;
}
