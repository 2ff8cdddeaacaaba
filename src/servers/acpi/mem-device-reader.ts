// Physical memory for the acpi server through the kernel's "mem" device, as the Hurd's acpi
// reads the BIOS area and the tables: device_open("mem"), device_map of the pages around each
// read, then the mapping (vm_map's part is the kernel's mapDeviceMemory).
import { device_map, device_open } from "../../../generated/device.js";
import { D_READ, VM_PROT_READ, type DeviceMaster } from "../../kernel/devices/index.js";
import type { SendRight } from "../../kernel/mig/index.js";
import type { Task } from "../../kernel/task.js";
import type { PhysReader } from "./tables.js";

const PAGE = 4096;

/**
 * A PhysReader over the mem device. `master` is the task's send right to the master device port.
 * Reads of RAM (which mem refuses, as gnumach does) reject with the device's error code.
 */
export function memDeviceReader(
  task: Task,
  master: SendRight,
  kernelDevices: DeviceMaster,
): PhysReader {
  let mem: SendRight | undefined;
  return async (address, length) => {
    if (!mem) {
      const d = await device_open(task, master, D_READ, "mem");
      if (!d.ok) throw new Error(`device_open("mem") failed: 0x${d.code.toString(16)}`);
      mem = d.value.device;
    }
    const start = Math.floor(address / PAGE) * PAGE;
    const end = Math.ceil((address + Math.max(length, 1)) / PAGE) * PAGE;
    const m = await device_map(task, mem, VM_PROT_READ, BigInt(start), BigInt(end - start), 0);
    if (!m.ok)
      throw new Error(
        `device_map of mem 0x${start.toString(16)}+0x${(end - start).toString(16)} failed: 0x${m.code.toString(16)}`,
      );
    try {
      const mapped = kernelDevices.mapDeviceMemory(task, m.value.pager);
      if (!mapped.ok || mapped.value.kind !== "mem")
        throw new Error("the mem pager cannot be mapped");
      const r = await mapped.value.mapping.read(address - start, length);
      if (!r.ok)
        throw new Error(
          `reading physical 0x${address.toString(16)} failed: 0x${r.code.toString(16)}`,
        );
      return r.value;
    } finally {
      await task.mach_port_deallocate(m.value.pager);
    }
  };
}
