// `tsmach ps` and `tsmach portinfo` on the booted chain: the servers show as isolated tasks with
// their rights, a task's send rights lead to the server they name, and bad arguments are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootSystem, type BootedSystem } from "../../src/boot/boot-chain.js";
import { main } from "../../src/boot/cli.js";
import { findTask, portinfoLines, psLines, settle } from "../../src/boot/inspect-commands.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";

async function tsmach(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, {
    stdout: (t: string) => (out += t),
    stderr: (t: string) => (err += t),
  } as Parameters<typeof main>[1]);
  return { code, out, err };
}

describe("tsmach ps and portinfo on the simulated PC", () => {
  let img: PartitionedImage;
  beforeAll(() => {
    img = mbrImage(4096);
  });
  afterAll(() => img.cleanup());

  it("ps lists the chain's tasks, the servers isolated, with counts of their rights", async () => {
    const r = await tsmach(["ps", "--disk", img.path]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [header, ...rows] = r.out.trimEnd().split("\n");
    expect(header!.split(/\s+/).filter(Boolean)).toEqual([
      "TASK",
      "NAME",
      "MODE",
      "NAMES",
      "RECV",
      "SEND",
      "ONCE",
      "SETS",
      "DEAD",
      "MSGS",
    ]);
    const cells = rows.map((l) => l.trim().split(/\s+/));
    const byName = new Map(cells.map((c) => [c[1]!, c]));
    for (const server of ["pci-arbiter", "acpi", "rumpdisk"]) {
      const c = byName.get(server);
      expect(c, server).toBeDefined();
      expect(c![2]).toBe("isolated");
      // Each serves on a port set, holds receive rights and sends to the task before it.
      const [names, recv, send, , sets] = c!.slice(3).map(Number);
      expect(recv, server).toBeGreaterThan(0);
      expect(send, server).toBeGreaterThan(0);
      expect(sets, server).toBe(1);
      expect(names, server).toBeGreaterThanOrEqual(recv! + sets!);
    }
    expect(byName.get("client")?.[2]).toBe("in-thread");
    // Numbered by the kernel in the order it made them: itself first, the client last.
    const ids = cells.map((c) => Number(c[0]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(cells[0]![1]).toBe("kernel");
    expect(cells.at(-1)![1]).toBe("client");
  }, 60_000);

  it("portinfo -v shows rumpdisk's rights: its set, and send rights to the servers before it", async () => {
    const ps = await tsmach(["ps", "--disk", img.path]);
    const row = ps.out.split("\n").find((l) => / rumpdisk /.test(l))!;
    const id = row.trim().split(/\s+/)[0]!;
    for (const which of ["rumpdisk", id]) {
      const r = await tsmach(["portinfo", "-v", "--disk", img.path, which]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const [title, ...lines] = r.out.trimEnd().split("\n");
      expect(title).toBe(`rumpdisk (task ${id}, isolated): ${lines.length} names`);
      const set = lines.find((l) => /: port-set \(members /.test(l))!;
      expect(set).toBeDefined();
      const setName = Number(set.split(":")[0]);
      const members = set
        .replace(/.*members ([\d, ]+)\).*/, "$1")
        .split(", ")
        .map(Number);
      for (const m of members) {
        const line = lines.find((l) => Number(l.split(":")[0]) === m);
        expect(line, `member ${m}`).toMatch(new RegExp(`: receive \\(in set ${setName}, `));
      }
      expect(
        lines.some((l) => /: send \(refs \d+, to pci-arbiter \(task \d+\) \d+\)/.test(l)),
      ).toBe(true);
      expect(lines.some((l) => /: send \(refs \d+, to acpi \(task \d+\) \d+\)/.test(l))).toBe(true);
      const names = lines.map((l) => Number(l.split(":")[0]));
      expect(names).toEqual([...names].sort((a, b) => a - b));
    }
  }, 60_000);

  it("--json gives scripts the same facts, one object per line", async () => {
    // Text and JSON of one boot (two boots may differ: how many reply ports a server keeps
    // depends on how many of its start-up calls overlapped).
    const booted = await bootSystem({ machine: "sim", disk: img.path });
    if (!booted.ok) throw new Error(booted.error);
    const sys = booted.value;
    try {
      await settle(sys);
      const rows = psLines(sys, true).map((l) => JSON.parse(l) as Record<string, unknown>);
      const cells = psLines(sys, false)
        .slice(1)
        .map((l) => l.trim().split(/\s+/));
      const fields = ["id", "name", "mode", "names", "receive", "send", "sendOnce", "portSets"];
      expect(rows.map((r) => fields.map((f) => r[f]))).toEqual(
        cells.map((c) => c.slice(0, 8).map((x, i) => (i === 1 || i === 2 ? x : Number(x)))),
      );
      const rumpdisk = findTask(sys.kernel.tasks, "rumpdisk")!;
      const rights = portinfoLines(rumpdisk, { json: true }).map(
        (l) => JSON.parse(l) as { name: number; members?: number[]; receive?: { pset: number } },
      );
      const set = rights.find((r) => r.members)!;
      expect(set.members!.length).toBeGreaterThan(0);
      for (const m of set.members!)
        expect(rights.find((r) => r.name === m)?.receive?.pset).toBe(set.name);
      expect(rights.length).toBe(Number(rows.find((r) => r["name"] === "rumpdisk")!["names"]));
      const text = portinfoLines(rumpdisk, { verbose: true });
      expect(text[0]).toBe(
        `rumpdisk (task ${rumpdisk.space.id}, isolated): ${rights.length} names`,
      );
      expect(text.slice(1).map((l) => Number(l.split(":")[0]))).toEqual(rights.map((r) => r.name));
    } finally {
      await sys.shutdown();
    }
    // The command prints the same objects: one JSON line per task, the chain's tasks in order.
    const json = await tsmach(["ps", "--json", "--disk", img.path]);
    expect(json.code).toBe(0);
    const names = json.out
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { name: string }).name);
    expect(names).toEqual([
      "kernel",
      "bootstrap",
      "console",
      "pci-arbiter",
      "acpi",
      "rumpdisk",
      "client",
    ]);
    const p = await tsmach(["portinfo", "--json", "--disk", img.path, "rumpdisk"]);
    expect(p.code).toBe(0);
    for (const l of p.out.trimEnd().split("\n")) expect(typeof JSON.parse(l).name).toBe("number");
  }, 60_000);

  it("waits for the booted system to go quiet before it looks", async () => {
    const kernel = new Kernel();
    const t = kernel.createTask("busy");
    const sys = { kernel } as unknown as BootedSystem;
    let last = 0;
    const started = performance.now();
    const timer = setInterval(() => {
      if (performance.now() - started > 200) return clearInterval(timer);
      void t.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      last = performance.now();
    }, 5);
    await settle(sys);
    const done = performance.now();
    clearInterval(timer);
    // Not before the changes stopped, and not long after.
    expect(done - started).toBeGreaterThanOrEqual(200);
    expect(done - last).toBeGreaterThanOrEqual(20);
    expect(done - last).toBeLessThan(1000);
  });

  it("refuses a task that does not exist and a missing argument, with messages", async () => {
    const r = await tsmach(["portinfo", "--disk", img.path, "9999"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no task '9999' \(the tasks are: .*rumpdisk/);
    expect(r.out).toBe("");
    const m = await tsmach(["portinfo", "--disk", img.path]);
    expect(m.code).toBe(2);
    expect(m.err).toContain("missing required argument 'task'");
    const k = await tsmach(["ps", "--machine", "pdp11", "--disk", img.path]);
    expect(k.code).toBe(2);
    expect(k.err).toContain("unknown machine 'pdp11'");
  }, 60_000);
});
