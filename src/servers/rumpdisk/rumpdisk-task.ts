// rumpdisk as an isolated task (a worker thread): the module the boot chain spawns. Its ports
// come from the task before it; the hardware is reached only through them and a DMA arena:
// BARs are vm_mapped from the kernel's "mem" device (pci-arbiter's region files if that fails).
import { device_write_inband } from "../../../generated/device.js";
import { asSendRight, type SendRight, type TaskApi } from "../../kernel/mig/index.js";
import { arbiterPciConfig } from "../acpi/pci-config-port.js";
import { DmaArena, type DmaArenaSpec } from "./dma-arena.js";
import { HurdPciUser, vmMapBars, type BarMapper } from "./hurd-pci-user.js";
import { regionFileBars } from "./region-bars.js";
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
  readonly dma: DmaArenaSpec;
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
    (o["dma"] as DmaArenaSpec).ram instanceof SharedArrayBuffer
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
  const glue = new HurdPciUser({
    task,
    master,
    config: arbiterPciConfig(task, pci),
    acpi: asSendRight(args.acpi),
    bars,
    dma: new DmaArena(args.dma),
    log: say,
  });
  say(
    "rumpdisk: isolated task: PCI config via pci-arbiter, IRQ routing via acpi, BARs vm_mapped from mem, interrupts via irq",
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
