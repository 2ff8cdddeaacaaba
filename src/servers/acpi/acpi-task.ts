// acpi as a task of its own (a worker thread in the boot chain, or in-thread for debugging): the
// tables come from physical memory through "mem", PCI_Config from pci-arbiter, port I/O from "io".
import { acpi_server } from "../../../generated/acpi.js";
import { consoleWriter } from "../../boot/console-device.js";
import { deviceReturnName } from "../../kernel/devices/device-codes.js";
import { IO_PORT_SPACE } from "../../kernel/devices/io-port-device.js";
import { TaskHardware } from "../../kernel/devices/task-hardware.js";
import { kernReturnName } from "../../kernel/kern-return.js";
import { asSendRight, type TaskApi } from "../../kernel/mig/index.js";
import { NetfsPorts } from "../netfs/port-server.js";
import { AcpiTranslator } from "./acpi-translator.js";
import { describeFirmware } from "./firmware-source.js";
import { arbiterPciConfig } from "./pci-config-port.js";
import { acpiServerImpl } from "./server.js";

/** What the boot chain hands acpi (port names in its own space). */
export interface AcpiTaskArgs {
  /** Send right: the master device port, from pci-arbiter. */
  readonly master: number;
  /** Send right: pci-arbiter's root port for acpi. */
  readonly pci: number;
  /** Send right: the boot console. */
  readonly console: number;
  /** Receive rights the boot chain made: the root port of each client, by its task name. */
  readonly roots: Readonly<Record<string, number>>;
}

const isName = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Checks the arguments a worker was handed (they crossed a thread by structured clone). */
export function isAcpiTaskArgs(v: unknown): v is AcpiTaskArgs {
  if (typeof v !== "object" || v === null) return false;
  const a = v as Record<string, unknown>;
  const roots = a["roots"];
  return (
    isName(a["master"]) &&
    isName(a["pci"]) &&
    isName(a["console"]) &&
    typeof roots === "object" &&
    roots !== null &&
    Object.values(roots).every(isName)
  );
}

const codeName = (c: number) => deviceReturnName(c) ?? kernReturnName(c);

/**
 * Finds and loads the tables, prints them on the console and serves tables/ and acpi.defs on the
 * roots it was given until the task dies; returns early (the task ends) when it cannot start.
 */
export default async function main(task: TaskApi, input: unknown): Promise<void> {
  if (!isAcpiTaskArgs(input)) throw new Error("acpi: bad task arguments");
  const args = input;
  const say = consoleWriter(task, asSendRight(args.console));
  const stop = async (why: string) => {
    say(`acpi: ${why}`);
    await say.flush();
  };
  // The AML's SystemIO regions and the PM1 blocks may be anywhere in port space.
  const hw = await TaskHardware.open(task, asSendRight(args.master), [[0, IO_PORT_SPACE]]);
  if (!hw.ok) return stop(`${hw.message}: ${codeName(hw.code)}`);
  const memory = hw.value;
  const started = await AcpiTranslator.start({
    backend: memory,
    memory: (address, length) => memory.memRead(address, length),
    pci: arbiterPciConfig(task, asSendRight(args.pci)),
  });
  if (!started.ok) return stop(`${started.error.code}: ${started.error.message}`);
  const acpi = started.value;
  for (const line of describeFirmware(acpi.firmware)) say(`acpi: ${line}`);
  const ports = new NetfsPorts(task, acpi.fs);
  for (const [user, name] of Object.entries(args.roots)) await ports.adoptRoot(user, name);
  await say.flush();
  await ports.serve(acpi_server(acpiServerImpl(acpi, ports)));
}
