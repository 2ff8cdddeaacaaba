// Evaluates the integer expressions of .defs sizes (`+ - * /` over literals) as GNU MIG does,
// reporting division by zero and out-of-range results instead of producing garbage.
import type { IntExpr } from "../ast.js";
import type { DiagnosticSink } from "../diagnostics.js";

/** The value of a size expression, or undefined after reporting why it has none. */
export function evalIntExpr(e: IntExpr, sink: DiagnosticSink): number | undefined {
  switch (e.kind) {
    case "number":
      return e.value;
    case "paren":
      return evalIntExpr(e.expr, sink);
    case "binary": {
      const l = evalIntExpr(e.left, sink);
      const r = evalIntExpr(e.right, sink);
      if (l === undefined || r === undefined) return undefined;
      switch (e.op) {
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          if (r === 0) {
            sink.error("E0219", "division by zero in a size expression", e.span);
            return undefined;
          }
          return Math.trunc(l / r);
      }
    }
  }
}

/** A size that must be a positive 32-bit count (array bounds, c_string lengths, IPC sizes). */
export function evalCount(
  e: IntExpr,
  sink: DiagnosticSink,
  what: string,
  allowZero = false,
): number | undefined {
  const v = evalIntExpr(e, sink);
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < (allowZero ? 0 : 1) || v > 0xffffffff) {
    sink.error(
      "E0219",
      `${what} is ${v}; it must be ${allowZero ? "at least 0" : "positive"} and fit in 32 bits`,
      e.span,
    );
    return undefined;
  }
  return v;
}
