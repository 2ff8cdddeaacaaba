// The machine `tsmach boot` runs on: the simulated PC or a QEMU q35 PC over qtest, with the
// given raw image as the disk on port 0 of the AHCI controller.
import type { MachineBackend } from "../machine/backend.js";
import { SimBackend } from "../machine/sim-backend.js";

export type MachineKind = "sim" | "qemu";
export const MACHINE_KINDS: readonly MachineKind[] = ["sim", "qemu"];

export type MachineStart = { ok: true; value: MachineBackend } | { ok: false; error: string };

/** What the boot log calls the machine. */
export function describeMachine(kind: MachineKind): string {
  return kind === "sim" ? "the simulated PC (ICH9-like AHCI)" : "QEMU q35 over qtest (ICH9 AHCI)";
}

/** Starts the machine with `disk` attached read-write on AHCI port 0. */
export async function startMachine(kind: MachineKind, disk: string): Promise<MachineStart> {
  if (kind === "qemu") {
    try {
      const { QemuBackend } = await import("../machine/qemu/qemu-backend.js");
      return { ok: true, value: await QemuBackend.start({ disk: { path: disk } }) };
    } catch (e) {
      return {
        ok: false,
        error: `cannot start QEMU: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }
  const r = SimBackend.create({
    memory: "256M",
    devices: [{ type: "ahci", disks: [{ port: 0, image: disk }] }],
  });
  return r.ok
    ? { ok: true, value: r.value }
    : { ok: false, error: r.errors.map((e) => e.message).join("; ") };
}
