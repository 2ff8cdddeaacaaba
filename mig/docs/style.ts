// The stylesheet of the HTML protocol docs (docs/protocols/style.css): small, no external resources.

export const DOCS_CSS = `/* Protocol docs of tsmach, written by tsmig docs. DO NOT EDIT. */
:root { color-scheme: light dark; --rule: #8886; --muted: #6a6a6a; --accent: #2a5db0; }
body { font: 15px/1.5 system-ui, sans-serif; max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
header nav { font-size: 0.9rem; margin-bottom: 0.5rem; }
a { color: var(--accent); }
code, .descriptor { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
h1 { margin: 0.25rem 0 0.5rem; }
h2 { border-bottom: 1px solid var(--rule); padding-bottom: 0.2rem; margin-top: 2rem; }
.facts, .muted { color: var(--muted); }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; width: 100%; }
th, td { border: 1px solid var(--rule); padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #8881; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
section.routine { border-top: 1px solid var(--rule); margin-top: 1.5rem; }
section.routine:target { background: #ffd70022; }
.descriptor { display: block; }
.implicit { font-style: italic; }
`;
