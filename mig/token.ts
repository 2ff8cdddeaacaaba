// Preprocessed tokens: what the built-in C preprocessor hands to the MIG parser.
// A token keeps the span of its characters in the original file, through includes and macros.
import type { Provenance, Span } from "./source.js";

export type PPTokenKind =
  | "identifier" // C identifier (MIG keywords are identifiers here; the parser classifies them)
  | "number" // C integer literal as written: 10, 0x1F, 017, 10U, 'c' is "char"
  | "string" // "..." with the quotes, as written
  | "char" // '...' with the quotes
  | "punct" // one C punctuator: ( ) [ ] { } ; : , = | ^ * < > + - / % & ! ~ ? . << >> etc.
  | "other"; // any other single character the C lexer passes through

/** A comment seen in the source, kept so documentation can be attached to declarations. */
export interface SourceComment {
  /** The comment text without its delimiters, trimmed of the leading ` * ` decoration. */
  readonly text: string;
  readonly span: Span;
}

export interface PPToken {
  readonly kind: PPTokenKind;
  readonly text: string;
  /** Where the characters of this token are written (for macro results: in the macro body). */
  readonly span: Span;
  readonly provenance: Provenance;
  /** True when white space or a comment separated this token from the previous one. */
  readonly spaceBefore: boolean;
  /** Comments between the previous token and this one, in order (the doc comments of a decl). */
  readonly comments: readonly SourceComment[];
}
