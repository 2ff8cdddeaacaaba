// pci-arbiter as a task of its own (a worker thread in the boot chain, or in-thread for debugging):
// its ports come from the kernel; configuration space is reached by port I/O on an io_perm.
import { pci_server } from "../../../generated/pci.js";
import { consoleWriter } from "../../boot/console-device.js";
import { deviceReturnName } from "../../kernel/devices/device-codes.js";
import { TaskHardware } from "../../kernel/devices/task-hardware.js";
import { kernReturnName } from "../../kernel/kern-return.js";
import { asSendRight, type TaskApi } from "../../kernel/mig/index.js";
import { NetfsPorts } from "../netfs/port-server.js";
import { PciArbiter } from "./arbiter.js";
import { PCI_CONFIG_ADDRESS } from "./config-access.js";
import { describePciFunction } from "./enumerate.js";
import { isPciGrant, PciGrants, type PciGrant } from "./pci-grants.js";
import { pciServerImpl } from "./server.js";

/** CONFIG_ADDRESS and CONFIG_DATA: the eight ports mechanism #1 needs. */
export const PCI_CONFIG_PORTS = [PCI_CONFIG_ADDRESS, 8] as const;

/** What the boot chain hands pci-arbiter (port names in its own space). */
export interface PciArbiterTaskArgs {
  /** Send right: the kernel's master device port (the privilege to open "io" and "mem"). */
  readonly master: number;
  /** Send right: the boot console. */
  readonly console: number;
  /** Receive rights the boot chain made: the root port of each client, by its task name. */
  readonly roots: Readonly<Record<string, number>>;
  /** Who may touch which function (validated by the boot chain: PciAccessPolicy.parse). */
  readonly grants: readonly PciGrant[];
}

const isName = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Checks the arguments a worker was handed (they crossed a thread by structured clone). */
export function isPciArbiterTaskArgs(v: unknown): v is PciArbiterTaskArgs {
  if (typeof v !== "object" || v === null) return false;
  const a = v as Record<string, unknown>;
  const roots = a["roots"];
  return (
    isName(a["master"]) &&
    isName(a["console"]) &&
    typeof roots === "object" &&
    roots !== null &&
    Object.values(roots).every(isName) &&
    Array.isArray(a["grants"]) &&
    a["grants"].every(isPciGrant)
  );
}

const codeName = (c: number) => deviceReturnName(c) ?? kernReturnName(c);

/**
 * Enumerates the bus through an io_perm for 0xCF8-0xCFF, prints the functions on the console and
 * serves the tree on the roots it was given until the task dies. Returns early (the task then
 * ends, and its roots die with it) when it cannot reach the hardware.
 */
export default async function main(task: TaskApi, input: unknown): Promise<void> {
  if (!isPciArbiterTaskArgs(input)) throw new Error("pci-arbiter: bad task arguments");
  const args = input;
  const say = consoleWriter(task, asSendRight(args.console));
  const stop = async (why: string) => {
    say(`pci-arbiter: ${why}`);
    await say.flush();
  };
  const hw = await TaskHardware.open(task, asSendRight(args.master), [PCI_CONFIG_PORTS]);
  if (!hw.ok) return stop(`${hw.message}: ${codeName(hw.code)}`);
  say(
    `pci-arbiter: configuration mechanism #1 at ports 0xcf8-0xcff through an io_perm of the kernel's io device${hw.value.writable ? "" : " (read-only machine)"}`,
  );
  let arbiter: PciArbiter;
  try {
    arbiter = await PciArbiter.start(hw.value, new PciGrants(args.grants));
  } catch (e) {
    return stop(`cannot enumerate the bus: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const f of arbiter.functions) say(`pci-arbiter: ${describePciFunction(f)}`);
  const ports = new NetfsPorts(task, arbiter.fs);
  for (const [user, name] of Object.entries(args.roots)) await ports.adoptRoot(user, name);
  await say.flush();
  await ports.serve(pci_server(pciServerImpl(arbiter, ports)));
}
