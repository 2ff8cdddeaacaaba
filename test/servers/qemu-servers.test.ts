// pci-arbiter and acpi unchanged on a real QEMU q35 (one QEMU for the suite): QEMU's functions
// over RPC, the RSDP in the BIOS area, FACP/APIC/HPET/MCFG/WAET/DSDT, the AHCI's GSI from
// QEMU's own _PRT, and acpi_sleep(5) powering QEMU off.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acpi_get_pci_irq, acpi_sleep } from "../../generated/acpi.js";
import type { SendRight } from "../../src/kernel/mig/index.js";
import type { Task } from "../../src/kernel/task.js";
import type { QemuBackend } from "../../src/machine/qemu/index.js";
import { acpiTablesOverRpc } from "../../src/boot/acpi-command.js";
import { startDriverStack, type DriverStack } from "../../src/boot/driver-stack.js";
import { lspciOverRpc } from "../../src/boot/lspci-command.js";
import { need } from "../helpers/tools.js";

describe.skipIf(!need("qemu"))("pci-arbiter and acpi on QEMU q35", () => {
  let qemu: QemuBackend;
  let stack: DriverStack;
  let client: Task;
  let roots: { pci: SendRight; acpi: SendRight | undefined };

  beforeAll(async () => {
    const { QemuBackend } = await import("../../src/machine/qemu/index.js");
    qemu = await QemuBackend.start();
    const s = await startDriverStack(qemu);
    if (!s.ok) throw new Error(s.error);
    stack = s.value;
    client = stack.kernel.createTask("lspci");
    roots = await stack.connect(client);
  }, 60_000);

  afterAll(async () => {
    client?.terminate();
    await stack?.stop();
    await qemu?.close();
  });

  it("lists QEMU's functions over RPC, among them the ICH9 AHCI 00:1f.2 8086:2922 class 0106", async () => {
    const r = await lspciOverRpc(client, roots.pci);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value[0]).toMatch(/^00:00\.0 0600: 8086:29c0/);
    expect(r.value).toContain("00:1f.2 0106: 8086:2922 (rev 02)");
    const ahci = stack.pci.arbiter.functions.find((f) => f.dev === 0x1f && f.func === 2)!;
    expect(ahci.regions[5]!.size).toBe(0x1000n); // ICH9 ABAR: 4 KiB, sized on the real device
  });

  it("finds the RSDP in the BIOS area and walks FACP, APIC, HPET, MCFG, WAET and the DSDT", async () => {
    const fw = stack.acpi!.acpi.firmware;
    expect(fw.rsdp!.address).toBeGreaterThanOrEqual(0xe0000);
    expect(fw.rsdp!.address).toBeLessThan(0x100000);
    expect(fw.problems).toEqual([]);
    const r = await acpiTablesOverRpc(client, roots.acpi!);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const sigs = r.value.map((t) => t.signature);
    for (const s of ["FACP", "APIC", "HPET", "MCFG", "WAET", "DSDT"]) expect(sigs).toContain(s);
    expect(r.value.every((t) => t.sum === 0 && t.oemId === "BOCHS")).toBe(true);
    expect(stack.acpi!.acpi.amlProblems).toEqual([]);
  });

  it("evaluates QEMU's _PRT for the AHCI's interrupt: GSI 16", async () => {
    const r = await acpi_get_pci_irq(client, roots.acpi!, 0, 0x1f, 2);
    expect(r.ok && r.value.irq).toBe(16);
  });

  it("acpi_sleep(5) powers QEMU off", async () => {
    const r = await acpi_sleep(client, roots.acpi!, 5);
    expect(r.ok).toBe(true);
    const exit = await Promise.race([
      qemu.exited,
      new Promise((res) => setTimeout(() => res("timeout"), 10_000)),
    ]);
    expect(exit).not.toBe("timeout");
  }, 20_000);
});
