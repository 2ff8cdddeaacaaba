// The catalog of every diagnostic tsmig can report: a stable code and a one-line description.
// Codes never change meaning once published. Ranges: E00xx preprocessor, E01xx syntax,
// E02xx semantics and layout, E09xx command line and I/O; W0xxx are warnings.

export const DIAGNOSTIC_CATALOG = {
  // E00xx: preprocessor (mig/preprocess/)
  // E01xx: syntax (mig/parse/)
  // E02xx: semantics and layout (mig/check/, mig/layout/)
  // E09xx: command line and I/O (mig/cli/)
  E0900: "a file named on the command line cannot be read",
} as const satisfies Record<string, string>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CATALOG;
