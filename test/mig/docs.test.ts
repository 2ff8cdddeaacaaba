// tsmig's protocol docs: content of the Markdown and HTML pages, escaping of .defs comments,
// determinism, overlapping id ranges (E0220) and the `tsmig docs` command.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { DIAGNOSTIC_CATALOG } from "../../mig/diagnostic-catalog.js";
import { docsFiles, escapeHtml, renderDocs, type DocsInput } from "../../mig/docs/index.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";
import { inputFromText, runTsmig, TRICKY_DEFS } from "./docs-fixtures.js";

const OTHER = (base: number): string =>
  `subsystem other ${base};\ntype port_t = MACH_MSG_TYPE_COPY_SEND;\nroutine other_get(p : port_t; out v : int);\n`;

function render(inputs: readonly DocsInput[]): {
  docs: Map<string, string> | undefined;
  sink: DiagnosticSink;
} {
  const sink = new DiagnosticSink();
  return { docs: renderDocs(inputs, sink), sink };
}

describe("protocol docs content", () => {
  const tricky = inputFromText("t/tricky.defs", TRICKY_DEFS);
  const { docs, sink } = render([tricky, inputFromText("t/other.defs", OTHER(7000))]);

  test("writes an index, a stylesheet and one Markdown and HTML page per subsystem", () => {
    expect(sink.items).toEqual([]);
    expect([...docs!.keys()]).toEqual([
      "index.html",
      "index.md",
      "other.html",
      "other.md",
      "style.css",
      "tricky.html",
      "tricky.md",
    ]);
  });

  test("the index lists subsystems by base with request and reply id ranges (trailing skips included)", () => {
    const md = docs!.get("index.md")!;
    const rows = md.split("\n").filter((l) => l.startsWith("| [`"));
    expect(rows[0]).toContain("[`tricky`](tricky.md) | 5000–5005 | 5100–5105 | 2 |");
    expect(rows[1]).toContain("[`other`](other.md) | 7000 | 7100 | 1 |");
    expect(md).toContain("| 5002 | — | [`tricky_poke`](tricky.md#tricky_poke) | simpleroutine |");
    const html = docs!.get("index.html")!;
    expect(html).toContain('<a href="tricky.html#tricky_compare"><code>tricky_compare</code></a>');
    expect(html).toContain('<link rel="stylesheet" href="style.css">');
  });

  test("a subsystem page gives ids, kind, arguments with direction, type and descriptor, and sizes", () => {
    const md = docs!.get("tricky.md")!;
    expect(md).toContain(
      "| [`tricky_compare`](#tricky_compare) | routine | 5000 | 5100 | 48 bytes | 52–180 bytes (variable) |",
    );
    expect(md).toContain(
      "| `b` | inout | `int` | request +40: MACH\\_MSG\\_TYPE\\_INTEGER\\_32 (2), 32 bits × 1, in-line, short form<br>" +
        "reply +40: MACH\\_MSG\\_TYPE\\_INTEGER\\_32 (2), 32 bits × 1, in-line, short form |",
    );
    expect(md).toContain(
      "| `data` | out | `bytes_t` | reply +48: MACH\\_MSG\\_TYPE\\_BYTE (9), 8 bits × up to 128, in-line, short form |",
    );
    expect(md).toContain("| `target` | requestport | `port_t` | header: msgh\\_request\\_port |");
    expect(md).toContain("| reply | 5100 | 52–180 bytes (variable) | no |");
    expect(md).toContain("Request id 5002, reply id none (one-way).");
    const html = docs!.get("tricky.html")!;
    expect(html).toContain(
      '<span class="descriptor" data-message="reply" data-msgt-name="9" data-msgt-size="8" data-msgt-number="128" data-inline="true" data-longform="false">',
    );
  });

  test("comments of the subsystem, routines, arguments and types become prose", () => {
    const md = docs!.get("tricky.md")!;
    expect(md).toContain("Compares a &lt; b &amp;&amp; b &gt; c; returns `x<y>` in code.");
    expect(md).toContain("`a`<br>The left side: &lt;/td&gt; must not end a cell.");
    expect(md).toContain('`port_t`<br>A send right; "quoted" &amp; &lt;angled&gt;.');
    expect(md).toContain("One-way.");
  });

  test("HTML escapes <, > and & (and quotes) from comments; backquoted text becomes code", () => {
    const html = docs!.get("tricky.html")!;
    expect(html).not.toContain("<script");
    expect(html).not.toContain("</td> must");
    expect(html).toContain(
      "Blocks &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; friends",
    );
    expect(html).toContain(
      "Compares a &lt; b &amp;&amp; b &gt; c; returns <code>x&lt;y&gt;</code> in code.",
    );
    expect(html).toContain("A send right; &quot;quoted&quot; &amp; &lt;angled&gt;.");
    expect(escapeHtml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  });

  test("Markdown escapes what would turn into HTML, emphasis, links or table cells", () => {
    const md = docs!.get("tricky.md")!;
    expect(md).toContain(
      'Blocks &lt;script&gt;alert("x")&lt;/script&gt; &amp; friends: a\\|b \\*not emphasis\\* \\[not a link\\](x).',
    );
    expect(md).not.toContain("<script");
  });

  test("no external resources: every link and stylesheet is relative", () => {
    for (const [name, text] of docs!) {
      expect(text, name).not.toMatch(/(href|src)="(https?:)?\/\//);
      expect(text, name).not.toMatch(/@import|url\(/);
    }
  });
});

describe("determinism", () => {
  test("same inputs, same bytes, whatever their order", () => {
    const a = () => inputFromText("t/tricky.defs", TRICKY_DEFS);
    const b = () => inputFromText("t/other.defs", OTHER(7000));
    const one = render([a(), b()]).docs!;
    const two = render([b(), a()]).docs!;
    expect([...two.entries()]).toEqual([...one.entries()]);
  });

  test("two subsystems of one name get distinct pages", () => {
    const { docs } = render([
      inputFromText("x/other.defs", OTHER(7000)),
      inputFromText("y/other.defs", OTHER(8000)),
    ]);
    expect(docs!.get("other.md")).toContain("`x/other.defs`");
    expect(docs!.get("other-2.md")).toContain("`y/other.defs`");
  });

  test("docsFiles gives the same files under docs/protocols/", () => {
    const sink = new DiagnosticSink();
    const files = docsFiles([inputFromText("t/tricky.defs", TRICKY_DEFS)], sink)!;
    expect(files.map((f) => f.path)).toEqual([
      "docs/protocols/index.html",
      "docs/protocols/index.md",
      "docs/protocols/style.css",
      "docs/protocols/tricky.html",
      "docs/protocols/tricky.md",
    ]);
  });
});

describe("overlapping id ranges", () => {
  test("is error E0220 at the later subsystem statement, naming the other", () => {
    expect(DIAGNOSTIC_CATALOG.E0220).toMatch(/overlap/);
    // tricky takes 5000–5005 only through its trailing `skip 3`.
    const { docs, sink } = render([
      inputFromText("t/tricky.defs", TRICKY_DEFS),
      inputFromText("t/other.defs", OTHER(5004)),
    ]);
    expect(docs).toBeUndefined();
    expect(sink.items).toHaveLength(1);
    const d = sink.items[0]!;
    expect(d.code).toBe("E0220");
    expect(d.severity).toBe("error");
    expect(d.span).toMatchObject({ file: "t/other.defs", line: 1, col: 1 });
    expect(d.message).toContain(
      "5004 of subsystem other (t/other.defs) overlap ids 5000–5005 of subsystem tricky",
    );
    expect(d.message).toContain("t/tricky.defs:2");
  });

  test("adjacent ranges do not overlap; equal bases do, once per pair", () => {
    expect(
      render([
        inputFromText("t/tricky.defs", TRICKY_DEFS),
        inputFromText("t/other.defs", OTHER(5006)),
      ]).sink.items,
    ).toEqual([]);
    const three = render([
      inputFromText("a.defs", OTHER(9000)),
      inputFromText("b.defs", OTHER(9000)),
      inputFromText("c.defs", OTHER(9001)),
    ]);
    expect(three.sink.items.map((d) => [d.code, d.span?.file])).toEqual([["E0220", "b.defs"]]);
  });
});

describe.skipIf(!need("gnumach"))("gnumach's device.defs", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmig-docs-gnumach-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("Markdown shows device_open's ids, descriptors and sizes, and leaves the license out", async () => {
    const defs = join(GNUMACH_INCLUDE, "device", "device.defs");
    const r = await runTsmig("docs", "-I", GNUMACH_INCLUDE, "-o", dir, defs);
    expect(r.stderr).not.toContain("error");
    expect(r.status).toBe(0);
    const md = readFileSync(join(dir, "device.md"), "utf8");
    expect(md).toContain(
      "| [`device_open`](#device_open) | routine | 2800 | 2900 | 180 bytes | 48 bytes |",
    );
    expect(md).toContain(
      "| `mode` | in | `dev_mode_t` | request +32: MACH\\_MSG\\_TYPE\\_INTEGER\\_32 (2), 32 bits × 1, in-line, short form |",
    );
    expect(md).toContain(
      "| `name` | in | `dev_name_t` | request +40: MACH\\_MSG\\_TYPE\\_STRING (12), 1024 bits × 1, in-line, long form |",
    );
    expect(md).toContain(
      "reply +40: MACH\\_MSG\\_TYPE\\_POLYMORPHIC (-1), 32 bits × 1, in-line, short form",
    );
    expect(md).toContain("| reply | 2900 | 48 bytes | decided at run time |");
    expect(md).toContain("Mach device support.");
    expect(md).not.toMatch(/Copyright|Carnegie Mellon requests/);
    expect(readFileSync(join(dir, "index.md"), "utf8")).toContain(
      "| [`device`](device.md) | 2800–2814 | 2900–2914 | 12 |",
    );
  });
});

describe("tsmig docs", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmig-docs-cmd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const tricky = write("tricky.defs", TRICKY_DEFS);
  const other = write("other.defs", OTHER(7000));

  test("writes the files, then only what changed, and removes pages of subsystems gone", async () => {
    const out = join(dir, "out");
    let r = await runTsmig("docs", "-o", out, tricky, other);
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      "index.html",
      "index.md",
      "other.html",
      "other.md",
      "style.css",
      "tricky.html",
      "tricky.md",
    ]);
    r = await runTsmig("docs", "-o", out, tricky, other);
    expect(r.stderr).toContain("0 written, 0 removed, 7 unchanged");
    writeFileSync(join(out, "notes.md"), "# mine, not tsmig's\n");
    r = await runTsmig("docs", "-o", out, tricky);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("removed");
    expect(existsSync(join(out, "other.html"))).toBe(false);
    expect(existsSync(join(out, "notes.md"))).toBe(true);
    expect(readFileSync(join(out, "index.md"), "utf8")).not.toContain("other");
  });

  test("overlapping subsystems: exit 1, E0220 with its location, nothing written", async () => {
    const clash = write("clash.defs", OTHER(5001));
    const out = join(dir, "clash-out");
    const r = await runTsmig("docs", "-o", out, tricky, clash);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${clash}:1:1: error: `);
    expect(r.stderr).toContain("[E0220]");
    expect(existsSync(out)).toBe(false);
  });

  test("bad input: an unreadable file exits 2 (E0900), a bad .defs exits 1, neither writes", async () => {
    const out = join(dir, "bad-out");
    let r = await runTsmig("docs", "-o", out, join(dir, "missing.defs"));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("E0900");
    const broken = write("broken.defs", "subsystem broken 100;\nroutine r(p : nothing_t);\n");
    r = await runTsmig("docs", "-o", out, broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("E0201");
    expect(existsSync(out)).toBe(false);
  });

  test("with no files, documents every defs/*.defs of the repository", async () => {
    const out = join(dir, "repo-out");
    const r = await runTsmig("docs", "-o", out);
    expect(r.status, r.stderr).toBe(0);
    const index = readFileSync(join(out, "index.md"), "utf8");
    expect(index).toContain("| [`device`](device.md) | 2800–");
    expect(index).toContain("`defs/device.defs`");
    expect(readFileSync(join(out, "device.html"), "utf8")).toContain(
      '<tr data-routine="device_open">',
    );
  });
});

describe("tsmig gen's share", () => {
  test("repositoryDocs gives docs/protocols/ as `tsmig docs` writes it", async () => {
    const { packageRoot } = await import("../../mig/cli/repository.js");
    const { repositoryDocs } = await import("../../mig/docs/index.js");
    const root = packageRoot()!;
    const sink = new DiagnosticSink();
    const files = repositoryDocs(
      root,
      { includeDirs: [], defines: [], undefines: [], target: "x86_64" },
      sink,
    );
    expect(sink.items.filter((d) => d.severity === "error")).toEqual([]);
    const out = mkdtempSync(join(tmpdir(), "tsmig-docs-repo-"));
    try {
      expect((await runTsmig("docs", "-o", out)).status).toBe(0);
      expect(files!.map((f) => f.path)).toEqual(
        readdirSync(out)
          .sort()
          .map((n) => `docs/protocols/${n}`),
      );
      for (const f of files!)
        expect(
          readFileSync(join(out, f.path.slice("docs/protocols/".length)), "utf8"),
          f.path,
        ).toBe(f.content);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("prose and names", () => {
  test("comment blocks become paragraphs; license notices are left out; `x` is code", async () => {
    const { proseOf } = await import("../../mig/docs/prose.js");
    expect(
      proseOf([
        "Copyright (c) 1991 Someone\nAll Rights Reserved.",
        "First line\ncontinues.\n\nSecond `a<b` one `unclosed",
      ]),
    ).toEqual([
      [{ code: false, text: "First line continues." }],
      [
        { code: false, text: "Second " },
        { code: true, text: "a<b" },
        { code: false, text: " one `unclosed" },
      ],
    ]);
  });

  test("msgt_name numbers print with the name the side sees", async () => {
    const { msgtNameText } = await import("../../mig/docs/msgt-name.js");
    expect(msgtNameText(17, "received")).toBe("MACH_MSG_TYPE_PORT_SEND");
    expect(msgtNameText(17, "sent")).toBe("MACH_MSG_TYPE_MOVE_SEND");
    expect(msgtNameText(20, "received")).toBe("MACH_MSG_TYPE_MAKE_SEND");
    expect(msgtNameText(0, "sent", 32)).toBe("MACH_MSG_TYPE_BOOLEAN");
    expect(msgtNameText(0, "sent", 8)).toBe("MACH_MSG_TYPE_UNSTRUCTURED");
    expect(msgtNameText(-1, "sent")).toBe("MACH_MSG_TYPE_POLYMORPHIC");
    expect(msgtNameText(99, "sent")).toBe("msgt_name 99");
  });

  test("escapeHtml: no markup character survives, and decoding gives the text back", async () => {
    const fc = await import("fast-check");
    const decode = (s: string): string =>
      s.replace(
        /&(lt|gt|quot|#39|amp);/g,
        (_, n: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", amp: "&" })[n]!,
      );
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const out = escapeHtml(s);
        return !/[<>"']/.test(out) && decode(out) === s;
      }),
    );
  });
});

describe.skipIf(!need("gnumach"))("the gnumach corpus", () => {
  test("every gnumach .defs with a subsystem is documented without error", async () => {
    const { readdirSync: ls } = await import("node:fs");
    const files = ["mach", "device"].flatMap((d) =>
      ls(join(GNUMACH_INCLUDE, d))
        .filter((f) => f.endsWith(".defs"))
        .map((f) => join(GNUMACH_INCLUDE, d, f))
        // include-only files of types (no subsystem) are not documented on their own
        .filter((p) => /^\s*subsystem\b/m.test(readFileSync(p, "utf8"))),
    );
    const { docsInputs } = await import("../../mig/docs/index.js");
    const sink = new DiagnosticSink();
    const { inputs } = docsInputs(
      files.map((p) => ({ path: p, shown: p })),
      {
        includeDirs: [GNUMACH_INCLUDE],
        defines: [],
        undefines: [],
        target: "x86_64",
        requireSubsystem: false,
      },
      sink,
    );
    expect(sink.hasErrors()).toBe(false);
    expect(inputs.length).toBeGreaterThan(10);
    // One set per subsystem: the corpus itself has subsystems sharing ids (e.g. two "notify"s).
    for (const input of inputs) {
      const s = new DiagnosticSink();
      const docs = renderDocs([input], s);
      expect(s.items, input.path).toEqual([]);
      expect(docs!.get(`${input.checked.subsystem.name}.html`)).toContain("</html>");
    }
  });
});
