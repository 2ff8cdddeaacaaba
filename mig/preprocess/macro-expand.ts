// Macro expansion: Prosser's hide-set algorithm for object-like and function-like macros,
// with `#` stringizing, `##` pasting, __VA_ARGS__ and GNU's `, ## __VA_ARGS__`.
import type { SourceComment } from "../token.js";
import type { Provenance, Span } from "../source.js";
import type { DiagnosticCode } from "../diagnostic-catalog.js";
import { lexSource } from "./c-lexer.js";
import type { Macro, MacroTable } from "./macro-table.js";
import { hideIntersect, hideUnion, isPunct, whereOf, type WorkToken } from "./work-token.js";

/** Where the expander reads tokens from: the files being preprocessed, or a macro argument. */
export interface TokenSource {
  /** The next token; with `inArgs`, the end of the current file ends the source. */
  next(inArgs: boolean): WorkToken | undefined;
  /** Puts tokens back so that `toks[0]` is read next. */
  pushBack(toks: readonly WorkToken[]): void;
}

export type ReportFn = (code: DiagnosticCode, message: string, span: Span) => void;

/** A source over a fixed list of tokens (a macro argument, an #if line). */
export class ListSource implements TokenSource {
  private readonly stack: WorkToken[];

  constructor(toks: readonly WorkToken[]) {
    this.stack = toks.slice().reverse();
  }

  next(): WorkToken | undefined {
    return this.stack.pop();
  }

  pushBack(toks: readonly WorkToken[]): void {
    for (let k = toks.length - 1; k >= 0; k--) this.stack.push(toks[k]!);
  }
}

const NO_COMMENTS: readonly SourceComment[] = Object.freeze([]);
/** Tokens a whole run may produce by expansion before it stops expanding (runaway macros). */
const EXPANSION_BUDGET = 500_000;
/** Nesting of macro invocations inside macro arguments. */
const MAX_ARG_NESTING = 64;

export class MacroExpander {
  private produced = 0;
  private exhausted = false;

  constructor(
    private readonly macros: MacroTable,
    private readonly report: ReportFn,
    /** Called when an expansion produced no tokens, so that its comments are not lost. */
    private readonly onEmpty: (name: WorkToken) => void = () => {},
  ) {}

  /** The macro `t` would expand, if any (not hidden, budget left). */
  macroFor(t: WorkToken): Macro | undefined {
    if (t.kind !== "identifier" || this.exhausted) return undefined;
    const m = this.macros.get(t.text);
    if (m === undefined || t.hide?.has(t.text)) return undefined;
    return m;
  }

  /**
   * Expands macro `m` invoked by `nameTok`, just read from `src`: the result is pushed back onto
   * `src` for rescanning. Returns false when `nameTok` is not an invocation after all (a
   * function-like macro without `(`, or with a bad argument count): the caller keeps it as is.
   */
  expand(nameTok: WorkToken, m: Macro, src: TokenSource, depth = 0): boolean {
    if (m.params === undefined) {
      const hs = hideUnion(nameTok.hide, new Set([m.name]));
      const out = this.substitute(
        m,
        nameTok,
        [],
        hs,
        nameTok.provenance.expandedFrom ?? nameTok.span,
        depth,
      );
      this.finish(out, nameTok, src);
      return true;
    }
    const lp = src.next(true);
    if (lp === undefined) return false;
    if (!isPunct(lp, "(")) {
      src.pushBack([lp]);
      return false;
    }
    const collected = this.collectArgs(nameTok, m, src);
    if (collected === undefined) return true; // unterminated: reported, tokens consumed
    const { args, rparen } = collected;
    const params = m.params;
    const given =
      args.length === 1 && args[0]!.length === 0 && params.length !== 1 ? 0 : args.length;
    let ok: boolean;
    if (m.variadic) {
      if (args.length === params.length - 1) args.push([]);
      ok = args.length === params.length;
    } else if (params.length === 0) {
      ok = args.length === 1 && args[0]!.length === 0;
      args.length = 0;
    } else {
      ok = args.length === params.length;
    }
    if (!ok) {
      const want = m.variadic ? `at least ${params.length - 1}` : `${params.length}`;
      const plural = (n: string): string => (n === "1" ? "argument" : "arguments");
      this.report(
        "E0012",
        `macro '${m.name}' expects ${want} ${plural(want)}, but ${given} ${given === 1 ? "was" : "were"} given`,
        whereOf(nameTok),
      );
      return false;
    }
    const hs = hideUnion(hideIntersect(nameTok.hide, rparen.hide), new Set([m.name]));
    const out = this.substitute(m, nameTok, args, hs, invocationSpan(nameTok, rparen), depth);
    this.finish(out, nameTok, src);
    return true;
  }

  /** Fully macro-expands a list of tokens in isolation (a macro argument, an #if line). */
  expandList(toks: readonly WorkToken[], depth = 0): WorkToken[] {
    if (depth > MAX_ARG_NESTING) {
      if (toks.length > 0) {
        this.report(
          "E0022",
          "macro invocations nested too deeply in macro arguments",
          whereOf(toks[0]!),
        );
      }
      return toks.slice();
    }
    const src = new ListSource(toks);
    const out: WorkToken[] = [];
    for (let t = src.next(); t !== undefined; t = src.next()) {
      const m = this.macroFor(t);
      if (m === undefined || !this.expand(t, m, src, depth + 1)) out.push(t);
    }
    return out;
  }

  private finish(out: WorkToken[], nameTok: WorkToken, src: TokenSource): void {
    this.produced += out.length;
    if (this.produced > EXPANSION_BUDGET && !this.exhausted) {
      this.exhausted = true;
      this.report(
        "E0022",
        `macro expansion produced more than ${EXPANSION_BUDGET} tokens; expansion stopped here`,
        whereOf(nameTok),
      );
    }
    if (out.length === 0) {
      if (nameTok.comments.length > 0) this.onEmpty(nameTok);
      return;
    }
    src.pushBack(out);
  }

  private collectArgs(
    nameTok: WorkToken,
    m: Macro,
    src: TokenSource,
  ): { args: WorkToken[][]; rparen: WorkToken } | undefined {
    const params = m.params!;
    const args: WorkToken[][] = [[]];
    let depth = 0;
    for (;;) {
      const t = src.next(true);
      if (t === undefined) {
        this.report(
          "E0013",
          `unterminated argument list invoking macro '${m.name}': no ')' before the end of the file`,
          whereOf(nameTok),
        );
        return undefined;
      }
      if (t.kind === "punct") {
        if (t.text === "(") depth++;
        else if (t.text === ")") {
          if (depth === 0) return { args, rparen: t };
          depth--;
        } else if (
          t.text === "," &&
          depth === 0 &&
          !(m.variadic && args.length === params.length)
        ) {
          args.push([]);
          continue;
        }
      }
      args[args.length - 1]!.push(t);
    }
  }

  /** Builds the replacement list of one invocation (before rescanning). */
  private substitute(
    m: Macro,
    nameTok: WorkToken,
    args: readonly (readonly WorkToken[])[],
    hs: ReadonlySet<string> | undefined,
    inv: Span,
    depth: number,
  ): WorkToken[] {
    const body = m.body;
    const expanded: (WorkToken[] | undefined)[] = [];
    const out: WorkToken[] = [];
    let placemarker = false; // the left operand of a following ## was an empty argument
    for (let i = 0; i < body.length; i++) {
      const t = body[i]!;
      const p = m.bodyParam[i]!;
      if (
        m.params !== undefined &&
        isPunct(t, "#") &&
        i + 1 < body.length &&
        m.bodyParam[i + 1]! >= 0
      ) {
        out.push(stringize(t, args[m.bodyParam[i + 1]!]!));
        i++;
        placemarker = false;
        continue;
      }
      if (isPunct(t, "##") && i + 1 < body.length) {
        const q = m.bodyParam[i + 1]!;
        let rhs: readonly WorkToken[];
        if (q >= 0) rhs = args[q]!;
        else if (m.params !== undefined && isPunct(body[i + 1], "#") && m.bodyParam[i + 2]! >= 0) {
          rhs = [stringize(body[i + 1]!, args[m.bodyParam[i + 2]!]!)];
          i++;
        } else rhs = [body[i + 1]!];
        i++;
        const gnuComma =
          q >= 0 && m.variadic && q === m.params!.length - 1 && isPunct(out[out.length - 1], ",");
        if (gnuComma && !placemarker) {
          // GNU: `, ## __VA_ARGS__` drops the comma when there are no variadic arguments
          if (rhs.length === 0) out.pop();
          else out.push(...rhs);
        } else if (rhs.length === 0) {
          // pasting a placemarker leaves the left operand as it is
        } else if (placemarker || out.length === 0) {
          out.push(...rhs);
        } else {
          const lhs = out.pop()!;
          out.push(...this.paste(lhs, rhs[0]!, inv), ...rhs.slice(1));
        }
        placemarker = false;
        continue;
      }
      if (p >= 0) {
        if (isPunct(body[i + 1], "##")) {
          out.push(...args[p]!);
          placemarker = args[p]!.length === 0;
        } else {
          let e = expanded[p];
          if (e === undefined) e = expanded[p] = this.expandList(args[p]!, depth + 1);
          out.push(...e);
          placemarker = false;
        }
        continue;
      }
      out.push(t);
      placemarker = false;
    }

    // every token of the result: hide set, provenance; the first one takes the invocation's spacing
    let lastFrom: Provenance["includedFrom"] | undefined;
    let lastProv: Provenance | undefined;
    for (let k = 0; k < out.length; k++) {
      const t = out[k]!;
      const from = t.provenance.includedFrom;
      if (from !== lastFrom || lastProv === undefined) {
        lastFrom = from;
        lastProv = { includedFrom: from, expandedFrom: inv };
      }
      const first = k === 0;
      out[k] = {
        kind: t.kind,
        text: t.text,
        span: t.span,
        provenance: lastProv,
        spaceBefore: first ? nameTok.spaceBefore : t.spaceBefore,
        comments: first ? nameTok.comments : NO_COMMENTS,
        hide: hideUnion(t.hide, hs),
      };
    }
    return out;
  }

  /** `lhs ## rhs`: one token when the texts form one, else an error and both tokens. */
  private paste(lhs: WorkToken, rhs: WorkToken, inv: Span): WorkToken[] {
    const text = lhs.text + rhs.text;
    const lexed = lexSource(text, "<paste>");
    const only = lexed.tokens[0];
    if (
      lexed.tokens.length === 1 &&
      lexed.problems.length === 0 &&
      only!.problem === undefined &&
      only!.text === text
    ) {
      return [
        {
          ...lhs,
          kind: only!.kind === "header" ? "punct" : only!.kind,
          text,
          hide: hideUnion(lhs.hide, rhs.hide),
        },
      ];
    }
    this.report(
      "E0020",
      `pasting '${lhs.text}' and '${rhs.text}' does not give a valid preprocessing token`,
      inv,
    );
    return [lhs, rhs];
  }
}

/** The span of `name(...)` when both ends are in the same file, else the name's. */
function invocationSpan(nameTok: WorkToken, rparen: WorkToken): Span {
  const a = whereOf(nameTok);
  const b = whereOf(rparen);
  if (a.file !== b.file || b.line < a.line || (b.line === a.line && b.endCol < a.col)) return a;
  return { file: a.file, line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}

/** `#param`: the argument's spelling as a string literal. */
function stringize(hash: WorkToken, arg: readonly WorkToken[]): WorkToken {
  let s = "";
  for (let k = 0; k < arg.length; k++) {
    const t = arg[k]!;
    if (k > 0 && t.spaceBefore) s += " ";
    s += t.kind === "string" || t.kind === "char" ? t.text.replace(/[\\"]/g, "\\$&") : t.text;
  }
  return { ...hash, kind: "string", text: `"${s}"`, hide: undefined };
}
