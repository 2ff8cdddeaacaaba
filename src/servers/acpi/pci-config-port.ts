// The acpi server's PCI configuration access: through the pci-arbiter over RPC (as the Hurd's
// acpi goes through libpciaccess), or directly through mechanism #1 when it runs alone.
import type { AccessWidth } from "../../machine/backend.js";
import { pci_conf_read, pci_conf_write } from "../../../generated/pci.js";
import type { SendRight, TaskApi } from "../../kernel/mig/index.js";
import { lookup } from "../netfs/client.js";
import { leBytes, valueOf, type ConfigAccess } from "../pci-arbiter/config-access.js";
import type { PciConfigPort } from "./hardware-regions.js";

const ALL_ONES: Record<AccessWidth, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

/** Direct mechanism #1 (for an acpi server without a pci-arbiter, and for tests). */
export function directPciConfig(config: ConfigAccess): PciConfigPort {
  return {
    async read(bus, dev, func, offset, width) {
      return valueOf(await config.read({ bus, dev, func }, offset, width)) ?? ALL_ONES[width];
    },
    async write(bus, dev, func, offset, width, value) {
      const r = await config.write({ bus, dev, func }, offset, leBytes(value, width));
      if (!r.ok) throw new Error(`PCI configuration write refused (0x${r.code.toString(16)})`);
    },
  };
}

/**
 * Configuration access through the pci-arbiter: each function's `config` node is looked up once
 * (a missing function reads as all-ones), then pci_conf_read/pci_conf_write go to it.
 */
export function arbiterPciConfig(task: TaskApi, root: SendRight): PciConfigPort {
  const nodes = new Map<string, SendRight | null>();
  const hex = (v: number, w: number) => v.toString(16).padStart(w, "0");
  const node = async (bus: number, dev: number, func: number): Promise<SendRight | null> => {
    const path = `0000/${hex(bus, 2)}/${hex(dev, 2)}/${func}/config`;
    if (!nodes.has(path)) {
      const r = await lookup(task, root, path);
      nodes.set(path, r.ok ? r.value : null);
    }
    return nodes.get(path)!;
  };
  return {
    async read(bus, dev, func, offset, width) {
      const port = await node(bus, dev, func);
      if (port === null) return ALL_ONES[width];
      const r = await pci_conf_read(task, port, offset, BigInt(width));
      if (!r.ok) throw new Error(`pci_conf_read failed (0x${r.code.toString(16)})`);
      let v = 0;
      for (let i = r.value.data.length - 1; i >= 0; i--) v = v * 256 + r.value.data[i]!;
      return v;
    },
    async write(bus, dev, func, offset, width, value) {
      const port = await node(bus, dev, func);
      if (port === null) throw new Error(`no PCI function ${bus}:${dev}.${func}`);
      const r = await pci_conf_write(task, port, offset, leBytes(value, width));
      if (!r.ok) throw new Error(`pci_conf_write failed (0x${r.code.toString(16)})`);
    },
  };
}
