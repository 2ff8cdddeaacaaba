// The .defs comments as prose: comment blocks become paragraphs, `backquoted` words code spans.
// License notices (blocks that mention a copyright) are not protocol prose and are left out.

/** A run of text, or a code span (from `backquotes`). */
export interface ProseSpan {
  readonly code: boolean;
  readonly text: string;
}

export type Paragraph = readonly ProseSpan[];

const LICENSE = /\bcopyright\b|\(c\)\s*\d{4}/i;

/** Splits a paragraph's text into text runs and code spans; an unmatched backquote stays text. */
export function inlineSpans(text: string): Paragraph {
  const spans: ProseSpan[] = [];
  let rest = text;
  let plain = "";
  for (;;) {
    const open = rest.indexOf("`");
    const close = open < 0 ? -1 : rest.indexOf("`", open + 1);
    if (open < 0 || close < 0) {
      plain += rest;
      break;
    }
    plain += rest.slice(0, open);
    const code = rest.slice(open + 1, close);
    if (code.length === 0) {
      plain += "``";
    } else {
      if (plain.length > 0) spans.push({ code: false, text: plain });
      plain = "";
      spans.push({ code: true, text: code });
    }
    rest = rest.slice(close + 1);
  }
  if (plain.length > 0) spans.push({ code: false, text: plain });
  return spans;
}

/** Paragraphs of doc comments: blank lines separate paragraphs; lines of one are joined. */
export function proseOf(doc: readonly string[]): Paragraph[] {
  const out: Paragraph[] = [];
  for (const block of doc) {
    if (LICENSE.test(block)) continue;
    const lines = block.split(/\r?\n/).map((l) => l.replace(/^\s*\*?\s?/, "").trim());
    let current: string[] = [];
    const flush = (): void => {
      if (current.length > 0) out.push(inlineSpans(current.join(" ").replace(/\s+/g, " ")));
      current = [];
    };
    for (const line of lines) {
      if (line === "") flush();
      else current.push(line);
    }
    flush();
  }
  return out;
}

/** A paragraph as plain text (code spans keep their backquotes). */
export function plainText(p: Paragraph): string {
  return p.map((s) => (s.code ? "`" + s.text + "`" : s.text)).join("");
}
