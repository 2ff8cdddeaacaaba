// Reference tools (GNU MIG, gnumach-dev, iasl, lspci, QEMU, chromium) that some tests need.
// Missing locally: the test skips with a visible message. Missing in CI (CI=true): it fails.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

export const TOOLS = {
  mig: { probe: "x86_64-gnu-mig", apt: "mig-x86-64-gnu" },
  gnumach: { probe: "/usr/include/x86_64-linux-gnu/mach/mach.defs", apt: "gnumach-dev" },
  iasl: { probe: "iasl", apt: "acpica-tools" },
  lspci: { probe: "lspci", apt: "pciutils" },
  qemu: { probe: "qemu-system-x86_64", apt: "qemu-system-x86" },
  chromium: { probe: "/usr/bin/chromium", apt: "chromium" },
  gcc: { probe: "gcc", apt: "gcc" },
} as const;

export type ToolName = keyof typeof TOOLS;

function present(probe: string): boolean {
  if (probe.startsWith("/")) return existsSync(probe);
  try {
    execFileSync("sh", ["-c", `command -v ${probe}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<ToolName, boolean>();

export function hasTool(name: ToolName): boolean {
  let v = cache.get(name);
  if (v === undefined) {
    v = present(TOOLS[name].probe);
    cache.set(name, v);
  }
  return v;
}

/**
 * For `describe.skipIf(!need(...))`: true when every tool is there. When one is missing it prints
 * a visible skip message, and in CI it throws, since CI must never skip these tests.
 */
export function need(...names: ToolName[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const what = missing.map((n) => `${TOOLS[n].probe} (Debian package ${TOOLS[n].apt})`).join(", ");
  if (process.env.CI) throw new Error(`CI must not skip: missing ${what}`);
  console.warn(`SKIPPED: needs ${what}`);
  return false;
}

export const GNUMACH_INCLUDE = "/usr/include/x86_64-linux-gnu";
