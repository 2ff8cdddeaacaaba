// `tsmach boot` on the built-in default disk: the default image (MBR, two partitions, known
// content) made on first start, and a boot log naming PCI functions, ACPI tables, the AHCI
// port, the disk's model and capacity, its partitions, and what the client read through rumpdisk.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { need } from "../helpers/tools.js";
import { main } from "../../src/boot/cli.js";
import {
  DEFAULT_DISK_SECTORS,
  DEFAULT_PARTITIONS,
  defaultDiskBytes,
  ensureDefaultDisk,
  partitionBanner,
} from "../../src/boot/default-disk.js";

describe("the default disk", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmach-data-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is made once, with an MBR, two partitions and recomputable content", () => {
    const first = ensureDefaultDisk(dir);
    expect(first.ok && first.created).toBe(true);
    if (!first.ok) return;
    const bytes = fs.readFileSync(first.path);
    expect(bytes.length).toBe(DEFAULT_DISK_SECTORS * 512);
    expect([bytes[510], bytes[511]]).toEqual([0x55, 0xaa]);
    for (const [i, p] of DEFAULT_PARTITIONS.entries()) {
      const e = 446 + i * 16;
      expect(bytes[e + 4]).toBe(0x83);
      expect(bytes.readUInt32LE(e + 8)).toBe(p.start);
      expect(bytes.readUInt32LE(e + 12)).toBe(p.sectors);
      expect(bytes.subarray(p.start * 512, p.start * 512 + 60).toString("latin1")).toContain(
        partitionBanner(p.index).trim(),
      );
    }
    for (const [off, len] of [
      [0, 4096],
      [1_000_000, 70_000],
      [DEFAULT_DISK_SECTORS * 512 - 777, 777],
    ] as const)
      expect(bytes.subarray(off, off + len).equals(Buffer.from(defaultDiskBytes(off, len)))).toBe(
        true,
      );
    const again = ensureDefaultDisk(dir);
    expect(again.ok && again.created).toBe(false);
  });

  it("reports a data folder it cannot use as an error value", () => {
    const file = path.join(dir, "not-a-dir");
    fs.writeFileSync(file, "x");
    const r = ensureDefaultDisk(path.join(file, "data"));
    expect(r.ok).toBe(false);
  });
});

describe("tsmach boot", () => {
  let dir: string;
  let saved: string | undefined;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmach-data-"));
    saved = process.env["TSMACH_DATA"];
    process.env["TSMACH_DATA"] = dir;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env["TSMACH_DATA"];
    else process.env["TSMACH_DATA"] = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("boots the chain on the default disk and prints a log a Hurd user recognises", async () => {
    let out = "";
    let err = "";
    const code = await main(["boot"], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out.split("\n");
    const has = (re: RegExp) =>
      expect(
        lines.some((l) => re.test(l)),
        `no line matching ${re}\n${out}`,
      ).toBe(true);
    has(/^tsmach: created the default disk .*default-disk\.img/);
    // Every server is an isolated task, given its ports by the one before.
    has(
      /^tsmach: pci-arbiter: isolated task \(worker thread\); from the kernel: the master device port/,
    );
    has(/^tsmach: acpi: isolated task \(worker thread\); from pci-arbiter: /);
    has(/^tsmach: rumpdisk: isolated task \(worker thread\); from acpi: /);
    has(/^pci-arbiter: configuration mechanism #1 at ports 0xcf8-0xcff through an io_perm/);
    has(
      /^rumpdisk: isolated task: PCI config via pci-arbiter, IRQ routing via acpi, BARs vm_mapped from mem, interrupts via irq/,
    );
    has(/^rumpdisk: 00:1f\.2 INTA# routed to GSI \d+ by acpi/);
    has(/^pci-arbiter: 00:1f\.2 0106: 8086:2922/);
    has(/^pci-arbiter: 00:00\.0 0600: /);
    for (const sig of ["FACP", "DSDT", "APIC", "MCFG"])
      has(new RegExp(`^acpi: ${sig}\\s+0x[0-9a-f]{8}\\s+\\d+ bytes`));
    has(/^ahcisata0 at pci 00:1f\.2: AHCI/);
    has(/^ahcisata0 port 0: <TSMACH SIMULATED SATA DISK>/);
    has(
      /^wd0 at ahcisata0 port 0: <TSMACH SIMULATED SATA DISK>, 64 MB, 131072 sectors of 512 bytes/,
    );
    has(/^wd0s1: MBR type 83, start 2048, 32768 sectors/);
    has(/^wd0s2: MBR type 83, start 34816, 96256 sectors/);
    has(
      /^client: wd0s1: 32768 records of 512 bytes \(16 MiB\): "tsmach default disk, partition 1: hello from wd0s1"/,
    );
    has(/^client: wd0s2: .*"tsmach default disk, partition 2: hello from wd0s2"/);
    has(
      /^client: device_open\("time"\) on rumpdisk's master device port: forwarded down the chain/,
    );
    has(/^tsmach: disks synced, machine powered off/);
    // The order of the chain: kernel, pci-arbiter, acpi, rumpdisk, client.
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const order = [/^kernel:/, /^pci-arbiter:/, /^acpi:/, /^ahcisata0/, /^client:/].map(at);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    // A second start reuses the disk.
    let again = "";
    expect(await main(["boot"], { stdout: (t) => (again += t), stderr: () => undefined })).toBe(0);
    expect(again).not.toContain("created the default disk");
  });

  it("boots a user's image with --disk, and refuses bad options with exit status 2", async () => {
    let err = "";
    const io = { stdout: () => undefined, stderr: (t: string) => (err += t) };
    expect(await main(["boot", "--machine", "vax"], io)).toBe(2);
    expect(err).toContain("unknown machine 'vax'");
    err = "";
    expect(await main(["boot", "--disk", path.join(dir, "missing.img")], io)).toBe(1);
    expect(err).toContain("missing.img");
  });
});

describe.skipIf(!need("qemu"))("tsmach boot --machine qemu", () => {
  it("drives QEMU's own AHCI through the same chain", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmach-data-"));
    try {
      const disk = ensureDefaultDisk(dir);
      if (!disk.ok) throw new Error(disk.error);
      let out = "";
      let err = "";
      const code = await main(["boot", "--machine", "qemu", "--disk", disk.path], {
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
      });
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out).toMatch(/^pci-arbiter: 00:1f\.2 0106: 8086:2922/m);
      expect(out).toMatch(/^tsmach: rumpdisk: isolated task \(worker thread\)/m);
      expect(out).not.toMatch(/^tsmach: rumpdisk runs in-thread/m);
      expect(out).toMatch(/^tsmach: pci-arbiter: isolated task \(worker thread\)/m);
      expect(out).toMatch(/^tsmach: acpi: isolated task \(worker thread\)/m);
      expect(out).toMatch(/^acpi: FACP /m);
      expect(out).toMatch(/^rumpdisk: 00:1f\.2 INTA# routed to GSI \d+ by acpi/m);
      expect(out).toMatch(
        /^wd0 at ahcisata0 port 0: <QEMU HARDDISK>, 64 MB, 131072 sectors of 512 bytes/m,
      );
      expect(out).toMatch(
        /^client: wd0s2: .*"tsmach default disk, partition 2: hello from wd0s2"/m,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
