// `tsmach ps` and `tsmach portinfo`: boot the chain, then show its tasks (one line each, with
// counts of their rights) or one task's rights, as the Hurd's ps and portinfo do.
import type { Command } from "commander";
import { EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, type CliIO } from "../../mig/cli/context.js";
import { formatRights, taskRights, taskTable, type TaskInfo } from "../kernel/portinfo.js";
import type { Task } from "../kernel/task.js";
import { bootSystem, type BootedSystem } from "./boot-chain.js";
import { bootMachineOption, diskOrDefault, machineOf, type MachineFlags } from "./disk-commands.js";

type InspectFlags = MachineFlags & { log?: boolean; json?: boolean };

/** Boots quietly (the log on stderr with --log), runs `use`, then shuts the system down. */
async function withBootedSystem(
  io: CliIO,
  cmd: string,
  flags: InspectFlags,
  use: (sys: BootedSystem) => Promise<number> | number,
): Promise<number> {
  const machine = machineOf(flags, io, cmd);
  if (!machine) return EXIT_USAGE;
  const disk = diskOrDefault(io, cmd, flags.disk);
  if (typeof disk === "number") return disk;
  const log = flags.log ? (l: string) => io.stderr(l + "\n") : undefined;
  const sys = await bootSystem({ machine, disk, ...(log ? { log } : {}) });
  if (!sys.ok) {
    io.stderr(`tsmach ${cmd}: ${sys.error}\n`);
    return EXIT_INPUT_ERRORS;
  }
  try {
    return await use(sys.value);
  } finally {
    await sys.value.shutdown();
  }
}

/** ps's table: a header and one line per task. */
export function formatTaskTable(rows: readonly TaskInfo[]): string[] {
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const line = (cells: readonly (string | number)[]) =>
    `${String(cells[0]).padStart(4)}  ${String(cells[1]).padEnd(width)}  ${String(cells[2]).padEnd(9)}` +
    cells
      .slice(3)
      .map((c) => String(c).padStart(6))
      .join("");
  return [
    line(["TASK", "NAME", "MODE", "NAMES", "RECV", "SEND", "ONCE", "SETS", "DEAD", "MSGS"]),
    ...rows.map((r) =>
      line([
        r.id,
        r.name,
        r.mode,
        r.names,
        r.receive,
        r.send,
        r.sendOnce,
        r.portSets,
        r.deadNames,
        r.queued,
      ]),
    ),
  ];
}

/** The live task `which` names: its task number, or its name. */
export function findTask(tasks: Iterable<Task>, which: string): Task | undefined {
  const live = [...tasks].filter((t) => t.alive);
  if (/^\d+$/.test(which)) return live.find((t) => t.space.id === Number(which));
  return live.find((t) => t.name === which);
}

/** Adds ps and portinfo to the tsmach program. */
export function registerInspectCommands(
  program: Command,
  io: CliIO,
  setCode: (code: number) => void,
): void {
  program
    .command("ps")
    .description(
      "boot the chain and list its tasks with counts of their rights, like the Hurd's ps",
    )
    .addOption(bootMachineOption())
    .option("--disk <file>", "a raw disk image (default: data/default-disk.img)")
    .option("--log", "print the boot log on stderr")
    .option("--json", "one JSON object per task, for scripts")
    .exitOverride()
    .action(async (flags: InspectFlags) =>
      setCode(
        await withBootedSystem(io, "ps", flags, (sys) => {
          const rows = taskTable(sys.kernel.tasks);
          if (flags.json) for (const r of rows) io.stdout(JSON.stringify(r) + "\n");
          else for (const l of formatTaskTable(rows)) io.stdout(l + "\n");
          return EXIT_OK;
        }),
      ),
    );
  program
    .command("portinfo")
    .description(
      "boot the chain and list the port rights of TASK (a number from ps, or a name), like the Hurd's portinfo",
    )
    .addOption(bootMachineOption())
    .option("--disk <file>", "a raw disk image (default: data/default-disk.img)")
    .option("-v, --verbose", "each right's references, queue state and where it leads")
    .option("--log", "print the boot log on stderr")
    .option("--json", "one JSON object per name (every detail), for scripts")
    .argument("<task>")
    .exitOverride()
    .action(async (which: string, flags: InspectFlags & { verbose?: boolean }) =>
      setCode(
        await withBootedSystem(io, "portinfo", flags, (sys) => {
          const task = findTask(sys.kernel.tasks, which);
          if (!task) {
            const known = taskTable(sys.kernel.tasks)
              .map((t) => `${t.id} ${t.name}`)
              .join(", ");
            io.stderr(`tsmach portinfo: no task '${which}' (the tasks are: ${known})\n`);
            return EXIT_INPUT_ERRORS;
          }
          const rights = taskRights(task);
          if (flags.json) {
            for (const r of rights) io.stdout(JSON.stringify(r) + "\n");
            return EXIT_OK;
          }
          io.stdout(
            `${task.name} (task ${task.space.id}, ${task.mode}): ${rights.length} name${rights.length === 1 ? "" : "s"}\n`,
          );
          for (const l of formatRights(rights, flags.verbose === true)) io.stdout(l + "\n");
          return EXIT_OK;
        }),
      ),
    );
}
