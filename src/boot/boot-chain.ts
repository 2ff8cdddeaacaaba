// The boot chain: kernel → pci-arbiter → acpi → rumpdisk → a client, as isolated tasks (worker
// threads) each given its privileged ports by the one before, device_open forwarded down the chain.
import { KERN_SUCCESS, kernReturnName } from "../kernel/kern-return.js";
import { Kernel } from "../kernel/kernel.js";
import { DeviceMaster } from "../kernel/devices/device-master.js";
import { asSendRight, type SendRight } from "../kernel/mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MOVE_RECEIVE,
} from "../kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../kernel/port-right.js";
import type { Task } from "../kernel/task.js";
import type { MachineBackend } from "../machine/backend.js";
import acpiMain, { type AcpiTaskArgs } from "../servers/acpi/acpi-task.js";
import { arbiterPciConfig } from "../servers/acpi/pci-config-port.js";
import { listDir } from "../servers/netfs/client.js";
import { PciAccessPolicy, type PciAccessRule } from "../servers/pci-arbiter/access-policy.js";
import pciArbiterMain, {
  type PciArbiterTaskArgs,
} from "../servers/pci-arbiter/pci-arbiter-task.js";
import { HurdPciUser, memDeviceBars } from "../servers/rumpdisk/hurd-pci-user.js";
import { isRumpdiskName, runRumpdisk, type RumpdiskServer } from "../servers/rumpdisk/rumpdisk.js";
import { BackendPciUser } from "../rump/pci-backend.js";
import type { RumpdiskTaskArgs } from "../servers/rumpdisk/rumpdisk-task.js";
import { DmaArenaObject } from "./dma-arena-object.js";
import { startConsole, type ConsoleDevice } from "./console-device.js";
import { DeviceClient } from "./disk-client.js";
import { describeMachine, startMachine, type MachineKind } from "./machine.js";
import {
  loadServerTask,
  whenServing,
  type LoadedServerTask,
  type ServerTask,
} from "./server-task.js";

export interface BootOptions {
  readonly machine: MachineKind;
  /** The raw disk image on AHCI port 0. */
  readonly disk: string;
  /** Where the boot log goes, one line at a time. */
  readonly log?: (line: string) => void;
  /** Native command queuing in ahcisata (default on). */
  readonly ncq?: boolean;
  /**
   * rumpdisk's PCI glue: "hurd" (default) goes through pci-arbiter, acpi and the kernel's mem
   * and irq devices; "direct" touches the machine itself (for comparison and debugging).
   */
  readonly glue?: "hurd" | "direct";
  /**
   * Run the servers as isolated tasks (default). With false, pci-arbiter and acpi run the same
   * task code in this thread, and rumpdisk runs in-thread (for tests and debugging). Where the
   * machine's memory cannot be shared with a worker (QEMU), an isolated rumpdisk reaches its DMA
   * arena through a vm_mapped pager, the kernel reading and writing the guest RAM for it.
   */
  readonly isolate?: boolean;
}

export interface BootedSystem {
  readonly kernel: Kernel;
  readonly backend: MachineBackend;
  readonly devices: DeviceMaster;
  readonly pciArbiter: ServerTask;
  readonly acpi: ServerTask;
  readonly rumpdisk: RumpdiskHandle;
  /** wd0 and its partitions, as the client finds them. */
  readonly disks: readonly DiskNode[];
  readonly tasks: {
    readonly pci: Task;
    readonly acpi: Task;
    readonly rumpdisk: Task;
    readonly client: Task;
    /** The task that started the chain (holds the roots below). */
    readonly bootstrap: Task;
  };
  /** Send rights of the bootstrap task to the roots pci-arbiter and acpi serve for it. */
  readonly roots: { readonly pci: SendRight; readonly acpi: SendRight };
  /** The client's send right to rumpdisk's master device port (what the Hurd gives ext2fs). */
  readonly clientMaster: SendRight;
  /** Stops every server and the machine; idempotent. */
  shutdown(): Promise<void>;
}

/** rumpdisk as the boot chain runs it. */
export interface RumpdiskHandle {
  readonly mode: "isolated" | "in-thread";
  /** The kernel's record of the task. */
  readonly task: Task;
  /** The server itself, when it runs in this thread. */
  readonly server?: RumpdiskServer;
  /** Kills the task as a crash would (its ports die, clients see dead names). */
  kill(): Promise<void>;
  /** Stops it in order. */
  stop(): Promise<void>;
}

/** A device node the client found. */
export interface DiskNode {
  readonly name: string;
  readonly records: number;
  readonly recordSize: number;
  readonly partition: boolean;
}

/** The contiguous memory set aside for an isolated rumpdisk's DMA. */
const DMA_ARENA_BYTES = 32 << 20;

export type BootResult = { ok: true; value: BootedSystem } | { ok: false; error: string };

/** Who may touch which PCI function: acpi reads everything, rumpdisk drives mass storage. */
const PCI_ACCESS: { rules: PciAccessRule[] } = {
  rules: [
    { task: "rumpdisk", class: 0x01, access: "rw" },
    { task: "*", access: "r" },
  ],
};

const ISOLATED = "isolated task (worker thread)";
const IN_THREAD = "in-thread task";

/** Boots the chain on a new machine; every failure is a value naming the stage. */
export async function bootSystem(options: BootOptions): Promise<BootResult> {
  const log = options.log ?? (() => undefined);
  const machine = await startMachine(options.machine, options.disk);
  if (!machine.ok) return machine;
  const backend = machine.value;
  const isolate = options.isolate ?? true;
  log(`tsmach: booting on ${describeMachine(options.machine)}, disk ${options.disk}`);

  // The kernel: the master device port with irq, time, mem and io.
  const kernel = new Kernel();
  const dm = await DeviceMaster.start(kernel, { backend });
  if (!dm.ok) {
    await backend.close().catch(() => undefined);
    return { ok: false, error: `kernel devices: ${kernReturnName(dm.code)}` };
  }
  const devices = dm.value;
  log("kernel: master device port up; kernel devices irq, time, mem, io");

  // Everything started so far, stopped in reverse on failure or shutdown.
  const boot = kernel.createTask("bootstrap");
  const started: ServerTask[] = [];
  let consoleDevice: ConsoleDevice | undefined;
  const teardown = async () => {
    for (const s of started.reverse()) await s.kill();
    consoleDevice?.close();
    boot.terminate("shutdown");
    await devices.close();
    await backend.close().catch(() => undefined);
  };
  const fail = async (error: string): Promise<BootResult> => {
    await teardown();
    return { ok: false, error };
  };
  // The boot console, where the isolated servers print their messages.
  consoleDevice = await startConsole(kernel, log);
  if (!consoleDevice) return fail("console: cannot start");
  const con = consoleDevice;

  // Receive rights the bootstrap task makes for a server's roots, one per client, moved into the
  // server's space; the bootstrap keeps a send right to its own root (to see the server serve).
  const makeRoots = async (users: readonly string[]) => {
    const names: Record<string, number> = {};
    for (const u of users) {
      const r = await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      if (r.kr !== KERN_SUCCESS) return undefined;
      if (u === "bootstrap")
        await boot.mach_port_insert_right(r.name, r.name, MACH_MSG_TYPE_MAKE_SEND);
      names[u] = r.name;
    }
    return names;
  };
  let gave = true;
  const give = (from: Task, name: number, disposition: number, to: Task): number => {
    const r = kernel.giveRight(from, name, disposition, to);
    if (r.kr !== KERN_SUCCESS) gave = false;
    return r.name;
  };
  const moveRoots = (roots: Record<string, number>, to: Task) =>
    Object.fromEntries(
      Object.entries(roots).map(([u, n]) => [u, give(boot, n, MACH_MSG_TYPE_MOVE_RECEIVE, to)]),
    );
  const serving = (s: ServerTask, root: number) =>
    whenServing(s, async () => (await listDir(boot, asSendRight(root))).ok);
  const how = (s: ServerTask) => (s.mode === "isolated" ? ISOLATED : IN_THREAD);

  // Every server's task is made first, with the rights the one before it holds, so that isolated
  // workers load their code together; then each is started once the one before it serves.
  // pci-arbiter: the master device port from the kernel.
  const policy = PciAccessPolicy.parse(PCI_ACCESS);
  if (!policy.ok) return fail(`pci-arbiter: ${policy.errors.join("; ")}`);
  const pciGrants = policy.value;
  const pciRoots = await makeRoots(["acpi", "rumpdisk", "bootstrap"]);
  if (!pciRoots) return fail("pci-arbiter: cannot make its root ports");
  const pciLoad = await loadServerTask<PciArbiterTaskArgs>(kernel, boot, {
    name: "pci-arbiter",
    module: new URL("../servers/pci-arbiter/pci-arbiter-task.js", import.meta.url),
    main: pciArbiterMain,
    isolate,
    prepare: (t) => ({
      master: devices.giveMasterPort(t).name,
      console: give(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND, t),
      roots: moveRoots(pciRoots, t),
      grants: pciGrants.rules,
    }),
  });
  if (!pciLoad.ok) return fail(`pci-arbiter: ${pciLoad.error}`);
  const pci = pciLoad.value.server;
  const pciArgs = pciLoad.value.args;
  started.push(pci);
  if (!gave || !pciArgs.master) return fail("pci-arbiter: cannot hand it its ports");

  // acpi: the master device port and a pci-arbiter root port from pci-arbiter.
  const acpiRoots = await makeRoots(["rumpdisk", "bootstrap"]);
  if (!acpiRoots) return fail("acpi: cannot make its root ports");
  const acpiLoad = await loadServerTask<AcpiTaskArgs>(kernel, boot, {
    name: "acpi",
    module: new URL("../servers/acpi/acpi-task.js", import.meta.url),
    main: acpiMain,
    isolate,
    prepare: (t) => ({
      master: give(pci.task, pciArgs.master, MACH_MSG_TYPE_COPY_SEND, t),
      pci: give(pci.task, pciArgs.roots["acpi"]!, MACH_MSG_TYPE_MAKE_SEND, t),
      console: give(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND, t),
      roots: moveRoots(acpiRoots, t),
    }),
  });
  if (!acpiLoad.ok) return fail(`acpi: ${acpiLoad.error}`);
  const acpi = acpiLoad.value.server;
  const acpiArgs = acpiLoad.value.args;
  started.push(acpi);
  if (!gave) return fail("acpi: cannot hand it its ports");

  // rumpdisk: the master device port from acpi, root ports of pci-arbiter and acpi, and its own
  // master device port, made here so that the kernel and the client can be given send rights.
  const own = await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  if (own.kr !== KERN_SUCCESS) return fail("rumpdisk: cannot make its master device port");
  await boot.mach_port_insert_right(own.name, own.name, MACH_MSG_TYPE_MAKE_SEND);
  const glue = options.glue ?? "hurd";
  const ram = backend.sharedMemory?.();
  const rumpdiskPorts =
    "from acpi: the master device port, root ports of pci-arbiter and acpi; drives the AHCI disks (rump ahcisata and wd)";
  let rumpdiskLoad: LoadedServerTask<RumpdiskTaskArgs> | undefined;
  let dmaPhys: number | undefined;
  let dmaObject: DmaArenaObject | undefined;
  if (isolate && glue === "hurd") {
    try {
      dmaPhys = await backend.allocDma(DMA_ARENA_BYTES, 4096);
    } catch (e) {
      return fail(`rumpdisk: no DMA arena: ${e instanceof Error ? e.message : String(e)}`);
    }
    const phys = dmaPhys;
    // The pool as guest RAM: rumpdisk then reads a disk straight into the region it replies with.
    const pool = kernel.sharedPool().bytes;
    const bankPhys = ram === undefined ? undefined : backend.attachSharedBank?.(pool);
    const bank =
      bankPhys === undefined
        ? undefined
        : {
            buffer: pool.buffer as SharedArrayBuffer,
            byteOffset: pool.byteOffset,
            length: pool.byteLength,
            phys: bankPhys,
          };
    // Remote guest RAM (QEMU): the arena as a pager rumpdisk vm_maps, the kernel moving its bytes.
    if (ram === undefined) {
      dmaObject = await DmaArenaObject.create(kernel, boot, backend, phys, DMA_ARENA_BYTES);
      if (!dmaObject) {
        await backend.freeDma(phys).catch(() => undefined);
        return fail("rumpdisk: cannot make the DMA arena's pager");
      }
    }
    const arenaPager = dmaObject?.pager;
    const releaseArena = async () => {
      await dmaObject?.destroy();
      await backend.freeDma(phys).catch(() => undefined);
    };
    const rd = await loadServerTask<RumpdiskTaskArgs>(kernel, boot, {
      name: "rumpdisk",
      module: new URL("../servers/rumpdisk/rumpdisk-task.js", import.meta.url),
      isolate: true,
      prepare: (t) => ({
        next: give(acpi.task, acpiArgs.master, MACH_MSG_TYPE_COPY_SEND, t),
        master: give(boot, own.name, MACH_MSG_TYPE_MOVE_RECEIVE, t),
        pci: give(pci.task, pciArgs.roots["rumpdisk"]!, MACH_MSG_TYPE_MAKE_SEND, t),
        acpi: give(acpi.task, acpiArgs.roots["rumpdisk"]!, MACH_MSG_TYPE_MAKE_SEND, t),
        console: give(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND, t),
        dma:
          ram !== undefined
            ? { ram, phys, size: DMA_ARENA_BYTES, ...(bank ? { bank } : {}) }
            : {
                phys,
                size: DMA_ARENA_BYTES,
                pager: give(boot, arenaPager!, MACH_MSG_TYPE_COPY_SEND, t),
              },
        ...(options.ncq !== undefined ? { ncq: options.ncq } : {}),
      }),
    });
    if (!rd.ok) {
      await releaseArena();
      return fail(`rumpdisk: ${rd.error}`);
    }
    rumpdiskLoad = rd.value;
    started.push(rd.value.server);
    if (!gave) {
      await releaseArena();
      return fail("rumpdisk: cannot hand it its ports");
    }
  }

  log(
    `tsmach: pci-arbiter: ${how(pci)}; from the kernel: the master device port; owns PCI configuration space`,
  );
  await pciLoad.value.start();
  const pciUp = await serving(pci, pciRoots["bootstrap"]!);
  if (!pciUp.ok) return fail(pciUp.error);
  log(
    `tsmach: acpi: ${how(acpi)}; from pci-arbiter: the master device port, a pci-arbiter root port; serves the ACPI tables and interrupt routing`,
  );
  await acpiLoad.value.start();
  const acpiUp = await serving(acpi, acpiRoots["bootstrap"]!);
  if (!acpiUp.ok) return fail(acpiUp.error);

  let rumpdisk: RumpdiskHandle;
  if (rumpdiskLoad) {
    const server = rumpdiskLoad.server;
    const phys = dmaPhys!;
    log(`tsmach: rumpdisk: ${ISOLATED}; ${rumpdiskPorts}`);
    await rumpdiskLoad.start();
    rumpdisk = {
      mode: "isolated",
      task: server.task,
      kill: () => server.kill(),
      stop: async () => {
        await server.kill();
        await dmaObject?.destroy();
        await backend.freeDma(phys).catch(() => undefined);
      },
    };
  } else {
    const rdTask = kernel.createTask("rumpdisk");
    const rdMaster = give(acpi.task, acpiArgs.master, MACH_MSG_TYPE_COPY_SEND, rdTask);
    const rdPci = give(pci.task, pciArgs.roots["rumpdisk"]!, MACH_MSG_TYPE_MAKE_SEND, rdTask);
    const rdAcpi = give(acpi.task, acpiArgs.roots["rumpdisk"]!, MACH_MSG_TYPE_MAKE_SEND, rdTask);
    const rdOwn = give(boot, own.name, MACH_MSG_TYPE_MOVE_RECEIVE, rdTask);
    if (!gave) {
      rdTask.terminate("failed to start");
      return fail("rumpdisk: cannot hand it its ports");
    }
    const why = glue === "direct" ? "its PCI glue touches the machine (glue: direct)" : "as asked";
    log(`tsmach: rumpdisk: ${IN_THREAD}; ${rumpdiskPorts}`);
    log(`tsmach: rumpdisk runs in-thread: ${why}`);
    const pciGlue =
      glue === "hurd"
        ? new HurdPciUser({
            task: rdTask,
            master: asSendRight(rdMaster),
            config: arbiterPciConfig(rdTask, asSendRight(rdPci)),
            acpi: asSendRight(rdAcpi),
            bars: memDeviceBars(rdTask, asSendRight(rdMaster), (pager) =>
              devices.mapDeviceMemory(rdTask, pager),
            ),
            dma: new BackendPciUser(backend),
            log,
          })
        : new BackendPciUser(backend);
    log(
      glue === "hurd"
        ? "rumpdisk: PCI config via pci-arbiter, IRQ routing via acpi, BARs via mem, interrupts via irq"
        : "rumpdisk: PCI glue straight to the machine (glue: direct)",
    );
    const rd = await runRumpdisk(rdTask, {
      rump: {
        backend,
        pci: pciGlue,
        console: (line) => log(line),
        ...(options.ncq !== undefined ? { ncq: options.ncq } : {}),
      },
      next: asSendRight(rdMaster),
      master: rdOwn,
    });
    if (!rd.ok) {
      rdTask.terminate("failed to start");
      return fail(rd.error);
    }
    const server = rd.value;
    rumpdisk = {
      mode: "in-thread",
      task: rdTask,
      server,
      kill: async () => rdTask.terminate("killed"),
      stop: async () => {
        await server.shutdown().catch(() => undefined);
        rdTask.terminate("shutdown");
      },
    };
  }

  // The kernel forwards device_open of wd* to rumpdisk's master device port.
  const fwd = await devices.addForwarder(boot, own.name, isRumpdiskName);
  if (fwd.kr !== KERN_SUCCESS) {
    await rumpdisk.stop();
    return fail(`kernel: cannot forward to rumpdisk: ${kernReturnName(fwd.kr)}`);
  }

  // The client: rumpdisk's master device port (what the Hurd hands the root file system).
  const client = kernel.createTask("client");
  const cm = kernel.giveRight(boot, own.name, MACH_MSG_TYPE_COPY_SEND, client);
  if (cm.kr !== KERN_SUCCESS) {
    await rumpdisk.stop();
    return fail("client: cannot hand it rumpdisk's master device port");
  }
  const clientMaster = asSendRight(cm.name);
  log(
    `tsmach: client: ${IN_THREAD}; from rumpdisk: rumpdisk's master device port; opens and reads the disks`,
  );

  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopped ??= (async () => {
      // Everything acknowledged is in the image already; make it durable before stopping.
      const wd0 = await DeviceClient.open(boot, asSendRight(own.name), "wd0", false);
      if (wd0.ok) await wd0.value.flush();
      client.terminate("shutdown");
      await rumpdisk.stop();
      await teardown();
    })();
    return stopped;
  };

  // The disks rumpdisk serves (the first device_open waits until it is up).
  const disks = await probeDisks(client, clientMaster);
  if (disks.length === 0) {
    await shutdown();
    return { ok: false, error: "rumpdisk: no disk came up (see the messages above)" };
  }
  log("kernel: device_open of wdN and wdNsM forwarded to rumpdisk's master device port");
  return {
    ok: true,
    value: {
      kernel,
      backend,
      devices,
      pciArbiter: pci,
      acpi,
      rumpdisk,
      disks,
      tasks: { pci: pci.task, acpi: acpi.task, rumpdisk: rumpdisk.task, client, bootstrap: boot },
      roots: {
        pci: asSendRight(pciRoots["bootstrap"]!),
        acpi: asSendRight(acpiRoots["bootstrap"]!),
      },
      clientMaster,
      shutdown,
    },
  };
}

/** wd0 and its partitions, found by device_open through `master`. */
async function probeDisks(task: Task, master: SendRight): Promise<DiskNode[]> {
  const found: DiskNode[] = [];
  for (const name of ["wd0", ...Array.from({ length: 16 }, (_, i) => `wd0s${i + 1}`)]) {
    const c = await DeviceClient.open(task, master, name);
    if (!c.ok) {
      if (name === "wd0") return found;
      continue;
    }
    found.push({
      name,
      records: c.value.records,
      recordSize: c.value.recordSize,
      partition: name !== "wd0",
    });
    await c.value.close();
  }
  return found;
}
