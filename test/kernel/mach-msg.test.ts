// mach_msg behaviour: timeouts, queue limits and blocked senders, sequence numbers,
// MACH_RCV_TOO_LARGE with and without MACH_RCV_LARGE, port sets, and send+receive RPC.
import { describe, expect, it } from "vitest";
import {
  expectBaseline,
  msg,
  newPort,
  recv,
  send,
  snapshotAll,
  twoTasks,
} from "./kernel-helpers.js";
import * as T from "../../src/kernel/msg-type.js";
import * as K from "../../src/kernel/kern-return.js";
import * as R from "../../src/kernel/port-right.js";
import { readHeader } from "../../src/kernel/message.js";

describe("timeouts", () => {
  it("MACH_RCV_TIMEOUT: 0 polls, a positive value waits about that long", async () => {
    const { a } = twoTasks();
    const p = await newPort(a);
    expect((await recv(a, p, { timeout: 0 })).code).toBe(K.MACH_RCV_TIMED_OUT);
    const t0 = performance.now();
    expect((await recv(a, p, { timeout: 30 })).code).toBe(K.MACH_RCV_TIMED_OUT);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });

  it("a blocked receive gets a message sent later", async () => {
    const { a } = twoTasks();
    const p = await newPort(a);
    const pending = recv(a, p, { timeout: 5000 });
    await send(a, msg(p, T.MACH_MSG_TYPE_MAKE_SEND, { id: 3 }).build());
    expect((await pending).header.id).toBe(3);
  });

  it("MACH_SEND_TIMEOUT on a full queue; the rights stay with the sender", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    expect(await a.mach_port_set_qlimit(p, 1)).toBe(0);
    expect(await send(b, msg(s, T.MACH_MSG_TYPE_COPY_SEND).build(), 0)).toBe(0);
    const x = await newPort(b);
    const base = snapshotAll(kernel);
    const m = msg(s, T.MACH_MSG_TYPE_COPY_SEND, { complex: true })
      .ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [x])
      .build();
    expect(await send(b, m, 0)).toBe(K.MACH_SEND_TIMED_OUT);
    expect(await send(b, m, 20)).toBe(K.MACH_SEND_TIMED_OUT);
    expectBaseline(kernel, base);
  });
});

describe("queue limit", () => {
  it("senders block on a full queue and proceed in order as the receiver drains it", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    expect(await a.mach_port_set_qlimit(p, 2)).toBe(0);
    expect(await a.mach_port_set_qlimit(p, 17)).toBe(K.KERN_INVALID_VALUE);
    const sends = [1, 2, 3, 4, 5].map((id) =>
      send(b, msg(s, T.MACH_MSG_TYPE_COPY_SEND, { id }).build()),
    );
    await new Promise((r) => setTimeout(r, 5));
    expect((await a.mach_port_get_receive_status(p)).status?.mps_msgcount).toBe(2);
    const ids: number[] = [];
    const seqnos: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await recv(a, p, { timeout: 1000 });
      ids.push(r.header.id);
      seqnos.push(r.header.seqno);
    }
    expect(await Promise.all(sends)).toEqual([0, 0, 0, 0, 0]);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(seqnos).toEqual([0, 1, 2, 3, 4]);
  });

  it("send-once rights and kernel notifications are not held back by the queue limit", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    await a.mach_port_set_qlimit(p, 0);
    const so = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND_ONCE, b).name;
    expect(await send(b, msg(so, T.MACH_MSG_TYPE_MOVE_SEND_ONCE).build(), 0)).toBe(0);
    expect(await send(a, msg(p, T.MACH_MSG_TYPE_MAKE_SEND).build(), 0)).toBe(K.MACH_SEND_TIMED_OUT);
  });

  it("a sender blocked on a port that dies gets MACH_SEND_INVALID_DEST", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    await a.mach_port_set_qlimit(p, 0);
    const blocked = send(b, msg(s, T.MACH_MSG_TYPE_COPY_SEND).build());
    await a.mach_port_destroy(p);
    expect(await blocked).toBe(K.MACH_SEND_INVALID_DEST);
  });
});

describe("receive", () => {
  it("MACH_RCV_TOO_LARGE destroys the message (and its rights) unless MACH_RCV_LARGE", async () => {
    const { kernel, a } = twoTasks();
    const p = await newPort(a);
    const x = await newPort(a);
    const base = snapshotAll(kernel);
    const big = msg(p, T.MACH_MSG_TYPE_MAKE_SEND, { complex: true })
      .ports(T.MACH_MSG_TYPE_MAKE_SEND, [x])
      .inline(9, 8, 64, new Uint8Array(64))
      .build();
    await send(a, big);
    const r1 = await recv(a, p, { size: 64, extra: T.MACH_RCV_LARGE });
    expect(r1.code).toBe(K.MACH_RCV_TOO_LARGE);
    expect(r1.header.size).toBe(big.length);
    const r2 = await recv(a, p, { size: 64 });
    expect(r2.code).toBe(K.MACH_RCV_TOO_LARGE);
    expect((await recv(a, p, { timeout: 0 })).code).toBe(K.MACH_RCV_TIMED_OUT);
    expect((await a.mach_port_get_receive_status(p)).status?.mps_seqno).toBe(1);
    expect((await a.mach_port_get_receive_status(x)).status?.mps_srights).toBe(false);
    expectBaseline(kernel, base);
  });

  it("bad receive names: not a receive right, or a member of a set", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    expect((await recv(b, s, { timeout: 0 })).code).toBe(K.MACH_RCV_INVALID_NAME);
    expect((await recv(b, 12345, { timeout: 0 })).code).toBe(K.MACH_RCV_INVALID_NAME);
    const set = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_PORT_SET)).name;
    expect(await a.mach_port_move_member(p, set)).toBe(0);
    expect((await recv(a, p, { timeout: 0 })).code).toBe(K.MACH_RCV_IN_SET);
  });

  it("a port set delivers its members' messages oldest first, naming the member", async () => {
    const { a } = twoTasks();
    const p1 = await newPort(a);
    const p2 = await newPort(a);
    const set = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_PORT_SET)).name;
    await a.mach_port_move_member(p1, set);
    await a.mach_port_move_member(p2, set);
    const waiting = recv(a, set, { timeout: 1000 });
    await send(a, msg(p2, T.MACH_MSG_TYPE_MAKE_SEND, { id: 2 }).build());
    expect((await waiting).header).toMatchObject({ local: p2, id: 2 });
    await send(a, msg(p1, T.MACH_MSG_TYPE_MAKE_SEND, { id: 11 }).build());
    await send(a, msg(p2, T.MACH_MSG_TYPE_MAKE_SEND, { id: 22 }).build());
    expect((await recv(a, set, { timeout: 0 })).header).toMatchObject({ local: p1, id: 11 });
    expect((await recv(a, set, { timeout: 0 })).header).toMatchObject({
      local: p2,
      id: 22,
      seqno: 1,
    });
    expect(await a.mach_port_move_member(p1, 0)).toBe(0);
    expect(await a.mach_port_move_member(p1, 0)).toBe(K.KERN_NOT_IN_SET);
    const pending = recv(a, set, { timeout: 1000 });
    await a.mach_port_destroy(set);
    expect((await pending).code).toBe(K.MACH_RCV_PORT_DIED);
    expect((await a.mach_port_get_receive_status(p2)).status?.mps_pset).toBe(0);
  });

  it("send+receive in one call: an RPC round trip between two in-thread tasks", async () => {
    const { kernel, a, b } = twoTasks();
    const service = await newPort(a);
    const s = kernel.giveRight(a, service, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const reply = await newPort(b);
    const base = snapshotAll(kernel);
    const server = (async () => {
      const buf = new Uint8Array(256);
      let code = await a.mach_msg(buf, T.MACH_RCV_MSG, 0, 256, service);
      for (let i = 0; i < 3 && code === 0; i++) {
        const h = readHeader(buf);
        const out = msg(h.remote, T.MACH_MSG_TYPE_MOVE_SEND_ONCE, { id: h.id + 100 })
          .int32(h.id * 2)
          .build();
        buf.set(out);
        code = await a.mach_msg(
          buf,
          T.MACH_SEND_MSG | (i < 2 ? T.MACH_RCV_MSG : 0),
          out.length,
          256,
          service,
        );
      }
      return code;
    })();
    for (let i = 1; i <= 3; i++) {
      const buf = new Uint8Array(256);
      const req = msg(s, T.MACH_MSG_TYPE_COPY_SEND, {
        reply,
        replyDisp: T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
        id: i,
      }).build();
      buf.set(req);
      expect(await b.mach_msg(buf, T.MACH_SEND_MSG | T.MACH_RCV_MSG, req.length, 256, reply)).toBe(
        0,
      );
      expect(readHeader(buf)).toMatchObject({ id: i + 100, local: reply, size: 40 });
      expect(new DataView(buf.buffer).getUint32(36, true)).toBe(i * 2);
    }
    expect(await server).toBe(0);
    expectBaseline(kernel, base);
  });
});
