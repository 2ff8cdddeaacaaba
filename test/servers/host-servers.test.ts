// pci-arbiter and acpi on this Linux host, read-only: `tsmach lspci --machine host` equals
// `lspci -n`, `tsmach acpi tables --machine host` matches /sys/firmware/acpi/tables, and the
// host's DSDT loads into the AML interpreter without an error.
import { execFileSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/boot/cli.js";
import { AcpiTranslator } from "../../src/servers/acpi/acpi-translator.js";
import { need } from "../helpers/tools.js";

const PCI = "/sys/bus/pci/devices";
const TABLES = "/sys/firmware/acpi/tables";

function readable(dir: string, file?: string): boolean {
  try {
    const entries = readdirSync(dir);
    if (entries.length === 0) return false;
    for (const e of entries) {
      const p = join(dir, e, ...(file ? [file] : []));
      if (file === undefined && !statSync(p).isFile()) continue;
      accessSync(p, constants.R_OK);
      readFileSync(p).subarray(0, 1);
    }
    return true;
  } catch {
    return false;
  }
}

const pciReadable = readable(PCI, "config");
const tablesReadable = readable(TABLES);
if (!pciReadable) console.warn(`SKIPPED: ${PCI}/*/config is not readable here`);
if (!tablesReadable) console.warn(`SKIPPED: ${TABLES} is not readable here`);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe.skipIf(!need("lspci") || !pciReadable)("tsmach lspci --machine host", () => {
  it("prints exactly what `lspci -n` prints, function by function", async () => {
    const want = execFileSync("lspci", ["-n"], { encoding: "utf8" });
    const r = await run(["lspci", "--machine", "host"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.split("\n").filter(Boolean)).toEqual(want.split("\n").filter(Boolean));
  });
});

describe.skipIf(!tablesReadable)("tsmach acpi tables --machine host", () => {
  it("lists every table of /sys/firmware/acpi/tables with its signature, length and checksum", async () => {
    const r = await run(["acpi", "tables", "--machine", "host"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const rows = r.out
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/));
    const files = readdirSync(TABLES)
      .filter((f) => statSync(join(TABLES, f)).isFile())
      .sort();
    expect(rows.map((c) => c[0])).toEqual(files);
    for (const [name, sig, length, , ...check] of rows) {
      const bytes = readFileSync(join(TABLES, name!));
      expect(sig).toBe(bytes.subarray(0, 4).toString("latin1"));
      expect(Number(length)).toBe(bytes.readUInt32LE(4));
      const sum = bytes.reduce((s, b) => (s + b) & 0xff, 0);
      expect(check.join(" ")).toBe(
        sig === "FACS"
          ? "no checksum"
          : sum === 0
            ? "checksum ok"
            : `checksum BAD (sum 0x${sum.toString(16)})`,
      );
    }
  });

  it("parses the host's DSDT without an error", async () => {
    const { HostBackend } = await import("../../src/machine/host/index.js");
    const host = await HostBackend.open();
    const a = await AcpiTranslator.start({ backend: host });
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.value.table("DSDT")).toBeDefined();
    expect(a.value.amlProblems).toEqual([]);
    expect(a.value.interp.checkMethods()).toEqual([]);
    const sleep = await a.value.sleep(5);
    expect(sleep.ok).toBe(false); // the host refuses to be powered off
    await host.close();
  });
});
