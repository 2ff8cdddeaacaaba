// Source positions for the compiler: every token, AST node and diagnostic carries a Span.
// Lines and columns are 1-based; endCol is exclusive (the column just past the last character).

/** A range of characters in one source file. */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly endLine: number;
  readonly endCol: number;
}

/** One step of an include chain: `file` was included at `span` (the #include directive). */
export interface IncludeFrame {
  readonly file: string;
  readonly span: Span;
}

/** Where a token came from beyond its own span. */
export interface Provenance {
  /** Innermost first: the #include directives that led to the token's file. */
  readonly includedFrom: readonly IncludeFrame[];
  /** When the token came out of a macro expansion: the span of the macro invocation. */
  readonly expandedFrom?: Span;
}

export function spanOf(
  file: string,
  line: number,
  col: number,
  endLine: number,
  endCol: number,
): Span {
  return { file, line, col, endLine, endCol };
}

/** The smallest span covering both (assumes same file, a before b). */
export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}
