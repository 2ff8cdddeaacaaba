// The HTML protocol docs: an index of every subsystem with its id ranges and routines, and one
// page per subsystem. Static, escaped, relative links only, one local stylesheet.
import type {
  ArgumentDoc,
  MessageDoc,
  RoutineDoc,
  SubsystemDoc,
  TypeDoc,
  WirePlace,
} from "./docs-model.js";
import { escapeHtml as e } from "./html-escape.js";
import { rangeText } from "./id-ranges.js";
import type { Paragraph } from "./prose.js";
import { complexText, placeText, sizeText, typeWireText } from "./wire-text.js";

export interface PageHeader {
  /** The first line of every page: says who wrote it, from what, and not to edit it. */
  readonly mark: string;
}

function page(title: string, header: PageHeader, body: string[]): string {
  return [
    "<!DOCTYPE html>",
    `<!-- ${e(header.mark.replace(/--/g, "- -"))} -->`,
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="tsmig docs">',
    `<title>${e(title)}</title>`,
    '<link rel="stylesheet" href="style.css">',
    "</head>",
    "<body>",
    ...body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function paragraphHtml(p: Paragraph): string {
  return p.map((s) => (s.code ? `<code>${e(s.text)}</code>` : e(s.text))).join("");
}

function proseHtml(prose: readonly Paragraph[], cls = "prose"): string[] {
  return prose.map((p) => `<p class="${cls}">${paragraphHtml(p)}</p>`);
}

function messageCell(m: MessageDoc | null): string {
  return m === null ? '<td class="muted">none</td>' : `<td class="num">${e(sizeText(m))}</td>`;
}

function placeHtml(p: WirePlace): string {
  const d = p.descriptor;
  const attrs =
    d === undefined
      ? `data-message="${p.message}"`
      : `data-message="${p.message}" data-msgt-name="${d.msgt_name}" data-msgt-size="${d.msgt_size}" ` +
        `data-msgt-number="${d.msgt_number ?? ""}" data-inline="${d.inline ?? ""}" data-longform="${d.longform}"`;
  return `<span class="descriptor" ${attrs}>${e(placeText(p))}</span>`;
}

function argumentRow(a: ArgumentDoc): string {
  const cls = a.implicit ? ' class="implicit"' : "";
  const type =
    a.cType === undefined
      ? `<code>${e(a.typeName)}</code>`
      : `<code>${e(a.typeName)}</code> <span class="muted">(C <code>${e(a.cType)}</code>)</span>`;
  const prose = a.prose.map((p) => `<br><span class="prose">${paragraphHtml(p)}</span>`).join("");
  return (
    `<tr data-argument="${e(a.name)}"${cls}><td><code>${e(a.name)}</code>${a.implicit ? " (implicit)" : ""}${prose}</td>` +
    `<td>${e(a.direction)}</td><td>${type}</td><td>${a.places.map(placeHtml).join("")}</td></tr>`
  );
}

function messageRow(what: string, m: MessageDoc): string {
  return (
    `<tr data-message="${what}"><td>${what}</td><td class="num">${m.id}</td>` +
    `<td class="num">${e(sizeText(m))}</td><td>${e(complexText(m.complex))}</td></tr>`
  );
}

function routineSection(r: RoutineDoc): string[] {
  return [
    `<section class="routine" id="${e(r.name)}">`,
    `<h3><code>${e(r.name)}</code> <span class="muted">${r.kind}</span></h3>`,
    `<p class="facts">request id <span class="request-id">${r.request.id}</span>, reply id <span class="reply-id">${r.reply === null ? "none (one-way)" : r.reply.id}</span></p>`,
    ...proseHtml(r.prose),
    '<table class="arguments">',
    "<thead><tr><th>Argument</th><th>Direction</th><th>Type</th><th>Wire descriptor (msgt_name, size × number, in-line, form)</th></tr></thead>",
    "<tbody>",
    ...r.args.map(argumentRow),
    "</tbody>",
    "</table>",
    '<table class="messages">',
    "<thead><tr><th>Message</th><th>msgh_id</th><th>msgh_size</th><th>Complex bit</th></tr></thead>",
    "<tbody>",
    messageRow("request", r.request),
    ...(r.reply === null ? [] : [messageRow("reply", r.reply)]),
    "</tbody>",
    "</table>",
    "</section>",
  ];
}

function routineSummaryRow(r: RoutineDoc): string {
  return (
    `<tr data-routine="${e(r.name)}"><td><a href="#${e(r.name)}"><code>${e(r.name)}</code></a></td>` +
    `<td>${r.kind}</td><td class="num request-id">${r.request.id}</td>` +
    `<td class="num reply-id">${r.reply === null ? "—" : r.reply.id}</td>` +
    `${messageCell(r.request)}${messageCell(r.reply)}</tr>`
  );
}

function typeRow(t: TypeDoc): string {
  const prose = t.prose.map((p) => `<br><span class="prose">${paragraphHtml(p)}</span>`).join("");
  return (
    `<tr id="type-${e(t.name)}"><td><code>${e(t.name)}</code>${prose}</td>` +
    `<td>${t.cType === undefined ? "" : `<code>${e(t.cType)}</code>`}</td><td>${e(typeWireText(t))}</td></tr>`
  );
}

function flags(s: SubsystemDoc): string {
  const f = [s.kernelUser ? "KernelUser" : "", s.kernelServer ? "KernelServer" : ""].filter(
    (x) => x,
  );
  return f.length === 0 ? "" : `, ${f.join(", ")}`;
}

/** The page of one subsystem. */
export function subsystemHtml(s: SubsystemDoc, header: PageHeader): string {
  return page(`${s.name} (${rangeText(s.requestIds)}) · tsmach protocols`, header, [
    '<header><nav><a href="index.html">All subsystems</a></nav>',
    `<h1>Subsystem <code>${e(s.name)}</code></h1>`,
    `<p class="facts">base ${s.base}; request ids <span class="request-ids">${e(rangeText(s.requestIds))}</span>, reply ids <span class="reply-ids">${e(rangeText(s.replyIds))}</span>; from <code>${e(s.path)}</code>${flags(s)}</p>`,
    "</header>",
    "<main>",
    ...proseHtml(s.prose),
    '<h2 id="section-routines">Routines</h2>',
    '<table class="routines">',
    "<thead><tr><th>Routine</th><th>Kind</th><th>Request id</th><th>Reply id</th><th>Request size</th><th>Reply size</th></tr></thead>",
    "<tbody>",
    ...s.routines.map(routineSummaryRow),
    "</tbody>",
    "</table>",
    ...s.routines.flatMap(routineSection),
    '<h2 id="section-types">Types</h2>',
    '<table class="types">',
    "<thead><tr><th>Type</th><th>C type</th><th>Wire descriptor</th></tr></thead>",
    "<tbody>",
    ...s.types.map(typeRow),
    "</tbody>",
    "</table>",
    "</main>",
  ]);
}

function firstSentence(prose: readonly Paragraph[]): Paragraph {
  return prose[0] ?? [];
}

/** The index of every subsystem (sorted by base) and of every routine (sorted by id). */
export function indexHtml(subsystems: readonly SubsystemDoc[], header: PageHeader): string {
  const routines = subsystems
    .flatMap((s) => s.routines.map((r) => ({ s, r })))
    .sort(
      (a, b) =>
        a.r.request.id - b.r.request.id || (a.r.name < b.r.name ? -1 : a.r.name > b.r.name ? 1 : 0),
    );
  return page("tsmach protocols", header, [
    "<header>",
    "<h1>tsmach protocols</h1>",
    `<p class="facts">${subsystems.length} subsystems, ${routines.length} routines. Each reply id is its request id + 100.</p>`,
    "</header>",
    "<main>",
    '<h2 id="section-subsystems">Subsystems</h2>',
    '<table class="subsystems">',
    "<thead><tr><th>Subsystem</th><th>Request ids</th><th>Reply ids</th><th>Routines</th><th>Source</th><th>About</th></tr></thead>",
    "<tbody>",
    ...subsystems.map(
      (s) =>
        `<tr data-subsystem="${e(s.name)}"><td><a href="${e(s.slug)}.html"><code>${e(s.name)}</code></a></td>` +
        `<td class="num request-ids">${e(rangeText(s.requestIds))}</td><td class="num reply-ids">${e(rangeText(s.replyIds))}</td>` +
        `<td class="num">${s.routines.length}</td><td><code>${e(s.path)}</code></td>` +
        `<td>${paragraphHtml(firstSentence(s.prose))}</td></tr>`,
    ),
    "</tbody>",
    "</table>",
    '<h2 id="section-routines">Routines by id</h2>',
    '<table class="routines">',
    "<thead><tr><th>Request id</th><th>Reply id</th><th>Routine</th><th>Kind</th><th>Subsystem</th></tr></thead>",
    "<tbody>",
    ...routines.map(
      ({ s, r }) =>
        `<tr data-routine="${e(r.name)}"><td class="num request-id">${r.request.id}</td>` +
        `<td class="num reply-id">${r.reply === null ? "—" : r.reply.id}</td>` +
        `<td><a href="${e(s.slug)}.html#${e(r.name)}"><code>${e(r.name)}</code></a></td>` +
        `<td>${r.kind}</td><td><a href="${e(s.slug)}.html">${e(s.name)}</a></td></tr>`,
    ),
    "</tbody>",
    "</table>",
    "</main>",
  ]);
}
