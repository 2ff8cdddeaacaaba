// BARs through the pci-arbiter's region files, for a rumpdisk without access to the kernel's
// mappings (an isolated task): each register access is an io_read or io_write of the BAR's node.
import { io_read, io_write } from "../../../generated/io.js";
import { pci_get_dev_regions } from "../../../generated/pci.js";
import { kernReturnName } from "../../kernel/kern-return.js";
import type { SendRight, TaskApi } from "../../kernel/mig/index.js";
import { leBytes } from "../pci-arbiter/config-access.js";
import { decodePciBars } from "../pci-arbiter/bars.js";
import { listDir, lookup, O_READ, O_WRITE } from "../netfs/client.js";
import { mmioRegion, type BarMapper } from "./hurd-pci-user.js";

/** The region file (DOMAIN/BUS/DEV/FUNC/regionN) whose BAR starts at `phys`, looked up. */
async function findRegion(task: TaskApi, root: SendRight, phys: number): Promise<SendRight> {
  const domains = await listDir(task, root);
  if (!domains.ok)
    throw new Error(`pci-arbiter: cannot list its root: ${kernReturnName(domains.code)}`);
  for (const dom of domains.value) {
    const buses = await lookup(task, root, dom);
    if (!buses.ok) continue;
    const busNames = await listDir(task, buses.value);
    for (const bus of busNames.ok ? busNames.value : []) {
      const devs = await lookup(task, root, `${dom}/${bus}`);
      if (!devs.ok) continue;
      const devNames = await listDir(task, devs.value);
      for (const dev of devNames.ok ? devNames.value : []) {
        const fns = await lookup(task, root, `${dom}/${bus}/${dev}`);
        const fnNames = fns.ok ? await listDir(task, fns.value) : undefined;
        for (const fn of fnNames?.ok ? fnNames.value : []) {
          const config = await lookup(task, root, `${dom}/${bus}/${dev}/${fn}/config`);
          if (!config.ok) continue;
          const r = await pci_get_dev_regions(task, config.value);
          const bars = r.ok ? decodePciBars(r.value.data) : undefined;
          const bar = bars?.find((b) => !b.isIO && b.size > 0n && Number(b.baseAddr) === phys);
          if (!bar) continue;
          const file = await lookup(
            task,
            root,
            `${dom}/${bus}/${dev}/${fn}/region${bar.index}`,
            O_READ | O_WRITE,
          );
          if (!file.ok)
            throw new Error(`pci-arbiter: region${bar.index}: ${kernReturnName(file.code)}`);
          return file.value;
        }
      }
    }
  }
  throw new Error(`no PCI BAR starts at 0x${phys.toString(16)}`);
}

/** A BarMapper over the pci-arbiter rooted at `root` (a send right of `task`). */
export function regionFileBars(task: TaskApi, root: SendRight): BarMapper {
  return async (phys, size) => {
    const region = await findRegion(task, root, phys);
    return mmioRegion(
      phys,
      size,
      async (off, width) => {
        const r = await io_read(task, region, BigInt(off), BigInt(width));
        if (!r.ok || r.value.data.length !== width)
          throw new Error(`MMIO read at +0x${off.toString(16)} failed`);
        let v = 0;
        for (let i = width - 1; i >= 0; i--) v = v * 256 + r.value.data[i]!;
        return v;
      },
      async (off, width, value) => {
        const r = await io_write(task, region, leBytes(value >>> 0, width), BigInt(off));
        if (!r.ok)
          throw new Error(`MMIO write at +0x${off.toString(16)}: ${kernReturnName(r.code)}`);
      },
    );
  };
}
