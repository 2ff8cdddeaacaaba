// The boot chain: kernel → pci-arbiter → acpi → rumpdisk → a client. Each task gets its
// privileged ports (the master device port, the servers' root ports) from the one before,
// and device_open is forwarded down the chain as in the Hurd.
import { device_map, device_open } from "../../generated/device.js";
import { DeviceMaster } from "../kernel/devices/device-master.js";
import { D_READ, VM_PROT_READ } from "../kernel/devices/device-codes.js";
import { KERN_SUCCESS, kernReturnName } from "../kernel/kern-return.js";
import { Kernel } from "../kernel/kernel.js";
import { asSendRight, type SendRight } from "../kernel/mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MOVE_RECEIVE,
} from "../kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../kernel/port-right.js";
import type { Task } from "../kernel/task.js";
import type { MachineBackend } from "../machine/backend.js";
import { arbiterPciConfig } from "../servers/acpi/pci-config-port.js";
import { runAcpi, type AcpiTask } from "../servers/acpi/server.js";
import { PciAccessPolicy } from "../servers/pci-arbiter/access-policy.js";
import { formatBdf } from "../servers/pci-arbiter/enumerate.js";
import { runPciArbiter, type PciArbiterTask } from "../servers/pci-arbiter/server.js";
import { HurdPciUser, memDeviceBars } from "../servers/rumpdisk/hurd-pci-user.js";
import { isRumpdiskName, runRumpdisk, type RumpdiskServer } from "../servers/rumpdisk/rumpdisk.js";
import { BackendPciUser } from "../rump/pci-backend.js";
import type { RumpdiskTaskArgs } from "../servers/rumpdisk/rumpdisk-task.js";
import { startConsole, type ConsoleDevice } from "./console-device.js";
import { DeviceClient } from "./disk-client.js";
import { describeMachine, startMachine, type MachineKind } from "./machine.js";

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
   * Run rumpdisk as an isolated task (default, where the machine's memory can be shared with
   * a worker: the simulated PC); otherwise, or with false, in this thread.
   */
  readonly isolate?: boolean;
}

export interface BootedSystem {
  readonly kernel: Kernel;
  readonly backend: MachineBackend;
  readonly devices: DeviceMaster;
  readonly pciArbiter: PciArbiterTask;
  readonly acpi: AcpiTask;
  readonly rumpdisk: RumpdiskHandle;
  /** wd0 and its partitions, as the client finds them. */
  readonly disks: readonly DiskNode[];
  readonly tasks: {
    readonly pci: Task;
    readonly acpi: Task;
    readonly rumpdisk: Task;
    readonly client: Task;
  };
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
const PCI_ACCESS = {
  rules: [
    { task: "rumpdisk", class: 0x01, access: "rw" as const },
    { task: "*", access: "r" as const },
  ],
};

const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");

/**
 * Physical memory reads through the `mem` device (device_map of the range, then the kernel's
 * mapping), as the acpi server reads the BIOS area and the tables.
 */
async function memReader(task: Task, master: SendRight, devices: DeviceMaster) {
  const mem = await device_open(task, master, D_READ, "mem");
  if (!mem.ok) return undefined;
  return async (address: number, length: number): Promise<Uint8Array> => {
    const m = await device_map(
      task,
      mem.value.device,
      VM_PROT_READ,
      BigInt(address),
      BigInt(length),
      0,
    );
    if (!m.ok)
      throw new Error(`device_map of mem at 0x${address.toString(16)}: ${kernReturnName(m.code)}`);
    const mapped = devices.mapDeviceMemory(task, m.value.pager);
    await task.mach_port_deallocate(m.value.pager);
    if (!mapped.ok || mapped.value.kind !== "mem") throw new Error("mem: not a physical mapping");
    const r = await mapped.value.mapping.read(0, length);
    if (!r.ok) throw new Error(`mem read at 0x${address.toString(16)}: ${kernReturnName(r.code)}`);
    return r.value;
  };
}

/** Boots the chain on a new machine; every failure is a value naming the stage. */
export async function bootSystem(options: BootOptions): Promise<BootResult> {
  const log = options.log ?? (() => undefined);
  const machine = await startMachine(options.machine, options.disk);
  if (!machine.ok) return machine;
  const backend = machine.value;
  const fail = async (error: string): Promise<BootResult> => {
    await backend.close().catch(() => undefined);
    return { ok: false, error };
  };
  log(`tsmach: booting on ${describeMachine(options.machine)}, disk ${options.disk}`);

  // The kernel: the master device port with irq, time and mem.
  const kernel = new Kernel();
  const dm = await DeviceMaster.start(kernel, { backend });
  if (!dm.ok) return fail(`kernel devices: ${kernReturnName(dm.code)}`);
  const devices = dm.value;
  log("kernel: master device port up; kernel devices irq, time, mem");

  // pci-arbiter: the master device port from the kernel.
  const pciTask = kernel.createTask("pci-arbiter");
  const pciMaster = devices.giveMasterPort(pciTask);
  const policy = PciAccessPolicy.parse(PCI_ACCESS);
  if (pciMaster.kr !== KERN_SUCCESS || !policy.ok)
    return fail("pci-arbiter: cannot hand it its ports");
  let pci: PciArbiterTask;
  try {
    pci = await runPciArbiter(pciTask, backend, policy.value);
  } catch (e) {
    return fail(`pci-arbiter: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const f of pci.arbiter.functions)
    log(
      `pci-arbiter: ${formatBdf(f)} ${hex(f.deviceClass >>> 8, 4)}: ${hex(f.vendorId, 4)}:${hex(f.deviceId, 4)}${f.irqPin ? ` INT${"ABCD"[f.irqPin - 1]}#` : ""}`,
    );

  // acpi: the master device port and a pci-arbiter root port from pci-arbiter.
  const acpiTask = kernel.createTask("acpi");
  const acpiMaster = kernel.giveRight(pciTask, pciMaster.name, MACH_MSG_TYPE_COPY_SEND, acpiTask);
  const acpiPci = kernel.giveRight(
    pciTask,
    await pci.ports.rootPort("acpi"),
    MACH_MSG_TYPE_MAKE_SEND,
    acpiTask,
  );
  if (acpiMaster.kr !== KERN_SUCCESS || acpiPci.kr !== KERN_SUCCESS)
    return fail("acpi: cannot hand it its ports");
  const memory = await memReader(acpiTask, asSendRight(acpiMaster.name), devices);
  const acpiStart = await runAcpi(acpiTask, {
    backend,
    pci: arbiterPciConfig(acpiTask, asSendRight(acpiPci.name)),
    ...(memory ? { memory } : {}),
  });
  if (!acpiStart.ok) return fail(`acpi: ${acpiStart.error.code}: ${acpiStart.error.message}`);
  const acpi = acpiStart.value;
  const fw = acpi.acpi.firmware;
  if (fw.rsdp)
    log(
      `acpi: RSDP at 0x${hex(fw.rsdp.address, 5)}, revision ${fw.rsdp.revision}, OEM ${fw.rsdp.oemId.trim()}`,
    );
  for (const t of fw.tables)
    log(
      `acpi: ${t.name.padEnd(5)} ${t.address !== undefined ? `0x${hex(t.address, 8)}` : "(file)"} ${String(t.header.length).padStart(6)} bytes  (${t.header.oemId.trim()} ${t.header.oemTableId.trim()})`,
    );
  for (const p of fw.problems) log(`acpi: warning: ${p.where}: ${p.error.message}`);

  // rumpdisk: the master device port from acpi, root ports of pci-arbiter and acpi, and its own
  // master device port, made here so that the kernel and the client can be given send rights.
  const boot = kernel.createTask("bootstrap");
  const own = await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  if (own.kr !== KERN_SUCCESS) return fail("rumpdisk: cannot make its master device port");
  await boot.mach_port_insert_right(own.name, own.name, MACH_MSG_TYPE_MAKE_SEND);
  const pciRoot = await pci.ports.rootPort("rumpdisk");
  const acpiRoot = await acpi.ports.rootPort("rumpdisk");
  const glue = options.glue ?? "hurd";
  const ram = backend.sharedMemory?.();
  const isolate = (options.isolate ?? true) && glue === "hurd" && ram !== undefined;
  let console: ConsoleDevice | undefined;
  let rumpdisk: RumpdiskHandle;
  if (isolate) {
    console = await startConsole(kernel, log);
    if (!console) return fail("console: cannot start");
    const dmaPhys = await backend.allocDma(DMA_ARENA_BYTES, 4096);
    const con = console;
    let gave = true;
    const spawned = kernel.spawnTask(
      "rumpdisk",
      new URL("../servers/rumpdisk/rumpdisk-task.js", import.meta.url),
      {
        prepare: (t): RumpdiskTaskArgs => {
          const give = (from: Task, name: number, disposition: number) => {
            const r = kernel.giveRight(from, name, disposition, t);
            if (r.kr !== KERN_SUCCESS) gave = false;
            return r.name;
          };
          return {
            next: give(acpiTask, acpiMaster.name, MACH_MSG_TYPE_COPY_SEND),
            master: give(boot, own.name, MACH_MSG_TYPE_MOVE_RECEIVE),
            pci: give(pciTask, pciRoot, MACH_MSG_TYPE_MAKE_SEND),
            acpi: give(acpiTask, acpiRoot, MACH_MSG_TYPE_MAKE_SEND),
            console: give(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND),
            dma: { ram: ram!, phys: dmaPhys, size: DMA_ARENA_BYTES },
            ...(options.ncq !== undefined ? { ncq: options.ncq } : {}),
          };
        },
      },
    );
    if (!spawned.ok) return fail(`rumpdisk: ${spawned.error}`);
    if (!gave) return fail("rumpdisk: cannot hand it its ports");
    const handle = spawned.handle;
    log(
      "tsmach: rumpdisk runs as an isolated task (a worker thread); pci-arbiter and acpi run in-thread beside the machine model",
    );
    rumpdisk = {
      mode: "isolated",
      task: handle.task,
      kill: () => handle.kill(),
      stop: async () => {
        await handle.kill();
        await backend.freeDma(dmaPhys).catch(() => undefined);
      },
    };
  } else {
    const rdTask = kernel.createTask("rumpdisk");
    const rdMaster = kernel.giveRight(acpiTask, acpiMaster.name, MACH_MSG_TYPE_COPY_SEND, rdTask);
    const rdPci = kernel.giveRight(pciTask, pciRoot, MACH_MSG_TYPE_MAKE_SEND, rdTask);
    const rdAcpi = kernel.giveRight(acpiTask, acpiRoot, MACH_MSG_TYPE_MAKE_SEND, rdTask);
    const rdOwn = kernel.giveRight(boot, own.name, MACH_MSG_TYPE_MOVE_RECEIVE, rdTask);
    if ([rdMaster, rdPci, rdAcpi, rdOwn].some((r) => r.kr !== KERN_SUCCESS))
      return fail("rumpdisk: cannot hand it its ports");
    log(
      "tsmach: rumpdisk runs in-thread: " +
        (ram === undefined
          ? "this machine's memory is not shared with worker threads (QEMU guest RAM is reached over qtest)"
          : "as asked"),
    );
    const pciGlue =
      glue === "hurd"
        ? new HurdPciUser({
            task: rdTask,
            master: asSendRight(rdMaster.name),
            config: arbiterPciConfig(rdTask, asSendRight(rdPci.name)),
            acpi: asSendRight(rdAcpi.name),
            bars: memDeviceBars(rdTask, asSendRight(rdMaster.name), (pager) =>
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
      next: asSendRight(rdMaster.name),
      master: rdOwn.name,
    });
    if (!rd.ok) return fail(rd.error);
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
  if (fwd.kr !== KERN_SUCCESS)
    return fail(`kernel: cannot forward to rumpdisk: ${kernReturnName(fwd.kr)}`);

  // The client: rumpdisk's master device port (what the Hurd hands the root file system).
  const client = kernel.createTask("client");
  const cm = kernel.giveRight(boot, own.name, MACH_MSG_TYPE_COPY_SEND, client);
  if (cm.kr !== KERN_SUCCESS) return fail("client: cannot hand it rumpdisk's master device port");
  const clientMaster = asSendRight(cm.name);

  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopped ??= (async () => {
      // Everything acknowledged is in the image already; make it durable before stopping.
      const wd0 = await DeviceClient.open(boot, asSendRight(own.name), "wd0", false);
      if (wd0.ok) await wd0.value.flush();
      client.terminate("shutdown");
      await rumpdisk.stop();
      boot.terminate("shutdown");
      console?.close();
      acpiTask.terminate("shutdown");
      pciTask.terminate("shutdown");
      await devices.close();
      await backend.close().catch(() => undefined);
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
      tasks: { pci: pciTask, acpi: acpiTask, rumpdisk: rumpdisk.task, client },
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
