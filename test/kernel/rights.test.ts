// Right transfer: every disposition in the header and in body port descriptors, the names and
// types the receiver gets, send-right merging, dead names, and capability checks.
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
import { parseBody } from "../../src/kernel/message.js";

describe("rights in the header", () => {
  it("COPY_SEND keeps the sender's send right; the receiver sees PORT_SEND on its receive name", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const base = snapshotAll(kernel);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b);
    expect(s.kr).toBe(0);
    expect(await send(b, msg(s.name, T.MACH_MSG_TYPE_COPY_SEND, { id: 7 }).build())).toBe(0);
    expect((await b.mach_port_get_refs(s.name, R.MACH_PORT_RIGHT_SEND)).refs).toBe(1);
    const r = await recv(a, p);
    expect(r.code).toBe(0);
    expect(r.header).toMatchObject({ remote: 0, local: p, id: 7, size: 32, seqno: 0 });
    expect(T.MACH_MSGH_BITS_LOCAL(r.header.bits)).toBe(T.MACH_MSG_TYPE_PORT_SEND);
    expect((await a.mach_port_get_receive_status(p)).status).toMatchObject({
      mps_mscount: 1,
      mps_srights: true,
    });
    expect(await b.mach_port_deallocate(s.name)).toBe(0);
    expectBaseline(kernel, { ...base, kernel: kernel.snapshot() });
    expect(b.space.snapshot()).toEqual([]);
  });

  it("MOVE_SEND consumes the sender's last user reference", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const base = snapshotAll(kernel);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b);
    expect(await send(b, msg(s.name, T.MACH_MSG_TYPE_MOVE_SEND).build())).toBe(0);
    expect((await b.mach_port_type(s.name)).kr).toBe(K.KERN_INVALID_NAME);
    expect((await recv(a, p)).code).toBe(0);
    expect((await a.mach_port_get_receive_status(p)).status?.mps_srights).toBe(false);
    expectBaseline(kernel, base);
  });

  it("MAKE_SEND_ONCE reply right: the server replies with MOVE_SEND_ONCE and the name is gone", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const reply = await newPort(b);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const base = snapshotAll(kernel);
    await send(
      b,
      msg(s, T.MACH_MSG_TYPE_COPY_SEND, {
        reply,
        replyDisp: T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
        id: 100,
      }).build(),
    );
    const req = await recv(a, p);
    expect(T.MACH_MSGH_BITS_REMOTE(req.header.bits)).toBe(T.MACH_MSG_TYPE_PORT_SEND_ONCE);
    const so = req.header.remote;
    expect((await a.mach_port_type(so)).type).toBe(R.MACH_PORT_TYPE_SEND_ONCE);
    expect(
      await send(a, msg(so, T.MACH_MSG_TYPE_MOVE_SEND_ONCE, { id: 200 }).int32(0).build()),
    ).toBe(0);
    expect((await a.mach_port_type(so)).kr).toBe(K.KERN_INVALID_NAME);
    const rep = await recv(b, reply);
    expect(rep.header).toMatchObject({ id: 200, local: reply, remote: 0 });
    expect(T.MACH_MSGH_BITS_LOCAL(rep.header.bits)).toBe(T.MACH_MSG_TYPE_PORT_SEND_ONCE);
    expectBaseline(kernel, base);
  });

  it("MAKE_SEND reply gives the server a send right that merges on repeat", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const reply = await newPort(b);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    for (let i = 0; i < 2; i++)
      await send(
        b,
        msg(s, T.MACH_MSG_TYPE_COPY_SEND, { reply, replyDisp: T.MACH_MSG_TYPE_MAKE_SEND }).build(),
      );
    const r1 = await recv(a, p);
    const r2 = await recv(a, p);
    expect(r1.header.remote).toBe(r2.header.remote);
    expect(r2.header.seqno).toBe(1);
    expect((await a.mach_port_get_refs(r1.header.remote, R.MACH_PORT_RIGHT_SEND)).refs).toBe(2);
    expect((await b.mach_port_get_receive_status(reply)).status?.mps_mscount).toBe(2);
  });

  it("destination rules: receive-only names can't be sent to without MAKE_*, MOVE_RECEIVE is refused", async () => {
    const { a } = twoTasks();
    const p = await newPort(a);
    expect(await send(a, msg(p, T.MACH_MSG_TYPE_COPY_SEND).build())).toBe(K.MACH_SEND_INVALID_DEST);
    expect(await send(a, msg(p, T.MACH_MSG_TYPE_MOVE_RECEIVE).build())).toBe(
      K.MACH_SEND_INVALID_HEADER,
    );
    expect(
      await send(a, msg(p, T.MACH_MSG_TYPE_MAKE_SEND, { reply: p, replyDisp: 0 }).build()),
    ).toBe(K.MACH_SEND_INVALID_HEADER);
    expect(
      await send(
        a,
        msg(p, T.MACH_MSG_TYPE_MAKE_SEND, {
          reply: 0x7777,
          replyDisp: T.MACH_MSG_TYPE_COPY_SEND,
        }).build(),
      ),
    ).toBe(K.MACH_SEND_INVALID_REPLY);
    expect(await send(a, msg(p, T.MACH_MSG_TYPE_MAKE_SEND).build())).toBe(0);
    expect((await recv(a, p)).code).toBe(0);
  });
});

describe("capabilities", () => {
  it("another space's names mean nothing: guessing them gives MACH_SEND_INVALID_DEST", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const base = snapshotAll(kernel);
    for (const d of [
      T.MACH_MSG_TYPE_COPY_SEND,
      T.MACH_MSG_TYPE_MAKE_SEND,
      T.MACH_MSG_TYPE_MOVE_SEND,
    ]) {
      expect(await send(b, msg(p, d).build())).toBe(K.MACH_SEND_INVALID_DEST);
    }
    for (let n = 1; n < 4096; n += 7)
      expect(await send(b, msg(n, T.MACH_MSG_TYPE_COPY_SEND).build())).toBe(
        K.MACH_SEND_INVALID_DEST,
      );
    expect(await send(b, msg(T.MACH_PORT_DEAD, T.MACH_MSG_TYPE_COPY_SEND).build())).toBe(
      K.MACH_SEND_INVALID_DEST,
    );
    expect((await b.mach_port_extract_right(p, T.MACH_MSG_TYPE_MAKE_SEND)).kr).toBe(
      K.KERN_INVALID_NAME,
    );
    expect(await b.mach_port_insert_right(p, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(
      K.KERN_INVALID_CAPABILITY,
    );
    expectBaseline(kernel, base);
  });
});

describe("rights in the body", () => {
  it("MOVE_RECEIVE carries the port and its queued messages to the receiver", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const q = await newPort(a);
    await send(a, msg(q, T.MACH_MSG_TYPE_MAKE_SEND, { id: 55 }).build());
    const m = msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
      .ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [q])
      .build();
    expect(await send(a, m)).toBe(0);
    expect((await a.mach_port_type(q)).kr).toBe(K.KERN_INVALID_NAME);
    const r = await recv(b, inbox);
    expect(r.code).toBe(0);
    expect(r.header.bits & T.MACH_MSGH_BITS_COMPLEX).toBeTruthy();
    const qb = u32At(r.buf, 36);
    expect((await b.mach_port_type(qb)).type).toBe(R.MACH_PORT_TYPE_RECEIVE);
    expect(r.buf[32]).toBe(T.MACH_MSG_TYPE_PORT_RECEIVE);
    const old = await recv(b, qb);
    expect(old.header).toMatchObject({ id: 55, local: qb, seqno: 0 });
  });

  it("COPY_SEND, MAKE_SEND and MOVE_SEND arrive as PORT_SEND and merge under one name", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const x = await newPort(a);
    await a.mach_port_insert_right(x, x, T.MACH_MSG_TYPE_MAKE_SEND);
    await a.mach_port_mod_refs(x, R.MACH_PORT_RIGHT_SEND, 1);
    const m = msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
      .ports(T.MACH_MSG_TYPE_COPY_SEND, [x])
      .ports(T.MACH_MSG_TYPE_MAKE_SEND, [x], true)
      .ports(T.MACH_MSG_TYPE_MOVE_SEND, [x])
      .build();
    expect(await send(a, m)).toBe(0);
    expect((await a.mach_port_get_refs(x, R.MACH_PORT_RIGHT_SEND)).refs).toBe(1);
    const r = await recv(b, inbox);
    const p = parseBody(r.buf, r.header.size);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.items.map((i) => i.name)).toEqual([17, 17, 17]);
    const names = p.items.map((i) => u32At(r.buf, i.dataOffset));
    expect(new Set(names).size).toBe(1);
    expect((await b.mach_port_get_refs(names[0]!, R.MACH_PORT_RIGHT_SEND)).refs).toBe(3);
  });

  it("MAKE_SEND_ONCE and MOVE_SEND_ONCE give distinct send-once names", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const x = await newPort(a);
    const so = (await a.mach_port_extract_right(x, T.MACH_MSG_TYPE_MAKE_SEND_ONCE)).poly;
    const m = msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
      .ports(T.MACH_MSG_TYPE_MAKE_SEND_ONCE, [x])
      .ports(T.MACH_MSG_TYPE_MOVE_SEND_ONCE, [so])
      .build();
    expect(await send(a, m)).toBe(0);
    const r = await recv(b, inbox);
    const n1 = u32At(r.buf, 36);
    const n2 = u32At(r.buf, 44);
    expect(n1).not.toBe(n2);
    for (const n of [n1, n2])
      expect((await b.mach_port_type(n)).type).toBe(R.MACH_PORT_TYPE_SEND_ONCE);
    expect((await a.mach_port_get_receive_status(x)).status?.mps_sorights).toBe(2);
  });

  it("dead names travel as MACH_PORT_DEAD; null names as MACH_PORT_NULL", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const dead = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_DEAD_NAME)).name;
    const m = msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
      .ports(T.MACH_MSG_TYPE_MOVE_SEND, [dead, 0])
      .build();
    expect(await send(a, m)).toBe(0);
    expect((await a.mach_port_type(dead)).kr).toBe(K.KERN_INVALID_NAME);
    const r = await recv(b, inbox);
    expect(u32At(r.buf, 36)).toBe(T.MACH_PORT_DEAD);
    expect(u32At(r.buf, 40)).toBe(0);
  });

  it("a right not held fails the whole message with MACH_SEND_INVALID_RIGHT and moves nothing", async () => {
    const { kernel, a, b } = twoTasks();
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const x = await newPort(a);
    const base = snapshotAll(kernel);
    const bad = [
      msg(toB, T.MACH_MSG_TYPE_MOVE_SEND, { complex: true })
        .ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [x])
        .ports(T.MACH_MSG_TYPE_COPY_SEND, [x]),
      msg(toB, T.MACH_MSG_TYPE_MOVE_SEND, { complex: true }).ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [
        x,
        x,
      ]),
      msg(toB, T.MACH_MSG_TYPE_MOVE_SEND, { complex: true }).ports(T.MACH_MSG_TYPE_MOVE_SEND, [
        toB,
      ]),
      msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
        .ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [x])
        .ports(T.MACH_MSG_TYPE_MAKE_SEND, [x]),
      msg(toB, T.MACH_MSG_TYPE_COPY_SEND, { complex: true }).ports(T.MACH_MSG_TYPE_MOVE_SEND_ONCE, [
        x,
      ]),
    ];
    for (const m of bad) expect(await send(a, m.build())).toBe(K.MACH_SEND_INVALID_RIGHT);
    expectBaseline(kernel, base);
  });

  it("a receive right can't be sent to itself (circularity): refused, nothing lost", async () => {
    const { kernel, a } = twoTasks();
    const x = await newPort(a);
    const base = snapshotAll(kernel);
    expect(
      await send(
        a,
        msg(x, T.MACH_MSG_TYPE_MAKE_SEND, { complex: true })
          .ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [x])
          .build(),
      ),
    ).toBe(K.MACH_SEND_INVALID_RIGHT);
    expectBaseline(kernel, base);
  });
});
