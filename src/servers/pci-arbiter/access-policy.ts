// Who may use which PCI function: the arbiter's configuration grants functions to tasks by
// name (the credential the boot chain binds to each task's root port), read-only or read-write.
import { z } from "zod";
import { EACCES } from "../netfs/errno.js";
import type { AccessMode } from "../netfs/translator.js";
import type { PciFunction } from "./enumerate.js";

const byte = z.number().int().min(0).max(255);

/** One grant. Omitted address or class fields match anything; task "*" matches every task. */
export const PciAccessRuleSchema = z
  .object({
    task: z.string().min(1),
    domain: z.number().int().min(0).max(0xffff).optional(),
    bus: byte.optional(),
    dev: z.number().int().min(0).max(31).optional(),
    func: z.number().int().min(0).max(7).optional(),
    class: byte.optional(),
    subclass: byte.optional(),
    access: z.enum(["r", "rw"]).default("rw"),
  })
  .strict();

export const PciAccessConfigSchema = z.object({ rules: z.array(PciAccessRuleSchema) }).strict();

export type PciAccessRule = z.input<typeof PciAccessRuleSchema>;
export type PciAccessConfig = z.input<typeof PciAccessConfigSchema>;
type Rule = z.output<typeof PciAccessRuleSchema>;

export type PolicyResult =
  | { readonly ok: true; readonly value: PciAccessPolicy }
  | { readonly ok: false; readonly errors: readonly string[] };

export class PciAccessPolicy {
  private constructor(private readonly rules: readonly Rule[]) {}

  /** Validates a configuration (from JSON or code); every problem is named by its path. */
  static parse(input: unknown): PolicyResult {
    const r = PciAccessConfigSchema.safeParse(input);
    if (!r.success) {
      return {
        ok: false,
        errors: r.error.issues.map(
          (i) => `pci-arbiter access config: ${i.path.join(".") || "(root)"}: ${i.message}`,
        ),
      };
    }
    return { ok: true, value: new PciAccessPolicy(r.data.rules) };
  }

  private matches(r: Rule, user: string, f: PciFunction): boolean {
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
