// How rumpdisk reaches the AHCI registers: the ABAR vm_mapped from the kernel's "mem" device,
// register reads from the controller's shared register shadow, writes through the kernel.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device_map, device_open, device_read } from "../../generated/device.js";
import type { BootedSystem } from "../../src/boot/boot-chain.js";
import {
  D_READ,
  D_WRITE,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "../../src/kernel/devices/device-codes.js";
import { KERN_INVALID_ADDRESS, KERN_SUCCESS } from "../../src/kernel/kern-return.js";
import { asSendRight } from "../../src/kernel/mig/index.js";
import type { SimBackend } from "../../src/machine/sim-backend.js";
import { type PartitionedImage } from "../rump/fixtures.js";
import { bootForSuite } from "../helpers/boot-for-suite.js";

const RW = VM_PROT_READ | VM_PROT_WRITE;

describe("rumpdisk's register access", () => {
  let img!: PartitionedImage;
  let sys!: BootedSystem;
  const log: string[] = [];
  bootForSuite("sim", log, (s, i) => {
    sys = s;
    img = i;
  });

  it("an isolated rumpdisk vm_maps the ABAR from mem and reads it from the register shadow", async () => {
    expect(sys.rumpdisk.mode).toBe("isolated");
    const mine = sys.kernel.mappings.records().filter((m) => m.task.name === "rumpdisk");
    const abar = mine.find((m) => m.shadow !== undefined && (m.prot & RW) === RW);
    expect(abar, "rumpdisk holds a writable, shadowed mapping of the ABAR").toBeDefined();
    expect(log.some((l) => l.includes("region files"))).toBe(false);
    // And I/O works through it.
    const o = await device_open(sys.tasks.client, sys.clientMaster, D_READ, "wd0");
    if (!o.ok) throw new Error(`device_open: ${o.code}`);
    const r = await device_read(sys.tasks.client, o.value.device, 0, 1n, 4096);
    expect(r.ok && Buffer.from(r.value.data).equals(img.bytes().subarray(512, 512 + 4096))).toBe(
      true,
    );
  });

  it("a mapping's register reads equal the model's, and its writes reach the model", async () => {
    const sim = sys.backend as SimBackend;
    const task = sys.kernel.createTask("mmio-probe");
    const master = sys.devices.giveMasterPort(task);
    const mem = await device_open(task, asSendRight(master.name), D_READ | D_WRITE, "mem");
    if (!mem.ok) throw new Error(`device_open mem: ${mem.code}`);
    const abar = sim.ahci[0]!.abarBase;
    const m = await device_map(task, mem.value.device, RW, BigInt(abar), 0x1000n, 0);
    if (!m.ok) throw new Error(`device_map: ${m.code}`);
    const mapped = await task.vm_map(m.value.pager, abar, 0x1000, RW);
    expect(mapped.kr).toBe(KERN_SUCCESS);
    const mapping = mapped.mapping!;
    expect(mapping.shadowed).toBe(true);
    expect(mapping.bytes).toBeUndefined(); // registers are not memory to write in place
    for (const off of [0x00, 0x04, 0x0c, 0x10, 0x100, 0x118, 0x128, 0x138, 0x1a8]) {
      const v = await mapping.read32(off);
      expect(v.ok && v.value).toBe(await sim.mmioRead(abar + off, 4));
    }
    const half = await mapping.read16(0x12);
    expect(half.ok && half.value).toBe((await sim.mmioRead(abar + 0x10, 4)) >>> 16);
    expect(await mapping.read32(0x102)).toEqual({ ok: false, code: KERN_INVALID_ADDRESS });
    // PxIE of port 3 (no disk there): written through the kernel, read back from the shadow.
    const ie = 0x100 + 3 * 0x80 + 0x14;
    expect(await mapping.write32(ie, 0x7d)).toBe(KERN_SUCCESS);
    expect(await sim.mmioRead(abar + ie, 4)).toBe(0x7d);
    const back = await mapping.read32(ie);
    expect(back.ok && back.value).toBe(0x7d);
    expect(await mapping.write32(ie, 0)).toBe(KERN_SUCCESS);
    await mapping.unmap();
    task.terminate("done");
  });
});
