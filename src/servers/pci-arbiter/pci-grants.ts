// The arbiter's grants: which task may use which PCI function, read-only or read-write, by task
// name (the credential the boot chain binds to each task's root port), and the check itself.
import { EACCES } from "../netfs/errno.js";
import type { AccessMode } from "../netfs/translator.js";
import type { PciFunction } from "./enumerate.js";

/** One grant. Omitted address or class fields match anything; task "*" matches every task. */
export interface PciGrant {
  readonly task: string;
  readonly domain?: number | undefined;
  readonly bus?: number | undefined;
  readonly dev?: number | undefined;
  readonly func?: number | undefined;
  readonly class?: number | undefined;
  readonly subclass?: number | undefined;
  readonly access: "r" | "rw";
}

const optionalIn = (v: unknown, max: number) =>
  v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max);

/** Whether `v` is a grant (how a task checks the grants it was handed, without a schema library). */
export function isPciGrant(v: unknown): v is PciGrant {
  if (typeof v !== "object" || v === null) return false;
  const g = v as Record<string, unknown>;
  return (
    typeof g["task"] === "string" &&
    g["task"].length > 0 &&
    (g["access"] === "r" || g["access"] === "rw") &&
    optionalIn(g["domain"], 0xffff) &&
    optionalIn(g["bus"], 255) &&
    optionalIn(g["dev"], 31) &&
    optionalIn(g["func"], 7) &&
    optionalIn(g["class"], 255) &&
    optionalIn(g["subclass"], 255)
  );
}

export class PciGrants {
  constructor(readonly rules: readonly PciGrant[]) {}

  private matches(r: PciGrant, user: string, f: PciFunction): boolean {
    return (
      (r.task === "*" || r.task === user) &&
      (r.domain === undefined || r.domain === f.domain) &&
      (r.bus === undefined || r.bus === f.bus) &&
      (r.dev === undefined || r.dev === f.dev) &&
      (r.func === undefined || r.func === f.func) &&
      (r.class === undefined || r.class === f.deviceClass >>> 16) &&
      (r.subclass === undefined || r.subclass === ((f.deviceClass >>> 8) & 0xff))
    );
  }

  /** 0 when `user` may access `f` that way, else EACCES (the Hurd's answer for a denied access). */
  check(user: string, f: PciFunction, mode: AccessMode): number {
    for (const r of this.rules) {
      if (!this.matches(r, user, f)) continue;
      if (mode === "read" || r.access === "rw") return 0;
    }
    return EACCES;
  }
}
