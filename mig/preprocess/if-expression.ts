// The #if/#elif expression evaluator: C integer constant expressions over intmax_t/uintmax_t.
// Unary, binary, ternary and comma operators, char/hex/octal literals; unknown identifiers are 0.
import type { Span } from "../source.js";

export interface IfToken {
  readonly kind: string;
  readonly text: string;
  /** Where to point a diagnostic about this token. */
  readonly span: Span;
}

export interface IfProblem {
  readonly code: "E0014" | "E0016";
  readonly message: string;
  readonly span: Span;
}

export type IfResult = { readonly value: boolean } | { readonly problem: IfProblem };

/** A C preprocessor value: 64-bit, signed (intmax_t) or unsigned (uintmax_t). */
interface PPValue {
  readonly v: bigint;
  readonly u: boolean;
}

const MAX_NESTING = 256;

class ExprError {
  constructor(readonly problem: IfProblem) {}
}

function norm(v: bigint, u: boolean): PPValue {
  return { v: u ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v), u };
}

const ZERO: PPValue = { v: 0n, u: false };
const ONE: PPValue = { v: 1n, u: false };
const bool = (b: boolean): PPValue => (b ? ONE : ZERO);

// Binary operator precedence, higher binds tighter (C's table, comma and ?: handled apart).
const BINARY: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  ">": 7,
  "<=": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

const ASSIGNMENT = new Set([
  "=",
  "*=",
  "/=",
  "%=",
  "+=",
  "-=",
  "<<=",
  ">>=",
  "&=",
  "^=",
  "|=",
  "++",
  "--",
]);

/** Parses the value of a C integer literal as written in an #if (suffixes u, l, ll). */
export function integerLiteral(text: string): PPValue | string {
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)(.*)$/.exec(text);
  const suffixOk = m !== null && /^([uU]?(l|L|ll|LL)?|(l|L|ll|LL)[uU])$/.test(m[2]!);
  if (!suffixOk) {
    if (/^(\.|[0-9]+[.eE]|0[xX][0-9a-fA-F]*[.pP])/.test(text)) {
      return `floating constant '${text}' in a preprocessor expression`;
    }
    if (m === null) return `invalid integer constant '${text}'`;
    return `invalid suffix '${m[2]}' on integer constant '${text}'`;
  }
  const digits = m[1]!;
  const suffix = m[2]!;
  let v: bigint;
  if (/^0[0-9]/.test(digits)) {
    if (/[89]/.test(digits)) return `invalid digit in octal constant '${text}'`;
    v = BigInt("0o" + digits.slice(1));
  } else v = BigInt(digits);
  if (v > 0xffff_ffff_ffff_ffffn) return `integer constant '${text}' is too large`;
  const unsigned = /[uU]/.test(suffix) || v > 0x7fff_ffff_ffff_ffffn;
  return { v, u: unsigned };
}

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 10,
  t: 9,
  r: 13,
  a: 7,
  b: 8,
  f: 12,
  v: 11,
  e: 27,
  "\\": 92,
  "'": 39,
  '"': 34,
  "?": 63,
};

/** The value of a character constant ('a', '\n', '\x41', '\101'; multi-char as GCC does). */
export function charLiteral(text: string): PPValue | string {
  let body = text;
  const prefix = /^(u8|u|U|L)'/.exec(body);
  if (prefix) body = body.slice(prefix[1]!.length);
  if (body.length < 2 || body[0] !== "'" || body[body.length - 1] !== "'")
    return `invalid character constant ${text}`;
  body = body.slice(1, -1);
  if (body.length === 0) return "empty character constant ''";
  const bytes: number[] = [];
  for (let i = 0; i < body.length;) {
    const c = body[i]!;
    if (c !== "\\") {
      const cp = body.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      if (cp < 0x80) bytes.push(cp);
      else for (const b of Buffer.from(String.fromCodePoint(cp), "utf8")) bytes.push(b);
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return `invalid escape at the end of ${text}`;
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (e === "x") {
      const m = /^[0-9a-fA-F]+/.exec(body.slice(i + 2));
      if (!m) return `\\x used with no following hex digits in ${text}`;
      bytes.push(Number(BigInt("0x" + m[0]) & 0xffn));
      i += 2 + m[0].length;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i + 1))!;
      bytes.push(parseInt(m[0], 8) & 0xff);
      i += 1 + m[0].length;
    } else {
      return `unknown escape sequence '\\${e}' in ${text}`;
    }
  }
  if (bytes.length === 1) {
    const b = bytes[0]!;
    return { v: BigInt(b > 127 ? b - 256 : b), u: false }; // char is signed on x86_64
  }
  let v = 0n;
  for (const b of bytes) v = ((v << 8n) | BigInt(b)) & 0xffff_ffffn;
  return { v: BigInt.asIntN(32, v), u: false };
}

class ExpressionParser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly toks: readonly IfToken[],
    private readonly isDefined: (name: string) => boolean,
    private readonly end: Span,
  ) {}

  private fail(message: string, span: Span, code: IfProblem["code"] = "E0014"): never {
    throw new ExprError({ code, message, span });
  }

  private peek(): IfToken | undefined {
    return this.toks[this.i];
  }

  private describe(t: IfToken | undefined): string {
    return t === undefined ? "the end of the line" : `'${t.text}'`;
  }

  parseAll(): PPValue {
    const v = this.comma(true);
    const t = this.peek();
    if (t !== undefined) {
      if (t.text === ")") this.fail("unbalanced ')' in #if expression", t.span);
      this.fail(`missing binary operator before '${t.text}' in #if expression`, t.span);
    }
    return v;
  }

  private comma(live: boolean): PPValue {
    let v = this.ternary(live);
    while (this.peek()?.text === ",") {
      this.i++;
      v = this.ternary(live);
    }
    return v;
  }

  private ternary(live: boolean): PPValue {
    const cond = this.binary(1, live);
    const q = this.peek();
    if (q?.text !== "?") return cond;
    this.i++;
    const c = cond.v !== 0n;
    const a = this.nested(() => this.comma(live && c), q);
    const colon = this.peek();
    if (colon?.text !== ":") {
      this.fail(
        `expected ':' in '?:' of #if expression, found ${this.describe(colon)}`,
        colon?.span ?? this.end,
      );
    }
    this.i++;
    const b = this.nested(() => this.ternary(live && !c), colon!);
    const u = a.u || b.u;
    return norm(c ? a.v : b.v, u);
  }

  private binary(minPrec: number, live: boolean): PPValue {
    let left = this.unary(live);
    for (;;) {
      const op = this.peek();
      if (op === undefined || op.kind !== "punct") return left;
      const prec = BINARY[op.text];
      if (prec === undefined) {
        if (ASSIGNMENT.has(op.text))
          this.fail(`'${op.text}' is not allowed in #if expressions`, op.span);
        return left;
      }
      if (prec < minPrec) return left;
      this.i++;
      if (op.text === "&&" || op.text === "||") {
        const lt = left.v !== 0n;
        const rightLive = live && (op.text === "&&" ? lt : !lt);
        const right = this.binary(prec + 1, rightLive);
        const rt = right.v !== 0n;
        left = bool(op.text === "&&" ? lt && rt : lt || rt);
        continue;
      }
      const right = this.binary(prec + 1, live);
      left = this.apply(op, left, right, live);
    }
  }

  private apply(op: IfToken, a: PPValue, b: PPValue, live: boolean): PPValue {
    const u = a.u || b.u;
    const x = u ? BigInt.asUintN(64, a.v) : a.v;
    const y = u ? BigInt.asUintN(64, b.v) : b.v;
    switch (op.text) {
      case "*":
        return norm(x * y, u);
      case "/":
      case "%":
        if (y === 0n) {
          if (live)
            this.fail(`division by zero in #if expression ('${op.text}' by 0)`, op.span, "E0016");
          return norm(0n, u);
        }
        return norm(op.text === "/" ? x / y : x % y, u);
      case "+":
        return norm(x + y, u);
      case "-":
        return norm(x - y, u);
      case "<<":
      case ">>": {
        // the result has the left operand's type; counts out of range behave as GCC's
        let n = b.u ? BigInt.asUintN(64, b.v) : b.v;
        let left = op.text === "<<";
        if (n < 0n) {
          n = -n;
          left = !left;
        }
        if (n >= 64n) return a.u || left ? norm(0n, a.u) : norm(a.v < 0n ? -1n : 0n, a.u);
        return norm(left ? a.v << n : a.v >> n, a.u);
      }
      case "<":
        return bool(x < y);
      case ">":
        return bool(x > y);
      case "<=":
        return bool(x <= y);
      case ">=":
        return bool(x >= y);
      case "==":
        return bool(x === y);
      case "!=":
        return bool(x !== y);
      case "&":
        return norm(x & y, u);
      case "^":
        return norm(x ^ y, u);
      case "|":
        return norm(x | y, u);
      default:
        return this.fail(`unknown operator '${op.text}' in #if expression`, op.span);
    }
  }

  private unary(live: boolean): PPValue {
    const t = this.peek();
    if (t === undefined) this.fail("expected a value at the end of the #if expression", this.end);
    if (t.kind === "punct") {
      switch (t.text) {
        case "+":
        case "-":
        case "~":
        case "!": {
          this.i++;
          const v = this.nested(() => this.unary(live), t);
          if (t.text === "+") return v;
          if (t.text === "-") return norm(-v.v, v.u);
          if (t.text === "~") return norm(~v.v, v.u);
          return bool(v.v === 0n);
        }
        case "(": {
          this.i++;
          const v = this.nested(() => this.comma(live), t);
          const close = this.peek();
          if (close?.text !== ")") {
            this.fail(
              `missing ')' in #if expression, found ${this.describe(close)}`,
              close?.span ?? t.span,
            );
          }
          this.i++;
          return v;
        }
      }
    }
    return this.primary();
  }

  private nested<T>(f: () => T, at: IfToken): T {
    if (++this.depth > MAX_NESTING) this.fail("#if expression nested too deeply", at.span);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private primary(): PPValue {
    const t = this.toks[this.i++]!;
    switch (t.kind) {
      case "number": {
        const v = integerLiteral(t.text);
        if (typeof v === "string") this.fail(v, t.span);
        return v;
      }
      case "char": {
        const v = charLiteral(t.text);
        if (typeof v === "string") this.fail(v, t.span);
        return v;
      }
      case "identifier": {
        if (t.text === "defined") return bool(this.definedOperand(t));
        // the operands of `defined` were resolved before macro expansion; any other
        // identifier left after expansion (including true/false in C) is 0
        return ZERO;
      }
      case "string":
      case "header":
        return this.fail(`string literal ${t.text} in #if expression`, t.span);
      default:
        return this.fail(`expected a value in #if expression, found '${t.text}'`, t.span);
    }
  }

  private definedOperand(at: IfToken): boolean {
    let t = this.toks[this.i];
    const paren = t?.text === "(";
    if (paren) t = this.toks[++this.i];
    if (t === undefined || t.kind !== "identifier") {
      this.fail(`'defined' needs a macro name, found ${this.describe(t)}`, t?.span ?? at.span);
    }
    this.i++;
    if (paren) {
      const close = this.toks[this.i];
      if (close?.text !== ")")
        this.fail(`missing ')' after 'defined(${t.text}'`, close?.span ?? t.span);
      this.i++;
    }
    return this.isDefined(t.text);
  }
}

/**
 * Evaluates the (already macro-expanded) tokens of an #if/#elif line. `end` is where to point
 * when the expression stops too early (usually the directive). Never throws.
 */
export function evaluateIfExpression(
  toks: readonly IfToken[],
  isDefined: (name: string) => boolean,
  end: Span,
): IfResult {
  try {
    const v = new ExpressionParser(toks, isDefined, end).parseAll();
    return { value: v.v !== 0n };
  } catch (e) {
    if (e instanceof ExprError) return { problem: e.problem };
    if (e instanceof RangeError) {
      return { problem: { code: "E0014", message: "#if expression nested too deeply", span: end } };
    }
    throw e;
  }
}
