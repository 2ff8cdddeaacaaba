// Test helpers for the acpi suites: compile the ASL fixtures with Debian's iasl into a temp
// directory, and build binary ACPI tables (header + checksum) from parts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/acpi/", import.meta.url));

/** Compiles test/fixtures/acpi/<name>.asl with iasl and returns the AML table. */
export function compileAsl(name: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "tsmach-iasl-"));
  try {
    execFileSync("iasl", ["-p", join(dir, name), join(FIXTURES, `${name}.asl`)], { stdio: "pipe" });
    return new Uint8Array(readFileSync(join(dir, `${name}.aml`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles ASL source text (a whole DefinitionBlock). */
export function compileAslText(source: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "tsmach-iasl-"));
  try {
    const file = join(dir, "t.asl");
    execFileSync("sh", ["-c", 'cat > "$1"', "sh", file], { input: source });
    execFileSync("iasl", ["-p", join(dir, "t"), file], { stdio: "pipe" });
    return new Uint8Array(readFileSync(join(dir, "t.aml")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fixChecksum(t: Uint8Array, at = 9, length = t.length): Uint8Array {
  t[at] = 0;
  let s = 0;
  for (let i = 0; i < length; i++) s = (s + t[i]!) & 0xff;
  t[at] = (0x100 - s) & 0xff;
  return t;
}

/** An ACPI table: 36-byte header (OEM "TSMACH") followed by `body`, checksum fixed. */
export function makeTable(
  signature: string,
  revision: number,
  body: Uint8Array | number[],
): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const t = new Uint8Array(36 + b.length);
  const dv = new DataView(t.buffer);
  for (let i = 0; i < 4; i++) t[i] = signature.charCodeAt(i);
  dv.setUint32(4, t.length, true);
  t[8] = revision;
  "TSMACH".split("").forEach((c, i) => (t[10 + i] = c.charCodeAt(0)));
  "TESTTABL".split("").forEach((c, i) => (t[16 + i] = c.charCodeAt(0)));
  dv.setUint32(24, 1, true);
  "TSMC".split("").forEach((c, i) => (t[28 + i] = c.charCodeAt(0)));
  dv.setUint32(32, 0x20261126, true);
  t.set(b, 36);
  return fixChecksum(t);
}

/** A definition block whose body is the given raw AML bytes. */
export function makeDsdt(aml: Uint8Array | number[], revision = 2): Uint8Array {
  return makeTable("DSDT", revision, aml);
}

export function le(value: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}
