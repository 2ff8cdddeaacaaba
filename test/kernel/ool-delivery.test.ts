// How MIG stubs hand over out-of-line byte arrays: copied (default) or mapped and given back with
// mig_deallocate, on clients and servers; dealloc replies moving the server's own region; and
// isolated tasks allocating zero-filled pool memory in place and sending it without leaks.
import { refusingDeviceServer } from "../helpers/refusing-device-server.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  device_read,
  device_read_inband,
  device_server,
  device_write,
  type DeviceServer,
} from "../../generated/device.js";
import { D_INVALID_OPERATION } from "../../src/kernel/devices/device-codes.js";
import type { IsolatedTask } from "../../src/kernel/isolated-task.js";
import { KERN_INVALID_ADDRESS, KERN_SUCCESS } from "../../src/kernel/kern-return.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { parseBody, readPointer, type BodyItem } from "../../src/kernel/message.js";
import {
  asSendRight,
  mach_msg_server,
  mig_deallocate,
  MigDemux,
  oolDelivery,
  setOolDelivery,
  type SendRight,
} from "../../src/kernel/mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MOVE_RECEIVE,
} from "../../src/kernel/msg-type.js";
import { POOL_VM_BASE, PoolVm } from "../../src/kernel/pool-vm.js";
import { Task } from "../../src/kernel/task.js";
import type { OolData } from "../../src/kernel/vm-map.js";
import { msg, newPort, recv, send, u32At } from "./kernel-helpers.js";
import { until } from "./devices/device-helpers.js";
import { HELD_PAGES, pattern, SENT_BYTES } from "./fixtures/ool-pool-server.js";

/** `actual` holds exactly `expected` (compared at memcmp speed, the first difference reported). */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.length).toBe(expected.length);
  if (Buffer.compare(actual!, expected) === 0) return;
  const at = actual!.findIndex((x, i) => x !== expected[i]);
  expect(actual![at], `byte ${at}`).toBe(expected[at]);
}

/** Every routine refused unless `impl` supplies it. */
const fakeDevice = refusingDeviceServer;

interface Setup {
  kernel: Kernel;
  server: Task;
  client: Task;
  dev: SendRight;
  /** Regions the out-of-line data received by `client` landed in, in order. */
  received: Uint8Array[];
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

/** An in-thread device server (`impl`) and a client holding a send right to its device port. */
async function setup(
  impl: (server: Task) => Partial<DeviceServer>,
  /** Give the client its memory in a shared pool of this many pages (as isolated tasks have). */
  poolPages?: number,
): Promise<Setup> {
  const kernel = new Kernel(poolPages ? { poolBytes: poolPages * 4096 } : {});
  const server = kernel.createTask("disk");
  const client = poolPages
    ? new Task("client", kernel.ports, new PoolVm(kernel.sharedPool(), 77), kernel.mappings)
    : kernel.createTask("client");
  if (poolPages) {
    kernel.tasks.add(client);
    client.onDeath(() => kernel.tasks.delete(client));
  }
  const port = await newPort(server);
  const dev = asSendRight(kernel.giveRight(server, port, MACH_MSG_TYPE_MAKE_SEND, client).name);
  const loop = mach_msg_server(server, new MigDemux(device_server(fakeDevice(impl(server)))), port);
  const received: Uint8Array[] = [];
  const mapReceived = client.vm.mapReceived.bind(client.vm);
  vi.spyOn(client.vm, "mapReceived").mockImplementation((d: OolData) => {
    received.push(d.bytes);
    return mapReceived(d);
  });
  stops.push(async () => {
    server.terminate("test over");
    await loop;
    client.terminate("test over");
    expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
  });
  return { kernel, server, client, dev, received };
}

/** A server whose device_read answers `bytes_wanted` bytes of pattern(…, seed) as a plain array. */
const plainReader =
  (seed = 3) =>
  () => ({
    ds_device_read: (_d: unknown, _r: unknown, _m: number, _rec: bigint, n: number) => ({
      data: pattern(n, seed),
    }),
  });

async function read(s: Setup, n: number): Promise<Uint8Array> {
  const r = await device_read(s.client, s.dev, 0, 0n, n);
  expect(r.ok, r.ok ? "" : `device_read: ${r.code}`).toBe(true);
  return r.ok ? r.value.data : new Uint8Array(0);
}

describe("copy delivery (the default)", () => {
  it("a received out-of-line array is a fresh copy and the received region is freed at once", async () => {
    const s = await setup(plainReader());
    expect(oolDelivery(s.client)).toBe("copy");
    const clientBase = s.client.vm.regionCount;
    const serverBase = s.server.vm.regionCount;
    const data = await read(s, 20_000);
    expectBytes(data, pattern(20_000, 3));
    expect(s.received).toHaveLength(1);
    const region = s.received[0]!;
    expect(data.buffer).not.toBe(region.buffer);
    expect(s.client.vm_address(data)).toBeUndefined();
    expect(s.client.vm.regionCount).toBe(clientBase);
    expect(s.server.vm.regionCount).toBe(serverBase);
    // The copy is the caller's own: a mapped-array give-back does not apply to it.
    expect(await mig_deallocate(s.client, data)).toBe(KERN_INVALID_ADDRESS);
  });

  it("a server's request array is a copy too, gone from its memory before the handler runs", async () => {
    let seen: { data: Uint8Array; address: number | undefined; regions: number } | undefined;
    const s = await setup((server) => ({
      ds_device_write: (_d, _r, _m, _rec, data) => {
        seen = { data, address: server.vm_address(data), regions: server.vm.regionCount };
        return { bytes_written: data.length };
      },
    }));
    const serverBase = s.server.vm.regionCount;
    const src = pattern(30_000, 5);
    const r = await device_write(s.client, s.dev, 0, 0n, src);
    expect(r).toEqual({ ok: true, value: { bytes_written: 30_000 } });
    expectBytes(seen!.data, src);
    expect(seen!.address).toBeUndefined();
    expect(seen!.regions).toBe(serverBase);
    expect(s.server.vm.regionCount).toBe(serverBase);
    expect(await mig_deallocate(s.server, seen!.data)).toBe(KERN_INVALID_ADDRESS);
  });
});

describe("map delivery on a client", () => {
  it("the array is the received region itself until mig_deallocate gives it back", async () => {
    const s = await setup(plainReader(9));
    setOolDelivery(s.client, "map");
    expect(oolDelivery(s.client)).toBe("map");
    expect(oolDelivery(s.server)).toBe("copy");
    const base = s.client.vm.regionCount;
    const data = await read(s, 10_000);
    expectBytes(data, pattern(10_000, 9));
    const region = s.received[0]!;
    expect(data.buffer).toBe(region.buffer);
    expect(data.byteOffset).toBe(region.byteOffset);
    const address = s.client.vm_address(data);
    expect(address).toBeDefined();
    expectBytes(s.client.vm_region(address!)!.subarray(0, 10_000), data);
    expect(s.client.vm.regionCount).toBe(base + 1);
    // Not the caller's to give back: another task (even one with a region at that very
    // address), an unrelated array, a copy, a sub-view.
    expect(await mig_deallocate(s.server, data)).toBe(KERN_INVALID_ADDRESS);
    const other = s.kernel.createTask("other");
    expect((await other.vm_allocate(16)).address).toBe(address);
    expect(await mig_deallocate(other, data)).toBe(KERN_INVALID_ADDRESS);
    expect(other.vm.regionCount).toBe(1);
    other.terminate("done");
    expect(await mig_deallocate(s.client, new Uint8Array(10_000))).toBe(KERN_INVALID_ADDRESS);
    expect(await mig_deallocate(s.client, data.slice())).toBe(KERN_INVALID_ADDRESS);
    expect(await mig_deallocate(s.client, data.subarray(0, 100))).toBe(KERN_INVALID_ADDRESS);
    expect(s.client.vm.regionCount).toBe(base + 1);
    expect(await mig_deallocate(s.client, data)).toBe(KERN_SUCCESS);
    expect(s.client.vm.regionCount).toBe(base);
    expect(s.client.vm_region(address!)).toBeUndefined();
    expect(await mig_deallocate(s.client, data)).toBe(KERN_INVALID_ADDRESS);
    expect(s.client.vm.regionCount).toBe(base);
  });

  it("several arrays are held at once and given back one by one; copy mode returns after", async () => {
    const s = await setup(plainReader(11));
    setOolDelivery(s.client, "map");
    const base = s.client.vm.regionCount;
    const a = await read(s, 5000);
    const b = await read(s, 70_000);
    const c = await read(s, 1);
    expect(s.client.vm.regionCount).toBe(base + 3);
    expect([a.length, b.length, c.length]).toEqual([5000, 70_000, 1]);
    expectBytes(b, pattern(70_000, 11));
    expect(await mig_deallocate(s.client, b)).toBe(KERN_SUCCESS);
    expectBytes(a, pattern(5000, 11));
    expect(await mig_deallocate(s.client, a)).toBe(KERN_SUCCESS);
    expect(await mig_deallocate(s.client, c)).toBe(KERN_SUCCESS);
    expect(s.client.vm.regionCount).toBe(base);
    setOolDelivery(s.client, "copy");
    const d = await read(s, 5000);
    expect(s.client.vm.regionCount).toBe(base);
    expect(s.client.vm_address(d)).toBeUndefined();
    expect(await mig_deallocate(s.client, d)).toBe(KERN_INVALID_ADDRESS);
  });

  it("a second give-back cannot free the region that reuses the address (pool memory)", async () => {
    // A 4-page pool: the region a 10000-byte array arrived in is the one allocated next.
    const s = await setup(plainReader(6), 4);
    setOolDelivery(s.client, "map");
    const data = await read(s, 10_000);
    expectBytes(data, pattern(10_000, 6));
    const address = s.client.vm_address(data);
    expect(address).toBeGreaterThanOrEqual(POOL_VM_BASE);
    expect(s.client.vm.regionCount).toBe(1);
    expect(await mig_deallocate(s.client, data)).toBe(KERN_SUCCESS);
    expect(s.client.vm.regionCount).toBe(0);
    const again = await s.client.vm_allocate(10_000);
    expect(again).toEqual({ kr: KERN_SUCCESS, address });
    expect(await mig_deallocate(s.client, data)).toBe(KERN_INVALID_ADDRESS);
    expect(s.client.vm_region(address!)).toBeDefined();
    expect(await s.client.vm_deallocate(address!)).toBe(KERN_SUCCESS);
    expect(s.kernel.sharedPool().stats().freePages).toBe(4);
  });

  it("arrays that come in-line are plain arrays even in map mode", async () => {
    const s = await setup(() => ({
      ds_device_read_inband: (_d, _r, _m, _rec, n) => ({ data: pattern(n, 2) }),
    }));
    setOolDelivery(s.client, "map");
    const base = s.client.vm.regionCount;
    const r = await device_read_inband(s.client, s.dev, 0, 0n, 100);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expectBytes(r.value.data, pattern(100, 2));
    expect(s.client.vm.regionCount).toBe(base);
    expect(await mig_deallocate(s.client, r.value.data)).toBe(KERN_INVALID_ADDRESS);
  });
});

describe("map delivery on a server", () => {
  it("the handler's request array is the received region, valid after it returns until given back", async () => {
    const kept: Uint8Array[] = [];
    let addressInHandler: number | undefined;
    const s = await setup((server) => ({
      ds_device_write: (_d, _r, _m, _rec, data) => {
        kept.push(data);
        addressInHandler = server.vm_address(data);
        return { bytes_written: data.length };
      },
    }));
    setOolDelivery(s.server, "map");
    const serverBase = s.server.vm.regionCount;
    const clientBase = s.client.vm.regionCount;
    const src = pattern(50_000, 13);
    expect(await device_write(s.client, s.dev, 0, 0n, src)).toEqual({
      ok: true,
      value: { bytes_written: 50_000 },
    });
    src.fill(0); // the request was copied at send time
    const data = kept[0]!;
    expect(addressInHandler).toBeDefined();
    expect(s.server.vm_address(data)).toBe(addressInHandler);
    expect(s.server.vm.regionCount).toBe(serverBase + 1);
    expectBytes(data, pattern(50_000, 13));
    expect(s.client.vm.regionCount).toBe(clientBase);
    // A second request while the first is still held: two regions.
    expect((await device_write(s.client, s.dev, 0, 1n, pattern(9000, 4))).ok).toBe(true);
    expect(s.server.vm.regionCount).toBe(serverBase + 2);
    expect(await mig_deallocate(s.client, data)).toBe(KERN_INVALID_ADDRESS);
    expect(await mig_deallocate(s.server, data)).toBe(KERN_SUCCESS);
    expect(await mig_deallocate(s.server, data)).toBe(KERN_INVALID_ADDRESS);
    expectBytes(kept[1], pattern(9000, 4));
    expect(await mig_deallocate(s.server, kept[1]!)).toBe(KERN_SUCCESS);
    expect(s.server.vm.regionCount).toBe(serverBase);
    expect(s.server.vm_region(addressInHandler!)).toBeUndefined();
  });
  it("a handler that fails gives up its array: the server loop frees it, as GNU's mach_msg_server does", async () => {
    const kept: Uint8Array[] = [];
    const s = await setup(() => ({
      ds_device_write: (_d, _r, _m, _rec, data) => {
        kept.push(data);
        return D_INVALID_OPERATION;
      },
    }));
    setOolDelivery(s.server, "map");
    const base = s.server.vm.regionCount;
    expect(await device_write(s.client, s.dev, 0, 0n, pattern(6000, 8))).toEqual({
      ok: false,
      code: D_INVALID_OPERATION,
    });
    expect(s.server.vm.regionCount).toBe(base);
    expect(await mig_deallocate(s.server, kept[0]!)).toBe(KERN_INVALID_ADDRESS);
  });
  it("a handler that gives its array back and then fails is not freed twice", async () => {
    const s = await setup((server) => ({
      ds_device_write: async (_d, _r, _m, _rec, data) => {
        expect(await mig_deallocate(server, data)).toBe(KERN_SUCCESS);
        return D_INVALID_OPERATION;
      },
    }));
    setOolDelivery(s.server, "map");
    const base = s.server.vm.regionCount;
    // A region the server holds of its own, allocated where the freed one was: it must survive.
    expect((await device_write(s.client, s.dev, 0, 0n, pattern(6000, 8))).ok).toBe(false);
    const own = await s.server.vm_allocate(6000);
    expect(own.kr).toBe(KERN_SUCCESS);
    expect((await device_write(s.client, s.dev, 0, 0n, pattern(6000, 9))).ok).toBe(false);
    expect(s.server.vm_region(own.address)).toBeDefined();
    expect(s.server.vm.regionCount).toBe(base + 1);
    expect(await s.server.vm_deallocate(own.address)).toBe(KERN_SUCCESS);
  });
});

describe("a dealloc reply field holding the server's own region", () => {
  /** A server whose device_read fills a vm_allocate'd region in place and returns a view of it. */
  function regionReader(log: { address: number; region: Uint8Array }[], offset = 0) {
    return (server: Task): Partial<DeviceServer> => ({
      ds_device_read: async (_d, _r, _m, recnum, n) => {
        const a = await server.vm_allocate(n + offset + 4096);
        if (a.kr !== KERN_SUCCESS) return a.kr;
        const region = server.vm_region(a.address)!;
        region.set(pattern(n, Number(recnum)), offset);
        log.push({ address: a.address, region });
        return { data: region.subarray(offset, offset + n) };
      },
    });
  }

  it("is moved to the client: no copy, and the server no longer owns it", async () => {
    const log: { address: number; region: Uint8Array }[] = [];
    const s = await setup(regionReader(log));
    const serverBase = s.server.vm.regionCount;
    const clientBase = s.client.vm.regionCount;
    const copied = await read(s, 12_345);
    expectBytes(copied, pattern(12_345, 0));
    expect(s.server.vm.regionCount).toBe(serverBase);
    expect(s.server.vm_region(log[0]!.address)).toBeUndefined();
    expect(await s.server.vm_deallocate(log[0]!.address)).toBe(KERN_INVALID_ADDRESS);
    expect(s.client.vm.regionCount).toBe(clientBase);
    // With map delivery the client's array is the very memory the handler filled.
    setOolDelivery(s.client, "map");
    const r = await device_read(s.client, s.dev, 0, 7n, 40_000);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { address, region } = log[1]!;
    expectBytes(r.value.data, pattern(40_000, 7));
    expect(r.value.data.buffer).toBe(region.buffer);
    expect(r.value.data.byteOffset).toBe(region.byteOffset);
    expect(s.server.vm.regionCount).toBe(serverBase);
    expect(s.server.vm_region(address)).toBeUndefined();
    expect(await s.server.vm_deallocate(address)).toBe(KERN_INVALID_ADDRESS);
    expect(s.client.vm.regionCount).toBe(clientBase + 1);
    expect(await mig_deallocate(s.client, r.value.data)).toBe(KERN_SUCCESS);
    expect(s.client.vm.regionCount).toBe(clientBase);
  });

  it("is freed, not leaked, when the reply cannot go (the client died meanwhile)", async () => {
    const log: { address: number; region: Uint8Array }[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = await setup((server) => {
      const reader = regionReader(log)(server);
      return {
        ds_device_read: async (...a: Parameters<DeviceServer["ds_device_read"]>) => {
          const out = await reader.ds_device_read!(...a);
          await gate;
          return out;
        },
      };
    });
    const base = s.server.vm.regionCount;
    const pending = device_read(s.client, s.dev, 0, 0n, 10_000);
    await until(() => log.length === 1);
    expect(s.server.vm.regionCount).toBe(base + 1);
    s.client.terminate("gone");
    release();
    expect((await pending).ok).toBe(false);
    await until(() => s.server.vm.regionCount === base);
    expect(s.server.vm_region(log[0]!.address)).toBeUndefined();
  });

  it("a plain array is copied into fresh memory, and the server's temporary region is freed", async () => {
    const returned: Uint8Array[] = [];
    const s = await setup(() => ({
      ds_device_read: (_d, _r, _m, _rec, n) => {
        const data = pattern(n, 21);
        returned.push(data);
        return { data };
      },
    }));
    setOolDelivery(s.client, "map");
    const serverBase = s.server.vm.regionCount;
    const data = await read(s, 8192);
    expectBytes(data, pattern(8192, 21));
    expect(data.buffer).not.toBe(returned[0]!.buffer);
    expect(s.server.vm.regionCount).toBe(serverBase);
    expect(await mig_deallocate(s.client, data)).toBe(KERN_SUCCESS);
  });

  it("a view that does not start the region is copied; the region stays the server's", async () => {
    const log: { address: number; region: Uint8Array }[] = [];
    const s = await setup(regionReader(log, 16));
    setOolDelivery(s.client, "map");
    const serverBase = s.server.vm.regionCount;
    const data = await read(s, 3000);
    expectBytes(data, pattern(3000, 0));
    expect(data.buffer).not.toBe(log[0]!.region.buffer);
    expect(s.server.vm.regionCount).toBe(serverBase + 1);
    expect(await s.server.vm_deallocate(log[0]!.address)).toBe(KERN_SUCCESS);
    expect(s.server.vm.regionCount).toBe(serverBase);
    expect(await mig_deallocate(s.client, data)).toBe(KERN_SUCCESS);
  });
});

describe("an isolated task's pool memory", () => {
  const handles: IsolatedTask[] = [];
  /** From the first test: whether the worker's vm_region still gave the region it replied with. */
  let regionVisibleAfterMove: number | undefined;
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.kill()));
  });

  it("is zero-filled even on dirty pages, goes out of line (copied and moved) and leaks nothing", async () => {
    const pageSize = 4096;
    const poolPages = 32;
    // A small pool: two allocations of 20 pages must share pages.
    const kernel = new Kernel({ poolBytes: poolPages * pageSize });
    const boot = kernel.createTask("boot");
    const report = await newPort(boot);
    const port = await newPort(boot);
    const dev = asSendRight(kernel.giveRight(boot, port, MACH_MSG_TYPE_MAKE_SEND, boot).name);
    const pool = kernel.sharedPool();
    expect(pool.stats().freePages).toBe(poolPages);
    const size = 20 * pageSize;
    const r = kernel.spawnTask(
      "pool-server",
      new URL("./fixtures/ool-pool-server.ts", import.meta.url),
      {
        prepare: (t) => ({
          report: kernel.giveRight(boot, report, MACH_MSG_TYPE_MAKE_SEND, t).name,
          device: kernel.giveRight(boot, port, MACH_MSG_TYPE_MOVE_RECEIVE, t).name,
          size,
        }),
      },
    );
    if (!r.ok) throw new Error(r.error);
    handles.push(r.handle);

    // 600: the second allocation lies over the dirtied first, and is zero (part sent out of line).
    const m1 = await recv(boot, report, { timeout: 10_000 });
    expect(m1.code).toBe(0);
    expect(m1.header.id).toBe(600);
    const body = parseBody(m1.buf, m1.header.size);
    if (!body.ok) throw new Error("report 600: bad body");
    const [freed, firstLo, firstHi, firstSize, secondLo, secondHi, secondSize, dirty, zero] = ints(
      m1.buf,
      body.items,
    );
    expect(freed).toBe(KERN_SUCCESS);
    const first = firstLo! + firstHi! * 2 ** 32;
    const second = secondLo! + secondHi! * 2 ** 32;
    expect(first).toBeGreaterThanOrEqual(POOL_VM_BASE);
    const overlap = Math.min(first + firstSize!, second + secondSize!) - Math.max(first, second);
    expect(overlap).toBeGreaterThan(0);
    expect(secondSize).toBeGreaterThanOrEqual(size);
    expect(dirty).toBe(1);
    expect(zero).toBe(1);
    const item = body.items.find((i) => !i.inline)!;
    const sent = ool(boot, m1.buf, item);
    expect(sent.length).toBe(SENT_BYTES);
    expect(sent.every((x) => x === 0)).toBe(true);
    expect(await boot.vm_deallocate(readPointer(m1.buf, item.dataOffset))).toBe(KERN_SUCCESS);

    // 601: the worker deallocated what it sent (the copy had gone).
    const m2 = await recv(boot, report, { timeout: 10_000 });
    expect(m2.header.id).toBe(601);
    const b2 = parseBody(m2.buf, m2.header.size);
    if (!b2.ok) throw new Error("report 601: bad body");
    expect(ints(m2.buf, b2.items)).toEqual([KERN_SUCCESS]);

    // 3: a device_read answered with a region the worker filled in place: moved, not copied.
    setOolDelivery(boot, "map");
    const read = await device_read(boot, dev, 0, 5n, 30_000);
    expect(read.ok, read.ok ? "" : `device_read: ${read.code}`).toBe(true);
    if (!read.ok) return;
    expectBytes(read.value.data, pattern(30_000, 5));
    const m3 = await recv(boot, report, { timeout: 10_000 });
    expect(m3.header.id).toBe(602);
    const b3 = parseBody(m3.buf, m3.header.size);
    if (!b3.ok) throw new Error("report 602: bad body");
    const [movedLo, movedHi, deallocated, stillMine, visible] = ints(m3.buf, b3.items);
    regionVisibleAfterMove = visible;
    const movedAt = movedLo! + movedHi! * 2 ** 32;
    expect(read.value.data.buffer).toBe(pool.buffer);
    expect(read.value.data.byteOffset - pool.bytes.byteOffset).toBe(movedAt - POOL_VM_BASE);
    // The worker no longer owns the region it replied with.
    expect(deallocated).toBe(KERN_INVALID_ADDRESS);
    expect(stillMine).toBe(0);
    expect(await mig_deallocate(boot, read.value.data)).toBe(KERN_SUCCESS);

    // The worker still holds HELD_PAGES it allocated in place; its exit gives them back.
    expect(pool.stats().freePages).toBe(poolPages - HELD_PAGES);
    expect(await send(boot, msg(dev, MACH_MSG_TYPE_COPY_SEND, { id: 999 }).build())).toBe(0);
    expect((await r.handle.exited).reason).toBe("exited");
    expect(boot.vm.regionCount).toBe(0);
    expect(pool.stats().freePages).toBe(poolPages);
    boot.terminate("test over");
    expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
  });

  it("a worker's vm_region no longer gives a region it moved away in a reply", () => {
    // TaskApi.vm_region: "the bytes of a region this task owns". After the move the region is
    // the client's (the client above still held it mapped when the worker looked).
    expect(regionVisibleAfterMove, "the test above reached report 602").toBeDefined();
    expect(regionVisibleAfterMove).toBe(0);
  });
});

/** The in-line 32-bit integers of a report, in order. */
function ints(buf: Uint8Array, items: readonly BodyItem[]): number[] {
  return items.filter((i) => i.inline).map((i) => u32At(buf, i.dataOffset));
}

/** The bytes of an out-of-line item `task` received. */
function ool(task: Task, buf: Uint8Array, item: BodyItem): Uint8Array {
  const region = task.vm_region(readPointer(buf, item.dataOffset));
  if (!region) throw new Error("out-of-line region missing");
  return region.subarray(0, item.byteLength);
}
