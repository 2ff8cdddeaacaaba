// The MIG parser driver: splits the token stream into statements, parses each with the grammar,
// turns parse failures into E01xx diagnostics and marks broken statements, so errors never cascade.
import type { IRecognitionException, IToken } from "chevrotain";
import type * as A from "../ast.js";
import type { DiagnosticCode } from "../diagnostic-catalog.js";
import type { DiagnosticSink } from "../diagnostics.js";
import type { IncludeFrame, Span } from "../source.js";
import type { PPToken } from "../token.js";
import { MigGrammar, type ExpectedInfo } from "./grammar.js";
import { splitStatements, type Chunk } from "./statements.js";
import { describeExpected, describeToken, suggestKeyword } from "./describe.js";
import {
  BadNumber,
  Identifier,
  Keyword,
  KW,
  LParen,
  RParen,
  Semi,
  siteSpan,
  Stray,
  toMigTokens,
  type MigToken,
} from "./tokens.js";

export interface ParseOptions {
  /**
   * Report E0106 when the file has no subsystem statement. Default true (GNU MIG cannot compile
   * such a file); false for include-only files, which still get E0106 if they declare routines.
   */
  readonly requireSubsystem?: boolean;
}

let sharedGrammar: MigGrammar | undefined;

/** One grammar instance per process: chevrotain's self-analysis is the costly part. */
function grammar(): MigGrammar {
  sharedGrammar ??= new MigGrammar();
  return sharedGrammar;
}

/** What a name is, by the rule that wants it. */
const what: Record<string, string> = {
  routineHead: "a routine name",
  subsystem: "a subsystem name",
  typeDefinition: "a type name",
  typeStatement: "a type name",
  argument: "an argument name",
  argumentType: "a type name",
  typeSpec: "a type name",
  prefixStatement: "a name",
  structType: "a field type or name",
  annotation: "a C type or function name",
};

const ARGUMENT_KINDS =
  "in, out, inout, requestport, replyport, sreplyport, ureplyport, waittime, msgoption or msgseqno";
const IPC_FLAGS =
  "dealloc, dealloc[], notdealloc, servercopy, countinout, islong, isnotlong or retcode";

/** The zero-width place just after a token, where something is missing. */
function after(t: IToken): Span {
  const s = siteSpan((t as MigToken).pp);
  return { file: s.file, line: s.endLine, col: s.endCol, endLine: s.endLine, endCol: s.endCol + 1 };
}

function at(t: IToken): Span {
  return siteSpan((t as MigToken).pp);
}

function join(a: Span, b: Span): Span {
  if (a.file !== b.file || b.endLine < a.line || (b.endLine === a.line && b.endCol < a.col))
    return a;
  return { file: a.file, line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}

function spanKey(s: Span): string {
  return `${s.file}:${s.line}:${s.col}`;
}

function isEofToken(t: IToken | undefined): boolean {
  return t === undefined || (t as Partial<MigToken>).pp === undefined;
}

const MAX_BRACKET_DEPTH = 64;
const MAX_TYPE_CONSTRUCTORS = 256;

/** The grammar recurses on brackets and on `^`/`of`: refuse absurd nesting before it can overflow the stack. */
function tooDeep(
  toks: readonly MigToken[],
): { token: MigToken; limit: number; what: string } | undefined {
  let depth = 0;
  let constructors = 0;
  for (const t of toks) {
    const text = t.pp.kind === "punct" ? t.image : "";
    if (text === "(" || text === "[" || text === "{") {
      if (++depth > MAX_BRACKET_DEPTH)
        return { token: t, limit: MAX_BRACKET_DEPTH, what: "levels of brackets" };
    } else if (text === ")" || text === "]" || text === "}") depth = Math.max(0, depth - 1);
    else if (text === "^" || t.tokenType === KW.of) {
      if (++constructors > MAX_TYPE_CONSTRUCTORS)
        return { token: t, limit: MAX_TYPE_CONSTRUCTORS, what: "'^' and 'of' type constructors" };
    }
  }
  return undefined;
}

class FileParser {
  private readonly g = grammar();
  private readonly tokens: MigToken[];
  private readonly chunks: Chunk[];
  private readonly unmatchedClosers: ReadonlySet<number>;
  private errors = 0;
  /** Where earlier phases (the preprocessor) already reported an error: no second report there. */
  private readonly alreadyReported: ReadonlySet<string>;

  constructor(
    private readonly pp: readonly PPToken[],
    private readonly sink: DiagnosticSink,
  ) {
    this.tokens = toMigTokens(pp);
    const split = splitStatements(this.tokens);
    this.chunks = split.chunks;
    this.unmatchedClosers = split.unmatchedClosers;
    this.alreadyReported = new Set(
      sink.items.filter((d) => d.severity === "error" && d.span).map((d) => spanKey(d.span!)),
    );
  }

  private error(code: DiagnosticCode, message: string, span: Span, near: IToken | undefined): void {
    this.errors++;
    if (this.alreadyReported.has(spanKey(span))) return;
    const index = near && !isEofToken(near) ? (near as MigToken).index : undefined;
    this.sink.error(
      code,
      message,
      span,
      index === undefined ? undefined : this.includeChain(index),
    );
  }

  private warning(code: DiagnosticCode, message: string, span: Span, near: MigToken): void {
    this.sink.warning(code, message, span, this.includeChain(near.index));
  }

  /**
   * The include chain of the place a token is reported at. For a macro result that is the
   * invocation's file, whose chain is that of the nearest earlier token written in that file.
   */
  private includeChain(index: number): readonly IncludeFrame[] {
    const tok = this.pp[index]!;
    const site = tok.provenance.expandedFrom;
    if (!site || site.file === tok.span.file) return tok.provenance.includedFrom;
    for (let i = index - 1; i >= 0; i--) {
      const t = this.pp[i]!;
      if (!t.provenance.expandedFrom && t.span.file === site.file) return t.provenance.includedFrom;
    }
    return [];
  }

  /** Doc comments: the block of comments right above a declaration, not trailing the previous line. */
  docFor = (t: IToken): string[] => {
    const index = (t as Partial<MigToken>).index;
    if (index === undefined) return [];
    const tok = this.pp[index]!;
    if (tok.comments.length === 0) return [];
    const prev = index > 0 ? this.pp[index - 1] : undefined;
    const prevEnd = prev && prev.span.file === tok.span.file ? prev.span.endLine : 0;
    const doc: string[] = [];
    let next = tok.span.line;
    for (let i = tok.comments.length - 1; i >= 0; i--) {
      const c = tok.comments[i]!;
      if (c.span.file !== tok.span.file || c.span.line <= prevEnd || c.span.endLine < next - 2)
        break;
      doc.unshift(c.text);
      next = c.span.line;
    }
    return doc;
  };

  parse(): { statements: A.Statement[]; errors: number } {
    this.g.docFor = this.docFor;
    const statements: A.Statement[] = [];
    for (const chunk of this.chunks) {
      const toks = this.tokens.slice(chunk.start, chunk.end);
      const first = toks[0]!;
      const deep = tooDeep(toks);
      if (deep) {
        this.error(
          "E0118",
          `statement nested too deeply (more than ${deep.limit} ${deep.what})`,
          at(deep.token),
          deep.token,
        );
        statements.push(this.broken(toks));
        continue;
      }
      const st =
        first.tokenType === KW.routine || first.tokenType === KW.simpleroutine
          ? this.parseRoutine(toks, chunk)
          : this.parseStatement(toks, chunk);
      statements.push(st);
    }
    return { statements, errors: this.errors };
  }

  private broken(toks: MigToken[], name?: A.Identifier): A.BrokenStatement {
    const first = toks[0]!;
    const last = toks[toks.length - 1]!;
    const keyword = first.tokenType.CATEGORIES?.includes(Keyword)
      ? first.image.toLowerCase()
      : undefined;
    return {
      kind: "broken",
      ...(keyword ? { keyword } : {}),
      ...(name ? { name } : {}),
      span: join(at(first), at(last)),
    };
  }

  private parseStatement(toks: MigToken[], chunk: Chunk): A.Statement {
    this.g.input = toks;
    const st = this.g.statement();
    if (this.g.errors.length > 0) {
      this.reportRecognition(this.g.errors[0]!, toks, chunk);
      let name: A.Identifier | undefined;
      const second = toks[1];
      if (toks[0]!.tokenType === KW.type && second?.tokenType === Identifier)
        name = { kind: "identifier", name: second.image, span: at(second) };
      return this.broken(toks, name);
    }
    this.warnStatement(st, toks);
    return st;
  }

  private parseRoutine(toks: MigToken[], chunk: Chunk): A.Statement {
    const lp = toks.findIndex((t) => t.tokenType === LParen);
    const headToks = lp >= 0 ? toks.slice(0, lp + 1) : toks;
    this.g.input = headToks;
    const head = this.g.routineHead();
    let ok = this.g.errors.length === 0;
    if (!ok) this.reportRecognition(this.g.errors[0]!, headToks, chunk);
    const nameTok = toks[1]?.tokenType === Identifier ? toks[1] : undefined;
    const name: A.Identifier | undefined = ok
      ? head.name
      : nameTok && { kind: "identifier", name: nameTok.image, span: at(nameTok) };
    if (lp < 0) return this.broken(toks, name);
    const label = name ? `routine '${name.name}'` : "the routine";

    // The matching ')'.
    let depth = 0;
    let rp = -1;
    for (let i = lp; i < toks.length; i++) {
      const tt = toks[i]!.tokenType;
      if (tt === LParen) depth++;
      else if (tt === RParen && --depth === 0) {
        rp = i;
        break;
      }
    }
    const argsEnd = rp >= 0 ? rp : toks.length;

    // Arguments, separated by ';' at the list's own depth.
    const args: A.Argument[] = [];
    const pieces: { from: number; to: number; sep?: MigToken }[] = [];
    let from = lp + 1;
    depth = 0;
    for (let i = lp + 1; i < argsEnd; i++) {
      const t = toks[i]!;
      const text = t.image;
      if (t.tokenType === Semi && depth === 0) {
        pieces.push({ from, to: i, sep: t });
        from = i + 1;
      } else if (text === "(" || text === "[" || text === "{") depth++;
      else if ((text === ")" || text === "]" || text === "}") && depth > 0) depth--;
    }
    pieces.push({ from, to: argsEnd });
    const errorsBefore = this.errors;
    let sawUnbalanced = false;
    if (!(pieces.length === 1 && pieces[0]!.from === pieces[0]!.to)) {
      let prevSep: MigToken | undefined;
      for (const p of pieces) {
        if (p.from === p.to) {
          if (rp < 0 && p === pieces[pieces.length - 1]) continue;
          const where = prevSep ?? p.sep ?? toks[lp]!;
          this.error(
            "E0113",
            `empty argument in the argument list of ${label} (a stray ';')`,
            at(where),
            where,
          );
          ok = false;
        } else {
          const argToks = toks.slice(p.from, p.to);
          this.g.input = argToks;
          const arg = this.g.argument();
          if (this.g.errors.length > 0) {
            const code = this.reportRecognition(this.g.errors[0]!, argToks, chunk, true);
            if (code === "E0107") sawUnbalanced = true;
            ok = false;
          } else {
            args.push(arg);
            this.warnFlags(arg.flags, argToks[0]!);
          }
        }
        prevSep = p.sep;
      }
    }

    // After the list: exactly ';'.
    const last = toks[toks.length - 1]!;
    if (rp < 0) {
      if (!sawUnbalanced) {
        const open = at(toks[lp]!);
        this.error(
          "E0107",
          `missing ')' to close the argument list of ${label} opened at ${open.line}:${open.col}`,
          after(last),
          last,
        );
      }
      ok = false;
    } else if (rp + 1 >= toks.length) {
      this.error(
        "E0101",
        `missing ';' after the argument list of ${label}`,
        after(toks[rp]!),
        toks[rp],
      );
      ok = false;
    } else if (toks[rp + 1]!.tokenType !== Semi) {
      const t = toks[rp + 1]!;
      this.error(
        "E0101",
        `expected ';' after the argument list of ${label}, found ${describeToken(t)}`,
        at(t),
        t,
      );
      ok = false;
    }
    if (!ok || this.errors !== errorsBefore || !name) return this.broken(toks, name);
    return {
      kind: "routine",
      simple: head.simple,
      name: head.name,
      args,
      doc: this.docFor(toks[0]!),
      span: join(at(toks[0]!), at(last)),
    };
  }

  private warnStatement(st: A.Statement, toks: MigToken[]): void {
    if (st.kind === "subsystem") {
      const seen = new Set<string>();
      for (const m of st.modifiers) {
        if (seen.has(m.modifier))
          this.warning("W0101", `duplicate ${m.modifier} modifier`, m.span, toks[0]!);
        seen.add(m.modifier);
      }
    } else if (st.kind === "type" && st.definition.spec.kind === "longType") {
      this.warnFlags(st.definition.spec.flags, toks[0]!);
    }
  }

  private warnFlags(flags: readonly A.IpcFlag[], near: MigToken): void {
    const seen = new Set<string>();
    for (const f of flags) {
      if (f.flag.endsWith("[]") && f.flag !== "dealloc[]")
        this.warning(
          "W0100",
          `only dealloc can be made variable with []; '${f.flag}' is read as '${f.flag.slice(0, -2)}'`,
          f.span,
          near,
        );
      const base = f.flag.replace("[]", "");
      if (seen.has(base)) this.warning("W0101", `duplicate flag '${base}'`, f.span, near);
      seen.add(base);
    }
  }

  /** Turns one chevrotain exception into a diagnostic; returns its code. */
  private reportRecognition(
    e: IRecognitionException,
    toks: MigToken[],
    chunk: Chunk,
    inArgument = false,
  ): DiagnosticCode {
    let info: ExpectedInfo;
    try {
      info = JSON.parse(e.message) as ExpectedInfo;
    } catch {
      info = { expected: [] };
    }
    const exp = info.expected;
    const rules = e.context?.ruleStack ?? [];
    const rule = rules[rules.length - 1] ?? "";
    const tok = e.token;
    const eof = isEofToken(tok);
    const prevRaw = (e as { previousToken?: IToken }).previousToken;
    const prev = !isEofToken(prevRaw) ? (prevRaw as MigToken) : toks[toks.length - 1]!;
    const found = eof ? "the end of the statement" : describeToken(tok);
    const expected = describeExpected(exp, rule);
    const where = eof ? after(prev) : at(tok);
    const near = eof ? prev : tok;
    const report = (
      code: DiagnosticCode,
      message: string,
      span: Span = where,
      n: IToken = near,
    ): DiagnosticCode => {
      this.error(code, message, span, n);
      return code;
    };

    if (!eof && tok.tokenType === BadNumber)
      return report("E0112", `invalid integer literal '${tok.image}'`);
    if (!eof && tok.tokenType === Stray)
      return report(
        "E0116",
        `${(tok as MigToken).pp.kind === "char" ? "character literal" : "character"} ${tok.image} is not part of the MIG language`,
      );
    if (!eof && this.unmatchedClosers.has((tok as MigToken).index))
      return report("E0107", `unmatched '${tok.image}'`);
    if (eof) {
      const open =
        chunk.unclosed.length > 0
          ? this.tokens[chunk.unclosed[chunk.unclosed.length - 1]!]
          : undefined;
      if (open && open.index >= toks[0]!.index && open.index <= toks[toks.length - 1]!.index) {
        const o = at(open);
        const closer = open.image === "(" ? ")" : open.image === "[" ? "]" : "}";
        return report(
          "E0107",
          `missing '${closer}' to close '${open.image}' opened at ${o.line}:${o.col}`,
        );
      }
      if (exp.length === 1 && exp[0] === "Semi")
        return report("E0101", `missing ';' after ${describeToken(prev)}`);
    }
    if (rules.includes("arrayType"))
      return report("E0109", `malformed array type: expected ${expected}, found ${found}`);
    if (rules.includes("cStringType"))
      return report("E0110", `malformed c_string type: expected ${expected}, found ${found}`);
    if (rule === "ipcFlag")
      return report("E0111", `unknown IPC flag ${found}; expected ${IPC_FLAGS}`);
    if (rules.includes("annotation"))
      return report("E0114", `malformed type annotation: expected ${expected}, found ${found}`);
    if (rules.includes("importFile"))
      return report(
        "E0115",
        `malformed import file name: expected <file> or "file", found ${found}`,
      );
    if (eof)
      return report(
        "E0117",
        `statement ends too early after ${describeToken(prev)}: expected ${expected}`,
      );
    if (rule === "subsystem" && exp.length === 1 && exp[0] === "Number")
      return report("E0104", `subsystem base must be an integer, found ${found}`);
    if (exp.includes("Identifier") && tok.tokenType.CATEGORIES?.includes(Keyword)) {
      return report(
        "E0103",
        `'${tok.image}' is a keyword and cannot be used as ${what[rule] ?? "a name"}`,
      );
    }
    if (
      rule === "argument" &&
      exp.length === 1 &&
      exp[0] === "Colon" &&
      tok.tokenType === Identifier &&
      prev === toks[0] &&
      prev.tokenType === Identifier
    ) {
      return report(
        "E0108",
        `unknown argument kind '${prev.image}'; expected ${ARGUMENT_KINDS}`,
        at(prev),
        prev,
      );
    }
    if (exp.length === 1 && exp[0] === "Identifier" && what[rule])
      return report("E0100", `expected ${what[rule]}, found ${found}`);
    if (rule === "statement") {
      const guess = tok.tokenType === Identifier ? suggestKeyword(tok.image) : undefined;
      return report(
        "E0102",
        guess
          ? `unknown statement '${tok.image}' (did you mean '${guess}'?)`
          : `expected a statement (subsystem, routine, simpleroutine, type, import, skip, ...), found ${found}`,
      );
    }
    if (exp.length === 1 && exp[0] === "Semi")
      return report("E0101", `expected ';' after ${describeToken(prev)}, found ${found}`);
    if (exp.length === 1 && (exp[0] === "RParen" || exp[0] === "RBrack" || exp[0] === "RBrace"))
      return report("E0107", `expected ${expected} to close the group, found ${found}`);
    if (exp.length === 1 && exp[0] === "EOF") {
      if (inArgument)
        return report(
          "E0100",
          `unexpected ${found} after the argument (flags are written ', dealloc'; arguments end with ';')`,
        );
      return report("E0100", `unexpected ${found}`);
    }
    return report("E0100", `expected ${expected}, found ${found}`);
  }
}

/** Parses the preprocessed tokens of one .defs file into its AST, reporting syntax errors to sink. */
export function parseTokens(
  pp: readonly PPToken[],
  path: string,
  sink: DiagnosticSink,
  opts: ParseOptions = {},
): A.DefsFile {
  const parser = new FileParser(pp, sink);
  const { statements, errors } = parser.parse();
  let errorCount = errors;

  const subsystems = statements.filter((s): s is A.SubsystemStatement => s.kind === "subsystem");
  const first = subsystems[0];
  for (const extra of subsystems.slice(1)) {
    sink.error(
      "E0105",
      `a second subsystem statement ('${extra.name.name}'); this file already declares subsystem '${first!.name.name}' at ${first!.span.line}:${first!.span.col}`,
      extra.span,
    );
    errorCount++;
  }
  const brokenSubsystem = statements.some((s) => s.kind === "broken" && s.keyword === "subsystem");
  const routines = statements.filter(
    (s) => s.kind === "routine" || (s.kind === "broken" && s.keyword?.endsWith("routine")),
  );
  if (!first && !brokenSubsystem && (opts.requireSubsystem !== false || routines.length > 0)) {
    const where: Span = routines[0]?.span ?? { file: path, line: 1, col: 1, endLine: 1, endCol: 1 };
    sink.error(
      "E0106",
      "no subsystem statement: a .defs file must declare 'subsystem NAME BASE;'",
      where,
    );
    errorCount++;
  }

  const firstTok = pp[0];
  const lastTok = pp[pp.length - 1];
  const span: Span =
    firstTok && lastTok
      ? join(siteSpan(firstTok), siteSpan(lastTok))
      : { file: path, line: 1, col: 1, endLine: 1, endCol: 1 };
  return { kind: "defsFile", path, statements, syntaxErrors: errorCount > 0, span };
}
