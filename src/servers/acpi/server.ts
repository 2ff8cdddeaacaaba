// The acpi server as a task: serves tables/ with dir_lookup and io_read, and the Hurd's
// acpi.defs routines (acpi_sleep, acpi_get_pci_irq) on its root port.
import { acpi_server, type AcpiServer } from "../../../generated/acpi.js";
import type { kern_return_t } from "../../kernel/kern-return.js";
import type { TaskApi } from "../../kernel/mig/index.js";
import { EINVAL, EOPNOTSUPP } from "../netfs/errno.js";
import { NetfsPorts } from "../netfs/port-server.js";
import { AcpiTranslator, type AcpiOptions } from "./acpi-translator.js";
import type { AcpiError } from "./status.js";

export interface AcpiTask {
  readonly acpi: AcpiTranslator;
  readonly ports: NetfsPorts;
  readonly served: Promise<kern_return_t>;
}

/** acpi.defs over the translator; both routines work on the root node only (as the Hurd's). */
export function acpiServerImpl(acpi: AcpiTranslator, ports: NetfsPorts): AcpiServer {
  const atRoot = (master: number): boolean | undefined => {
    const p = ports.protidOf(master);
    return p ? p.node === acpi.root : undefined;
  };
  return {
    acpi_sleep: async (master, state) => {
      const root = atRoot(master);
      if (root === undefined) return EOPNOTSUPP;
      if (!root) return EINVAL;
      const r = await acpi.sleep(state);
      return r.ok ? 0 : r.code;
    },
    acpi_get_pci_irq: async (master, bus, dev, func) => {
      const root = atRoot(master);
      if (root === undefined) return EOPNOTSUPP;
      if (!root) return EINVAL;
      const r = await acpi.getPciIrq(bus, dev, func);
      return r.ok ? { irq: r.value } : r.code;
    },
  };
}

/** Starts the acpi server in `task`; fails (as a value) when no ACPI tables can be found. */
export async function runAcpi(
  task: TaskApi,
  options: AcpiOptions,
): Promise<{ ok: true; value: AcpiTask } | { ok: false; error: AcpiError }> {
  const started = await AcpiTranslator.start(options);
  if (!started.ok) return started;
  const acpi = started.value;
  const ports = new NetfsPorts(task, acpi.fs);
  const served = ports.serve(acpi_server(acpiServerImpl(acpi, ports)));
  return { ok: true, value: { acpi, ports, served } };
}
