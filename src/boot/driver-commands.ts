// Registers tsmach's driver-stack commands: `lspci` and `acpi tables`, each taking
// `--machine sim|qemu|host` (default sim).
import { Command, Option } from "commander";
import type { CliIO } from "../../mig/cli/context.js";
import { runAcpiTables } from "./acpi-command.js";
import { runLspci } from "./lspci-command.js";
import { MACHINE_KINDS, type MachineKind } from "./machine-option.js";

function machineOption(): Option {
  return new Option("--machine <kind>", "the machine to boot")
    .choices([...MACHINE_KINDS])
    .default("sim");
}

export function registerDriverCommands(
  program: Command,
  io: CliIO,
  setCode: (code: number) => void,
): void {
  program
    .command("lspci")
    .description("list PCI functions like `lspci -n`, as the pci-arbiter serves them")
    .addOption(machineOption())
    .exitOverride()
    .action(async (opts: { machine: MachineKind }) => setCode(await runLspci(io, opts.machine)));
  const acpi = program.command("acpi").description("look at the acpi server").exitOverride();
  acpi
    .command("tables")
    .description("list the ACPI tables the acpi server publishes (signature, length, OEM id)")
    .addOption(machineOption())
    .exitOverride()
    .action(async (opts: { machine: MachineKind }) =>
      setCode(await runAcpiTables(io, opts.machine)),
    );
}
