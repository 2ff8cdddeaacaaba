// The "irq" device over RPC on the simulated PC: device_intr_register and device_intr_ack through the
// generated device stubs, device_intr_notify messages, masking, shared lines, dead handlers, AHCI.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  device_intr_ack,
  device_intr_register,
  device_read_inband,
} from "../../../generated/device.js";
import { device_intr_notify_server } from "../../../generated/device_notify.js";
import {
  D_INVALID_OPERATION,
  D_NO_SUCH_DEVICE,
  D_SUCCESS,
} from "../../../src/kernel/devices/device-codes.js";
import { DEVICE_INTR_NOTIFY } from "../../../src/kernel/devices/intr-notification.js";
import { KERN_INVALID_ARGUMENT, MACH_MSG_SUCCESS } from "../../../src/kernel/kern-return.js";
import {
  mach_msg_server_once,
  MigDemux,
  polyRight,
  type SendRight,
} from "../../../src/kernel/mig/index.js";
import { readHeader, readU32 } from "../../../src/kernel/message.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_PORT_SEND,
  MACH_MSGH_BITS,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
} from "../../../src/kernel/msg-type.js";
import { AhciTestDriver, configRead32 } from "../../machine/ahci-test-driver.js";
import {
  boot,
  driverTask,
  newReceivePort,
  nextInterrupt,
  openDevice,
  until,
  type Booted,
} from "./device-helpers.js";

const LINE = 16;

describe("the irq device", () => {
  let b: Booted;
  beforeEach(async () => {
    b = await boot();
  });
  afterEach(async () => {
    await b.shutdown();
  });

  async function handler(name: string, line = LINE) {
    const { task, master } = driverTask(b, name);
    const irq = await openDevice(task, master, "irq");
    const port = await newReceivePort(task);
    const kr = await device_intr_register(
      task,
      irq,
      line,
      0,
      polyRight(port, MACH_MSG_TYPE_MAKE_SEND),
    );
    expect(kr).toEqual({ ok: true, value: {} });
    const ack = async () => {
      const r = await device_intr_ack(task, irq, polyRight(port, MACH_MSG_TYPE_MAKE_SEND));
      return r.ok ? D_SUCCESS : r.code;
    };
    return { task, master, irq, port, ack };
  }

  test("a raised IOAPIC line arrives as device_intr_notify (id 100) and stays masked until acknowledged", async () => {
    const h = await handler("driver");
    const kernelRights = b.dm.task.space.snapshot();
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(h.task, h.port)).toBe(LINE);
    expect(b.dm.irq.isMasked(LINE)).toBe(true);
    // The device drops the line and raises it again: masked, so nothing reaches the driver yet.
    b.sim.ioapic.setLevel(LINE, false);
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(h.task, h.port, 50)).toBe("timeout");
    expect(await h.ack()).toBe(D_SUCCESS);
    // Unmasked: the interrupt that came meanwhile is delivered, not lost.
    expect(await nextInterrupt(h.task, h.port)).toBe(LINE);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await h.ack()).toBe(D_SUCCESS);
    expect(b.dm.irq.isMasked(LINE)).toBe(false);
    // Acknowledging released the right each request carried: the kernel holds what it held.
    expect(b.dm.task.space.snapshot()).toEqual(kernelRights);
  });

  test("the notification is gnumach's device_intr_notification_t as a receiver sees it", async () => {
    const h = await handler("driver");
    b.sim.ioapic.setLevel(LINE, true);
    const buf = new Uint8Array(64);
    expect(await h.task.mach_msg(buf, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, 64, h.port, 2000)).toBe(
      MACH_MSG_SUCCESS,
    );
    const hdr = readHeader(buf);
    // Sent with a copy of the kernel's send right and no reply port: it arrives as the local port.
    expect(hdr).toMatchObject({
      bits: MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND),
      size: 40,
      remote: 0,
      local: h.port,
      id: 100,
    });
    expect([readU32(buf, 32), readU32(buf, 36)]).toEqual([0x10012002, LINE]);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await h.ack()).toBe(D_SUCCESS);
  });

  test("the notification is served by the generated device_notify dispatcher", async () => {
    const h = await handler("driver");
    const seen: number[] = [];
    const demux = new MigDemux(
      device_intr_notify_server({
        do_device_intr_notify: (_port, id, info) => {
          expect(info.header.id).toBe(DEVICE_INTR_NOTIFY);
          seen.push(id);
          return D_SUCCESS;
        },
      }),
    );
    b.sim.ioapic.setLevel(LINE, true);
    expect(await mach_msg_server_once(h.task, demux, h.port, 2000)).toBe(MACH_MSG_SUCCESS);
    expect(seen).toEqual([LINE]);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await h.ack()).toBe(D_SUCCESS);
  });

  test("an acknowledgement with nothing pending is D_INVALID_OPERATION", async () => {
    const h = await handler("driver");
    expect(await h.ack()).toBe(D_INVALID_OPERATION);
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(h.task, h.port)).toBe(LINE);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await h.ack()).toBe(D_SUCCESS);
    expect(await h.ack()).toBe(D_INVALID_OPERATION);
    // A port that never registered.
    const stranger = await newReceivePort(h.task);
    const r = await device_intr_ack(h.task, h.irq, polyRight(stranger, MACH_MSG_TYPE_MAKE_SEND));
    expect(r).toEqual({ ok: false, code: KERN_INVALID_ARGUMENT });
  });

  test("a shared line: every handler is notified and the line unmasks after the last acknowledgement", async () => {
    const a = await handler("a");
    const c = await handler("c");
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(a.task, a.port)).toBe(LINE);
    expect(await nextInterrupt(c.task, c.port)).toBe(LINE);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await a.ack()).toBe(D_SUCCESS);
    expect(b.dm.irq.isMasked(LINE)).toBe(true);
    // A fresh interrupt while c has not acknowledged: nobody hears of it yet.
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(a.task, a.port, 50)).toBe("timeout");
    expect(await c.ack()).toBe(D_SUCCESS);
    expect(await nextInterrupt(a.task, a.port)).toBe(LINE);
    expect(await nextInterrupt(c.task, c.port)).toBe(LINE);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await a.ack()).toBe(D_SUCCESS);
    expect(await c.ack()).toBe(D_SUCCESS);
    expect(b.dm.irq.isMasked(LINE)).toBe(false);
  });

  test("a handler that dies unmasks the line it held, and later interrupts reach the others", async () => {
    const a = await handler("a");
    const dying = await handler("dying");
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(a.task, a.port)).toBe(LINE);
    expect(await nextInterrupt(dying.task, dying.port)).toBe(LINE);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await a.ack()).toBe(D_SUCCESS);
    expect(b.dm.irq.isMasked(LINE)).toBe(true);
    dying.task.terminate("crashed");
    // The kernel hears of it through a dead-name notification and settles the pending interrupt.
    await until(() => !b.dm.irq.isMasked(LINE));
    expect(b.dm.irq.state(LINE)).toMatchObject({ handlers: 1 });
    b.sim.ioapic.setLevel(LINE, true);
    expect(await nextInterrupt(a.task, a.port)).toBe(LINE);
    b.sim.ioapic.setLevel(LINE, false);
    expect(await a.ack()).toBe(D_SUCCESS);
  });

  test("refusals: flags, devices other than irq, a port registered twice, unknown lines", async () => {
    const h = await handler("driver");
    const kernelRights = b.dm.task.space.snapshot();
    const p = await newReceivePort(h.task);
    const send = polyRight(p, MACH_MSG_TYPE_MAKE_SEND);
    expect(await device_intr_register(h.task, h.irq, LINE, 1, send)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    const time = await openDevice(h.task, h.master, "time");
    expect(await device_intr_register(h.task, time, LINE, 0, send)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    expect(await device_intr_ack(h.task, time, send)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    expect(await device_intr_register(h.task, h.irq, 24, 0, send)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    const again = await device_intr_register(
      h.task,
      h.irq,
      LINE,
      0,
      polyRight(h.port, MACH_MSG_TYPE_MAKE_SEND),
    );
    expect(again.ok).toBe(false);
    // No port at all.
    expect(
      await device_intr_register(h.task, h.irq, LINE, 0, polyRight(0, MACH_MSG_TYPE_COPY_SEND)),
    ).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    // The master device port is not a device.
    expect(await device_intr_register(h.task, h.master, LINE, 0, send)).toEqual({
      ok: false,
      code: D_NO_SUCH_DEVICE,
    });
    // irq has no data to read.
    expect(await device_read_inband(h.task, h.irq, 0, 0n, 4)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    // None of the refused requests left a right behind in the kernel: only the one handler's.
    expect(b.dm.irq.keys()).toHaveLength(1);
    expect(b.dm.task.space.snapshot()).toEqual(kernelRights);
  });
});

describe("the irq device and an isolated driver", () => {
  let b: Booted;
  beforeEach(async () => {
    b = await boot();
  });
  afterEach(async () => {
    await b.shutdown();
  });

  test("a driver in a worker thread registers, receives and acknowledges interrupts over RPC", async () => {
    const count = 5;
    const spawned = b.kernel.spawnTask(
      "driver",
      new URL("./irq-driver-worker.ts", import.meta.url),
      {
        prepare: (task) => ({ master: b.dm.giveMasterPort(task).name, line: LINE, count }),
      },
    );
    if (!spawned.ok) throw new Error(spawned.error);
    await until(() => b.dm.irq.state(LINE)!.handlers === 1, 20_000);
    for (let i = 1; i <= count; i++) {
      // An edge: the line is low again before the driver acknowledges, so nothing is redelivered.
      b.sim.ioapic.pulse(LINE);
      await until(() => b.dm.irq.state(LINE)!.notified === i && !b.dm.irq.isMasked(LINE), 10_000);
    }
    expect(await spawned.handle.exited).toEqual({ reason: "exited" });
    // The driver's exit destroyed its port: the kernel drops the handler on the dead-name notification.
    await until(() => b.dm.irq.state(LINE)!.handlers === 0);
  }, 30_000);
});

describe("the irq device with a real AHCI interrupt", () => {
  let b: Booted;
  beforeEach(async () => {
    b = await boot();
  });
  afterEach(async () => {
    await b.shutdown();
  });

  test("an IDENTIFY completion interrupts on the AHCI's line; clearing PxIS and acknowledging ends it", async () => {
    const d = new AhciTestDriver(b.sim);
    await d.init();
    // The interrupt line register the firmware filled in (config offset 0x3c) names the GSI.
    const line = (await configRead32(b.sim, 31, 2, 0x3c)) & 0xff;
    expect(line).toBeGreaterThanOrEqual(16);
    const { task, master } = driverTask(b, "ahcisata");
    const irq: SendRight = await openDevice(task, master, "irq");
    const port = await newReceivePort(task);
    expect(
      (await device_intr_register(task, irq, line, 0, polyRight(port, MACH_MSG_TYPE_MAKE_SEND))).ok,
    ).toBe(true);
    await d.startPort(0);
    // Clear what link-up left pending, so the next interrupt is the command's.
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 0xffffffff);
    while ((await nextInterrupt(task, port, 20)) !== "timeout") {
      expect((await device_intr_ack(task, irq, polyRight(port, MACH_MSG_TYPE_MAKE_SEND))).ok).toBe(
        true,
      );
    }
    const buf = await b.sim.allocDma(512);
    await d.build(0, 0, { command: 0xec }, [{ addr: buf, length: 512, interrupt: true }]);
    await d.issue(0, 1);
    expect(await nextInterrupt(task, port)).toBe(line);
    expect(b.dm.irq.isMasked(line)).toBe(true);
    const pxis = await d.pr(0, 0x10);
    expect(pxis).not.toBe(0);
    // The driver's interrupt routine: clear the port's and the HBA's status, then acknowledge.
    await d.pw(0, 0x10, pxis);
    await d.w(0x08, 1);
    expect((await device_intr_ack(task, irq, polyRight(port, MACH_MSG_TYPE_MAKE_SEND))).ok).toBe(
      true,
    );
    expect(b.dm.irq.isMasked(line)).toBe(false);
    // The line is quiet now: the acknowledgement's end of interrupt did not deliver it again.
    expect(await nextInterrupt(task, port, 50)).toBe("timeout");
    const identify = await b.sim.memRead(buf, 512);
    expect(identify.some((x) => x !== 0)).toBe(true);
  });

  test("acknowledging while the AHCI still asserts its line delivers the interrupt again", async () => {
    const d = new AhciTestDriver(b.sim);
    await d.init();
    const line = (await configRead32(b.sim, 31, 2, 0x3c)) & 0xff;
    const { task, master } = driverTask(b, "ahcisata");
    const irq = await openDevice(task, master, "irq");
    const port = await newReceivePort(task);
    const send = polyRight(port, MACH_MSG_TYPE_MAKE_SEND);
    expect((await device_intr_register(task, irq, line, 0, send)).ok).toBe(true);
    await d.startPort(0);
    const buf = await b.sim.allocDma(512);
    await d.build(0, 0, { command: 0xec }, [{ addr: buf, length: 512, interrupt: true }]);
    await d.issue(0, 1);
    expect(await nextInterrupt(task, port)).toBe(line);
    expect(b.sim.ioapic.isAsserted(line)).toBe(true);
    // Acknowledge without clearing the status: a level interrupt is not lost, it comes again.
    expect((await device_intr_ack(task, irq, send)).ok).toBe(true);
    expect(await nextInterrupt(task, port)).toBe(line);
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 0xffffffff);
    expect((await device_intr_ack(task, irq, send)).ok).toBe(true);
    expect(await nextInterrupt(task, port, 50)).toBe("timeout");
  });
});
