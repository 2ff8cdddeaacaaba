// The HTML protocol docs in a real headless browser (Debian's chromium via playwright-core):
// the index links to a routine, its row shows its ids, descriptors render, comments stay text.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";
import { runTsmig, TRICKY_DEFS } from "./docs-fixtures.js";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe.skipIf(!need("chromium", "gnumach"))("protocol docs in chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmig-docs-browser-"));
  const out = join(dir, "site");
  let context: BrowserContext;
  let page: Page;
  /** Every URL the pages asked for: all must be file:// URLs inside the site. */
  const requested: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    const tricky = join(dir, "tricky.defs");
    writeFileSync(tricky, TRICKY_DEFS);
    const r = await runTsmig(
      "docs",
      "-I",
      GNUMACH_INCLUDE,
      "-o",
      out,
      join(GNUMACH_INCLUDE, "device", "device.defs"),
      join(GNUMACH_INCLUDE, "mach", "mach_port.defs"),
      tricky,
    );
    if (r.status !== 0) throw new Error(`tsmig docs failed: ${r.stderr}`);
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("request", (req) => void requested.push(req.url()));
    page.on("requestfailed", (req) => void failed.push(req.url()));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (name: string, hash = ""): string => pathToFileURL(join(out, name)).href + hash;

  test("the index lists device with its id ranges and links to device_open", async () => {
    await page.goto(url("index.html"));
    const device = page.locator('table.subsystems tr[data-subsystem="device"]');
    await expect(device.locator("td.request-ids").textContent()).resolves.toBe("2800–2814");
    await expect(device.locator("td.reply-ids").textContent()).resolves.toBe("2900–2914");
    const link = page.locator(
      'table.routines tr[data-routine="device_open"] a[href$="#device_open"]',
    );
    await expect(link.getAttribute("href")).resolves.toBe("device.html#device_open");
    await link.click();
    await page.waitForURL(/device\.html#device_open$/);
    expect(new URL(page.url()).pathname.endsWith("/device.html")).toBe(true);
  });

  test("device_open's row shows request id 2800 and reply id 2900; its section is the target", async () => {
    await page.goto(url("device.html", "#device_open"));
    const row = page.locator('table.routines tr[data-routine="device_open"]');
    await expect(row.locator("td.request-id").textContent()).resolves.toBe("2800");
    await expect(row.locator("td.reply-id").textContent()).resolves.toBe("2900");
    // (page scripts are strings: the test compiles without the DOM library)
    const target = await page.evaluate('document.querySelector(":target")?.id ?? null');
    expect(target).toBe("device_open");
    const heading = await page.locator("section#device_open h3").innerText();
    expect(heading).toContain("device_open");
  });

  test("an argument's wire descriptor is rendered and readable", async () => {
    await page.goto(url("device.html"));
    const name = page.locator('section#device_open tr[data-argument="name"]');
    const cells = await name.locator("td").allInnerTexts();
    expect(cells[1]).toBe("in");
    expect(cells[2]).toBe("dev_name_t");
    const d = name.locator(".descriptor");
    await expect(d.innerText()).resolves.toBe(
      "request +40: MACH_MSG_TYPE_STRING (12), 1024 bits × 1, in-line, long form",
    );
    await expect(d.getAttribute("data-longform")).resolves.toBe("true");
    expect(await d.isVisible()).toBe(true);
    const sizes = await page
      .locator('section#device_open table.messages tr[data-message="request"] td')
      .allInnerTexts();
    expect(sizes).toEqual(["request", "2800", "180 bytes", "no"]);
  });

  test("the stylesheet loads from the site and nothing else is requested", async () => {
    await page.goto(url("device.html"));
    const collapse = await page.evaluate(
      'getComputedStyle(document.querySelector("table.routines")).borderCollapse',
    );
    expect(collapse).toBe("collapse");
    expect(failed).toEqual([]);
    const site = pathToFileURL(out).href;
    for (const u of requested) expect(u.startsWith(site), u).toBe(true);
  });

  test("comments with <, > and & show as text and create no elements", async () => {
    await page.goto(url("tricky.html"));
    expect(await page.evaluate("document.scripts.length")).toBe(0);
    const intro = await page.locator("main > p.prose").first().textContent();
    expect(intro).toBe(
      'Blocks <script>alert("x")</script> & friends: a|b *not emphasis* [not a link](x).',
    );
    const compare = await page.locator("section#tricky_compare p.prose").textContent();
    expect(compare).toBe("Compares a < b && b > c; returns x<y> in code.");
    expect(await page.locator("section#tricky_compare p.prose code").textContent()).toBe("x<y>");
    // The argument comment "</td>" did not end its cell: the row still has its four cells.
    const cells = await page.locator('section#tricky_compare tr[data-argument="a"] td').count();
    expect(cells).toBe(4);
  });
});
