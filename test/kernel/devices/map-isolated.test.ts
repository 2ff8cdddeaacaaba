// vm_map of what device_map returns, from isolated (worker) tasks as from in-thread ones: the time
// page shared and never torn, the BIOS area shared, the IOAPIC's registers through the kernel.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { device_map } from "../../../generated/device.js";
import {
  D_INVALID_OPERATION,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "../../../src/kernel/devices/device-codes.js";
import { TimePageReader } from "../../../src/kernel/devices/time-page.js";
import type { IsolatedTask } from "../../../src/kernel/isolated-task.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
} from "../../../src/kernel/kern-return.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../../src/kernel/msg-type.js";
import type { Task } from "../../../src/kernel/task.js";
import { RSDP_ADDRESS } from "../../../src/machine/acpi-tables.js";
import { IOAPIC_BASE } from "../../../src/machine/interrupt-controller.js";
import { expectBaseline, recv, snapshotAll } from "../kernel-helpers.js";
import {
  BIOS_SIZE,
  BIOS_START,
  nanosFor,
  type MapperArgs,
  type MapperMode,
} from "../fixtures/device-mapper.js";
import { boot, driverTask, newReceivePort, openDevice, type Booted } from "./device-helpers.js";

const R = VM_PROT_READ;
const RW = VM_PROT_READ | VM_PROT_WRITE;
const WORKER = new URL("../fixtures/device-mapper.ts", import.meta.url);

/** A clock whose nanoseconds follow from its seconds: a torn read cannot pass for a real one. */
function linkedClock() {
  let k = 1_700_000_000n;
  return () => {
    k++;
    return { seconds: k, nanoseconds: nanosFor(k) };
  };
}

let b: Booted;
let observer: Task;
let reportPort: number;
const handles: IsolatedTask[] = [];

beforeEach(async () => {
  b = await boot({ clock: linkedClock(), tickMs: 1 });
  observer = b.kernel.createTask("observer");
  reportPort = await newReceivePort(observer);
});

afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.kill()));
  await b.shutdown();
});

function spawnMapper(mode: MapperMode, extra: Partial<MapperArgs> = {}): IsolatedTask {
  const r = b.kernel.spawnTask(`mapper-${mode}`, WORKER, {
    prepare: (t): MapperArgs => ({
      mode,
      master: b.dm.giveMasterPort(t).name,
      report: b.kernel.giveRight(observer, reportPort, MACH_MSG_TYPE_MAKE_SEND, t).name,
      ...extra,
    }),
  });
  if (!r.ok) throw new Error(r.error);
  handles.push(r.handle);
  return r.handle;
}

/** The next report: its id and int32 values. */
async function report(): Promise<{ id: number; values: number[] }> {
  const m = await recv(observer, reportPort, { timeout: 20_000 });
  expect(m.code).toBe(0);
  return decode(m);
}

function decode(m: Awaited<ReturnType<typeof recv>>): { id: number; values: number[] } {
  const view = new DataView(m.buf.buffer);
  const values: number[] = [];
  for (let off = 36; off + 4 <= m.header.size; off += 8) values.push(view.getInt32(off, true));
  return { id: m.header.id, values };
}

/** An in-thread driver's device_map + vm_map of the same range. */
async function mapInThread(name: "time" | "mem", prot: number, start: number, size: number) {
  const { task, master } = driverTask(b, "in-thread");
  const dev = await openDevice(task, master, name);
  const d = await device_map(task, dev, prot, BigInt(start), BigInt(size), 0);
  if (!d.ok) throw new Error(`device_map: ${d.code}`);
  const v = await task.vm_map(d.value.pager, start, size, prot);
  expect(v.kr).toBe(KERN_SUCCESS);
  return { task, mapping: v.mapping! };
}

describe("vm_map of the time device", () => {
  test("an isolated task reads a time that advances and is never torn", async () => {
    const h = spawnMapper("time", { distinct: 200 });
    const ready = await report();
    expect(ready).toEqual({ id: 1, values: [1] });
    // The kernel publishes as fast as it can while the worker reads (the page's only writer),
    // looking for the worker's result between bursts.
    let done: Awaited<ReturnType<typeof recv>> | undefined;
    for (const end = Date.now() + 20_000; !done && Date.now() < end;) {
      const burst = Date.now() + 20;
      while (Date.now() < burst) b.dm.time.tick();
      // Let the kernel's event loop serve the worker's system calls.
      await new Promise((r) => setImmediate(r));
      const m = await recv(observer, reportPort, { timeout: 0 });
      if (m.code === 0) done = m;
    }
    expect(done, "the worker's result").toBeDefined();
    const { id, values } = decode(done!);
    const [reads, torn, backwards, distinct, stalls] = values as number[];
    expect(id).toBe(2);
    // The reader checks in batches of 1000 reads: a fast writer can show it 200 times in one.
    expect(reads).toBeGreaterThanOrEqual(1000);
    expect(torn).toBe(0);
    expect(backwards).toBe(0);
    expect(distinct).toBeGreaterThanOrEqual(200);
    // The writer here never stops for long: the reader never had to give up.
    expect(stalls).toBe(0);
    expect(await h.exited).toEqual({ reason: "exited" });
    expect(b.kernel.mappings.count(h.task)).toBe(0);
  }, 30_000);

  test("an in-thread task maps the same page, read-only", async () => {
    const { task, mapping } = await mapInThread("time", R, 0, 4096);
    expect(mapping.shared).toBe(true);
    b.dm.time.tick();
    const t = new TimePageReader(mapping.buffer!).readTime()!;
    expect(t.nanoseconds).toBe(nanosFor(t.seconds));
    const lo = await mapping.read32(16);
    expect(lo).toEqual({ ok: true, value: Number(t.seconds & 0xffff_ffffn) });
    expect(await mapping.write32(16, 0)).toBe(KERN_PROTECTION_FAILURE);
    expect(b.kernel.mappings.count(task)).toBe(1);
    expect(await mapping.unmap()).toBe(KERN_SUCCESS);
    expect(await mapping.read32(16)).toEqual({ ok: false, code: KERN_INVALID_ADDRESS });
    expect(await mapping.unmap()).toBe(KERN_INVALID_ADDRESS);
    expect(b.kernel.mappings.count(task)).toBe(0);
  });
});

describe("vm_map of the mem device", () => {
  test("an isolated task finds the RSDP in the shared BIOS area", async () => {
    const h = spawnMapper("bios");
    const { id, values } = await report();
    expect(id).toBe(1);
    const [shared, address, first, signature] = values;
    expect(shared).toBe(1);
    expect(address).toBe(RSDP_ADDRESS);
    expect(first).toBe(0x20445352); // "RSD " little-endian
    expect(signature).toBe(1);
    expect(await h.exited).toEqual({ reason: "exited" });
    // What the worker saw is the machine's memory, as an in-thread mapping shows it.
    const { mapping } = await mapInThread("mem", R, BIOS_START, BIOS_SIZE);
    const at = RSDP_ADDRESS - BIOS_START;
    expect(new TextDecoder().decode(mapping.bytes!.subarray(at, at + 8))).toBe("RSD PTR ");
    expect(mapping.bytes!.subarray(at, at + 20)).toEqual(await b.sim.memRead(RSDP_ADDRESS, 20));
  }, 30_000);

  test("an isolated task reads the IOAPIC version register through the kernel", async () => {
    await b.sim.mmioWrite(IOAPIC_BASE, 4, 0x01);
    const simVersion = await b.sim.mmioRead(IOAPIC_BASE + 0x10, 4);
    const { mapping } = await mapInThread("mem", RW, IOAPIC_BASE, 0x1000);
    expect(mapping.bytes).toBeUndefined();
    await b.sim.mmioWrite(IOAPIC_BASE, 4, 0x00); // the worker must select the register itself
    expect(await mapping.write32(0, 0x01)).toBe(KERN_SUCCESS);
    const inThread = await mapping.read32(0x10);
    expect(inThread).toEqual({ ok: true, value: simVersion });
    await b.sim.mmioWrite(IOAPIC_BASE, 4, 0x00);

    const h = spawnMapper("ioapic");
    const { id, values } = await report();
    expect(id).toBe(1);
    const [shared, sel, version, unaligned, outside, unmapped, after] = values;
    expect(shared).toBe(0);
    expect(sel).toBe(KERN_SUCCESS);
    expect(version! >>> 0).toBe(simVersion);
    expect(unaligned).toBe(KERN_INVALID_ADDRESS);
    expect(outside).toBe(KERN_INVALID_ADDRESS);
    expect(unmapped).toBe(KERN_SUCCESS);
    expect(after).toBe(KERN_INVALID_ADDRESS);
    expect(await h.exited).toEqual({ reason: "exited" });
  }, 30_000);

  test("RAM is still refused, and vm_map keeps inside what device_map granted", async () => {
    const h = spawnMapper("refusals");
    const { id, values } = await report();
    expect(id).toBe(1);
    expect(values).toEqual([
      D_INVALID_OPERATION, // device_map of RAM above 1 MiB
      D_INVALID_OPERATION, // device_map of conventional memory
      KERN_INVALID_ARGUMENT, // vm_map past the granted range
      KERN_INVALID_ARGUMENT, // vm_map before it
      KERN_PROTECTION_FAILURE, // vm_map asking for write on a read-only memory object
      KERN_INVALID_ARGUMENT, // vm_map of a port that is no memory object
      KERN_INVALID_ARGUMENT, // vm_map of zero bytes
      KERN_PROTECTION_FAILURE, // write8 through a read-only mapping
    ]);
    expect(await h.exited).toEqual({ reason: "exited" });
  }, 30_000);
});

describe("a worker killed while holding mappings", () => {
  test("leaks no mapping, right or port", async () => {
    // The memory objects outlive their users (the kernel caches them): create them first.
    const pre = [
      await mapInThread("time", R, 0, 4096),
      await mapInThread("mem", R, BIOS_START, BIOS_SIZE),
      await mapInThread("mem", RW, IOAPIC_BASE, 0x1000),
    ];
    const mappingsBefore = b.kernel.mappings.count();
    expect(mappingsBefore).toBe(3);
    const baseline = snapshotAll(b.kernel);

    const h = spawnMapper("hold");
    expect(await report()).toEqual({ id: 1, values: [3] });
    expect(b.kernel.mappings.count(h.task)).toBe(3);
    await h.kill();
    expect(await h.exited).toEqual({ reason: "killed" });
    expect(b.kernel.mappings.count(h.task)).toBe(0);
    expect(b.kernel.mappings.count()).toBe(mappingsBefore);
    expectBaseline(b.kernel, baseline);

    for (const p of pre) p.task.terminate("test over");
    expect(b.kernel.mappings.count()).toBe(0);
  }, 30_000);
});
