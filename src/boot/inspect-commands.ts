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
    await settle(sys.value);
    return await use(sys.value);
  } finally {
    await sys.value.shutdown();
  }
}

/** How often settle() looks, and for how long at most (milliseconds). */
const SETTLE_LOOK_MS = 25;
const SETTLE_MAX_MS = 3000;

/**
 * Waits for the booted system to go quiet: two looks SETTLE_LOOK_MS apart that find every
 * task's rights alike (names, queues, sequence numbers). A server may still be finishing its
 * start (a call to acpi, a reply port not yet given back) when the chain reports it serving; a
 * picture taken then differs from run to run. Gives up after SETTLE_MAX_MS (a system that never
 * goes quiet is shown as it is).
 */
export async function settle(sys: BootedSystem): Promise<void> {
  const look = () =>
    JSON.stringify([...sys.kernel.tasks].filter((t) => t.alive).map((t) => taskRights(t)));
  let last = look();
  for (let waited = 0; waited < SETTLE_MAX_MS; waited += SETTLE_LOOK_MS) {
    await new Promise((r) => setTimeout(r, SETTLE_LOOK_MS));
    const now = look();
    if (now === last) return;
    last = now;
  }
}

/** What ps prints for a booted system: its table, or one JSON object per task. */
export function psLines(sys: BootedSystem, json: boolean): string[] {
  const rows = taskTable(sys.kernel.tasks);
  return json ? rows.map((r) => JSON.stringify(r)) : formatTaskTable(rows);
}

/** What portinfo prints for a task: a title and its rights, or one JSON object per name. */
export function portinfoLines(task: Task, flags: { json?: boolean; verbose?: boolean }): string[] {
  const rights = taskRights(task);
  if (flags.json) return rights.map((r) => JSON.stringify(r));
  const n = rights.length;
  return [
    `${task.name} (task ${task.space.id}, ${task.mode}): ${n} name${n === 1 ? "" : "s"}`,
    ...formatRights(rights, flags.verbose === true),
  ];
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
          for (const l of psLines(sys, flags.json === true)) io.stdout(l + "\n");
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
          for (const l of portinfoLines(task, flags)) io.stdout(l + "\n");
          return EXIT_OK;
        }),
      ),
    );
}
