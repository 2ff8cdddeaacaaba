// The master device port over RPC: device_open of the kernel devices and of unknown names, the
// forwarding of names a user-space server registered, device_map of "time" and "mem", and rights.
import { refusingDeviceServer } from "../../helpers/refusing-device-server.js";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  device_close,
  device_intr_register,
  device_map,
  device_open,
  device_server,
  type DeviceServer,
} from "../../../generated/device.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_NO_MEMORY,
  D_NO_SUCH_DEVICE,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "../../../src/kernel/devices/device-codes.js";
import { DeviceMaster, MAX_MEMORY_OBJECTS } from "../../../src/kernel/devices/device-master.js";
import { Kernel } from "../../../src/kernel/kernel.js";
import {
  KERN_INVALID_ARGUMENT,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
} from "../../../src/kernel/kern-return.js";
import {
  mach_msg_server,
  MigDemux,
  polyRight,
  type SendRight,
} from "../../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../../src/kernel/msg-type.js";
import { MACH_PORT_TYPE_SEND } from "../../../src/kernel/port-right.js";
import type { Task } from "../../../src/kernel/task.js";
import { RSDP_ADDRESS } from "../../../src/machine/acpi-tables.js";
import { IOAPIC_BASE } from "../../../src/machine/interrupt-controller.js";
import {
  boot,
  driverTask,
  newReceivePort,
  openDevice,
  until,
  type Booted,
} from "./device-helpers.js";

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

describe("the master device port", () => {
  let b: Booted;
  beforeEach(async () => {
    b = await boot({ clock: () => ({ seconds: 1_800_000_000n, nanoseconds: 123_456_789n }) });
  });
  afterEach(async () => {
    await b.shutdown();
  });

  test("opens irq, time and mem; any other name is D_NO_SUCH_DEVICE", async () => {
    const { task, master } = driverTask(b, "bootstrap");
    for (const name of ["irq", "time", "mem"]) {
      const r = await device_open(task, master, 0, name);
      expect(r.ok, name).toBe(true);
      if (r.ok)
        expect((await task.mach_port_type(r.value.device)).type & MACH_PORT_TYPE_SEND).toBeTruthy();
    }
    // Opening twice gives the same port (one name in the caller's space).
    expect(await openDevice(task, master, "irq")).toBe(await openDevice(task, master, "irq"));
    for (const name of ["wd0", "", "IRQ", "irq0", "x".repeat(127)]) {
      expect(await device_open(task, master, 0, name), name).toEqual({
        ok: false,
        code: D_NO_SUCH_DEVICE,
      });
    }
    // Only the master device port opens devices.
    const irq = await openDevice(task, master, "irq");
    expect(await device_open(task, irq, 0, "time")).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    expect(await device_close(task, irq)).toEqual({ ok: true, value: {} });
    expect(await device_close(task, master)).toEqual({ ok: false, code: D_NO_SUCH_DEVICE });
  });

  test("the time page: device_map read-only at offset 0, then read without any RPC", async () => {
    const { task, master } = driverTask(b, "libc");
    const time = await openDevice(task, master, "time");
    expect(await device_map(task, time, VM_PROT_READ | VM_PROT_WRITE, 0n, 4096n, 0)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    expect(await device_map(task, time, VM_PROT_READ, 4096n, 4096n, 0)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    const r = await device_map(task, time, VM_PROT_READ, 0n, 4096n, 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = b.dm.mapDeviceMemory(task, r.value.pager);
    expect(m.ok).toBe(true);
    if (!m.ok || m.value.kind !== "time") throw new Error("not the time page");
    expect(m.value.reader.readTime()).toEqual({
      seconds: 1_800_000_000n,
      nanoseconds: 123_456_789n,
    });
    expect(m.value.reader.readTime32()).toEqual({ seconds: 1_800_000_000, microseconds: 123_456 });
    expect(m.value.page.byteLength).toBe(4096);
    // A name that is no memory object maps nothing.
    expect(b.dm.mapDeviceMemory(task, time)).toEqual({ ok: false, code: KERN_INVALID_ARGUMENT });
    expect(b.dm.mapDeviceMemory(task, 0x12345)).toEqual({ ok: false, code: KERN_INVALID_ARGUMENT });
  });

  test("mem refuses RAM and maps the BIOS area, where the RSDP is found by scanning", async () => {
    const { task, master } = driverTask(b, "acpi");
    const mem = await openDevice(task, master, "mem");
    // RAM: low memory, memory above 1 MiB, and a range that only touches a RAM page.
    for (const [offset, size] of [
      [0n, 4096n],
      [0x9f000n, 0x1000n],
      [0x100000n, 0x1000n],
      [0x200000n, 0x10000n],
      [0xff000n, 0x2000n],
    ] as const) {
      expect(await device_map(task, mem, VM_PROT_READ, offset, size, 0), `${offset}`).toEqual({
        ok: false,
        code: D_INVALID_OPERATION,
      });
    }
    expect(await device_map(task, mem, VM_PROT_READ, 0xe0000n, 0n, 0)).toEqual({
      ok: false,
      code: D_INVALID_SIZE,
    });
    expect(await device_map(task, mem, 0, 0xe0000n, 4096n, 0)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    const r = await device_map(task, mem, VM_PROT_READ, 0xe0000n, 0x20000n, 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = b.dm.mapDeviceMemory(task, r.value.pager);
    if (!m.ok || m.value.kind !== "mem") throw new Error("not a mem mapping");
    const bios = m.value.mapping;
    // What the acpi server does: "RSD PTR " on a 16-byte boundary, with a valid checksum.
    const area = await bios.read(0, 0x20000);
    if (!area.ok) throw new Error(`read: ${area.code}`);
    let found = -1;
    for (let off = 0; off + 20 <= area.value.length; off += 16) {
      if (ascii(area.value.subarray(off, off + 8)) !== "RSD PTR ") continue;
      if (area.value.subarray(off, off + 20).reduce((s, x) => (s + x) & 0xff, 0) === 0) {
        found = off;
        break;
      }
    }
    expect(found + 0xe0000).toBe(RSDP_ADDRESS);
    // Register-sized reads go through MMIO reads and see the same bytes.
    const sig = await bios.readRegister(found, 4);
    expect(sig).toEqual({ ok: true, value: 0x20445352 }); // "RSD " little-endian
    // A read-only mapping refuses writes; reads stay inside the mapping.
    expect(await bios.write(found, new Uint8Array(1))).toEqual({
      ok: false,
      code: KERN_PROTECTION_FAILURE,
    });
    expect((await bios.read(0x1fff0, 0x20)).ok).toBe(false);
    // The same range maps through the same memory object.
    const again = await device_map(task, mem, VM_PROT_READ, 0xe0000n, 0x20000n, 0);
    expect(again.ok && again.value.pager).toBe(r.value.pager);
  });

  test("mem maps device registers: the IOAPIC's version through its index/data window", async () => {
    const { task, master } = driverTask(b, "driver");
    const mem = await openDevice(task, master, "mem");
    const r = await device_map(
      task,
      mem,
      VM_PROT_READ | VM_PROT_WRITE,
      BigInt(IOAPIC_BASE),
      4096n,
      0,
    );
    if (!r.ok) throw new Error(`device_map: ${r.code}`);
    const m = b.dm.mapDeviceMemory(task, r.value.pager);
    if (!m.ok || m.value.kind !== "mem") throw new Error("not a mem mapping");
    const ioapic = m.value.mapping;
    expect(await ioapic.writeRegister(0x00, 4, 0x01)).toEqual({ ok: true, value: 4 });
    const version = await ioapic.readRegister(0x10, 4);
    expect(version.ok && version.value & 0xff).toBe(0x20);
    expect(version.ok && (version.value >>> 16) & 0xff).toBe(23);
    expect((await ioapic.readRegister(0x02, 4)).ok).toBe(false); // misaligned
  });

  test("the kernel keeps a bounded number of memory objects: past it, D_NO_MEMORY", async () => {
    const { task, master } = driverTask(b, "greedy");
    const mem = await openDevice(task, master, "mem");
    for (let i = 1; i <= MAX_MEMORY_OBJECTS; i++) {
      const r = await device_map(task, mem, VM_PROT_READ, 0xe0000n, BigInt(i), 0);
      if (!r.ok) expect.fail(`device_map #${i}: ${r.code}`);
    }
    expect(await device_map(task, mem, VM_PROT_READ, 0xe0000n, 0x10000n, 0)).toEqual({
      ok: false,
      code: D_NO_MEMORY,
    });
    // Ranges already mapped still are.
    expect((await device_map(task, mem, VM_PROT_READ, 0xe0000n, 1n, 0)).ok).toBe(true);
  });

  test("device_map on irq is D_INVALID_OPERATION", async () => {
    const { task, master } = driverTask(b, "driver");
    const irq = await openDevice(task, master, "irq");
    expect(await device_map(task, irq, VM_PROT_READ, 0n, 4096n, 0)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
  });
});

/** A user-space device server (as rumpdisk is): serves device_open of the names it has. */
function fakeDiskServer(task: Task, names: readonly string[], devicePort: number): DeviceServer {
  return refusingDeviceServer({
    ds_device_open: (_master, _reply, _mode, name) =>
      names.includes(name)
        ? { device: polyRight(devicePort, MACH_MSG_TYPE_MAKE_SEND) }
        : D_NO_SUCH_DEVICE,
  });
}

describe("forwarding device_open to a user-space server", () => {
  let b: Booted;
  beforeEach(async () => {
    b = await boot();
  });
  afterEach(async () => {
    await b.shutdown();
  });

  async function startDiskServer(names: readonly string[]) {
    const rump = b.kernel.createTask("rumpdisk");
    const master = await newReceivePort(rump);
    const disk = await newReceivePort(rump);
    const loop = mach_msg_server(
      rump,
      new MigDemux(device_server(fakeDiskServer(rump, names, disk))),
      master,
    );
    return { rump, master, disk, loop };
  }

  test("names a server registered reach it; the caller gets the server's device port", async () => {
    const server = await startDiskServer(["wd0", "wd0s1"]);
    const reg = await b.dm.addForwarder(server.rump, server.master, ["wd0", "wd0s1"]);
    expect(reg.kr).toBe(KERN_SUCCESS);
    const { task, master } = driverTask(b, "ext2fs");
    const r = await device_open(task, master, 0, "wd0");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // The right the caller holds is a send right to the server's port: the same port.
    const e = task.space.lookup(r.value.device)!;
    expect(e.port).toBe(server.rump.space.lookup(server.disk)!.port);
    // The kernel relayed the right and kept nothing of it (its space may keep a MIG reply port).
    expect(b.dm.task.space.byPort.has(e.port!)).toBe(false);
    // Kernel devices still come from the kernel; names nobody registered stay unknown.
    expect((await device_open(task, master, 0, "irq")).ok).toBe(true);
    expect(await device_open(task, master, 0, "sd0")).toEqual({
      ok: false,
      code: D_NO_SUCH_DEVICE,
    });
    // A name the server accepts in its list but refuses itself: the server's answer comes back.
    const narrow = await startDiskServer([]);
    await b.dm.removeForwarder(reg.id);
    expect(
      (await b.dm.addForwarder(narrow.rump, narrow.master, (n) => n.startsWith("wd"))).kr,
    ).toBe(KERN_SUCCESS);
    expect(await device_open(task, master, 0, "wd0")).toEqual({
      ok: false,
      code: D_NO_SUCH_DEVICE,
    });
    expect(await b.dm.removeForwarder(reg.id)).toBe(KERN_INVALID_ARGUMENT);
  });

  test("a server that dies is forgotten: its names are D_NO_SUCH_DEVICE again", async () => {
    const server = await startDiskServer(["wd0"]);
    expect((await b.dm.addForwarder(server.rump, server.master, ["wd0"])).kr).toBe(KERN_SUCCESS);
    const { task, master } = driverTask(b, "ext2fs");
    expect((await device_open(task, master, 0, "wd0")).ok).toBe(true);
    const kernelNames = b.dm.task.space.snapshot().length;
    server.rump.terminate("crashed");
    await server.loop;
    // The dead-name notification removes the forwarder and the dead name from the kernel's space.
    await until(() => b.dm.task.space.snapshot().length === kernelNames - 1);
    expect(await device_open(task, master, 0, "wd0")).toEqual({
      ok: false,
      code: D_NO_SUCH_DEVICE,
    });
  });

  test("a forwarder needs a right the server holds", async () => {
    const rump = b.kernel.createTask("rumpdisk");
    expect((await b.dm.addForwarder(rump, 0x4242, ["wd0"])).kr).not.toBe(KERN_SUCCESS);
  });
});

describe("the device master's life cycle", () => {
  test("close destroys the kernel's ports: holders of device rights see dead names, nothing leaks", async () => {
    const kernel = new Kernel();
    const started = await DeviceMaster.start(kernel);
    if (!started.ok) throw new Error("start");
    const dm = started.value;
    const task = kernel.createTask("client");
    const given = dm.giveMasterPort(task);
    const master = given.name as SendRight;
    // Without a machine, irq and mem are there but refuse what needs hardware.
    const irq = await openDevice(task, master, "irq");
    const port = await newReceivePort(task);
    expect(
      await device_intr_register(task, irq, 1, 0, polyRight(port, MACH_MSG_TYPE_MAKE_SEND)),
    ).toEqual({ ok: false, code: D_INVALID_OPERATION });
    const mem = await openDevice(task, master, "mem");
    expect(await device_map(task, mem, VM_PROT_READ, 0xe0000n, 4096n, 0)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    await dm.close();
    expect(dm.giveMasterPort(task).kr).not.toBe(KERN_SUCCESS);
    expect((await device_open(task, master, 0, "time")).ok).toBe(false);
    task.terminate("done");
    expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
  });
});
