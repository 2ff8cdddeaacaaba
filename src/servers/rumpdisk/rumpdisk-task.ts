// rumpdisk as an isolated task (a worker thread): the module the boot chain spawns. Its ports
// come from the task before it; hardware only through them and a DMA arena (shared guest RAM, or a
// pager vm_mapped over remote RAM: QEMU). BARs are vm_mapped from "mem" (else pci-arbiter's files).
import { device_write_inband } from "../../../generated/device.js";
import { asSendRight, type SendRight, type TaskApi } from "../../kernel/mig/index.js";
import { arbiterPciConfig } from "../acpi/pci-config-port.js";
import { DmaArena, type DmaArenaSpec } from "./dma-arena.js";
import { HurdPciUser, vmMapBars, type BarMapper } from "./hurd-pci-user.js";
import { regionFileBars } from "./region-bars.js";
import {
  isRemoteDmaArenaSpec,
  RemoteDmaArena,
  type RemoteDmaArenaSpec,
} from "./remote-dma-arena.js";
import { runRumpdisk } from "./rumpdisk.js";

/** What the boot chain hands an isolated rumpdisk (port names in its own space). */
export interface RumpdiskTaskArgs {
  /** Send right: the master device port of the task before (acpi's, the kernel's in the end). */
  readonly next: number;
  /** Receive right: rumpdisk's own master device port. */
  readonly master: number;
  /** Send rights: pci-arbiter's and acpi's root ports. */
  readonly pci: number;
  readonly acpi: number;
  /** Send right: the console device, where the boot messages go. */
  readonly console: number;
  /** The DMA arena: shared guest RAM (the simulated PC), or a pager over remote RAM (QEMU). */
  readonly dma: DmaArenaSpec | RemoteDmaArenaSpec;
  readonly ncq?: boolean;
}

function isArgs(a: unknown): a is RumpdiskTaskArgs {
  const o = a as Record<string, unknown> | null;
  return (
    o !== null &&
    typeof o === "object" &&
    ["next", "master", "pci", "acpi", "console"].every((k) => Number.isInteger(o[k])) &&
    typeof o["dma"] === "object" &&
    o["dma"] !== null &&
    ((o["dma"] as DmaArenaSpec).ram instanceof SharedArrayBuffer || isRemoteDmaArenaSpec(o["dma"]))
  );
}

/** Console output as device_write_inband calls on the console device, in order. */
function consoleWriter(task: TaskApi, console: SendRight): (line: string) => void {
  let queue = Promise.resolve();
  const enc = new TextEncoder();
  return (line) => {
    const bytes = enc.encode(line + "\n");
    queue = queue.then(async () => {
      for (let o = 0; o < bytes.length; o += 128)
        await device_write_inband(task, console, 0, 0n, bytes.subarray(o, o + 128));
    });
  };
}

export default async function main(task: TaskApi, args: unknown): Promise<void> {
  if (!isArgs(args)) throw new Error("rumpdisk: the boot chain passed no ports");
  const say = consoleWriter(task, asSendRight(args.console));
  const pci = asSendRight(args.pci);
  const master = asSendRight(args.next);
  const viaMem = vmMapBars(task, master);
  const viaRegions = regionFileBars(task, pci);
  let how = "mem";
  const bars: BarMapper = async (phys, size) => {
    if (how === "mem") {
      try {
        return await viaMem(phys, size);
      } catch (e) {
        how = "region files";
        say(
          `rumpdisk: vm_map of the BAR failed (${e instanceof Error ? e.message : String(e)}); using pci-arbiter's region files`,
        );
      }
    }
    return viaRegions(phys, size);
  };
  const spec = args.dma;
  let dma: DmaArena | RemoteDmaArena;
  if ("ram" in spec) dma = new DmaArena(spec);
  else {
    try {
      dma = await RemoteDmaArena.map(task, spec);
    } catch (e) {
      say(`rumpdisk: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
  }
  const glue = new HurdPciUser({
    task,
    master,
    config: arbiterPciConfig(task, pci),
    acpi: asSendRight(args.acpi),
    bars,
    dma,
    log: say,
  });
  say(
    `rumpdisk: isolated task: PCI config via pci-arbiter, IRQ routing via acpi, BARs vm_mapped from mem, interrupts via irq, DMA ${"ram" in spec ? "in shared guest RAM" : `arena vm_mapped (0x${spec.phys.toString(16)}, ${spec.size >> 20} MiB; bounce buffers with syncs)`}`,
  );
  const rd = await runRumpdisk(task, {
    rump: { pci: glue, console: say, ...(args.ncq !== undefined ? { ncq: args.ncq } : {}) },
    next: asSendRight(args.next),
    master: args.master,
  });
  if (!rd.ok) {
    say(`rumpdisk: ${rd.error}`);
    return;
  }
  await rd.value.served;
}
