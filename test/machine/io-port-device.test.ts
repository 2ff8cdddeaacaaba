// The kernel's "io" device (port I/O granted as gnumach's i386_io_perm_create/modify grant it) and
// a task's view of the hardware through "io" and "mem": the same bus, registers and firmware as
// the machine itself shows, and refusals, as Mach and device codes, for every task without the
// privilege or beyond what it was granted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device_map, device_open } from "../../generated/device.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_READ,
  D_READ_ONLY,
  D_WRITE,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "../../src/kernel/devices/device-codes.js";
import { DeviceMaster } from "../../src/kernel/devices/device-master.js";
import { IO_PORT_SPACE } from "../../src/kernel/devices/io-port-device.js";
import { TaskHardware } from "../../src/kernel/devices/task-hardware.js";
import {
  KERN_INVALID_ARGUMENT,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
} from "../../src/kernel/kern-return.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { asSendRight, type SendRight } from "../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_COPY_SEND } from "../../src/kernel/msg-type.js";
import type { Task } from "../../src/kernel/task.js";
import { ECAM_BASE } from "../../src/machine/pci-bus.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { ConfigAccess } from "../../src/servers/pci-arbiter/config-access.js";
import { enumeratePci } from "../../src/servers/pci-arbiter/enumerate.js";

const RW = VM_PROT_READ | VM_PROT_WRITE;

function machine(): SimBackend {
  const r = SimBackend.create({ memory: "64M", devices: [{ type: "ahci", disks: [] }] });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("; "));
  return r.value;
}

describe("the kernel's io device", () => {
  let sim: SimBackend;
  let kernel: Kernel;
  let devices: DeviceMaster;
  let task: Task;
  let master: SendRight;
  beforeAll(async () => {
    sim = machine();
    kernel = new Kernel();
    const dm = await DeviceMaster.start(kernel, { backend: sim });
    if (!dm.ok) throw new Error("device master");
    devices = dm.value;
    task = kernel.createTask("pci-arbiter");
    master = asSendRight(devices.giveMasterPort(task).name);
  });
  afterAll(async () => {
    await devices.close();
    await sim.close();
  });

  /** device_map of `io` over [from, from+count) with `prot`: the io_perm, or the code. */
  async function ioPerm(io: SendRight, prot: number, from: number, count: number) {
    const r = await device_map(task, io, prot, BigInt(from), BigInt(count), 0);
    return r.ok ? { pager: r.value.pager as number } : { code: r.code };
  }

  it("grants configuration mechanism #1: out to 0xCF8, in from 0xCFC reads 00:00.0's ids", async () => {
    const io = await device_open(task, master, D_READ | D_WRITE, "io");
    if (!io.ok) throw new Error(`device_open("io"): ${io.code}`);
    const perm = await ioPerm(io.value.device, RW, 0xcf8, 8);
    if (!("pager" in perm)) throw new Error(`device_map: ${perm.code}`);
    const m = await task.vm_map(perm.pager!, 0xcf8, 8, RW);
    expect(m.kr).toBe(KERN_SUCCESS);
    const mapping = m.mapping!;
    expect(mapping.shared).toBe(false);
    expect(await mapping.write32(0, 0x80000000)).toBe(KERN_SUCCESS);
    const id = await mapping.read32(4);
    await sim.portWrite(0xcf8, 4, 0x80000000);
    expect(id).toEqual({ ok: true, value: await sim.portRead(0xcfc, 4) });
    // Port 0xCFE: the device id half, as a 16-bit in.
    expect(await mapping.write32(0, 0x80000000)).toBe(KERN_SUCCESS);
    expect(await mapping.read16(6)).toEqual({
      ok: true,
      value: (await sim.portRead(0xcfc, 4)) >>> 16,
    });
  });

  it("refuses what was not granted, with Mach and device codes", async () => {
    const ro = await device_open(task, master, D_READ, "io");
    if (!ro.ok) throw new Error("device_open");
    // Opened without D_WRITE: no writable io_perm.
    expect(await ioPerm(ro.value.device, RW, 0xcf8, 8)).toEqual({ code: D_READ_ONLY });
    const perm = await ioPerm(ro.value.device, VM_PROT_READ, 0xcf8, 8);
    if (!("pager" in perm)) throw new Error("read-only io_perm");
    // A read-only io_perm maps only for reading, and only its own ports.
    expect((await task.vm_map(perm.pager!, 0xcf8, 8, RW)).kr).toBe(KERN_PROTECTION_FAILURE);
    expect((await task.vm_map(perm.pager!, 0xcf0, 16, VM_PROT_READ)).kr).toBe(
      KERN_INVALID_ARGUMENT,
    );
    expect((await task.vm_map(perm.pager!, 0xcfc, 8, VM_PROT_READ)).kr).toBe(KERN_INVALID_ARGUMENT);
    // Ranges outside the 64 Ki ports, empty ranges and no protection.
    expect(await ioPerm(ro.value.device, VM_PROT_READ, IO_PORT_SPACE - 4, 8)).toEqual({
      code: D_INVALID_SIZE,
    });
    expect(await ioPerm(ro.value.device, VM_PROT_READ, 0x60, 0)).toEqual({ code: D_INVALID_SIZE });
    expect(await ioPerm(ro.value.device, 0, 0x60, 1)).toEqual({ code: D_INVALID_OPERATION });
    // The device port is not a master: nothing opens through it.
    const again = await device_open(task, ro.value.device, D_READ, "io");
    expect(again).toEqual({ ok: false, code: D_INVALID_OPERATION });
  });

  it("a task without the privilege cannot do port I/O; the io_perm is the capability", async () => {
    const io = await device_open(task, master, D_READ | D_WRITE, "io");
    if (!io.ok) throw new Error("device_open");
    const perm = await ioPerm(io.value.device, RW, 0xcf8, 8);
    if (!("pager" in perm)) throw new Error("io_perm");
    // No master device port, no io_perm: the same name means nothing in its space.
    const nobody = kernel.createTask("nobody");
    expect((await nobody.vm_map(perm.pager!, 0xcf8, 8, VM_PROT_READ)).kr).toBe(
      KERN_INVALID_ARGUMENT,
    );
    // Given the io device port alone (not the master), it still has no range to map.
    const dev = kernel.giveRight(task, io.value.device, MACH_MSG_TYPE_COPY_SEND, nobody);
    expect((await nobody.vm_map(dev.name, 0xcf8, 8, VM_PROT_READ)).kr).toBe(KERN_INVALID_ARGUMENT);
    // Handed the io_perm, it may do exactly what the io_perm allows.
    const given = kernel.giveRight(task, perm.pager!, MACH_MSG_TYPE_COPY_SEND, nobody);
    const m = await nobody.vm_map(given.name, 0xcf8, 8, RW);
    expect(m.kr).toBe(KERN_SUCCESS);
    expect(await m.mapping!.write32(0, 0x80000000)).toBe(KERN_SUCCESS);
    expect((await m.mapping!.read16(4)).ok).toBe(true);
    // Its mappings die with it.
    const before = kernel.mappings.count(nobody);
    expect(before).toBe(1);
    nobody.terminate();
    expect(kernel.mappings.count(nobody)).toBe(0);
  });

  it("gives a task the machine's bus, registers and firmware, as the machine shows them", async () => {
    const hw = await TaskHardware.open(task, master, [[0xcf8, 8]]);
    if (!hw.ok) throw new Error(hw.message);
    expect(hw.value.writable).toBe(true);
    // Enumeration (with BAR sizing) through the task's io_perm equals enumeration on the machine.
    const viaTask = await enumeratePci(new ConfigAccess(hw.value));
    const direct = await enumeratePci(new ConfigAccess(sim));
    expect(viaTask).toEqual(direct);
    expect(viaTask.length).toBeGreaterThan(1);
    // MMIO through mem: ECAM's view of 00:1f.2.
    const ecam = ECAM_BASE + (0x1f << 15) + (2 << 12);
    expect(await hw.value.mmioRead(ecam, 4)).toBe(await sim.mmioRead(ecam, 4));
    // Firmware memory through mem: the RSDP.
    const rsdp = await hw.value.memRead(sim.acpi.rsdpAddress, 20);
    expect(new TextDecoder().decode(rsdp.subarray(0, 8))).toBe("RSD PTR ");
    // Other ports map on demand (a window around them); RAM is never mapped.
    await expect(hw.value.portRead(0x80, 1)).resolves.toBeTypeOf("number");
    await expect(hw.value.memRead(0x100000, 16)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(hw.value.portRead(IO_PORT_SPACE - 1, 2)).rejects.toMatchObject({
      reason: "out-of-range",
    });
  });

  it("learns that a read-only machine takes no writes", async () => {
    const ro = Object.create(sim, { writable: { value: false } }) as SimBackend;
    const k = new Kernel();
    const dm = await DeviceMaster.start(k, { backend: ro });
    if (!dm.ok) throw new Error("device master");
    try {
      const t = k.createTask("reader");
      const m = asSendRight(dm.value.giveMasterPort(t).name);
      const io = await device_open(t, m, D_READ | D_WRITE, "io");
      if (!io.ok) throw new Error("device_open");
      const w = await device_map(t, io.value.device, RW, 0xcf8n, 8n, 0);
      expect(w).toEqual({ ok: false, code: D_READ_ONLY });
      const hw = await TaskHardware.open(t, m, [[0xcf8, 8]]);
      expect(hw.ok && hw.value.writable).toBe(false);
      if (!hw.ok) return;
      await expect(hw.value.portWrite(0xcf8, 4, 0x80000000)).rejects.toMatchObject({
        reason: "read-only",
      });
      // Reads still work: the config address register as the machine holds it.
      expect(await hw.value.portRead(0xcf8, 4)).toBe(await sim.portRead(0xcf8, 4));
    } finally {
      await dm.value.close();
    }
  });
});
