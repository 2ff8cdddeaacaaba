// The `--machine sim|qemu|host` option of tsmach's commands: opens the chosen MachineBackend
// (the built-in simulated PC, a QEMU q35 over qtest, or this Linux host read-only).
import { BackendAccessError, type MachineBackend } from "../machine/backend.js";
import { SimBackend } from "../machine/sim-backend.js";

export const MACHINE_KINDS = ["sim", "qemu", "host"] as const;
export type MachineKind = (typeof MACHINE_KINDS)[number];

export function isMachineKind(v: string): v is MachineKind {
  return (MACHINE_KINDS as readonly string[]).includes(v);
}

/** Opens a machine; failures are values carrying a message for the user. */
export async function openMachine(
  kind: MachineKind,
): Promise<{ ok: true; value: MachineBackend } | { ok: false; error: string }> {
  try {
    switch (kind) {
      case "sim": {
        const r = SimBackend.create({ devices: [{ type: "ahci", disks: [] }] });
        return r.ok
          ? { ok: true, value: r.value }
          : { ok: false, error: r.errors.map((e) => e.message).join("; ") };
      }
      case "qemu": {
        const { QemuBackend } = await import("../machine/qemu/index.js");
        return { ok: true, value: await QemuBackend.start() };
      }
      case "host": {
        const { HostBackend } = await import("../machine/host/index.js");
        return { ok: true, value: await HostBackend.open() };
      }
    }
  } catch (e) {
    const msg = e instanceof BackendAccessError || e instanceof Error ? e.message : String(e);
    return { ok: false, error: `cannot open the ${kind} machine: ${msg}` };
  }
}
