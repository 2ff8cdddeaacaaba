// The GNU MIG 1.8 grammar as a chevrotain embedded-actions parser: each rule returns its AST node.
// Routines are parsed in pieces (head, each argument) by parser.ts so errors resynchronise.
import {
  EmbeddedActionsParser,
  type IParserErrorMessageProvider,
  type IToken,
  type TokenType,
} from "chevrotain";
import type * as A from "../ast.js";
import type { Span } from "../source.js";
import {
  ALL_TOKEN_TYPES,
  Bar,
  Caret,
  Colon,
  Comma,
  Equal,
  HeaderPart,
  Identifier,
  integerValue,
  KW,
  LAngle,
  LBrace,
  LBrack,
  LParen,
  Minus,
  NumberTok,
  Plus,
  RAngle,
  RBrace,
  RBrack,
  RParen,
  Semi,
  Slash,
  Star,
  StringTok,
  SymbolicType,
  Word,
  type MigToken,
} from "./tokens.js";

/** What the parser expected, as token type names, carried to parser.ts through the error message. */
export interface ExpectedInfo {
  readonly expected: readonly string[];
}

function firstTokens(paths: TokenType[][]): string[] {
  return paths.map((p) => (p[0] ? p[0].name : "EOF"));
}

/** Encodes the expected tokens as JSON; parser.ts turns it into a message and a code. */
const expectationProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected }) =>
    JSON.stringify({ expected: [expected.name] } satisfies ExpectedInfo),
  buildNotAllInputParsedMessage: () => JSON.stringify({ expected: ["EOF"] } satisfies ExpectedInfo),
  buildNoViableAltMessage: ({ expectedPathsPerAlt }) =>
    JSON.stringify({
      expected: [...new Set(expectedPathsPerAlt.flatMap(firstTokens))],
    } satisfies ExpectedInfo),
  buildEarlyExitMessage: ({ expectedIterationPaths }) =>
    JSON.stringify({
      expected: [...new Set(firstTokens(expectedIterationPaths))],
    } satisfies ExpectedInfo),
};

function span(first: IToken, last: IToken): Span {
  const a = (first as MigToken).pp;
  const b = (last as MigToken).pp;
  const sa = a.provenance.expandedFrom ?? a.span;
  const sb = b.provenance.expandedFrom ?? b.span;
  if (sa.file !== sb.file || sb.endLine < sa.line || (sb.endLine === sa.line && sb.endCol < sa.col))
    return sa;
  return { file: sa.file, line: sa.line, col: sa.col, endLine: sb.endLine, endCol: sb.endCol };
}

function join(a: Span, b: Span): Span {
  if (a.file !== b.file || b.endLine < a.line || (b.endLine === a.line && b.endCol < a.col))
    return a;
  return { file: a.file, line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}

function ident(t: IToken): A.Identifier {
  return { kind: "identifier", name: t.image, span: span(t, t) };
}

function num(t: IToken): A.NumberLiteral {
  return { kind: "number", value: integerValue(t.image) ?? 0, text: t.image, span: span(t, t) };
}

/** Header of a routine: `routine NAME (`. */
export interface RoutineHead {
  readonly keyword: IToken;
  readonly simple: boolean;
  readonly name: A.Identifier;
}

export class MigGrammar extends EmbeddedActionsParser {
  /** Doc comments for the token that begins a declaration (set by parser.ts per file). */
  docFor: (t: IToken) => string[] = () => [];

  constructor() {
    super(ALL_TOKEN_TYPES, {
      errorMessageProvider: expectationProvider,
      recoveryEnabled: false,
      maxLookahead: 3,
      // The grammar is fixed: validate it under the test runner, skip that cost in every tsmig run.
      skipValidations: process.env.VITEST === undefined,
    });
    this.performSelfAnalysis();
  }

  // Statements ---------------------------------------------------------------------------------

  statement = this.RULE("statement", (): A.Statement => {
    return this.OR<A.Statement>([
      { ALT: () => this.SUBRULE(this.subsystem) },
      { ALT: () => this.SUBRULE(this.skip) },
      { ALT: () => this.SUBRULE(this.typeStatement) },
      { ALT: () => this.SUBRULE(this.importStatement) },
      { ALT: () => this.SUBRULE(this.prefixStatement) },
      { ALT: () => this.SUBRULE(this.waitTime) },
      { ALT: () => this.SUBRULE(this.noWaitTime) },
      { ALT: () => this.SUBRULE(this.msgOption) },
      { ALT: () => this.SUBRULE(this.rcsId) },
      {
        ALT: () => {
          const s = this.CONSUME(Semi);
          return this.ACTION(() => ({ kind: "empty", span: span(s, s) }) as A.EmptyStatement);
        },
      },
    ]);
  });

  subsystem = this.RULE("subsystem", (): A.SubsystemStatement => {
    const kw = this.CONSUME(KW.subsystem);
    const modifiers: A.SubsystemModifier[] = [];
    this.MANY(() => {
      const m = this.OR([
        { ALT: () => this.CONSUME(KW.kerneluser) },
        { ALT: () => this.CONSUME(KW.kernelserver) },
      ]);
      this.ACTION(() =>
        modifiers.push({
          kind: "subsystemModifier",
          modifier: m.tokenType === KW.kerneluser ? "KernelUser" : "KernelServer",
          span: span(m, m),
        }),
      );
    });
    const name = this.CONSUME(Identifier);
    const base = this.CONSUME(NumberTok);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({
      kind: "subsystem",
      modifiers,
      name: ident(name),
      base: num(base),
      doc: this.docFor(kw),
      span: span(kw, semi),
    }));
  });

  skip = this.RULE("skip", (): A.SkipStatement => {
    const kw = this.CONSUME(KW.skip);
    const count = this.OPTION(() => this.CONSUME(NumberTok));
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({
      kind: "skip",
      ...(count ? { count: num(count) } : {}),
      span: span(kw, semi),
    }));
  });

  typeStatement = this.RULE("typeStatement", (): A.TypeStatement => {
    const kw = this.CONSUME(KW.type);
    const definition = this.SUBRULE(this.typeDefinition);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({
      kind: "type",
      definition,
      doc: this.docFor(kw),
      span: span(kw, semi),
    }));
  });

  importStatement = this.RULE("importStatement", (): A.ImportStatement => {
    const kw = this.OR([
      { ALT: () => this.CONSUME(KW.import) },
      { ALT: () => this.CONSUME(KW.uimport) },
      { ALT: () => this.CONSUME(KW.simport) },
    ]);
    const file = this.SUBRULE(this.importFile);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({
      kind: "import",
      which: kw.image.toLowerCase() as A.ImportStatement["which"],
      ...file,
      span: span(kw, semi),
    }));
  });

  importFile = this.RULE(
    "importFile",
    (): Pick<A.ImportStatement, "file" | "delimiter" | "fileSpan"> => {
      return this.OR([
        {
          ALT: () => {
            const s = this.CONSUME(StringTok);
            return this.ACTION(() => ({
              file: s.image,
              delimiter: "quote" as const,
              fileSpan: span(s, s),
            }));
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(LAngle);
            const parts: IToken[] = [];
            this.AT_LEAST_ONE(() => parts.push(this.CONSUME(HeaderPart)));
            const close = this.CONSUME(RAngle);
            return this.ACTION(() => {
              const text = parts
                .map((p, i) => (i > 0 && (p as MigToken).pp.spaceBefore ? " " : "") + p.image)
                .join("");
              return {
                file: `<${text}>`,
                delimiter: "angle" as const,
                fileSpan: span(open, close),
              };
            });
          },
        },
      ]);
    },
  );

  prefixStatement = this.RULE(
    "prefixStatement",
    (): A.ServerPrefixStatement | A.UserPrefixStatement | A.ServerDemuxStatement => {
      const kw = this.OR([
        { ALT: () => this.CONSUME(KW.serverprefix) },
        { ALT: () => this.CONSUME(KW.userprefix) },
        { ALT: () => this.CONSUME(KW.serverdemux) },
      ]);
      const name = this.CONSUME(Identifier);
      const semi = this.CONSUME(Semi);
      return this.ACTION(() => {
        const s = span(kw, semi);
        if (kw.tokenType === KW.serverprefix)
          return { kind: "serverPrefix", prefix: ident(name), span: s };
        if (kw.tokenType === KW.userprefix)
          return { kind: "userPrefix", prefix: ident(name), span: s };
        return { kind: "serverDemux", name: ident(name), span: s };
      });
    },
  );

  /** GNU MIG reads these values as raw words ([-/._$A-Za-z0-9]+): here a word or number, maybe negated. */
  wordValue = this.RULE("wordValue", (): { value: string; valueSpan: Span } => {
    const minus = this.OPTION(() => this.CONSUME(Minus));
    const w = this.CONSUME(Word);
    return this.ACTION(() => ({
      value: (minus ? "-" : "") + w.image,
      valueSpan: span(minus ?? w, w),
    }));
  });

  waitTime = this.RULE("waitTime", (): A.WaitTimeStatement => {
    const kw = this.CONSUME(KW.waittime);
    const v = this.SUBRULE(this.wordValue);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({ kind: "waitTime", ...v, span: span(kw, semi) }));
  });

  noWaitTime = this.RULE("noWaitTime", (): A.NoWaitTimeStatement => {
    const kw = this.CONSUME(KW.nowaittime);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({ kind: "noWaitTime", span: span(kw, semi) }));
  });

  msgOption = this.RULE("msgOption", (): A.MsgOptionStatement => {
    const kw = this.CONSUME(KW.msgoption);
    const v = this.SUBRULE(this.wordValue);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({ kind: "msgOption", ...v, span: span(kw, semi) }));
  });

  rcsId = this.RULE("rcsId", (): A.RcsIdStatement => {
    const kw = this.CONSUME(KW.rcsid);
    const s = this.CONSUME(StringTok);
    const semi = this.CONSUME(Semi);
    return this.ACTION(() => ({
      kind: "rcsId",
      value: s.image.slice(1, -1),
      span: span(kw, semi),
    }));
  });

  // Routines -----------------------------------------------------------------------------------

  routineHead = this.RULE("routineHead", (): RoutineHead => {
    const keyword = this.OR([
      { ALT: () => this.CONSUME(KW.routine) },
      { ALT: () => this.CONSUME(KW.simpleroutine) },
    ]);
    const name = this.CONSUME(Identifier);
    this.CONSUME(LParen);
    return this.ACTION(() => ({
      keyword,
      simple: keyword.tokenType === KW.simpleroutine,
      name: ident(name),
    }));
  });

  argument = this.RULE("argument", (): A.Argument => {
    const kind = this.OPTION(() =>
      this.OR([
        { ALT: () => this.CONSUME(KW.in) },
        { ALT: () => this.CONSUME(KW.out) },
        { ALT: () => this.CONSUME(KW.inout) },
        { ALT: () => this.CONSUME(KW.requestport) },
        { ALT: () => this.CONSUME(KW.replyport) },
        { ALT: () => this.CONSUME(KW.sreplyport) },
        { ALT: () => this.CONSUME(KW.ureplyport) },
        { ALT: () => this.CONSUME(KW.waittime) },
        { ALT: () => this.CONSUME(KW.msgoption) },
        { ALT: () => this.CONSUME(KW.msgseqno) },
      ]),
    );
    const name = this.CONSUME(Identifier);
    this.CONSUME(Colon);
    const type = this.SUBRULE(this.argumentType);
    const flags: A.IpcFlag[] = [];
    this.MANY(() => {
      this.CONSUME(Comma);
      const f = this.SUBRULE(this.ipcFlag);
      this.ACTION(() => flags.push(f));
    });
    return this.ACTION(() => {
      const first = kind ?? name;
      const end = flags.length > 0 ? flags[flags.length - 1]!.span : type.span;
      return {
        kind: "argument",
        ...(kind
          ? { argKind: kind.image.toLowerCase() as A.ArgumentKind, argKindSpan: span(kind, kind) }
          : {}),
        name: ident(name),
        type,
        flags,
        doc: this.docFor(first),
        span: join(span(first, first), end),
      };
    });
  });

  argumentType = this.RULE("argumentType", (): A.TypeNameRef | A.TypeDefinition => {
    return this.OR<A.TypeNameRef | A.TypeDefinition>([
      { GATE: () => this.LA(2).tokenType === Equal, ALT: () => this.SUBRULE(this.typeDefinition) },
      {
        ALT: () => {
          const t = this.CONSUME(Identifier);
          return this.ACTION(
            () => ({ kind: "typeName", name: ident(t), span: span(t, t) }) as A.TypeNameRef,
          );
        },
      },
    ]);
  });

  ipcFlag = this.RULE("ipcFlag", (): A.IpcFlag => {
    const f = this.OR([
      { ALT: () => this.CONSUME(KW.dealloc) },
      { ALT: () => this.CONSUME(KW.notdealloc) },
      { ALT: () => this.CONSUME(KW.servercopy) },
      { ALT: () => this.CONSUME(KW.countinout) },
      { ALT: () => this.CONSUME(KW.islong) },
      { ALT: () => this.CONSUME(KW.isnotlong) },
      { ALT: () => this.CONSUME(KW.retcode) },
    ]);
    const brackets = this.OPTION(() => {
      this.CONSUME(LBrack);
      return this.CONSUME(RBrack);
    });
    return this.ACTION(() => {
      const word = f.image.toLowerCase();
      return {
        kind: "ipcFlag",
        flag: (brackets ? `${word}[]` : word) as A.IpcFlagName,
        span: span(f, brackets ?? f),
      };
    });
  });

  // Types ----------------------------------------------------------------------------------------

  typeDefinition = this.RULE("typeDefinition", (): A.TypeDefinition => {
    const name = this.CONSUME(Identifier);
    this.CONSUME(Equal);
    const spec = this.SUBRULE(this.typeSpec);
    const annotations: A.TypeAnnotation[] = [];
    this.MANY(() => {
      const a = this.SUBRULE(this.annotation);
      this.ACTION(() => annotations.push(a));
    });
    return this.ACTION(() => {
      const end = annotations.length > 0 ? annotations[annotations.length - 1]!.span : spec.span;
      return {
        kind: "typeDefinition",
        name: ident(name),
        spec,
        annotations,
        span: join(span(name, name), end),
      };
    });
  });

  annotation = this.RULE("annotation", (): A.TypeAnnotation => {
    return this.OR<A.TypeAnnotation>([
      {
        ALT: () => {
          const kw = this.OR2([
            { ALT: () => this.CONSUME(KW.ctype) },
            { ALT: () => this.CONSUME(KW.cusertype) },
            { ALT: () => this.CONSUME(KW.cservertype) },
          ]);
          this.CONSUME(Colon);
          const t = this.CONSUME(Identifier);
          return this.ACTION(() => ({
            kind: kw.image.toLowerCase() as A.CTypeAnnotation["kind"],
            cType: ident(t),
            span: span(kw, t),
          }));
        },
      },
      {
        ALT: () => {
          const kw = this.OR3([
            { ALT: () => this.CONSUME(KW.intran) },
            { ALT: () => this.CONSUME(KW.outtran) },
          ]);
          this.CONSUME2(Colon);
          const a = this.CONSUME2(Identifier);
          const f = this.CONSUME3(Identifier);
          this.CONSUME(LParen);
          const b = this.CONSUME4(Identifier);
          const close = this.CONSUME(RParen);
          return this.ACTION((): A.TypeAnnotation => {
            const s = span(kw, close);
            return kw.tokenType === KW.intran
              ? {
                  kind: "intran",
                  transType: ident(a),
                  function: ident(f),
                  serverType: ident(b),
                  span: s,
                }
              : {
                  kind: "outtran",
                  serverType: ident(a),
                  function: ident(f),
                  transType: ident(b),
                  span: s,
                };
          });
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(KW.intranpayload);
          this.CONSUME3(Colon);
          const a = this.CONSUME5(Identifier);
          const f = this.CONSUME6(Identifier);
          return this.ACTION(() => ({
            kind: "intranpayload",
            transType: ident(a),
            function: ident(f),
            span: span(kw, f),
          }));
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(KW.destructor);
          this.CONSUME4(Colon);
          const f = this.CONSUME7(Identifier);
          this.CONSUME2(LParen);
          const t = this.CONSUME8(Identifier);
          const close = this.CONSUME2(RParen);
          return this.ACTION(() => ({
            kind: "destructor",
            function: ident(f),
            transType: ident(t),
            span: span(kw, close),
          }));
        },
      },
    ]);
  });

  typeSpec = this.RULE("typeSpec", (): A.TypeSpec => {
    return this.OR<A.TypeSpec>([
      {
        ALT: () => {
          const ipc = this.SUBRULE(this.ipcType);
          return this.ACTION(() => ({ kind: "shortType", ipc, span: ipc.span }) as A.ShortTypeSpec);
        },
      },
      { ALT: () => this.SUBRULE(this.longType) },
      {
        ALT: () => {
          const t = this.CONSUME(Identifier);
          return this.ACTION(
            () => ({ kind: "typeName", name: ident(t), span: span(t, t) }) as A.TypeNameRef,
          );
        },
      },
      { ALT: () => this.SUBRULE(this.arrayType) },
      {
        ALT: () => {
          const caret = this.CONSUME(Caret);
          const target = this.SUBRULE(this.typeSpec);
          return this.ACTION(
            () =>
              ({
                kind: "pointer",
                target,
                span: join(span(caret, caret), target.span),
              }) as A.PointerTypeSpec,
          );
        },
      },
      { ALT: () => this.SUBRULE(this.structType) },
      { ALT: () => this.SUBRULE(this.cStringType) },
    ]);
  });

  ipcType = this.RULE("ipcType", (): A.IpcType => {
    const send = this.SUBRULE(this.primIpcType);
    const receive = this.OPTION(() => {
      this.CONSUME(Bar);
      return this.SUBRULE2(this.primIpcType);
    });
    return this.ACTION(() => ({
      kind: "ipcType",
      send,
      ...(receive ? { receive } : {}),
      span: receive ? join(send.span, receive.span) : send.span,
    }));
  });

  primIpcType = this.RULE("primIpcType", (): A.PrimIpcType => {
    return this.OR<A.PrimIpcType>([
      {
        ALT: () => {
          const n = this.CONSUME(NumberTok);
          return this.ACTION(
            () => ({ kind: "numericIpcType", value: num(n), span: span(n, n) }) as A.NumericIpcType,
          );
        },
      },
      {
        ALT: () => {
          const s = this.CONSUME(SymbolicType);
          return this.ACTION(
            () =>
              ({
                kind: "symbolicIpcType",
                name: s.image as A.SymbolicIpcTypeName,
                span: span(s, s),
              }) as A.SymbolicIpcType,
          );
        },
      },
      {
        ALT: () => {
          const p = this.CONSUME(KW.polymorphic);
          return this.ACTION(
            () =>
              ({
                kind: "symbolicIpcType",
                name: "polymorphic",
                span: span(p, p),
              }) as A.SymbolicIpcType,
          );
        },
      },
    ]);
  });

  longType = this.RULE("longType", (): A.LongTypeSpec => {
    const open = this.CONSUME(LParen);
    const ipc = this.SUBRULE(this.ipcType);
    this.CONSUME(Comma);
    const size = this.SUBRULE(this.intExpr);
    const flags: A.IpcFlag[] = [];
    this.MANY(() => {
      this.CONSUME2(Comma);
      const f = this.SUBRULE(this.ipcFlag);
      this.ACTION(() => flags.push(f));
    });
    const close = this.CONSUME(RParen);
    return this.ACTION(() => ({ kind: "longType", ipc, size, flags, span: span(open, close) }));
  });

  arrayType = this.RULE("arrayType", (): A.ArrayTypeSpec => {
    const kw = this.CONSUME(KW.array);
    const open = this.CONSUME(LBrack);
    const bound = this.OR<(close: IToken) => A.ArrayBound>([
      {
        ALT: () => {
          this.CONSUME(RBrack);
          return (close) => ({ kind: "unbounded", form: "[]", span: span(open, close) });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Star);
          return this.OR2<(close: IToken) => A.ArrayBound>([
            {
              ALT: () => {
                this.CONSUME2(RBrack);
                return (close) => ({ kind: "unbounded", form: "[*]", span: span(open, close) });
              },
            },
            {
              ALT: () => {
                this.CONSUME(Colon);
                const max = this.SUBRULE(this.intExpr);
                this.CONSUME3(RBrack);
                return (close) => ({ kind: "variable", max, span: span(open, close) });
              },
            },
          ]);
        },
      },
      {
        ALT: () => {
          const size = this.SUBRULE2(this.intExpr);
          this.CONSUME4(RBrack);
          return (close) => ({ kind: "fixed", size, span: span(open, close) });
        },
      },
    ]);
    const close = this.ACTION(() => this.LA(0));
    this.CONSUME(KW.of);
    const element = this.SUBRULE(this.typeSpec);
    return this.ACTION(() => ({
      kind: "array",
      bound: bound(close),
      element,
      span: join(span(kw, kw), element.span),
    }));
  });

  structType = this.RULE("structType", (): A.StructArrayTypeSpec | A.InlineStructTypeSpec => {
    const kw = this.CONSUME(KW.struct);
    return this.OR<A.StructArrayTypeSpec | A.InlineStructTypeSpec>([
      {
        ALT: () => {
          this.CONSUME(LBrack);
          const count = this.SUBRULE(this.intExpr);
          this.CONSUME(RBrack);
          this.CONSUME(KW.of);
          const element = this.SUBRULE(this.typeSpec);
          return this.ACTION(
            () =>
              ({
                kind: "structArray",
                count,
                element,
                span: join(span(kw, kw), element.span),
              }) as A.StructArrayTypeSpec,
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(LBrace);
          const fields: A.StructField[] = [];
          this.AT_LEAST_ONE(() => {
            const t = this.CONSUME(Identifier);
            const n = this.CONSUME2(Identifier);
            const semi = this.CONSUME(Semi);
            this.ACTION(() =>
              fields.push({
                kind: "structField",
                type: ident(t),
                name: ident(n),
                span: span(t, semi),
              }),
            );
          });
          const close = this.CONSUME(RBrace);
          return this.ACTION(
            () => ({ kind: "struct", fields, span: span(kw, close) }) as A.InlineStructTypeSpec,
          );
        },
      },
    ]);
  });

  cStringType = this.RULE("cStringType", (): A.CStringTypeSpec => {
    const kw = this.CONSUME(KW.c_string);
    this.CONSUME(LBrack);
    const varying = this.OPTION(() => {
      this.CONSUME(Star);
      return this.CONSUME(Colon);
    });
    const size = this.SUBRULE(this.intExpr);
    const close = this.CONSUME(RBrack);
    return this.ACTION(() => ({
      kind: "cString",
      size,
      varying: varying !== undefined,
      span: span(kw, close),
    }));
  });

  // Integer expressions ----------------------------------------------------------------------------

  intExpr = this.RULE("intExpr", (): A.IntExpr => {
    let left = this.SUBRULE(this.intTerm);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME(Minus) }]);
      const right = this.SUBRULE2(this.intTerm);
      this.ACTION(() => {
        left = {
          kind: "binary",
          op: op.image as "+" | "-",
          left,
          right,
          span: join(left.span, right.span),
        };
      });
    });
    return left;
  });

  intTerm = this.RULE("intTerm", (): A.IntExpr => {
    let left = this.SUBRULE(this.intPrimary);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(Star) }, { ALT: () => this.CONSUME(Slash) }]);
      const right = this.SUBRULE2(this.intPrimary);
      this.ACTION(() => {
        left = {
          kind: "binary",
          op: op.image as "*" | "/",
          left,
          right,
          span: join(left.span, right.span),
        };
      });
    });
    return left;
  });

  intPrimary = this.RULE("intPrimary", (): A.IntExpr => {
    return this.OR<A.IntExpr>([
      {
        ALT: () => {
          const n = this.CONSUME(NumberTok);
          return this.ACTION(() => num(n));
        },
      },
      {
        ALT: () => {
          const open = this.CONSUME(LParen);
          const expr = this.SUBRULE(this.intExpr);
          const close = this.CONSUME(RParen);
          return this.ACTION(
            () => ({ kind: "paren", expr, span: span(open, close) }) as A.ParenExpr,
          );
        },
      },
    ]);
  });
}
