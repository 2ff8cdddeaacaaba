// The kernel devices on a real QEMU q35 PC: "mem" maps SeaBIOS's BIOS area (the RSDP is found there)
// and refuses RAM, and "irq" delivers the ICH9 AHCI's interrupt, intercepted at the IOAPIC.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { device_intr_ack, device_intr_register, device_map } from "../../../generated/device.js";
import { D_INVALID_OPERATION, VM_PROT_READ } from "../../../src/kernel/devices/device-codes.js";
import { DeviceMaster } from "../../../src/kernel/devices/device-master.js";
import { Kernel } from "../../../src/kernel/kernel.js";
import { polyRight } from "../../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../../src/kernel/msg-type.js";
import type { QemuBackend } from "../../../src/machine/qemu/qemu-backend.js";
import { need } from "../../helpers/tools.js";
import { AhciTestDriver, configRead32 } from "../../machine/ahci-test-driver.js";
import { newReceivePort, nextInterrupt, openDevice } from "./device-helpers.js";

describe.skipIf(!need("qemu"))("kernel devices on QEMU", () => {
  let dir = "";
  let q: QemuBackend;
  let kernel: Kernel;
  let dm: DeviceMaster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsmach-qemu-dev-"));
    writeFileSync(join(dir, "disk.img"), new Uint8Array(1 << 20));
    const { QemuBackend } = await import("../../../src/machine/qemu/qemu-backend.js");
    q = await QemuBackend.start({ disk: join(dir, "disk.img") });
    kernel = new Kernel();
    const started = await DeviceMaster.start(kernel, { backend: q });
    if (!started.ok) throw new Error(`DeviceMaster.start: ${started.code}`);
    dm = started.value;
  }, 60_000);

  afterAll(async () => {
    for (const t of [...(kernel?.tasks ?? [])]) if (t !== dm?.task) t.terminate("test over");
    await dm?.close();
    await q?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function client(name: string) {
    const task = kernel.createTask(name);
    const given = dm.giveMasterPort(task);
    expect(given.kr).toBe(0);
    return { task, master: given.name as Parameters<typeof openDevice>[1] };
  }

  test("mem: the RSDP is in the BIOS area; RAM is refused", async () => {
    const { task, master } = client("acpi");
    const mem = await openDevice(task, master, "mem");
    expect(await device_map(task, mem, VM_PROT_READ, 0x100000n, 0x1000n, 0)).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    const r = await device_map(task, mem, VM_PROT_READ, 0xe0000n, 0x20000n, 0);
    if (!r.ok) throw new Error(`device_map: ${r.code}`);
    const m = dm.mapDeviceMemory(task, r.value.pager);
    if (!m.ok || m.value.kind !== "mem") throw new Error("not a mem mapping");
    const area = await m.value.mapping.read(0, 0x20000);
    if (!area.ok) throw new Error(`read: ${area.code}`);
    let found = -1;
    for (let off = 0; off + 20 <= area.value.length && found < 0; off += 16) {
      const sig = String.fromCharCode(...area.value.subarray(off, off + 8));
      if (
        sig === "RSD PTR " &&
        area.value.subarray(off, off + 20).reduce((s, x) => (s + x) & 0xff, 0) === 0
      )
        found = off;
    }
    expect(found).toBeGreaterThanOrEqual(0);
    // OEM id of SeaBIOS's tables on QEMU.
    expect(String.fromCharCode(...area.value.subarray(found + 9, found + 15))).toBe("BOCHS ");
  });

  test("irq: an IDENTIFY completion of the ICH9 AHCI arrives as device_intr_notify", async () => {
    const { task, master } = client("ahcisata");
    const d = new AhciTestDriver(q);
    await d.init();
    // ICH9: 00:1f.2's INTA goes through D31IR to a PIRQ; in APIC mode PIRQn is GSI 16+n.
    const rcba = ((await configRead32(q, 31, 0, 0xf0)) & ~0x3fff) >>> 0;
    const line = 16 + ((await q.mmioRead(rcba + 0x3140, 2)) & 0x7);
    const irq = await openDevice(task, master, "irq");
    const port = await newReceivePort(task);
    const send = polyRight(port, MACH_MSG_TYPE_MAKE_SEND);
    expect((await device_intr_register(task, irq, line, 0, send)).ok).toBe(true);
    await d.startPort(0);
    await d.pw(0, 0x10, 0xffffffff);
    await d.w(0x08, 0xffffffff);
    while ((await nextInterrupt(task, port, 50)) !== "timeout")
      expect((await device_intr_ack(task, irq, send)).ok).toBe(true);
    const buf = await q.allocDma(512);
    await d.build(0, 0, { command: 0xec }, [{ addr: buf, length: 512, interrupt: true }]);
    await d.issue(0, 1);
    expect(await nextInterrupt(task, port, 5000)).toBe(line);
    expect(dm.irq.isMasked(line)).toBe(true);
    await d.pw(0, 0x10, await d.pr(0, 0x10));
    await d.w(0x08, 1);
    expect((await device_intr_ack(task, irq, send)).ok).toBe(true);
    expect(dm.irq.isMasked(line)).toBe(false);
    expect(await nextInterrupt(task, port, 100)).toBe("timeout");
    await q.freeDma(buf);
  }, 30_000);
});
