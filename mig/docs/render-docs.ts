// renderDocs: checked interfaces in, every file of the protocol docs out (Markdown, HTML, CSS),
// by path relative to the docs folder. Same inputs, same bytes; overlapping id ranges are E0220.
import type { DefsFile } from "../ast.js";
import type { CheckedInterface } from "../check/checked-model.js";
import type { DiagnosticSink } from "../diagnostics.js";
import { subsystemDoc, type SubsystemDoc } from "./docs-model.js";
import { indexHtml, subsystemHtml } from "./html-site.js";
import { checkIdOverlaps, requestRange } from "./id-ranges.js";
import { indexMarkdown, subsystemMarkdown } from "./markdown.js";
import { DOCS_CSS } from "./style.js";

/** Where `tsmig docs` and `tsmig gen` put the docs of defs/, relative to the repository. */
export const DOCS_DIR = "docs/protocols";

/** Every page begins with a comment that starts with this (see isGeneratedDoc). */
export const DOCS_MARK = "Protocol docs written by tsmig";

export interface DocsInput {
  /** The .defs file as shown to readers, e.g. "defs/device.defs". */
  readonly path: string;
  readonly checked: CheckedInterface;
  /** The file's AST: gives type comments and trailing skips (reserved ids); optional. */
  readonly ast?: DefsFile;
}

export interface DocsOptions {
  /** tsmig's version, named in each page's first line when given. */
  readonly version?: string;
}

function byBase(a: DocsInput, b: DocsInput): number {
  const x = a.checked.subsystem;
  const y = b.checked.subsystem;
  if (x.base !== y.base) return x.base - y.base;
  if (x.name !== y.name) return x.name < y.name ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Page names: the subsystem's name, with -2, -3, ... when two subsystems share one. */
function slugs(inputs: readonly DocsInput[]): string[] {
  const taken = new Set<string>(["index", "style"]);
  return inputs.map((i) => {
    const base = i.checked.subsystem.name;
    let slug = base;
    for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`;
    taken.add(slug);
    return slug;
  });
}

/** The documentation model of every input, sorted by base; undefined (and E0220) on overlap. */
export function docsModel(
  inputs: readonly DocsInput[],
  sink: DiagnosticSink,
): SubsystemDoc[] | undefined {
  const overlaps = checkIdOverlaps(
    inputs.map((i) => ({
      path: i.path,
      checked: i.checked,
      range: requestRange(i.checked, i.ast),
    })),
    sink,
  );
  if (overlaps > 0) return undefined;
  const sorted = [...inputs].sort(byBase);
  const names = slugs(sorted);
  return sorted.map((i, k) => subsystemDoc(names[k]!, i.path, i.checked, i.ast));
}

/**
 * Every file of the protocol docs, by path relative to the docs folder ("index.html",
 * "device.md", "style.css", ...), in sorted order; undefined when ids overlap (see the sink).
 */
export function renderDocs(
  inputs: readonly DocsInput[],
  sink: DiagnosticSink,
  options: DocsOptions = {},
): Map<string, string> | undefined {
  const model = docsModel(inputs, sink);
  if (model === undefined) return undefined;
  const by = options.version === undefined ? "tsmig" : `tsmig ${options.version}`;
  const mark = (from: string): string =>
    `${DOCS_MARK.replace("tsmig", by)} from ${from}. DO NOT EDIT.`;
  const files: [string, string][] = [
    ["index.html", indexHtml(model, { mark: mark("every documented .defs") })],
    ["index.md", indexMarkdown(model, mark("every documented .defs"))],
    ["style.css", DOCS_CSS],
  ];
  for (const s of model) {
    files.push([`${s.slug}.html`, subsystemHtml(s, { mark: mark(s.path) })]);
    files.push([`${s.slug}.md`, subsystemMarkdown(s, mark(s.path))]);
  }
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(files);
}

/** The same files by repository-relative path (under DOCS_DIR), for `tsmig gen` and `tsmig check`. */
export function docsFiles(
  inputs: readonly DocsInput[],
  sink: DiagnosticSink,
  options: DocsOptions = {},
): { path: string; content: string }[] | undefined {
  const docs = renderDocs(inputs, sink, options);
  if (docs === undefined) return undefined;
  return [...docs].map(([path, content]) => ({ path: `${DOCS_DIR}/${path}`, content }));
}

/** Whether a file's content is a page tsmig docs wrote (so a stale one may be removed). */
export function isGeneratedDoc(content: string): boolean {
  const head = content.slice(0, 400);
  return head.includes("Protocol docs written by tsmig") || head.includes("written by tsmig docs");
}
