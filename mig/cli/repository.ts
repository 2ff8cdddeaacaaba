// Locates the tsmach package root (from source or from dist/) and the interface files in defs/.
// `tsmig check` without files and `tsmach boot` both work on this set.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The directory holding tsmach's package.json, searched upward from this module. */
export function packageRoot(
  from: string = dirname(fileURLToPath(import.meta.url)),
): string | undefined {
  let dir = from;
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "tsmach")
          return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Every defs/*.defs of the repository, sorted; empty when there is no defs/ folder. */
export function repositoryDefsFiles(root: string): string[] {
  const dir = join(root, "defs");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".defs"))
    .sort()
    .map((f) => join(dir, f));
}
