// The pci-arbiter as a task: enumerates the machine's PCI bus, then serves dir_lookup, io_read,
// io_write and the Hurd's pci.defs routines on the ports of its tree's nodes.
import { pci_server, type PciServer } from "../../../generated/pci.js";
import type { kern_return_t } from "../../kernel/kern-return.js";
import type { TaskApi } from "../../kernel/mig/index.js";
import type { HardwareAccess } from "../../machine/backend.js";
import { EOPNOTSUPP } from "../netfs/errno.js";
import { NetfsPorts } from "../netfs/port-server.js";
import type { PciGrants } from "./pci-grants.js";
import { PciArbiter } from "./arbiter.js";

export interface PciArbiterTask {
  readonly arbiter: PciArbiter;
  readonly ports: NetfsPorts;
  /** Resolves when the server loop ends (its task died or its port set was destroyed). */
  readonly served: Promise<kern_return_t>;
}

/** The pci.defs routines over the arbiter, addressed by the protid a request arrived on. */
export function pciServerImpl(arbiter: PciArbiter, ports: NetfsPorts): PciServer {
  return {
    pci_conf_read: async (master, reg, amount) => {
      const p = ports.protidOf(master);
      if (!p) return EOPNOTSUPP;
      const r = await arbiter.confRead(p, reg, amount);
      return r.ok ? { data: r.value } : r.code;
    },
    pci_conf_write: async (master, reg, data) => {
      const p = ports.protidOf(master);
      if (!p) return EOPNOTSUPP;
      const r = await arbiter.confWrite(p, reg, data);
      return r.ok ? { amount: r.value } : r.code;
    },
    pci_get_ndevs: (master) => {
      const p = ports.protidOf(master);
      if (!p) return EOPNOTSUPP;
      const r = arbiter.getNdevs(p);
      return r.ok ? { ndevs: r.value } : r.code;
    },
    pci_get_dev_regions: (master) => {
      const p = ports.protidOf(master);
      if (!p) return EOPNOTSUPP;
      const r = arbiter.getDevRegions(p);
      return r.ok ? { data: r.value } : r.code;
    },
    pci_get_dev_rom: (master) => {
      const p = ports.protidOf(master);
      if (!p) return EOPNOTSUPP;
      const r = arbiter.getDevRom(p);
      return r.ok ? { data: r.value } : r.code;
    },
  };
}

/**
 * Runs the pci-arbiter in `task`: enumerates `backend`'s bus, then serves until the task dies.
 * Root ports for clients come from `ports.rootPort(taskName)`.
 */
export async function runPciArbiter(
  task: TaskApi,
  backend: HardwareAccess,
  policy: PciGrants,
): Promise<PciArbiterTask> {
  const arbiter = await PciArbiter.start(backend, policy);
  const ports = new NetfsPorts(task, arbiter.fs);
  const served = ports.serve(pci_server(pciServerImpl(arbiter, ports)));
  return { arbiter, ports, served };
}
