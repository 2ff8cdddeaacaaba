// pci-arbiter and acpi as isolated tasks in the boot chain: each runs in a worker thread, reaches
// the hardware only through the kernel's io and mem devices and the server before it, and killing
// either leaves the kernel and the others running while their clients get errors or dead names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acpi_get_pci_irq } from "../../generated/acpi.js";
import { device_open, device_read } from "../../generated/device.js";
import { pci_get_ndevs } from "../../generated/pci.js";
import { bootSystem, type BootedSystem } from "../../src/boot/boot-chain.js";
import { D_READ } from "../../src/kernel/devices/device-codes.js";
import { MACH_MSG_SUCCESS } from "../../src/kernel/kern-return.js";
import { asSendRight, type SendRight } from "../../src/kernel/mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
} from "../../src/kernel/msg-type.js";
import { MACH_NOTIFY_DEAD_NAME } from "../../src/kernel/notify.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import type { Task } from "../../src/kernel/task.js";
import { listDir } from "../../src/servers/netfs/client.js";
import { need } from "../helpers/tools.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";

/** `p`, or "hang" when it takes longer than `ms`. */
function settles<T>(p: Promise<T>, ms = 10_000): Promise<T | "hang"> {
  return Promise.race([p, new Promise<"hang">((r) => setTimeout(() => r("hang"), ms))]);
}

/** A client of a server: a copy of the bootstrap's root, with a dead-name request on it. */
async function clientOf(sys: BootedSystem, name: string, root: SendRight) {
  const task = sys.kernel.createTask(name);
  const r = sys.kernel.giveRight(sys.tasks.bootstrap, root, MACH_MSG_TYPE_COPY_SEND, task);
  if (r.kr !== 0) throw new Error(`cannot give ${name} a root`);
  const notify = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  const req = await task.mach_port_request_notification(
    r.name,
    MACH_NOTIFY_DEAD_NAME,
    0,
    notify.name,
    MACH_MSG_TYPE_MAKE_SEND_ONCE,
  );
  expect(req.kr).toBe(0);
  return { task, root: asSendRight(r.name), notify: notify.name };
}

/** The id of the next message on `port` (a notification), or the receive error. */
async function nextMessageId(task: Task, port: number): Promise<number | string> {
  const buf = new Uint8Array(256);
  const kr = await task.mach_msg(buf, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, buf.length, port, 5000);
  return kr === MACH_MSG_SUCCESS ? new DataView(buf.buffer).getInt32(28, true) : `kr ${kr}`;
}

function chainSuite(machine: "sim" | "qemu") {
  let img: PartitionedImage;
  let sys: BootedSystem;
  const log: string[] = [];
  beforeAll(async () => {
    img = mbrImage(16384);
    const r = await bootSystem({ machine, disk: img.path, log: (l) => log.push(l) });
    if (!r.ok) throw new Error(r.error);
    sys = r.value;
  }, 90_000);
  afterAll(async () => {
    await sys?.shutdown();
    img?.cleanup();
  });

  it("runs pci-arbiter and acpi in worker threads, each given its ports by the one before", async () => {
    expect(sys.pciArbiter.mode).toBe("isolated");
    expect(sys.acpi.mode).toBe("isolated");
    expect(sys.rumpdisk.mode).toBe("isolated");
    const at = (re: RegExp) => log.findIndex((l) => re.test(l));
    const order = [
      /^kernel: master device port up; kernel devices irq, time, mem, io/,
      /^tsmach: pci-arbiter: isolated task \(worker thread\); from the kernel/,
      /^pci-arbiter: configuration mechanism #1 at ports 0xcf8-0xcff through an io_perm/,
      /^pci-arbiter: 00:1f\.2 0106: 8086:2922/,
      /^tsmach: acpi: isolated task \(worker thread\); from pci-arbiter/,
      /^acpi: FACP /,
      /^tsmach: rumpdisk: isolated task \(worker thread\); from acpi/,
      /^wd0 at ahcisata0 port 0: /,
    ].map(at);
    expect(
      order.every((i) => i >= 0),
      log.join("\n"),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Port I/O reached the machine through the kernel: the worker holds its io_perm's mapping.
    expect(sys.kernel.mappings.count(sys.tasks.pci)).toBeGreaterThan(0);
    expect(sys.kernel.mappings.count(sys.tasks.acpi)).toBeGreaterThan(0);
  });

  it("serves clients from the workers: the PCI tree, the tables, interrupt routing", async () => {
    const t = sys.kernel.createTask("lspci");
    const give = (root: SendRight) =>
      asSendRight(sys.kernel.giveRight(sys.tasks.bootstrap, root, MACH_MSG_TYPE_COPY_SEND, t).name);
    const pci = give(sys.roots.pci);
    const acpi = give(sys.roots.acpi);
    expect(await listDir(t, pci)).toEqual({ ok: true, value: ["0000"] });
    expect(await listDir(t, acpi)).toEqual({ ok: true, value: ["tables"] });
    const n = await pci_get_ndevs(t, pci);
    expect(n.ok && n.value.ndevs).toBeGreaterThanOrEqual(3n);
    const route = log
      .map((l) => /^rumpdisk: 00:1f\.2 INTA# routed to GSI (\d+) by acpi/.exec(l))
      .find((m) => m);
    const irq = await acpi_get_pci_irq(t, acpi, 0, 0x1f, 2);
    expect(irq).toEqual({ ok: true, value: { irq: Number(route![1]) } });
    t.terminate();
  });

  it("killing acpi: its clients get an error and a dead name, not a hang; the rest go on", async () => {
    const c = await clientOf(sys, "acpi-client", sys.roots.acpi);
    await sys.acpi.kill();
    expect(await sys.acpi.ended).toBe("killed");
    const r = await settles(acpi_get_pci_irq(c.task, c.root, 0, 0x1f, 2));
    expect(r).not.toBe("hang");
    expect(r !== "hang" && r.ok).toBe(false);
    expect(await nextMessageId(c.task, c.notify)).toBe(MACH_NOTIFY_DEAD_NAME);
    // The kernel and pci-arbiter still serve.
    const m = sys.devices.giveMasterPort(c.task);
    const mem = await device_open(c.task, asSendRight(m.name), D_READ, "mem");
    expect(mem.ok).toBe(true);
    const p = await clientOf(sys, "pci-client", sys.roots.pci);
    expect((await listDir(p.task, p.root)).ok).toBe(true);
    c.task.terminate();
    p.task.terminate();
  });

  it("killing pci-arbiter: its clients get an error and a dead name; the disk does not hang", async () => {
    const p = await clientOf(sys, "pci-client", sys.roots.pci);
    await sys.pciArbiter.kill();
    expect(await sys.pciArbiter.ended).toBe("killed");
    const r = await settles(pci_get_ndevs(p.task, p.root));
    expect(r).not.toBe("hang");
    expect(r !== "hang" && r.ok).toBe(false);
    expect(await nextMessageId(p.task, p.notify)).toBe(MACH_NOTIFY_DEAD_NAME);
    // The kernel still grants port I/O; rumpdisk answers (or fails), it does not hang.
    const m = sys.devices.giveMasterPort(p.task);
    expect((await device_open(p.task, asSendRight(m.name), D_READ, "io")).ok).toBe(true);
    const wd0 = await device_open(sys.tasks.client, sys.clientMaster, D_READ, "wd0");
    expect(wd0.ok).toBe(true);
    if (wd0.ok)
      expect(await settles(device_read(sys.tasks.client, wd0.value.device, 0, 0n, 4096))).not.toBe(
        "hang",
      );
    p.task.terminate();
  });
}

describe("isolated pci-arbiter and acpi on the simulated PC", () => chainSuite("sim"));

describe.skipIf(!need("qemu"))("isolated pci-arbiter and acpi on QEMU", () => chainSuite("qemu"));

describe("the boot chain in this thread (isolate: false)", () => {
  it("runs the same server code in-thread and finds the same disks", async () => {
    const img = mbrImage(16384);
    const r = await bootSystem({ machine: "sim", disk: img.path, isolate: false });
    try {
      if (!r.ok) throw new Error(r.error);
      expect([r.value.pciArbiter.mode, r.value.acpi.mode, r.value.rumpdisk.mode]).toEqual([
        "in-thread",
        "in-thread",
        "in-thread",
      ]);
      expect(r.value.disks.map((d) => d.name)).toEqual(["wd0", "wd0s1", "wd0s2", "wd0s3", "wd0s5"]);
      // The same privilege path: pci-arbiter's port I/O is an io_perm mapping here too.
      expect(r.value.kernel.mappings.count(r.value.tasks.pci)).toBeGreaterThan(0);
    } finally {
      if (r.ok) await r.value.shutdown();
      img.cleanup();
    }
  });
});
