// The lower half of the driver stack as tasks on one kernel: the kernel devices, the pci-arbiter
// (owning PCI configuration space) and acpi (reading firmware through "mem", PCI_Config through
// the arbiter), and how a client task gets send rights to their root ports, each bound to the
// client's task name as its credential.
import { DeviceMaster } from "../kernel/devices/index.js";
import { Kernel } from "../kernel/kernel.js";
import { asSendRight, type SendRight } from "../kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../kernel/msg-type.js";
import type { Task } from "../kernel/task.js";
import type { MachineBackend } from "../machine/backend.js";
import { memDeviceReader } from "../servers/acpi/mem-device-reader.js";
import { arbiterPciConfig } from "../servers/acpi/pci-config-port.js";
import { runAcpi, type AcpiTask } from "../servers/acpi/server.js";
import type { AcpiError } from "../servers/acpi/status.js";
import { PciAccessPolicy, type PciAccessRule } from "../servers/pci-arbiter/access-policy.js";
import { runPciArbiter, type PciArbiterTask } from "../servers/pci-arbiter/server.js";

/**
 * The default grants: acpi may read and write every function (it evaluates PCI_Config regions
 * such as the LPC bridge's PIRQ routing), rumpdisk the SATA AHCI controllers, lspci reads all.
 */
export const DEFAULT_PCI_GRANTS: readonly PciAccessRule[] = [
  { task: "acpi", access: "rw" },
  { task: "rumpdisk", class: 0x01, subclass: 0x06, access: "rw" },
  { task: "lspci", access: "r" },
];

export interface DriverStack {
  readonly kernel: Kernel;
  readonly devices: DeviceMaster;
  readonly backend: MachineBackend;
  readonly pci: PciArbiterTask;
  /** Undefined when the machine has no ACPI tables (acpiError says why). */
  readonly acpi: AcpiTask | undefined;
  readonly acpiError: AcpiError | undefined;
  /** Send rights for `client` to the roots of the arbiter and of acpi, bound to its name. */
  connect(client: Task): Promise<{ pci: SendRight; acpi: SendRight | undefined }>;
  /** Ends the server tasks (the machine stays as it is; close it separately). */
  stop(): Promise<void>;
}

export type StackResult = { ok: true; value: DriverStack } | { ok: false; error: string };

/** Starts pci-arbiter, then acpi, on `backend`. */
export async function startDriverStack(
  backend: MachineBackend,
  grants: readonly PciAccessRule[] = DEFAULT_PCI_GRANTS,
): Promise<StackResult> {
  const policy = PciAccessPolicy.parse({ rules: grants });
  if (!policy.ok) return { ok: false, error: policy.errors.join("\n") };
  const kernel = new Kernel();
  const dm = await DeviceMaster.start(kernel, { backend });
  if (!dm.ok)
    return { ok: false, error: `kernel devices: cannot start (0x${dm.code.toString(16)})` };
  const devices = dm.value;
  const pciTask = kernel.createTask("pci-arbiter");
  const acpiTask = kernel.createTask("acpi");
  const give = async (server: Task, name: number, client: Task): Promise<SendRight> => {
    const r = kernel.giveRight(server, name, MACH_MSG_TYPE_MAKE_SEND, client);
    if (r.kr !== 0)
      throw new Error(`cannot give ${client.name} a right from ${server.name} (${r.kr})`);
    return asSendRight(r.name);
  };
  let pci: PciArbiterTask;
  try {
    pci = await runPciArbiter(pciTask, backend, policy.value);
  } catch (e) {
    pciTask.terminate();
    acpiTask.terminate();
    await devices.close();
    return { ok: false, error: `pci-arbiter: ${e instanceof Error ? e.message : String(e)}` };
  }
  const acpiPciRoot = await give(pciTask, await pci.ports.rootPort(acpiTask.name), acpiTask);
  const master = devices.giveMasterPort(acpiTask);
  const memory =
    master.kr === 0 ? memDeviceReader(acpiTask, asSendRight(master.name), devices) : undefined;
  const acpi = await runAcpi(acpiTask, {
    backend,
    memory,
    pci: arbiterPciConfig(acpiTask, acpiPciRoot),
  });
  if (!acpi.ok) acpiTask.terminate();
  const stack: DriverStack = {
    kernel,
    devices,
    backend,
    pci,
    acpi: acpi.ok ? acpi.value : undefined,
    acpiError: acpi.ok ? undefined : acpi.error,
    connect: async (client) => ({
      pci: await give(pciTask, await pci.ports.rootPort(client.name), client),
      acpi: acpi.ok
        ? await give(acpiTask, await acpi.value.ports.rootPort(client.name), client)
        : undefined,
    }),
    stop: async () => {
      pciTask.terminate();
      acpiTask.terminate();
      await pci.served;
      if (acpi.ok) await acpi.value.served;
      await devices.close();
    },
  };
  return { ok: true, value: stack };
}
