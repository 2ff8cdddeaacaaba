// The Markdown protocol docs: the same facts as the HTML pages (index and one page per
// subsystem), as CommonMark with pipe tables; text from .defs files is escaped.
import type { ArgumentDoc, RoutineDoc, SubsystemDoc, TypeDoc } from "./docs-model.js";
import { rangeText } from "./id-ranges.js";
import type { Paragraph } from "./prose.js";
import { complexText, placeText, sizeText, typeWireText } from "./wire-text.js";

/** Text that Markdown shows as is: no emphasis, links, HTML or table breaks. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_[\]|#]/g, (c) => `\\${c}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/** A code span that holds any text (a backquote inside widens the fence); `|` escaped for tables. */
export function codeSpan(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const fence = "`".repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text.replace(/\|/g, "\\|")}${pad}${fence}`;
}

function paragraphMd(p: Paragraph): string {
  return p.map((s) => (s.code ? codeSpan(s.text) : escapeMarkdown(s.text))).join("");
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\n/g, " ")).join(" | ")} |`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(head.map(() => "---")), ...rows.map(row)];
}

function argumentCells(a: ArgumentDoc): string[] {
  const name = codeSpan(a.name) + (a.implicit ? " (implicit)" : "");
  const prose = a.prose.map((p) => "<br>" + paragraphMd(p)).join("");
  const type = codeSpan(a.typeName) + (a.cType === undefined ? "" : ` (C ${codeSpan(a.cType)})`);
  return [
    name + prose,
    a.direction,
    type,
    a.places.map((p) => escapeMarkdown(placeText(p))).join("<br>"),
  ];
}

function routineMd(r: RoutineDoc): string[] {
  const messages = [r.request, ...(r.reply === null ? [] : [r.reply])];
  return [
    `<a id="${r.name}"></a>`,
    "",
    `### ${codeSpan(r.name)} (${r.kind})`,
    "",
    `Request id ${r.request.id}, reply id ${r.reply === null ? "none (one-way)" : r.reply.id}.`,
    "",
    ...r.prose.flatMap((p) => [paragraphMd(p), ""]),
    ...table(
      [
        "Argument",
        "Direction",
        "Type",
        "Wire descriptor (msgt_name, size × number, in-line, form)",
      ],
      r.args.map(argumentCells),
    ),
    "",
    ...table(
      ["Message", "msgh_id", "msgh_size", "Complex bit"],
      messages.map((m, i) => [
        i === 0 ? "request" : "reply",
        `${m.id}`,
        sizeText(m),
        complexText(m.complex),
      ]),
    ),
    "",
  ];
}

function typeCells(t: TypeDoc): string[] {
  const prose = t.prose.map((p) => "<br>" + paragraphMd(p)).join("");
  return [
    codeSpan(t.name) + prose,
    t.cType === undefined ? "" : codeSpan(t.cType),
    escapeMarkdown(typeWireText(t)),
  ];
}

/** The Markdown page of one subsystem; `mark` is its first line (an HTML comment). */
export function subsystemMarkdown(s: SubsystemDoc, mark: string): string {
  const kinds = [s.kernelUser ? "KernelUser" : "", s.kernelServer ? "KernelServer" : ""].filter(
    (x) => x,
  );
  return [
    `<!-- ${mark.replace(/--/g, "- -")} -->`,
    "",
    `# Subsystem ${codeSpan(s.name)}`,
    "",
    `[All subsystems](index.md) · base ${s.base}; request ids ${rangeText(s.requestIds)}, reply ids ${rangeText(s.replyIds)}; from ${codeSpan(s.path)}${kinds.length ? `, ${kinds.join(", ")}` : ""}.`,
    "",
    ...s.prose.flatMap((p) => [paragraphMd(p), ""]),
    "## Routines",
    "",
    ...table(
      ["Routine", "Kind", "Request id", "Reply id", "Request size", "Reply size"],
      s.routines.map((r) => [
        `[${codeSpan(r.name)}](#${r.name})`,
        r.kind,
        `${r.request.id}`,
        r.reply === null ? "—" : `${r.reply.id}`,
        sizeText(r.request),
        r.reply === null ? "none" : sizeText(r.reply),
      ]),
    ),
    "",
    ...s.routines.flatMap(routineMd),
    "## Types",
    "",
    ...table(["Type", "C type", "Wire descriptor"], s.types.map(typeCells)),
    "",
  ].join("\n");
}

/** The Markdown index of every subsystem and routine. */
export function indexMarkdown(subsystems: readonly SubsystemDoc[], mark: string): string {
  const routines = subsystems
    .flatMap((s) => s.routines.map((r) => ({ s, r })))
    .sort(
      (a, b) =>
        a.r.request.id - b.r.request.id || (a.r.name < b.r.name ? -1 : a.r.name > b.r.name ? 1 : 0),
    );
  return [
    `<!-- ${mark.replace(/--/g, "- -")} -->`,
    "",
    "# tsmach protocols",
    "",
    `${subsystems.length} subsystems, ${routines.length} routines. Each reply id is its request id + 100. [HTML version](index.html).`,
    "",
    "## Subsystems",
    "",
    ...table(
      ["Subsystem", "Request ids", "Reply ids", "Routines", "Source", "About"],
      subsystems.map((s) => [
        `[${codeSpan(s.name)}](${s.slug}.md)`,
        rangeText(s.requestIds),
        rangeText(s.replyIds),
        `${s.routines.length}`,
        codeSpan(s.path),
        s.prose[0] === undefined ? "" : paragraphMd(s.prose[0]),
      ]),
    ),
    "",
    "## Routines by id",
    "",
    ...table(
      ["Request id", "Reply id", "Routine", "Kind", "Subsystem"],
      routines.map(({ s, r }) => [
        `${r.request.id}`,
        r.reply === null ? "—" : `${r.reply.id}`,
        `[${codeSpan(r.name)}](${s.slug}.md#${r.name})`,
        r.kind,
        `[${escapeMarkdown(s.name)}](${s.slug}.md)`,
      ]),
    ),
    "",
  ].join("\n");
}
