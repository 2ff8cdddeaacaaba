// Starts Debian's qemu-system-x86_64 as a q35 PC driven over qtest on a Unix socket in a private
// temporary directory, with an optional raw disk on the ICH9 AHCI, and stops it without strays.
import { spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { z } from "zod";
import { BackendAccessError } from "../backend.js";
import { buildParkKernel } from "./park-kernel.js";
import { QtestClient } from "./qtest-client.js";

/** The q35's built-in ICH9 AHCI: PCI 00:1f.2, its six SATA ports are the buses ide.0..ide.5. */
export const ICH9_AHCI_BUS = "ide.0";

const DiskSchema = z.object({
  path: z.string().min(1, "the disk image path is empty"),
  /**
   * Never modify the image file. QEMU's AHCI disks (ide-hd) cannot be read-only, so the drive
   * runs with snapshot=on: the guest's writes go to a temporary overlay and are dropped.
   */
  readOnly: z.boolean().optional(),
});

export const QemuLaunchOptionsSchema = z
  .object({
    /** Guest RAM in MiB, below the q35's 2 GiB low-memory limit. */
    memoryMiB: z.number().int().min(64).max(2048).optional(),
    /** A raw disk image attached to port 0 of the ICH9 AHCI. */
    disk: z.union([z.string().min(1, "the disk image path is empty"), DiskSchema]).optional(),
    /** The QEMU binary; default $TSMACH_QEMU or qemu-system-x86_64 on PATH. */
    binary: z.string().min(1).optional(),
    /** How long QEMU may take to connect and its firmware to finish. */
    startTimeoutMs: z.number().int().positive().max(600_000).optional(),
    /** More QEMU arguments (extra devices); they must not clash with those set here. */
    extraArgs: z.array(z.string()).optional(),
  })
  .strict();

export type QemuLaunchOptions = z.input<typeof QemuLaunchOptionsSchema>;

export const DEFAULT_MEMORY_MIB = 256;
export const DEFAULT_START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;
const STDERR_KEEP = 8192;

/** Every QEMU this process started and has not seen exit, with its temporary directory. */
const live = new Map<ChildProcess, string>();
let reaperInstalled = false;
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  // Node is exiting without having stopped them: kill them and remove their directories.
  process.once("exit", () => {
    for (const [child, dir] of live) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const TEMP_PREFIX = "tsmach-qemu-";
const OWNER_FILE = "owner.pid";

/** Is the process running? A zombie, dead but not yet reaped by its parent, is not. */
function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    // No /proc entry: gone, or no /proc at all; then ask the kernel.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove temporary directories left by tsmach processes that were killed outright (their QEMU
 * died with them, through the parent-death signal, but nothing could remove the files).
 */
function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), "utf8"));
      if (Number.isSafeInteger(owner) && owner > 0 && !processAlive(owner)) {
        rmSync(dir, { recursive: true, force: true });
      }
    } catch {
      continue; // Not ours, or being created right now.
    }
  }
}

function onPath(cmd: string): string | undefined {
  if (cmd.includes("/")) return existsSync(cmd) ? resolve(cmd) : undefined;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** QEMU option values escape a comma by doubling it. */
function qemuOptValue(s: string): string {
  return s.replaceAll(",", ",,");
}

export interface QemuExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running QEMU and its qtest connection. */
export class QemuProcess {
  private stopping: Promise<void> | undefined;

  constructor(
    readonly client: QtestClient,
    private readonly child: ChildProcess,
    readonly tempDir: string,
    readonly socketPath: string,
    /** Resolves when the QEMU process has exited. */
    readonly exited: Promise<QemuExit>,
    private readonly stderr: () => string,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines QEMU wrote to stderr (its diagnostics). */
  get diagnostics(): string {
    return this.stderr();
  }

  /**
   * Stop QEMU (SIGTERM, then SIGKILL after a grace period), close the socket and remove the
   * temporary directory. Idempotent; resolves once the process is gone.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.client.close();
      if (this.running) {
        this.child.kill("SIGTERM");
        const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
        await this.exited;
        clearTimeout(timer);
      }
      rmSync(this.tempDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/** The QEMU command line (without the binary) for the given options and files. */
export function qemuArguments(
  opts: z.output<typeof QemuLaunchOptionsSchema>,
  socketPath: string,
  kernelPath: string,
): string[] {
  const args = [
    ["-machine", "q35"],
    ["-accel", "tcg"], // a CPU runs, so SeaBIOS initialises the machine
    ["-m", `${opts.memoryMiB ?? DEFAULT_MEMORY_MIB}M`],
    ["-nodefaults"],
    ["-no-user-config"],
    ["-display", "none"],
    ["-no-reboot"],
    ["-qtest", `unix:${socketPath}`],
    ["-qtest-log", "none"],
    ["-kernel", kernelPath],
  ].flat();
  if (opts.disk !== undefined) {
    const disk = typeof opts.disk === "string" ? { path: opts.disk } : opts.disk;
    const ro = disk.readOnly ? ",snapshot=on" : "";
    const file = qemuOptValue(resolve(disk.path));
    args.push("-drive", `file=${file},if=none,id=disk0,format=raw${ro}`);
    args.push("-device", `ide-hd,drive=disk0,bus=${ICH9_AHCI_BUS}`);
  }
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/**
 * Start QEMU and accept its qtest connection. The CPU runs under TCG, so SeaBIOS initialises
 * the machine; then it boots the parking kernel (see park-kernel.ts) instead of any disk.
 */
export async function launchQemu(options: QemuLaunchOptions = {}): Promise<QemuProcess> {
  const parsed = QemuLaunchOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const why = parsed.error.issues
      .map((i) => `${i.path.join(".") || "options"}: ${i.message}`)
      .join("; ");
    throw new BackendAccessError("out-of-range", `bad QEMU options: ${why}`);
  }
  const opts = parsed.data;
  sweepStaleDirs();
  const binaryName = opts.binary ?? process.env.TSMACH_QEMU ?? "qemu-system-x86_64";
  const binary = onPath(binaryName);
  if (!binary) {
    throw new BackendAccessError(
      "unsupported",
      `${binaryName} not found (Debian package qemu-system-x86)`,
    );
  }
  if (opts.disk !== undefined) {
    const path = typeof opts.disk === "string" ? opts.disk : opts.disk.path;
    let ok = false;
    try {
      ok = statSync(path).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new BackendAccessError("out-of-range", `disk image ${path} is not a file`);
  }

  const tempDir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  writeFileSync(join(tempDir, OWNER_FILE), String(process.pid));
  const socketPath = join(tempDir, "qtest.sock");
  const kernelPath = join(tempDir, "park.bin");
  writeFileSync(kernelPath, buildParkKernel());

  const server: Server = createServer();
  try {
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(socketPath, () => res());
    });
  } catch (err) {
    rmSync(tempDir, { recursive: true, force: true });
    throw new BackendAccessError("unsupported", `cannot listen on ${socketPath}: ${String(err)}`);
  }

  // setpriv makes the kernel kill QEMU when this thread dies, however it dies.
  const setpriv = onPath("setpriv");
  const qemuArgs = qemuArguments(opts, socketPath, kernelPath);
  const [cmd, argv] = setpriv
    ? [setpriv, ["--pdeathsig", "SIGKILL", "--", binary, ...qemuArgs]]
    : [binary, qemuArgs];
  installReaper();
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
  live.set(child, tempDir);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });
  const exited = new Promise<QemuExit>((res) => {
    // "close" rather than "exit": by then QEMU's last words on stderr have been read too.
    child.once("close", (code, signal) => {
      live.delete(child);
      // Whether stopped or powered off by the guest: its files are of no more use.
      rmSync(tempDir, { recursive: true, force: true });
      res({ code, signal });
    });
    child.once("error", () => {
      live.delete(child);
      res({ code: null, signal: null });
    });
  });

  const timeout = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  let socket: Socket | undefined;
  try {
    const early = exited.then((e): never => {
      throw new BackendAccessError(
        "unsupported",
        `QEMU exited (${e.signal ?? `status ${e.code}`}) before connecting: ${stderr.trim()}`,
      );
    });
    early.catch(() => undefined); // Only the race below cares about it.
    socket = await Promise.race([
      new Promise<Socket>((res) => server.once("connection", res)),
      early,
      new Promise<never>((_, rej) => {
        timer = setTimeout(
          () => rej(new BackendAccessError("unsupported", `QEMU did not connect in ${timeout} ms`)),
          timeout,
        );
      }),
    ]);
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    rmSync(tempDir, { recursive: true, force: true });
    throw err;
  } finally {
    clearTimeout(timer);
    server.close();
  }
  const client = new QtestClient(socket);
  return new QemuProcess(client, child, tempDir, socketPath, exited, () => stderr);
}
