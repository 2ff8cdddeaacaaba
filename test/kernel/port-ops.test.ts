// mach_port_* operations with mach_port.defs semantics, and out-of-line memory with copy
// semantics (and move semantics with the deallocate bit).
import { describe, expect, it } from "vitest";
import {
  expectBaseline,
  msg,
  newPort,
  recv,
  send,
  snapshotAll,
  twoTasks,
  u32At,
} from "./kernel-helpers.js";
import * as T from "../../src/kernel/msg-type.js";
import * as K from "../../src/kernel/kern-return.js";
import * as R from "../../src/kernel/port-right.js";
import { parseBody, readPointer } from "../../src/kernel/message.js";

describe("port operations", () => {
  it("allocate receive, port set and dead name; bad right kinds are refused", async () => {
    const { a } = twoTasks();
    const r = await a.mach_port_allocate(R.MACH_PORT_RIGHT_RECEIVE);
    const s = await a.mach_port_allocate(R.MACH_PORT_RIGHT_PORT_SET);
    const d = await a.mach_port_allocate(R.MACH_PORT_RIGHT_DEAD_NAME);
    expect((await a.mach_port_allocate(R.MACH_PORT_RIGHT_SEND)).kr).toBe(K.KERN_INVALID_VALUE);
    expect((await a.mach_port_allocate(99)).kr).toBe(K.KERN_INVALID_VALUE);
    const names = await a.mach_port_names();
    expect(names.names).toEqual([r.name, s.name, d.name]);
    expect(names.types).toEqual([
      R.MACH_PORT_TYPE_RECEIVE,
      R.MACH_PORT_TYPE_PORT_SET,
      R.MACH_PORT_TYPE_DEAD_NAME,
    ]);
  });

  it("mod_refs and get_refs: send urefs add and drop, range checks, receive -1 destroys", async () => {
    const { kernel, a } = twoTasks();
    const base = snapshotAll(kernel);
    const p = await newPort(a);
    expect(await a.mach_port_insert_right(p, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(0);
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_SEND, 4)).toBe(0);
    expect((await a.mach_port_get_refs(p, R.MACH_PORT_RIGHT_SEND)).refs).toBe(5);
    expect((await a.mach_port_get_refs(p, R.MACH_PORT_RIGHT_RECEIVE)).refs).toBe(1);
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_SEND, -6)).toBe(K.KERN_INVALID_VALUE);
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_SEND, 0x10000)).toBe(
      K.KERN_UREFS_OVERFLOW,
    );
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_SEND_ONCE, -1)).toBe(
      K.KERN_INVALID_RIGHT,
    );
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_RECEIVE, -2)).toBe(K.KERN_INVALID_VALUE);
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_SEND, -5)).toBe(0);
    expect((await a.mach_port_type(p)).type).toBe(R.MACH_PORT_TYPE_RECEIVE);
    expect(await a.mach_port_deallocate(p)).toBe(K.KERN_INVALID_RIGHT);
    expect(await a.mach_port_mod_refs(p, R.MACH_PORT_RIGHT_RECEIVE, -1)).toBe(0);
    expect((await a.mach_port_type(p)).kr).toBe(K.KERN_INVALID_NAME);
    expect(await a.mach_port_deallocate(0x4242)).toBe(K.KERN_INVALID_NAME);
    expectBaseline(kernel, base);
  });

  it("insert_right: chosen names, name and right collisions", async () => {
    const { a } = twoTasks();
    const p = await newPort(a);
    const q = await newPort(a);
    expect(await a.mach_port_insert_right(0x999900, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(
      K.KERN_RIGHT_EXISTS,
    );
    expect(await a.mach_port_insert_right(q, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(
      K.KERN_NAME_EXISTS,
    );
    expect(await a.mach_port_insert_right(0x999900, p, T.MACH_MSG_TYPE_MAKE_SEND_ONCE)).toBe(0);
    expect((await a.mach_port_type(0x999900)).type).toBe(R.MACH_PORT_TYPE_SEND_ONCE);
    expect(await a.mach_port_insert_right(0, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(
      K.KERN_INVALID_VALUE,
    );
    expect(await a.mach_port_insert_right(p, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(0);
    expect(await a.mach_port_insert_right(p, p, T.MACH_MSG_TYPE_COPY_SEND)).toBe(0);
    expect((await a.mach_port_get_refs(p, R.MACH_PORT_RIGHT_SEND)).refs).toBe(2);
  });

  it("extract_right moves a receive right within the space under a new name", async () => {
    const { kernel, a } = twoTasks();
    const p = await newPort(a);
    const base = kernel.snapshot();
    const r = await a.mach_port_extract_right(p, T.MACH_MSG_TYPE_MOVE_RECEIVE);
    expect(r.kr).toBe(0);
    expect(r.polyPoly).toBe(T.MACH_MSG_TYPE_PORT_RECEIVE);
    expect((await a.mach_port_type(r.poly)).type).toBe(R.MACH_PORT_TYPE_RECEIVE);
    expect((await a.mach_port_extract_right(p, T.MACH_MSG_TYPE_MOVE_RECEIVE)).kr).toBe(
      K.KERN_INVALID_NAME,
    );
    expect((await a.mach_port_extract_right(r.poly, T.MACH_MSG_TYPE_COPY_SEND)).kr).toBe(
      K.KERN_INVALID_RIGHT,
    );
    expect(kernel.snapshot()).toEqual(base);
  });

  it("a dead task's calls fail with error codes", async () => {
    const { a } = twoTasks();
    const p = await newPort(a);
    a.terminate();
    expect((await a.mach_port_allocate(R.MACH_PORT_RIGHT_RECEIVE)).kr).toBe(K.KERN_INVALID_TASK);
    expect(await a.mach_port_destroy(p)).toBe(K.KERN_INVALID_TASK);
    expect(await send(a, msg(p, T.MACH_MSG_TYPE_MAKE_SEND).build())).toBe(K.MACH_SEND_INVALID_DEST);
  });
});

describe("out-of-line memory", () => {
  it("is copied at send time: later writes by the sender are not seen", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const { address } = await a.vm_allocate(10000);
    const region = a.vm_region(address)!;
    region.fill(7);
    await send(
      a,
      msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true }).ool(9, 8, 10000, address).build(),
    );
    region.fill(9);
    const r = await recv(b, inbox);
    const p = parseBody(r.buf, r.header.size);
    if (!p.ok) throw new Error("body");
    const got = b.vm_region(readPointer(r.buf, p.items[0]!.dataOffset))!;
    expect(got.length).toBe(10000);
    expect(got.every((x) => x === 7)).toBe(true);
    expect(a.vm.regionCount).toBe(1);
    expect(await b.vm_deallocate(readPointer(r.buf, p.items[0]!.dataOffset))).toBe(0);
    expect(b.vm.regionCount).toBe(0);
  });

  it("with the deallocate bit the region leaves the sender", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const { address } = await a.vm_allocate(4096);
    await send(
      a,
      msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true }).ool(9, 8, 4096, address, true).build(),
    );
    expect(a.vm_region(address)).toBeUndefined();
    expect((await recv(b, inbox)).code).toBe(0);
    expect(b.vm.regionCount).toBe(1);
  });

  it("bad pointers give MACH_SEND_INVALID_MEMORY; out-of-line port arrays carry rights", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    expect(
      await send(
        a,
        msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true }).ool(9, 8, 16, 0xdead000).build(),
      ),
    ).toBe(K.MACH_SEND_INVALID_MEMORY);
    const x = await newPort(a);
    const { address } = await a.vm_allocate(8);
    new DataView(a.vm_region(address)!.buffer).setUint32(0, x, true);
    const m = msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
      .ool(T.MACH_MSG_TYPE_MAKE_SEND, 32, 2, address)
      .build();
    expect(await send(a, m)).toBe(0);
    const r = await recv(b, inbox);
    const arr = b.vm_region(readPointer(r.buf, 44))!;
    const n0 = u32At(arr, 0);
    expect((await b.mach_port_type(n0)).type).toBe(R.MACH_PORT_TYPE_SEND);
    expect(u32At(arr, 4)).toBe(0);
  });
});
