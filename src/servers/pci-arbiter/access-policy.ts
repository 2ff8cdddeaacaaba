// Who may use which PCI function, as configured: the arbiter's grants validated (zod) from JSON or
// code. The grants themselves, and the check, are in pci-grants.ts (what a pci-arbiter task loads).
import { z } from "zod";
import { PciGrants, type PciGrant } from "./pci-grants.js";

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

export type PolicyResult =
  | { readonly ok: true; readonly value: PciAccessPolicy }
  | { readonly ok: false; readonly errors: readonly string[] };

export class PciAccessPolicy extends PciGrants {
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
    const rules: readonly PciGrant[] = r.data.rules;
    return { ok: true, value: new PciAccessPolicy(rules) };
  }
}
