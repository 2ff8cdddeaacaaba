// `tsmach lspci` and `tsmach acpi tables` on the simulated PC: what they print, read over RPC
// from the servers, and the usage errors for a machine that does not exist.
import { describe, expect, it } from "vitest";
import { main } from "../../src/boot/cli.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe("tsmach lspci and acpi tables (simulated PC)", () => {
  it("lspci prints one `lspci -n` line per function", async () => {
    const r = await run(["lspci"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toMatch(/^00:00\.0 0600: 8086:[0-9a-f]{4}/);
    expect(lines).toContain("00:1f.2 0106: 8086:2922 (rev 02)");
    expect(
      lines.every((l) =>
        /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] [0-9a-f]{4}: [0-9a-f]{4}:[0-9a-f]{4}( \(rev [0-9a-f]{2}\))?$/.test(
          l,
        ),
      ),
    ).toBe(true);
  });

  it("acpi tables lists signature, length and OEM id of every table, checksums good", async () => {
    const r = await run(["acpi", "tables", "--machine", "sim"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const rows = r.out
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((c) => c[1]).sort()).toEqual(["APIC", "DSDT", "FACP", "MCFG", "XSDT"]);
    for (const c of rows) {
      expect(Number(c[2])).toBeGreaterThanOrEqual(36);
      expect(c[3]).toBe("TSMACH");
      expect(c.slice(4).join(" ")).toBe("checksum ok");
    }
  });

  it("rejects an unknown machine with a usage error", async () => {
    const r = await run(["lspci", "--machine", "vax"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/vax/);
  });
});
