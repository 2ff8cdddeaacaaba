// `tsmach boot`, `tsmach devread` and `tsmach devwrite`: boot the whole chain on a machine and
// a disk image, then show the disks (boot) or move bytes through rumpdisk (devread/devwrite).
import { join } from "node:path";
import { Command, Option } from "commander";
import { block_get_info } from "../../generated/block.js";
import { device_open } from "../../generated/device.js";
import { D_READ } from "../kernel/devices/device-codes.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, type CliIO } from "../../mig/cli/context.js";
import { packageRoot } from "../../mig/cli/repository.js";
import { bootSystem, type BootedSystem } from "./boot-chain.js";
import { ensureDefaultDisk } from "./default-disk.js";
import { codeName, DeviceClient } from "./disk-client.js";
import { MACHINE_KINDS, type MachineKind } from "./machine.js";

/** What the disk commands need beyond text: raw bytes out (devread) and in (devwrite). */
export interface DiskCommandIO extends CliIO {
  readonly stdoutBytes?: (bytes: Uint8Array) => void;
  readonly stdinBytes?: () => Promise<Uint8Array>;
}

async function readProcessStdin(): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(parts));
}

/** The data folder: $TSMACH_DATA, else data/ in the package root. */
export function dataDir(): string | undefined {
  const env = process.env["TSMACH_DATA"];
  if (env) return env;
  const root = packageRoot();
  return root ? join(root, "data") : undefined;
}

export interface MachineFlags {
  machine: string;
  disk?: string;
}

export function machineOf(flags: MachineFlags, io: CliIO, cmd: string): MachineKind | undefined {
  if ((MACHINE_KINDS as readonly string[]).includes(flags.machine))
    return flags.machine as MachineKind;
  io.stderr(
    `tsmach ${cmd}: unknown machine '${flags.machine}' (expected ${MACHINE_KINDS.join(" or ")})\n`,
  );
  return undefined;
}

/**
 * The disk image a command boots with: --disk, else the built-in default (made on first use,
 * said on stdout). A number is the exit code of a failure, already reported.
 */
export function diskOrDefault(io: CliIO, cmd: string, disk: string | undefined): string | number {
  if (disk) return disk;
  const dir = dataDir();
  if (!dir) {
    io.stderr(`tsmach ${cmd}: cannot find the tsmach package root for the data folder\n`);
    return EXIT_USAGE;
  }
  const d = ensureDefaultDisk(dir);
  if (!d.ok) {
    io.stderr(`tsmach ${cmd}: ${d.error}\n`);
    return EXIT_INPUT_ERRORS;
  }
  if (d.created)
    io.stdout(`tsmach: created the default disk ${d.path} (64 MiB, MBR, 2 partitions)\n`);
  return d.path;
}

/** A non-negative integer argument, or undefined (with a message) for anything else. */
function byteCount(text: string, what: string, io: CliIO, cmd: string): number | undefined {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && n >= 0) return n;
  io.stderr(`tsmach ${cmd}: ${what} must be a non-negative integer, not '${text}'\n`);
  return undefined;
}

const printable = (b: Uint8Array) => {
  const end = b.indexOf(0);
  const text = new TextDecoder().decode(end < 0 ? b : b.subarray(0, end)).trimEnd();
  return text.length > 0 && /^[\x20-\x7e\n]+$/.test(text) ? text : undefined;
};

/** The client's part of `tsmach boot`: what a Hurd user would check first. */
async function showDisks(sys: BootedSystem, say: (line: string) => void): Promise<void> {
  const task = sys.tasks.client;
  for (const dev of sys.disks) {
    const c = await DeviceClient.open(task, sys.clientMaster, dev.name);
    if (!c.ok) {
      say(`client: device_open("${dev.name}"): ${codeName(c.code)}`);
      continue;
    }
    const d = c.value;
    const mib = (d.size / (1 << 20)).toFixed(d.size % (1 << 20) === 0 ? 0 : 1);
    let line = `client: ${dev.name}: ${d.records} records of ${d.recordSize} bytes (${mib} MiB)`;
    if (!dev.partition) {
      const info = await block_get_info(task, d.port);
      if (info.ok) line += `, <${info.value.model}> serial ${info.value.serial || "-"}`;
    } else {
      const first = await d.read(0, Math.min(d.recordSize, 128));
      const text = first.ok ? printable(first.value) : undefined;
      if (text) line += `: "${text.split("\n")[0]}"`;
    }
    say(line);
    await d.close();
  }
  const fwd = await device_open(task, sys.clientMaster, D_READ, "time");
  say(
    `client: device_open("time") on rumpdisk's master device port: ${fwd.ok ? "forwarded down the chain to the kernel, ok" : codeName(fwd.code)}`,
  );
  if (fwd.ok) await task.mach_port_deallocate(fwd.value.device);
}

async function boot(io: CliIO, flags: MachineFlags): Promise<number> {
  const machine = machineOf(flags, io, "boot");
  if (!machine) return EXIT_USAGE;
  const disk = diskOrDefault(io, "boot", flags.disk);
  if (typeof disk === "number") return disk;
  const say = (line: string) => io.stdout(line + "\n");
  const sys = await bootSystem({ machine, disk, log: say });
  if (!sys.ok) {
    io.stderr(`tsmach boot: ${sys.error}\n`);
    return EXIT_INPUT_ERRORS;
  }
  try {
    await showDisks(sys.value, say);
  } finally {
    await sys.value.shutdown();
  }
  say("tsmach: disks synced, machine powered off");
  return EXIT_OK;
}

/** Boots quietly (the log goes to stderr with --verbose) and opens DEVICE for the client. */
async function withDevice(
  io: CliIO,
  cmd: string,
  flags: MachineFlags & { verbose?: boolean },
  device: string,
  writable: boolean,
  use: (d: DeviceClient) => Promise<number>,
): Promise<number> {
  const machine = machineOf(flags, io, cmd);
  if (!machine) return EXIT_USAGE;
  if (!flags.disk) {
    io.stderr(`tsmach ${cmd}: --disk IMG is required\n`);
    return EXIT_USAGE;
  }
  const log = flags.verbose ? (l: string) => io.stderr(l + "\n") : undefined;
  const sys = await bootSystem({ machine, disk: flags.disk, ...(log ? { log } : {}) });
  if (!sys.ok) {
    io.stderr(`tsmach ${cmd}: ${sys.error}\n`);
    return EXIT_INPUT_ERRORS;
  }
  try {
    const c = await DeviceClient.open(
      sys.value.tasks.client,
      sys.value.clientMaster,
      device,
      writable,
    );
    if (!c.ok) {
      io.stderr(`tsmach ${cmd}: device_open("${device}"): ${codeName(c.code)}\n`);
      return EXIT_INPUT_ERRORS;
    }
    return await use(c.value);
  } finally {
    await sys.value.shutdown();
  }
}

/** --machine for the commands that boot the chain (sim by default). */
export const bootMachineOption = (): Option =>
  new Option(
    "--machine <kind>",
    "the machine: sim (simulated PC) or qemu (QEMU q35 over qtest)",
  ).default("sim");

/** How much devread asks for and writes out at a time. */
const DEVREAD_PIECE = 1 << 20;

/** Adds boot, devread and devwrite to the tsmach program. */
export function registerDiskCommands(
  program: Command,
  io: DiskCommandIO,
  setCode: (code: number) => void,
): void {
  const machineOption = bootMachineOption;
  program
    .command("boot")
    .description("boot kernel → pci-arbiter → acpi → rumpdisk → a client and show the disks")
    .addOption(machineOption())
    .option(
      "--disk <file>",
      "a raw disk image (default: data/default-disk.img, made on first start)",
    )
    .exitOverride()
    .action(async (flags: MachineFlags) => setCode(await boot(io, flags)));
  program
    .command("devread")
    .description(
      "read LENGTH bytes at OFFSET of DEVICE (wd0, wd0s1, ...) through the booted stack to stdout",
    )
    .addOption(machineOption())
    .option("--disk <file>", "the raw disk image")
    .option("--verbose", "print the boot log on stderr")
    .argument("<device>")
    .argument("<offset>")
    .argument("<length>")
    .exitOverride()
    .action(
      async (
        device: string,
        offsetText: string,
        lengthText: string,
        flags: MachineFlags & { verbose?: boolean },
      ) => {
        const offset = byteCount(offsetText, "OFFSET", io, "devread");
        const length = byteCount(lengthText, "LENGTH", io, "devread");
        if (offset === undefined || length === undefined) return setCode(EXIT_USAGE);
        setCode(
          await withDevice(io, "devread", flags, device, false, async (d) => {
            if (offset > d.size) {
              io.stderr(
                `tsmach devread: offset ${offset} is past the end of ${device} (${d.size} bytes)\n`,
              );
              return EXIT_INPUT_ERRORS;
            }
            // Streamed a piece at a time, so a read of a whole disk holds one piece in memory.
            const want = Math.min(length, d.size - offset);
            let done = 0;
            while (done < want) {
              const r = await d.read(offset + done, Math.min(DEVREAD_PIECE, want - done));
              if (!r.ok) {
                io.stderr(`tsmach devread: device_read of ${device}: ${codeName(r.code)}\n`);
                return EXIT_INPUT_ERRORS;
              }
              if (r.value.length === 0) break;
              if (io.stdoutBytes) io.stdoutBytes(r.value);
              else await new Promise<void>((res) => process.stdout.write(r.value, () => res()));
              done += r.value.length;
            }
            if (done < length) {
              io.stderr(`tsmach devread: only ${done} bytes before the end of ${device}\n`);
              return EXIT_INPUT_ERRORS;
            }
            return EXIT_OK;
          }),
        );
      },
    );
  program
    .command("devwrite")
    .description("write stdin at OFFSET of DEVICE through the booted stack, then flush")
    .addOption(machineOption())
    .option("--disk <file>", "the raw disk image")
    .option("--verbose", "print the boot log on stderr")
    .argument("<device>")
    .argument("<offset>")
    .exitOverride()
    .action(
      async (device: string, offsetText: string, flags: MachineFlags & { verbose?: boolean }) => {
        const offset = byteCount(offsetText, "OFFSET", io, "devwrite");
        if (offset === undefined) return setCode(EXIT_USAGE);
        const data = await (io.stdinBytes ?? readProcessStdin)();
        setCode(
          await withDevice(io, "devwrite", flags, device, true, async (d) => {
            if (offset + data.length > d.size) {
              io.stderr(
                `tsmach devwrite: ${data.length} bytes at ${offset} do not fit in ${device} (${d.size} bytes)\n`,
              );
              return EXIT_INPUT_ERRORS;
            }
            const w = await d.write(offset, data);
            if (!w.ok) {
              io.stderr(`tsmach devwrite: device_write of ${device}: ${codeName(w.code)}\n`);
              return EXIT_INPUT_ERRORS;
            }
            const f = await d.flush();
            if (!f.ok) {
              io.stderr(`tsmach devwrite: flush of ${device}: ${codeName(f.code)}\n`);
              return EXIT_INPUT_ERRORS;
            }
            io.stderr(
              `tsmach devwrite: ${w.value} bytes written to ${device} at ${offset}, flushed\n`,
            );
            return EXIT_OK;
          }),
        );
      },
    );
}
