// The boot chain's wiring: device_open of wd* on the kernel's master device port reaches
// rumpdisk, other names on rumpdisk's go down to the kernel, rumpdisk's interrupts come from the
// kernel's irq device on the line acpi routed, and its reads equal the image.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  device_close,
  device_open,
  device_read,
  device_set_status,
  device_write,
} from "../../generated/device.js";
import { bootSystem, type BootedSystem } from "../../src/boot/boot-chain.js";
import { DeviceClient } from "../../src/boot/disk-client.js";
import { D_NO_SUCH_DEVICE, D_READ, D_WRITE } from "../../src/kernel/devices/device-codes.js";
import { MACH_MSG_SUCCESS } from "../../src/kernel/kern-return.js";
import {
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
} from "../../src/kernel/msg-type.js";
import { MACH_NOTIFY_DEAD_NAME } from "../../src/kernel/notify.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import { DEV_FLUSH_CACHE } from "../../src/servers/rumpdisk/device-status.js";
import { asSendRight } from "../../src/kernel/mig/index.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";
import { bootForSuite } from "../helpers/boot-for-suite.js";

describe("the boot chain on the simulated PC", () => {
  let img!: PartitionedImage;
  let sys!: BootedSystem;
  const log: string[] = [];
  bootForSuite("sim", log, (s, i) => {
    sys = s;
    img = i;
  });

  it("runs rumpdisk as an isolated task and finds wd0 and its partitions", () => {
    expect(sys.rumpdisk.mode).toBe("isolated");
    expect(sys.disks.map((d) => d.name)).toEqual(["wd0", "wd0s1", "wd0s2", "wd0s3", "wd0s5"]);
  });

  it("reads at random offsets and lengths through the isolated rumpdisk equal the image", async () => {
    const file = fs.readFileSync(img.path);
    for (const name of ["wd0", "wd0s2", "wd0s5"]) {
      const c = await DeviceClient.open(sys.tasks.client, sys.clientMaster, name);
      if (!c.ok) throw new Error(`open ${name}`);
      const node = sys.disks.find((d) => d.name === name)!;
      const base = name === "wd0" ? 0 : img.parts.get(Number(name.slice(4)))![0] * 512;
      for (let i = 0; i < 12; i++) {
        const off = Math.floor(Math.random() * node.records * node.recordSize);
        const len = 1 + Math.floor(Math.random() * 20_000);
        const n = Math.min(len, node.records * node.recordSize - off);
        const r = await c.value.read(off, len);
        expect(
          r.ok && Buffer.from(r.value).equals(file.subarray(base + off, base + off + n)),
          `${name} ${off}+${len}`,
        ).toBe(true);
      }
      await c.value.close();
    }
  });

  it("forwards device_open of wd* from the kernel's master device port to rumpdisk", async () => {
    const other = sys.kernel.createTask("other");
    const master = sys.devices.giveMasterPort(other);
    const o = await device_open(other, asSendRight(master.name), D_READ, "wd0s2");
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    const [start] = img.parts.get(2)!;
    const r = await device_read(other, o.value.device, 0, 3n, 2048);
    expect(
      r.ok &&
        Buffer.from(r.value.data).equals(
          fs.readFileSync(img.path).subarray((start + 3) * 512, (start + 3) * 512 + 2048),
        ),
    ).toBe(true);
    expect(await device_open(other, asSendRight(master.name), D_READ, "wd4")).toEqual({
      ok: false,
      code: D_NO_SUCH_DEVICE,
    });
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
    expect(await device_open(c, sys.clientMaster, D_READ, "nosuch")).toEqual({
      ok: false,
      code: D_NO_SUCH_DEVICE,
    });
  });

  it("takes the AHCI's interrupts from the kernel's irq device, on the line acpi routed", async () => {
    const route = log
      .map((l) => /^rumpdisk: 00:1f\.2 INTA# routed to GSI (\d+) by acpi/.exec(l))
      .find((m) => m);
    expect(route).toBeTruthy();
    const line = Number(route![1]);
    const state = sys.devices.irq.state(line);
    expect(state?.handlers).toBe(1);
    // Reads complete (so interrupts are delivered and acknowledged), and the line ends unmasked.
    const c = sys.tasks.client;
    const o = await device_open(c, sys.clientMaster, D_READ, "wd0");
    if (!o.ok) throw new Error("open");
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => device_read(c, o.value.device, 0, BigInt(i * 97), 4096)),
    );
    expect(rs.every((r) => r.ok)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(sys.devices.irq.isMasked(line)).toBe(false);
  });
});

describe("killing the isolated rumpdisk mid-write", () => {
  it("clients get an error or a dead name, not a hang; writes acknowledged before a flush's reply are in the image", async () => {
    const img = mbrImage(16384);
    const r = await bootSystem({ machine: "sim", disk: img.path });
    if (!r.ok) throw new Error(r.error);
    const sys = r.value;
    try {
      const c = sys.tasks.client;
      const o = await device_open(c, sys.clientMaster, D_READ | D_WRITE, "wd0");
      if (!o.ok) throw new Error("open");
      const dev = o.value.device;
      const notify = await c.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      await c.mach_port_request_notification(
        dev,
        MACH_NOTIFY_DEAD_NAME,
        0,
        notify.name,
        MACH_MSG_TYPE_MAKE_SEND_ONCE,
      );
      const CHUNK = 32 * 1024;
      const pattern = (i: number) =>
        Uint8Array.from({ length: CHUNK }, (_, k) => (i * 37 + k * 3 + 1) & 0xff);
      const acked = new Set<number>();
      const writes = Array.from({ length: 16 }, (_, i) =>
        device_write(c, dev, 0, BigInt((i * CHUNK) / 512), pattern(i)).then((w) => {
          if (w.ok) acked.add(i);
          return w;
        }),
      );
      // The stubs do not promise to send concurrent calls in call order: let one write be
      // answered first, so that the flush has acknowledged writes to vouch for.
      await writes[0];
      const flush = await device_set_status(c, dev, DEV_FLUSH_CACHE, new Int32Array(0));
      expect(flush.ok).toBe(true);
      const durable = [...acked];
      const late = Array.from({ length: 16 }, (_, i) =>
        device_write(c, dev, 0, BigInt(((16 + i) * CHUNK) / 512), pattern(50 + i)),
      );
      await sys.rumpdisk.kill();
      const all = await Promise.race([
        Promise.all([...writes, ...late]),
        new Promise<"hang">((res) => setTimeout(() => res("hang"), 10_000)),
      ]);
      expect(all).not.toBe("hang");
      if (all === "hang") return;
      expect(all.some((w) => !w.ok)).toBe(true);
      const buf = new Uint8Array(256);
      expect(
        await c.mach_msg(buf, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, buf.length, notify.name, 5000),
      ).toBe(MACH_MSG_SUCCESS);
      expect(new DataView(buf.buffer).getInt32(28, true)).toBe(MACH_NOTIFY_DEAD_NAME);
      expect(durable.length).toBeGreaterThan(0);
      const file = fs.readFileSync(img.path);
      for (const i of durable)
        expect(file.subarray(i * CHUNK, (i + 1) * CHUNK).equals(Buffer.from(pattern(i)))).toBe(
          true,
        );
      // The kernel dropped its forwarder: wd0 is gone, not hanging.
      const other = sys.kernel.createTask("other");
      const m = sys.devices.giveMasterPort(other);
      const again = await device_open(other, asSendRight(m.name), D_READ, "wd0");
      expect(again.ok).toBe(false);
    } finally {
      await sys.shutdown();
      img.cleanup();
    }
  }, 60_000);
});
