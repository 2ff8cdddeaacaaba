// Whether a path named to tsmig can be read as a .defs file, said as the reason it cannot.
// Shared by every command and by the docs, so that all report unreadable files alike (E0900).
import { accessSync, constants, statSync } from "node:fs";

/** Why a path cannot be read as a .defs file, or undefined when it can. */
export function unreadable(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return "is a directory";
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
        ? "permission denied"
        : "cannot be read";
  }
}
