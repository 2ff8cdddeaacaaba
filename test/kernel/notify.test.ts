// Notifications with notify.defs ids and formats: no-senders (with the make-send count),
// dead-name (with the extra user reference), port-deleted, port-destroyed (carrying the receive
// right) and send-once (a send-once right destroyed unused).
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
import * as N from "../../src/kernel/notify.js";

describe("notification ids", () => {
  it("are gnumach's", () => {
    expect([
      N.MACH_NOTIFY_PORT_DELETED,
      N.MACH_NOTIFY_PORT_DESTROYED,
      N.MACH_NOTIFY_NO_SENDERS,
      N.MACH_NOTIFY_SEND_ONCE,
      N.MACH_NOTIFY_DEAD_NAME,
    ]).toEqual([65, 69, 70, 71, 72]);
  });
});

describe("notifications", () => {
  it("no-senders carries the make-send count when the last send right goes", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const n = await newPort(a);
    const base = snapshotAll(kernel);
    const s1 = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b);
    const r = await a.mach_port_request_notification(
      p,
      N.MACH_NOTIFY_NO_SENDERS,
      0,
      n,
      T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    expect(r).toEqual({ kr: 0, previous: 0 });
    expect(await b.mach_port_deallocate(s1)).toBe(0);
    expect((await recv(a, n, { timeout: 0 })).code).toBe(K.MACH_RCV_TIMED_OUT);
    expect(await b.mach_port_deallocate(s1)).toBe(0);
    const m = await recv(a, n, { timeout: 0 });
    expect(m.code).toBe(0);
    expect(m.header).toMatchObject({ id: 70, size: 40, local: n, remote: 0 });
    expect(T.MACH_MSGH_BITS_LOCAL(m.header.bits)).toBe(T.MACH_MSG_TYPE_PORT_SEND_ONCE);
    expect(m.buf[32]).toBe(T.MACH_MSG_TYPE_INTEGER_32);
    expect(u32At(m.buf, 36)).toBe(2);
    expectBaseline(kernel, base);
  });

  it("no-senders fires at once when armed with no senders and mscount >= sync", async () => {
    const { kernel, a } = twoTasks();
    const p = await newPort(a);
    const n = await newPort(a);
    const base = snapshotAll(kernel);
    await a.mach_port_request_notification(
      p,
      N.MACH_NOTIFY_NO_SENDERS,
      0,
      n,
      T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    const m = await recv(a, n, { timeout: 0 });
    expect(m.header.id).toBe(70);
    expect(u32At(m.buf, 36)).toBe(0);
    expectBaseline(kernel, base);
  });

  it("dead-name: the name turns dead, the notification names it, and it holds one more uref", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const n = await newPort(b);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const base = snapshotAll(kernel);
    expect(
      (
        await b.mach_port_request_notification(
          s,
          N.MACH_NOTIFY_DEAD_NAME,
          0,
          n,
          T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
        )
      ).kr,
    ).toBe(0);
    expect((await b.mach_port_type(s)).type).toBe(
      (R.MACH_PORT_TYPE_SEND | R.MACH_PORT_TYPE_DNREQUEST) >>> 0,
    );
    expect(await a.mach_port_destroy(p)).toBe(0);
    expect((await b.mach_port_type(s)).type).toBe(R.MACH_PORT_TYPE_DEAD_NAME);
    expect((await b.mach_port_get_refs(s, R.MACH_PORT_RIGHT_DEAD_NAME)).refs).toBe(2);
    const m = await recv(b, n, { timeout: 0 });
    expect(m.header).toMatchObject({ id: 72, size: 40, local: n });
    expect(m.buf[32]).toBe(T.MACH_MSG_TYPE_PORT_NAME);
    expect(u32At(m.buf, 36)).toBe(s);
    expect(await send(b, msg(s, T.MACH_MSG_TYPE_COPY_SEND).build())).toBe(K.MACH_SEND_INVALID_DEST);
    expect(await b.mach_port_mod_refs(s, R.MACH_PORT_RIGHT_DEAD_NAME, -2)).toBe(0);
    expect(b.space.snapshot()).toEqual(base.spaces.get(b)!.filter((e) => e.name !== s));
  });

  it("port-deleted: the right with a dead-name request is deallocated before the port dies", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const n = await newPort(b);
    const base = snapshotAll(kernel);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    await b.mach_port_request_notification(
      s,
      N.MACH_NOTIFY_DEAD_NAME,
      0,
      n,
      T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    expect(await b.mach_port_deallocate(s)).toBe(0);
    const m = await recv(b, n, { timeout: 0 });
    expect(m.header).toMatchObject({ id: 65, size: 40 });
    expect(u32At(m.buf, 36)).toBe(s);
    expectBaseline(kernel, base);
  });

  it("port-destroyed: the receive right travels to the requester instead of dying", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const n = await newPort(b);
    const toN = kernel.giveRight(b, n, T.MACH_MSG_TYPE_MAKE_SEND_ONCE, a).name;
    const sp = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    await send(b, msg(sp, T.MACH_MSG_TYPE_COPY_SEND, { id: 9 }).build());
    expect(
      (
        await a.mach_port_request_notification(
          p,
          N.MACH_NOTIFY_PORT_DESTROYED,
          0,
          toN,
          T.MACH_MSG_TYPE_MOVE_SEND_ONCE,
        )
      ).kr,
    ).toBe(0);
    a.terminate("killed");
    const m = await recv(b, n, { timeout: 0 });
    expect(m.header).toMatchObject({ id: 69, size: 40 });
    expect(m.header.bits & T.MACH_MSGH_BITS_COMPLEX).toBeTruthy();
    expect(m.buf[32]).toBe(T.MACH_MSG_TYPE_PORT_RECEIVE);
    const got = u32At(m.buf, 36);
    // b already held a send right to p: the receive right joins that name.
    expect(got).toBe(sp);
    expect((await b.mach_port_type(got)).type).toBe(R.MACH_PORT_TYPE_SEND_RECEIVE);
    expect((await recv(b, got, { timeout: 0 })).header.id).toBe(9);
  });

  it("send-once: a send-once right destroyed unused notifies its port", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const base = snapshotAll(kernel);
    const so = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND_ONCE, b).name;
    expect(await b.mach_port_deallocate(so)).toBe(0);
    const m = await recv(a, p, { timeout: 0 });
    expect(m.header).toMatchObject({ id: 71, size: 32, local: p, remote: 0 });
    expect(T.MACH_MSGH_BITS_LOCAL(m.header.bits)).toBe(T.MACH_MSG_TYPE_PORT_SEND_ONCE);
    expectBaseline(kernel, base);
  });

  it("a reply right in a destroyed request turns into a send-once notification (MIG_SERVER_DIED)", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const reply = await newPort(b);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    await send(
      b,
      msg(s, T.MACH_MSG_TYPE_COPY_SEND, {
        reply,
        replyDisp: T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
        id: 100,
      }).build(),
    );
    a.terminate();
    const m = await recv(b, reply, { timeout: 0 });
    expect(m.header.id).toBe(71);
    expect((await b.mach_port_type(s)).type).toBe(R.MACH_PORT_TYPE_DEAD_NAME);
  });

  it("request_notification returns the previous request's send-once right", async () => {
    const { a } = twoTasks();
    const p = await newPort(a);
    const n = await newPort(a);
    await a.mach_port_request_notification(
      p,
      N.MACH_NOTIFY_NO_SENDERS,
      1,
      n,
      T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    const r = await a.mach_port_request_notification(p, N.MACH_NOTIFY_NO_SENDERS, 1, 0, 0);
    expect(r.kr).toBe(0);
    expect((await a.mach_port_type(r.previous)).type).toBe(R.MACH_PORT_TYPE_SEND_ONCE);
    expect(
      (
        await a.mach_port_request_notification(
          p,
          N.MACH_NOTIFY_DEAD_NAME,
          0,
          n,
          T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
        )
      ).kr,
    ).toBe(K.KERN_INVALID_RIGHT);
    expect(
      (await a.mach_port_request_notification(p, 999, 0, n, T.MACH_MSG_TYPE_MAKE_SEND_ONCE)).kr,
    ).toBe(K.KERN_INVALID_VALUE);
  });
});
