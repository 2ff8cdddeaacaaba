// The built-in C preprocessor of tsmig (the work GNU MIG gives to `cc -E -x c -undef -ansi`):
// directives, conditional groups, includes and macro expansion, producing PPTokens with spans.
import type { PPToken, SourceComment } from "../token.js";
import type { IncludeFrame, Provenance, Span } from "../source.js";
import type { DiagnosticSink } from "../diagnostics.js";
import type { DiagnosticCode } from "../diagnostic-catalog.js";
import { lexSource, type LexProblem, type LexToken } from "./c-lexer.js";
import { evaluateIfExpression } from "./if-expression.js";
import { includeTarget } from "./include-directive.js";
import { IncludeResolver, readFileFromDisk, type SourceFile } from "./include-resolver.js";
import { MacroExpander, type TokenSource } from "./macro-expand.js";
import { isIdentifierName, MacroTable, parseDefine } from "./macro-table.js";
import { toPPToken, whereOf, type WorkToken } from "./work-token.js";

export interface PreprocessOptions {
  /** -I folders, searched in order. */
  includeDirs: readonly string[];
  /** -D NAME[=VALUE] (value default "1"); NAME may be `F(a,b)` for a function-like macro. */
  defines?: readonly { name: string; value?: string }[];
  /** -U NAME, applied after the target predefines and the -D options. */
  undefines?: readonly string[];
  /** Default "x86_64": predefines __x86_64__ 1 and __LP64__ 1, nothing else. */
  target?: "x86_64" | "none";
  /** Default: read from the file system; lets tests use in-memory files. */
  readFile?: (path: string) => string | undefined;
}

/** Deepest #include nesting accepted (GCC's limit too). */
export const MAX_INCLUDE_DEPTH = 200;

const TARGET_PREDEFINES: Record<"x86_64" | "none", readonly string[]> = {
  x86_64: ["__x86_64__ 1", "__LP64__ 1"],
  none: [],
};

/** One #if/#ifdef/#ifndef being processed in a file. */
interface Conditional {
  /** `#if` ... through the directive name: where "unterminated" points. */
  readonly directive: Span;
  readonly name: string;
  /** Some group of this conditional has been taken (the rest are skipped). */
  taken: boolean;
  sawElse: boolean;
}

/** A file being read: its tokens, position, include chain and open conditionals. */
interface FileContext {
  readonly file: SourceFile;
  readonly toks: readonly LexToken[];
  idx: number;
  readonly chain: readonly IncludeFrame[];
  readonly prov: Provenance;
  readonly conds: Conditional[];
  /** Where the file was found among the -I folders (-1: not in one), for #include_next. */
  readonly dirIndex: number;
}

function isHash(t: LexToken): boolean {
  return t.bol && t.kind === "punct" && t.text === "#";
}

function through(a: Span, b: Span): Span {
  if (a.file !== b.file) return a;
  return { file: a.file, line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}

class Preprocessor implements TokenSource {
  private readonly files: FileContext[] = [];
  private readonly pending: WorkToken[] = [];
  private readonly out: PPToken[] = [];
  private carry: SourceComment[] = [];
  private readonly macros = new MacroTable();
  private readonly expander: MacroExpander;
  private readonly resolver: IncludeResolver;

  constructor(
    opts: PreprocessOptions,
    private readonly sink: DiagnosticSink,
  ) {
    this.resolver = new IncludeResolver(opts.includeDirs, opts.readFile ?? readFileFromDisk);
    this.expander = new MacroExpander(
      this.macros,
      (code, message, span) => this.report(code, message, span),
      (name) => this.carry.push(...name.comments),
    );
    this.predefine(opts);
  }

  // ---- setup -------------------------------------------------------------------------------

  private predefine(opts: PreprocessOptions): void {
    for (const def of TARGET_PREDEFINES[opts.target ?? "x86_64"])
      this.defineFromText(def, "<built-in>");
    for (const d of opts.defines ?? []) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(\(.*\))?$/.exec(d.name);
      if (!m || m[1] === "defined") {
        this.sink.error(
          "E0018",
          `invalid macro name '${d.name}' in -D (expected NAME or NAME=VALUE)`,
        );
        continue;
      }
      // as with cc -D, the definition stops at an embedded newline
      const value = (d.value ?? "1").split(/\r?\n/, 1)[0]!;
      const problem = this.defineFromText(`${d.name} ${value}`, "<command-line>");
      if (problem !== undefined) {
        this.sink.error(
          "E0011",
          `invalid -D ${d.name}${d.value !== undefined ? "=" + d.value : ""}: ${problem}`,
        );
      }
    }
    for (const name of opts.undefines ?? []) {
      if (!isIdentifierName(name) || name === "defined") {
        this.sink.error("E0018", `invalid macro name '${name}' in -U`);
        continue;
      }
      this.macros.undefine(name);
    }
  }

  /** Defines a macro from `NAME BODY` text; returns the problem's message if malformed. */
  private defineFromText(text: string, file: string): string | undefined {
    const lexed = lexSource(text, file);
    const prov: Provenance = { includedFrom: [] };
    const toks = lexed.tokens.map((t) => this.wrap(t, prov));
    const first = toks[0];
    const r = parseDefine(toks, first?.span ?? { file, line: 1, col: 1, endLine: 1, endCol: 1 });
    if ("problem" in r) return r.problem.message;
    if (lexed.problems.length > 0) return lexed.problems[0]!.message;
    const old = this.macros.define(r.macro);
    if (old !== undefined) {
      this.sink.warning(
        "W0002",
        `'${r.macro.name}' redefined by -D (the previous definition is at ${old.span.file})`,
      );
    }
    return undefined;
  }

  // ---- running -----------------------------------------------------------------------------

  /** Reads (or takes) the root file; undefined when it cannot be read. */
  load(path: string, text?: string): SourceFile | undefined {
    return this.resolver.load(path, text);
  }

  run(root: SourceFile): PPToken[] {
    this.enter(root, [], -1);
    for (let t = this.next(false); t !== undefined; t = this.next(false)) {
      const m = this.expander.macroFor(t);
      if (m !== undefined && this.expander.expand(t, m, this)) continue;
      this.emit(t);
    }
    return this.out;
  }

  /** The tokens produced so far (after an internal error). */
  partial(): PPToken[] {
    return this.out;
  }

  private emit(t: WorkToken): void {
    let tok: PPToken = "hide" in t || t.kind === "header" ? toPPToken(t) : (t as PPToken);
    if (this.carry.length > 0) {
      tok = { ...tok, comments: [...this.carry, ...tok.comments] };
      this.carry = [];
    }
    this.out.push(tok);
  }

  private enter(file: SourceFile, chain: readonly IncludeFrame[], dirIndex: number): void {
    const ctx: FileContext = {
      file,
      toks: file.lexed.tokens,
      idx: 0,
      chain,
      prov: { includedFrom: chain },
      conds: [],
      dirIndex,
    };
    this.files.push(ctx);
    if (!file.reported) {
      file.reported = true;
      for (const p of file.lexed.problems) this.reportLex(p);
    }
  }

  private wrap(t: LexToken, prov: Provenance): WorkToken {
    return {
      kind: t.kind,
      text: t.text,
      span: t.span,
      provenance: prov,
      spaceBefore: t.spaceBefore,
      comments: t.comments,
    };
  }

  /** TokenSource: pending expansion results first, then the files (running directives). */
  next(inArgs: boolean): WorkToken | undefined {
    const p = this.pending.pop();
    if (p !== undefined) return p;
    for (;;) {
      const ctx = this.files[this.files.length - 1];
      if (ctx === undefined) return undefined;
      if (ctx.idx >= ctx.toks.length) {
        if (inArgs) return undefined;
        this.leave(ctx);
        continue;
      }
      const t = ctx.toks[ctx.idx]!;
      if (isHash(t)) {
        this.directive(ctx);
        continue;
      }
      ctx.idx++;
      if (t.problem !== undefined) this.reportLex(t.problem);
      return this.wrap(t, ctx.prov);
    }
  }

  pushBack(toks: readonly WorkToken[]): void {
    for (let k = toks.length - 1; k >= 0; k--) this.pending.push(toks[k]!);
  }

  private leave(ctx: FileContext): void {
    for (const c of ctx.conds) {
      this.report(
        "E0006",
        `unterminated #${c.name}: no matching #endif before the end of the file`,
        c.directive,
      );
    }
    this.files.pop();
  }

  // ---- diagnostics -------------------------------------------------------------------------

  private chain(): readonly IncludeFrame[] {
    return this.files[this.files.length - 1]?.chain ?? [];
  }

  private report(code: DiagnosticCode, message: string, span: Span): void {
    if (code.startsWith("W")) this.sink.warning(code, message, span, this.chain());
    else this.sink.error(code, message, span, this.chain());
  }

  private reportLex(p: LexProblem): void {
    this.report(p.code, p.message, p.span);
  }

  private reportLineProblems(line: readonly LexToken[]): void {
    for (const t of line) if (t.problem !== undefined) this.reportLex(t.problem);
  }

  // ---- directives --------------------------------------------------------------------------

  /** Runs the directive whose `#` is at ctx.idx; leaves ctx.idx after its line. */
  private directive(ctx: FileContext): void {
    const toks = ctx.toks;
    const hashIdx = ctx.idx;
    const hash = toks[hashIdx]!;
    let end = hashIdx + 1;
    while (end < toks.length && !toks[end]!.bol) end++;
    ctx.idx = end;
    const nameTok = hashIdx + 1 < end ? toks[hashIdx + 1]! : undefined;
    if (nameTok === undefined) {
      this.keepComments(hash);
      return; // the null directive
    }
    const line = toks.slice(hashIdx + 2, end);
    const dirSpan = through(hash.span, nameTok.span);
    const lineSpan = through(hash.span, toks[end - 1]!.span);
    if (nameTok.kind === "number") {
      this.keepComments(hash);
      return; // a GNU line marker (`# 12 "file"`), accepted like #line
    }
    if (nameTok.kind !== "identifier") {
      this.report("E0003", `invalid preprocessing directive '#${nameTok.text}'`, dirSpan);
      return;
    }
    const name = nameTok.text;
    if (name === "include" || name === "include_next") {
      this.carry = []; // comments before an #include belong to nothing in the included file
      this.include(ctx, name === "include_next", line, hash, dirSpan);
      return;
    }
    this.keepComments(hash);
    switch (name) {
      case "define":
        this.define(ctx, line, dirSpan);
        return;
      case "undef":
        this.undef(line, dirSpan);
        return;
      case "if":
        this.openConditional(ctx, name, dirSpan, this.evaluate(ctx, line, dirSpan));
        return;
      case "ifdef":
      case "ifndef": {
        const defined = this.definedName(name, line, dirSpan);
        const value = defined === undefined ? false : name === "ifdef" ? defined : !defined;
        this.openConditional(ctx, name, dirSpan, value);
        return;
      }
      case "elif":
      case "elifdef":
      case "elifndef":
      case "else": {
        const cond = ctx.conds[ctx.conds.length - 1];
        if (cond === undefined) {
          this.report("E0004", `#${name} without #if`, dirSpan);
          return;
        }
        if (cond.sawElse) this.report("E0005", `#${name} after #else`, dirSpan);
        if (name === "else") {
          cond.sawElse = true;
          this.extraTokens(name, line);
        }
        cond.taken = true; // the group just read was the taken one
        this.skipGroup(ctx);
        return;
      }
      case "endif":
        if (ctx.conds.length === 0) {
          this.report("E0004", "#endif without #if", dirSpan);
          return;
        }
        ctx.conds.pop();
        this.extraTokens(name, line);
        return;
      case "error":
        this.report("E0017", `#error ${this.spell(line)}`.trimEnd(), lineSpan);
        return;
      case "warning":
        this.report("W0001", `#warning ${this.spell(line)}`.trimEnd(), lineSpan);
        return;
      case "line":
        this.lineDirective(ctx, line, dirSpan);
        return;
      case "pragma":
      case "ident":
      case "sccs":
        return; // accepted, nothing to do for MIG
      default:
        this.report("E0003", `unknown preprocessing directive '#${name}'`, dirSpan);
    }
  }

  private keepComments(hash: LexToken): void {
    if (hash.comments.length > 0) this.carry.push(...hash.comments);
  }

  /** The tokens of a line as written, for #error and #warning messages. */
  private spell(line: readonly LexToken[]): string {
    let s = "";
    line.forEach((t, k) => {
      s += (k > 0 && t.spaceBefore ? " " : "") + t.text;
    });
    return s;
  }

  private extraTokens(name: string, line: readonly LexToken[]): void {
    const first = line[0];
    if (first === undefined) return;
    const span = through(first.span, line[line.length - 1]!.span);
    this.report("W0003", `extra tokens at the end of #${name} (use a comment)`, span);
  }

  private define(ctx: FileContext, line: readonly LexToken[], dirSpan: Span): void {
    this.reportLineProblems(line);
    const r = parseDefine(
      line.map((t) => this.wrap(t, ctx.prov)),
      dirSpan,
    );
    if ("problem" in r) {
      this.report("E0011", r.problem.message, r.problem.span);
      return;
    }
    const old = this.macros.define(r.macro);
    if (old !== undefined) {
      const at = old.span.file.startsWith("<")
        ? old.span.file
        : `${old.span.file}:${old.span.line}:${old.span.col}`;
      this.report(
        "W0002",
        `'${r.macro.name}' redefined (the previous definition is at ${at})`,
        r.macro.span,
      );
    }
  }

  private undef(line: readonly LexToken[], dirSpan: Span): void {
    const name = this.macroName("undef", line, dirSpan);
    if (name === undefined) return;
    if (name === "defined") {
      this.report("E0019", "'defined' cannot be undefined", line[0]!.span);
      return;
    }
    this.macros.undefine(name);
    this.extraTokens("undef", line.slice(1));
  }

  /** The macro name operand of #ifdef/#ifndef/#undef, or undefined after reporting why not. */
  private macroName(
    directive: string,
    line: readonly LexToken[],
    dirSpan: Span,
  ): string | undefined {
    const t = line[0];
    if (t === undefined) {
      this.report("E0019", `#${directive} needs a macro name`, dirSpan);
      return undefined;
    }
    if (t.kind !== "identifier") {
      this.report(
        "E0019",
        `macro names must be identifiers, not '${t.text}' (in #${directive})`,
        t.span,
      );
      return undefined;
    }
    return t.text;
  }

  private definedName(
    directive: string,
    line: readonly LexToken[],
    dirSpan: Span,
  ): boolean | undefined {
    const name = this.macroName(directive, line, dirSpan);
    if (name === undefined) return undefined;
    this.extraTokens(directive, line.slice(1));
    return this.macros.has(name);
  }

  private openConditional(ctx: FileContext, name: string, directive: Span, value: boolean): void {
    ctx.conds.push({ directive, name, taken: value, sawElse: false });
    if (!value) this.skipGroup(ctx);
  }

  /**
   * Skips the tokens of a group not taken, up to the #elif/#else that starts a group to take,
   * or the #endif of the innermost conditional.
   */
  private skipGroup(ctx: FileContext): void {
    const toks = ctx.toks;
    let depth = 0;
    let i = ctx.idx;
    while (i < toks.length) {
      const t = toks[i]!;
      if (!isHash(t)) {
        i++;
        continue;
      }
      let end = i + 1;
      while (end < toks.length && !toks[end]!.bol) end++;
      const d = i + 1 < end ? toks[i + 1]! : undefined;
      const hashIdx = i;
      i = end;
      if (d === undefined || d.kind !== "identifier") continue;
      switch (d.text) {
        case "if":
        case "ifdef":
        case "ifndef":
          depth++;
          break;
        case "endif":
          if (depth > 0) {
            depth--;
            break;
          }
          ctx.conds.pop();
          ctx.idx = end;
          this.extraTokens("endif", toks.slice(hashIdx + 2, end));
          return;
        case "else":
        case "elif":
        case "elifdef":
        case "elifndef": {
          if (depth > 0) break;
          const cond = ctx.conds[ctx.conds.length - 1]!;
          const dirSpan = through(t.span, d.span);
          if (cond.sawElse) this.report("E0005", `#${d.text} after #else`, dirSpan);
          const line = toks.slice(hashIdx + 2, end);
          let take: boolean;
          if (d.text === "else") {
            cond.sawElse = true;
            take = !cond.taken;
            if (take) this.extraTokens("else", line);
          } else if (cond.taken || cond.sawElse) {
            take = false; // an earlier group was taken: the condition is not even evaluated
          } else if (d.text === "elif") {
            take = this.evaluate(ctx, line, dirSpan);
          } else {
            const defined = this.definedName(d.text, line, dirSpan);
            take = defined === undefined ? false : d.text === "elifdef" ? defined : !defined;
          }
          if (take) {
            cond.taken = true;
            ctx.idx = end;
            return;
          }
          break;
        }
      }
    }
    ctx.idx = i;
  }

  /** Evaluates the expression of an #if/#elif line; false after reporting a problem. */
  private evaluate(ctx: FileContext, line: readonly LexToken[], dirSpan: Span): boolean {
    this.reportLineProblems(line);
    if (line.length === 0) {
      this.report("E0015", "#if with no expression", dirSpan);
      return false;
    }
    // `defined X` and `defined(X)` are resolved before macro expansion touches X
    const pre: WorkToken[] = [];
    for (let k = 0; k < line.length; k++) {
      const t = this.wrap(line[k]!, ctx.prov);
      if (t.kind !== "identifier" || t.text !== "defined") {
        pre.push(t);
        continue;
      }
      let j = k + 1;
      const paren = line[j]?.kind === "punct" && line[j]!.text === "(";
      if (paren) j++;
      const operand = line[j];
      if (operand === undefined || operand.kind !== "identifier") {
        const found = operand === undefined ? "the end of the line" : `'${operand.text}'`;
        this.report(
          "E0014",
          `'defined' needs a macro name, found ${found}`,
          (operand ?? line[k]!).span,
        );
        return false;
      }
      if (paren) {
        const close = line[j + 1];
        if (close === undefined || close.kind !== "punct" || close.text !== ")") {
          this.report(
            "E0014",
            `missing ')' after 'defined(${operand.text}'`,
            (close ?? operand).span,
          );
          return false;
        }
        j++;
      }
      pre.push({ ...t, kind: "number", text: this.macros.has(operand.text) ? "1" : "0" });
      k = j;
    }
    const expanded = this.expander.expandList(pre);
    if (expanded.length === 0) {
      this.report("E0015", "#if with no expression (its macros expand to nothing)", dirSpan);
      return false;
    }
    const last = line[line.length - 1]!.span;
    const r = evaluateIfExpression(
      expanded.map((t) => ({ kind: t.kind, text: t.text, span: whereOf(t) })),
      (name) => this.macros.has(name),
      {
        file: last.file,
        line: last.endLine,
        col: last.endCol,
        endLine: last.endLine,
        endCol: last.endCol + 1,
      },
    );
    if ("problem" in r) {
      this.report(r.problem.code, r.problem.message, r.problem.span);
      return false;
    }
    return r.value;
  }

  private lineDirective(ctx: FileContext, line: readonly LexToken[], dirSpan: Span): void {
    this.reportLineProblems(line);
    const toks = this.expander.expandList(line.map((t) => this.wrap(t, ctx.prov)));
    const num = toks[0];
    if (num === undefined || num.kind !== "number" || !/^[0-9]+$/.test(num.text)) {
      const found = num === undefined ? "nothing" : `'${num.text}'`;
      this.report(
        "E0021",
        `#line expects a line number, found ${found}`,
        num ? whereOf(num) : dirSpan,
      );
      return;
    }
    const file = toks[1];
    if (file !== undefined && file.kind !== "string") {
      this.report(
        "E0021",
        `#line expects a file name in quotes after the line number, found '${file.text}'`,
        whereOf(file),
      );
    } else if (toks.length > 2) {
      this.report("W0003", "extra tokens at the end of #line", whereOf(toks[2]!));
    }
    // Accepted; tokens keep their real positions (no renumbering).
  }

  private include(
    ctx: FileContext,
    isNext: boolean,
    line: readonly LexToken[],
    hash: LexToken,
    dirSpan: Span,
  ): void {
    const directive = isNext ? "#include_next" : "#include";
    if (line.length === 0) {
      this.report("E0010", `${directive} expects "FILE" or <FILE>`, dirSpan);
      return;
    }
    this.reportLineProblems(line);
    if (line[0]!.problem !== undefined) return; // an unterminated "name": reported above
    const target = includeTarget(
      line.map((t) => this.wrap(t, ctx.prov)),
      (toks) => this.expander.expandList(toks),
      directive,
    );
    if ("problem" in target) {
      this.report("E0010", target.problem, target.span);
      return;
    }
    const { name, angled, rest } = target;
    const lastSpan = target.last;
    const span = through(hash.span, lastSpan);
    if (rest.length > 0)
      this.report("W0003", `extra tokens at the end of ${directive}`, whereOf(rest[0]!));
    if (name === "") {
      this.report("E0010", `empty file name in ${directive}`, span);
      return;
    }
    if (this.files.length >= MAX_INCLUDE_DEPTH) {
      this.report(
        "E0009",
        `#include nested more than ${MAX_INCLUDE_DEPTH} levels deep (at "${name}")`,
        span,
      );
      return;
    }
    const startAfter = isNext ? ctx.dirIndex : -2;
    const found = this.resolver.resolve(name, angled, ctx.file.path, startAfter);
    if (found === undefined) {
      const dirs = this.resolver.searchPath(angled, ctx.file.path, startAfter).map((d) => d.dir);
      const where =
        dirs.length === 0 ? "no folder to search (give -I)" : `searched ${dirs.join(", ")}`;
      const shown = angled ? `<${name}>` : `"${name}"`;
      this.report("E0007", `include file ${shown} not found (${where})`, span);
      return;
    }
    const file = found.file;
    if (file.guard !== undefined && this.macros.has(file.guard)) return; // already read; guarded
    const open = this.files.findIndex((c) => c.file === file);
    if (open >= 0) {
      const cycle = this.files.slice(open).map((c) => c.file.path);
      cycle.push(file.path);
      this.report("E0008", `#include cycle: ${cycle.join(" includes ")}`, span);
      return;
    }
    this.enter(file, [{ file: file.path, span }, ...ctx.chain], found.dirIndex);
  }
}

function guarded(
  opts: PreprocessOptions,
  sink: DiagnosticSink,
  body: (pp: Preprocessor) => PPToken[],
): PPToken[] {
  let pp: Preprocessor | undefined;
  try {
    pp = new Preprocessor(opts, sink);
    return body(pp);
  } catch (e) {
    // a bug must not become a stack trace for the user: report it and keep what was produced
    const what = e instanceof Error ? e.message : String(e);
    sink.error("E0099", `internal preprocessor error: ${what}`);
    return pp?.partial() ?? [];
  }
}

/** Preprocesses a file read with opts.readFile (default: from disk). Never throws. */
export function preprocessFile(
  path: string,
  opts: PreprocessOptions,
  sink: DiagnosticSink,
): PPToken[] {
  return guarded(opts, sink, (pp) => {
    const root = pp.load(path);
    if (root === undefined) {
      sink.error("E0900", `cannot read ${path}`);
      return [];
    }
    return pp.run(root);
  });
}

/** Preprocesses `text` as if it were the file `virtualPath` (includes resolve from its folder). */
export function preprocessText(
  text: string,
  virtualPath: string,
  opts: PreprocessOptions,
  sink: DiagnosticSink,
): PPToken[] {
  return guarded(opts, sink, (pp) => pp.run(pp.load(virtualPath, text)!));
}
