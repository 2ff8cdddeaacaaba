// The pci-arbiter and acpi task modules (what the boot chain runs in worker threads), run here
// in-thread on one kernel: each reaches the machine only through the ports it was handed, serves
// the roots it was given with its grants, and a task without the privilege is refused and says why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acpi_get_pci_irq, acpi_sleep } from "../../../generated/acpi.js";
import { pci_conf_read, pci_conf_write } from "../../../generated/pci.js";
import { startConsole, type ConsoleDevice } from "../../../src/boot/console-device.js";
import { loadServerTask, whenServing, type ServerTask } from "../../../src/boot/server-task.js";
import { DeviceMaster } from "../../../src/kernel/devices/device-master.js";
import { Kernel } from "../../../src/kernel/kernel.js";
import { asSendRight, type SendRight } from "../../../src/kernel/mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MOVE_RECEIVE,
} from "../../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../../src/kernel/port-right.js";
import type { Task } from "../../../src/kernel/task.js";
import { SimBackend } from "../../../src/machine/sim-backend.js";
import acpiMain, { type AcpiTaskArgs } from "../../../src/servers/acpi/acpi-task.js";
import { EACCES } from "../../../src/servers/netfs/errno.js";
import { listDir, lookup, O_READ, O_WRITE } from "../../../src/servers/netfs/client.js";
import { PciAccessPolicy } from "../../../src/servers/pci-arbiter/access-policy.js";
import pciArbiterMain, {
  type PciArbiterTaskArgs,
} from "../../../src/servers/pci-arbiter/pci-arbiter-task.js";

const GRANTS = PciAccessPolicy.parse({
  rules: [
    { task: "rumpdisk", class: 0x01, access: "rw" },
    { task: "*", access: "r" },
  ],
});

describe("pci-arbiter and acpi as tasks", () => {
  let sim: SimBackend;
  let kernel: Kernel;
  let devices: DeviceMaster;
  let con: ConsoleDevice;
  let boot: Task;
  const lines: string[] = [];
  let pci: ServerTask;
  let acpi: ServerTask;
  let pciArgs: PciArbiterTaskArgs;
  let acpiArgs: AcpiTaskArgs;
  const roots: Record<string, number> = {};

  /** Receive rights for `users`' roots in the bootstrap task (with a send right kept). */
  async function makeRoots(users: string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const u of users) {
      const r = await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      await boot.mach_port_insert_right(r.name, r.name, MACH_MSG_TYPE_MAKE_SEND);
      out[u] = r.name;
    }
    return out;
  }
  const move = (rs: Record<string, number>, t: Task) =>
    Object.fromEntries(
      Object.entries(rs).map(([u, n]) => [
        u,
        kernel.giveRight(boot, n, MACH_MSG_TYPE_MOVE_RECEIVE, t).name,
      ]),
    );
  /** A client task named `user` with a copy of the bootstrap's send right to `root`. */
  function client(user: string, root: number): { task: Task; root: SendRight } {
    const task = kernel.createTask(user);
    const r = kernel.giveRight(boot, root, MACH_MSG_TYPE_COPY_SEND, task);
    return { task, root: asSendRight(r.name) };
  }

  beforeAll(async () => {
    if (!GRANTS.ok) throw new Error("grants");
    const m = SimBackend.create({ memory: "64M", devices: [{ type: "ahci", disks: [] }] });
    if (!m.ok) throw new Error("machine");
    sim = m.value;
    kernel = new Kernel();
    const dm = await DeviceMaster.start(kernel, { backend: sim });
    if (!dm.ok) throw new Error("device master");
    devices = dm.value;
    con = (await startConsole(kernel, (l) => lines.push(l)))!;
    boot = kernel.createTask("bootstrap");
    const pciRoots = await makeRoots(["acpi", "rumpdisk", "lspci"]);
    Object.assign(roots, { pciRumpdisk: pciRoots["rumpdisk"], pciLspci: pciRoots["lspci"] });
    const p = await loadServerTask<PciArbiterTaskArgs>(kernel, boot, {
      name: "pci-arbiter",
      module: new URL("../../../src/servers/pci-arbiter/pci-arbiter-task.js", import.meta.url),
      main: pciArbiterMain,
      isolate: false,
      prepare: (t) => ({
        master: devices.giveMasterPort(t).name,
        console: kernel.giveRight(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND, t).name,
        roots: move(pciRoots, t),
        grants: GRANTS.value.rules,
      }),
    });
    if (!p.ok) throw new Error(p.error);
    pci = p.value.server;
    pciArgs = p.value.args;
    await p.value.start();
    const up = await whenServing(
      pci,
      async () => (await listDir(boot, asSendRight(pciRoots["lspci"]!))).ok,
    );
    if (!up.ok) throw new Error(up.error);
    const acpiRoots = await makeRoots(["rumpdisk"]);
    roots["acpiRumpdisk"] = acpiRoots["rumpdisk"]!;
    const a = await loadServerTask<AcpiTaskArgs>(kernel, boot, {
      name: "acpi",
      module: new URL("../../../src/servers/acpi/acpi-task.js", import.meta.url),
      main: acpiMain,
      isolate: false,
      prepare: (t) => ({
        master: kernel.giveRight(pci.task, pciArgs.master, MACH_MSG_TYPE_COPY_SEND, t).name,
        pci: kernel.giveRight(pci.task, pciArgs.roots["acpi"]!, MACH_MSG_TYPE_MAKE_SEND, t).name,
        console: kernel.giveRight(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND, t).name,
        roots: move(acpiRoots, t),
      }),
    });
    if (!a.ok) throw new Error(a.error);
    acpi = a.value.server;
    acpiArgs = a.value.args;
    await a.value.start();
    const aup = await whenServing(
      acpi,
      async () => (await listDir(boot, asSendRight(acpiRoots["rumpdisk"]!))).ok,
    );
    if (!aup.ok) throw new Error(aup.error);
  });
  afterAll(async () => {
    await acpi?.kill();
    await pci?.kill();
    con?.close();
    await devices?.close();
    await sim?.close();
  });

  it("enumerates through its io_perm and says so on the console", () => {
    expect(lines[0]).toMatch(/^pci-arbiter: configuration mechanism #1 at ports 0xcf8-0xcff/);
    expect(lines).toContain("pci-arbiter: 00:1f.2 0106: 8086:2922 INTA#");
    expect(lines.some((l) => /^acpi: FACP /.test(l))).toBe(true);
    expect(acpiArgs.roots["rumpdisk"]).toBeGreaterThan(0);
  });

  it("serves each root with its owner's grants", async () => {
    const rd = client("rumpdisk", roots["pciRumpdisk"]!);
    const ls = client("lspci", roots["pciLspci"]!);
    // Opening for writing is where a read-only grant is refused first.
    const denied = await lookup(ls.task, ls.root, "0000/00/1f/2/config", O_READ | O_WRITE);
    expect(denied.ok ? "ok" : denied.code).toBe(EACCES);
    for (const [c, flags] of [
      [rd, O_READ | O_WRITE],
      [ls, O_READ],
    ] as const) {
      const cfg = await lookup(c.task, c.root, "0000/00/1f/2/config", flags);
      if (!cfg.ok) throw new Error(`lookup: ${cfg.code}`);
      const id = await pci_conf_read(c.task, cfg.value, 0, 4n);
      expect(id.ok && Buffer.from(id.value.data).readUInt32LE(0)).toBe(0x29228086);
      // The interrupt line register (0x3c): rumpdisk's grant is read-write, lspci's read-only.
      const w = await pci_conf_write(c.task, cfg.value, 0x3c, Uint8Array.of(11));
      expect(w.ok ? "ok" : w.code).toBe(c === rd ? "ok" : EACCES);
    }
  });

  it("routes interrupts and powers the machine off through the privilege it was handed", async () => {
    const c = client("rumpdisk", roots["acpiRumpdisk"]!);
    const irq = await acpi_get_pci_irq(c.task, c.root, 0, 0x1f, 2);
    expect(irq.ok && irq.value.irq).toBeGreaterThanOrEqual(16);
    expect(sim.poweredOff).toBe(false);
    expect((await acpi_sleep(c.task, c.root, 5)).ok).toBe(true);
    // PM1a control is a port acpi wrote through its io_perm.
    expect(sim.poweredOff).toBe(true);
  });

  it("a task handed no master device port is refused with a device code and ends", async () => {
    const t = await loadServerTask<PciArbiterTaskArgs>(kernel, boot, {
      name: "pci-arbiter",
      module: new URL("../../../src/servers/pci-arbiter/pci-arbiter-task.js", import.meta.url),
      main: pciArbiterMain,
      isolate: false,
      prepare: (task) => {
        // The console's port in the master's place: a device port, not the master.
        const fake = kernel.giveRight(con.task, con.port, MACH_MSG_TYPE_MAKE_SEND, task).name;
        return { master: fake, console: fake, roots: {}, grants: [] };
      },
    });
    if (!t.ok) throw new Error(t.error);
    await t.value.start();
    expect(await t.value.server.ended).toBe("exited");
    expect(lines).toContain('pci-arbiter: device_open("io") refused: D_INVALID_OPERATION');
    // Arguments that are not port names are refused before anything runs.
    const bad = await loadServerTask(kernel, boot, {
      name: "acpi",
      module: new URL("../../../src/servers/acpi/acpi-task.js", import.meta.url),
      main: acpiMain,
      isolate: false,
      prepare: () => ({ master: -1, pci: "x", console: 0, roots: [] }),
    });
    if (!bad.ok) throw new Error(bad.error);
    await bad.value.start();
    expect(await bad.value.server.ended).toBe("threw: acpi: bad task arguments");
  });
});
