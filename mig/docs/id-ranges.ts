// Message id ranges of subsystems: [base, base + slots) for requests, each reply at id + 100;
// two subsystems whose request ranges overlap would make their messages ambiguous (E0220).
import type { DefsFile } from "../ast.js";
import type { CheckedInterface } from "../check/checked-model.js";
import type { DiagnosticSink } from "../diagnostics.js";

/** Inclusive bounds; `last < first` when the subsystem has no routine slot at all. */
export interface IdRange {
  readonly first: number;
  readonly last: number;
}

/** The id offset of a reply from its request (GNU MIG's convention). */
export const REPLY_ID_OFFSET = 100;

/**
 * Message id slots a subsystem takes: every routine (even a broken one) and every skipped id,
 * counted from the AST when given (so trailing `skip`s are reserved too), else up to the last routine.
 */
export function slotCount(checked: CheckedInterface, ast?: DefsFile): number {
  let fromRoutines = 0;
  for (const r of checked.routines) fromRoutines = Math.max(fromRoutines, r.number + 1);
  if (ast === undefined) return fromRoutines;
  let slots = 0;
  for (const s of ast.statements) {
    if (s.kind === "routine") slots += 1;
    else if (s.kind === "skip") slots += s.count === undefined ? 1 : Math.max(0, s.count.value);
    else if (s.kind === "broken" && (s.keyword === "routine" || s.keyword === "simpleroutine"))
      slots += 1;
  }
  return Math.max(slots, fromRoutines);
}

export function requestRange(checked: CheckedInterface, ast?: DefsFile): IdRange {
  const base = checked.subsystem.base;
  return { first: base, last: base + slotCount(checked, ast) - 1 };
}

export function isEmptyRange(r: IdRange): boolean {
  return r.last < r.first;
}

export function rangeText(r: IdRange): string {
  if (isEmptyRange(r)) return "none";
  return r.first === r.last ? `${r.first}` : `${r.first}–${r.last}`;
}

/** Reply ids of a range (requests shifted by REPLY_ID_OFFSET). */
export function replyRange(r: IdRange): IdRange {
  return { first: r.first + REPLY_ID_OFFSET, last: r.last + REPLY_ID_OFFSET };
}

export interface RangedSubsystem {
  /** The .defs file as shown to people. */
  readonly path: string;
  readonly checked: CheckedInterface;
  readonly range: IdRange;
}

/**
 * Reports E0220 for every pair of subsystems whose request ids overlap, at the subsystem
 * statement of the one with the higher base (or the later one on equal bases), naming the other.
 * Returns the number of overlaps found.
 */
export function checkIdOverlaps(
  subsystems: readonly RangedSubsystem[],
  sink: DiagnosticSink,
): number {
  const order = subsystems
    .map((s, index) => ({ s, index }))
    .filter(({ s }) => !isEmptyRange(s.range))
    .sort((a, b) => a.s.range.first - b.s.range.first || a.index - b.index);
  let found = 0;
  for (let j = 0; j < order.length; j++) {
    const later = order[j]!.s;
    for (let i = 0; i < j; i++) {
      const earlier = order[i]!.s;
      if (earlier.range.last < later.range.first) continue;
      const at = earlier.checked.subsystem.span;
      sink.error(
        "E0220",
        `message ids ${rangeText(later.range)} of subsystem ${later.checked.subsystem.name} ` +
          `(${later.path}) overlap ids ${rangeText(earlier.range)} of subsystem ` +
          `${earlier.checked.subsystem.name} (${earlier.path}, declared at ${at.file}:${at.line})`,
        later.checked.subsystem.span,
      );
      found++;
    }
  }
  return found;
}
