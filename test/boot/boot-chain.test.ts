// The boot chain's wiring: device_open of wd* on the kernel's master device port reaches
// rumpdisk, other names on rumpdisk's go down to the kernel, rumpdisk's interrupts come from the
// kernel's irq device on the line acpi routed, and its reads equal the image.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device_close, device_open, device_read } from "../../generated/device.js";
import { bootSystem, type BootedSystem } from "../../src/boot/boot-chain.js";
import { D_NO_SUCH_DEVICE, D_READ } from "../../src/kernel/devices/device-codes.js";
import { asSendRight } from "../../src/kernel/mig/index.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";

describe("the boot chain on the simulated PC", () => {
  let img: PartitionedImage;
  let sys: BootedSystem;
  const log: string[] = [];
  beforeAll(async () => {
    img = mbrImage(16384);
    const r = await bootSystem({ machine: "sim", disk: img.path, log: (l) => log.push(l) });
    if (!r.ok) throw new Error(r.error);
    sys = r.value;
  });
  afterAll(async () => {
    await sys?.shutdown();
    img.cleanup();
  });

  it("forwards device_open of wd* from the kernel's master device port to rumpdisk", async () => {
    const other = sys.kernel.createTask("other");
    const master = sys.devices.giveMasterPort(other);
    const o = await device_open(other, asSendRight(master.name), D_READ, "wd0s2");
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    const [start] = img.parts.get(2)!;
    const r = await device_read(other, o.value.device, 0, 3n, 2048);
    expect(r.ok && Buffer.from(r.value.data).equals(fs.readFileSync(img.path).subarray((start + 3) * 512, (start + 3) * 512 + 2048))).toBe(true);
    expect(await device_open(other, asSendRight(master.name), D_READ, "wd4")).toEqual({ ok: false, code: D_NO_SUCH_DEVICE });
    await device_close(other, o.value.device);
    other.terminate();
  });

  it("forwards other names from rumpdisk's master device port down to the kernel", async () => {
    const c = sys.tasks.client;
    for (const name of ["irq", "time", "mem"]) {
      const o = await device_open(c, sys.clientMaster, D_READ, name);
      expect(o.ok, name).toBe(true);
      if (o.ok) await c.mach_port_deallocate(o.value.device);
    }
    expect(await device_open(c, sys.clientMaster, D_READ, "nosuch")).toEqual({ ok: false, code: D_NO_SUCH_DEVICE });
  });

  it("takes the AHCI's interrupts from the kernel's irq device, on the line acpi routed", async () => {
    const route = log.map((l) => /^rumpdisk: 00:1f\.2 INTA# routed to GSI (\d+) by acpi/.exec(l)).find((m) => m);
    expect(route).toBeTruthy();
    const line = Number(route![1]);
    const state = sys.devices.irq.state(line);
    expect(state?.handlers).toBe(1);
    // Reads complete (so interrupts are delivered and acknowledged), and the line ends unmasked.
    const c = sys.tasks.client;
    const o = await device_open(c, sys.clientMaster, D_READ, "wd0");
    if (!o.ok) throw new Error("open");
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => device_read(c, o.value.device, 0, BigInt(i * 97), 4096)));
    expect(rs.every((r) => r.ok)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(sys.devices.irq.isMasked(line)).toBe(false);
  });
});
