// Shared setup of the kernel-device suites: a kernel with its device master on a simulated PC, a
// driver task holding the master device port, and receiving device_intr_notify messages.
import { expect } from "vitest";
import { device_open } from "../../../generated/device.js";
import {
  DeviceMaster,
  type DeviceMasterOptions,
} from "../../../src/kernel/devices/device-master.js";
import { intrNotificationId } from "../../../src/kernel/devices/intr-notification.js";
import { Kernel } from "../../../src/kernel/kernel.js";
import { MACH_MSG_SUCCESS, MACH_RCV_TIMED_OUT } from "../../../src/kernel/kern-return.js";
import { asSendRight, type SendRight } from "../../../src/kernel/mig/index.js";
import { MACH_RCV_MSG, MACH_RCV_TIMEOUT } from "../../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../../src/kernel/port-right.js";
import type { Task } from "../../../src/kernel/task.js";
import { SimBackend } from "../../../src/machine/sim-backend.js";
import { createTestDiskImage, type TestDiskImage } from "../../../src/machine/test-disk-image.js";

export interface Booted {
  readonly kernel: Kernel;
  readonly sim: SimBackend;
  readonly dm: DeviceMaster;
  readonly disk: TestDiskImage;
  /** Closes everything and checks that no port outlived the tasks. */
  shutdown(): Promise<void>;
}

/** A kernel, a simulated PC with an AHCI disk, and the device master serving it. */
export async function boot(options: Omit<DeviceMasterOptions, "backend"> = {}): Promise<Booted> {
  const kernel = new Kernel();
  const disk = createTestDiskImage({ sectors: 64 });
  const r = SimBackend.create({
    memory: "64M",
    devices: [{ type: "ahci", disks: [{ port: 0, image: disk.path }] }],
  });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
  const sim = r.value;
  const started = await DeviceMaster.start(kernel, { ...options, backend: sim });
  if (!started.ok) throw new Error(`DeviceMaster.start: ${started.code}`);
  const dm = started.value;
  return {
    kernel,
    sim,
    dm,
    disk,
    async shutdown() {
      for (const t of [...kernel.tasks]) if (t !== dm.task) t.terminate("test over");
      await dm.close();
      await sim.close();
      disk.cleanup();
      expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
    },
  };
}

/** A task holding a send right to the master device port, as the boot chain hands it on. */
export function driverTask(b: Booted, name: string): { task: Task; master: SendRight } {
  const task = b.kernel.createTask(name);
  const given = b.dm.giveMasterPort(task);
  expect(given.kr).toBe(0);
  return { task, master: asSendRight(given.name) };
}

export async function openDevice(task: Task, master: SendRight, name: string): Promise<SendRight> {
  const r = await device_open(task, master, 0, name);
  expect(r.ok, r.ok ? "" : `device_open(${name}): ${r.code}`).toBe(true);
  return r.ok ? r.value.device : (0 as SendRight);
}

export async function newReceivePort(task: Task): Promise<number> {
  const r = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  expect(r.kr).toBe(0);
  return r.name;
}

/** The line of the next device_intr_notify on `port`, or "timeout" when none comes in `ms`. */
export async function nextInterrupt(
  task: Task,
  port: number,
  ms = 2000,
): Promise<number | "timeout"> {
  const buf = new Uint8Array(256);
  const kr = await task.mach_msg(buf, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, buf.length, port, ms);
  if (kr === MACH_RCV_TIMED_OUT) return "timeout";
  expect(kr).toBe(MACH_MSG_SUCCESS);
  const id = intrNotificationId(buf);
  expect(id, "a device_intr_notify message").toBeDefined();
  return id!;
}

/** Waits (on the event loop) until `cond` holds; fails after `ms`. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 1));
  }
}
