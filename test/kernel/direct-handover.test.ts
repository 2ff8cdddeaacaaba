// The in-thread fast path of mach_msg: a simple message sent to a port whose receiver already
// waits goes straight into the receiver's buffer. It must read exactly as a queued one would.
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
import { IpcEntry, IpcSpace } from "../../src/kernel/ipc-space.js";
import { Port } from "../../src/kernel/port.js";
import { PendingCall, PendingCalls } from "../../src/kernel/pending-call.js";
import { nextStamp } from "../../src/kernel/kmsg.js";

/** The request of an RPC: COPY_SEND to the service, MAKE_SEND_ONCE of the reply port, a body. */
function request(service: number, reply: number, id: number, value: number): Uint8Array {
  return msg(service, T.MACH_MSG_TYPE_COPY_SEND, {
    reply,
    replyDisp: T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    id,
  })
    .int32(value)
    .build();
}

describe("direct hand-over to a blocked receiver", () => {
  it("delivers the same header, body and sequence numbers as the queue", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const r = await newPort(b);
    // Queued: sent first, received later.
    expect(await send(b, request(s, r, 7, 0x11223344))).toBe(0);
    const queued = await recv(a, p, { size: 256 });
    // Direct: the receive waits first, and the message never enters the queue (no stamp taken).
    const pending = recv(a, p, { size: 256 });
    const stamp = nextStamp();
    expect(await send(b, request(s, r, 7, 0x11223344))).toBe(0);
    expect(nextStamp()).toBe(stamp + 1);
    const direct = await pending;
    for (const got of [queued, direct]) {
      expect(got.code).toBe(0);
      expect(got.header.bits).toBe(
        T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_PORT_SEND_ONCE, T.MACH_MSG_TYPE_PORT_SEND),
      );
      expect(got.header.size).toBe(40);
      expect(got.header.local).toBe(p);
      expect(got.header.id).toBe(7);
      expect(Array.from(got.buf.subarray(32, 40))).toEqual(Array.from(queued.buf.subarray(32, 40)));
      expect((await a.mach_port_type(got.header.remote)).type).toBe(R.MACH_PORT_TYPE_SEND_ONCE);
    }
    expect([queued.header.seqno, direct.header.seqno]).toEqual([0, 1]);
    expect(queued.header.remote).not.toBe(direct.header.remote);
    // Both replies go back through the send-once rights, the second one straight to a waiter.
    const reply = (to: number) =>
      msg(to, T.MACH_MSG_TYPE_MOVE_SEND_ONCE, { id: 107 }).int32(0).build();
    expect(await send(a, reply(queued.header.remote))).toBe(0);
    expect((await recv(b, r)).header.id).toBe(107);
    const waiting = recv(b, r);
    expect(await send(a, reply(direct.header.remote))).toBe(0);
    const back = await waiting;
    expect(back.header.local).toBe(r);
    expect(back.header.bits).toBe(T.MACH_MSGH_BITS(0, T.MACH_MSG_TYPE_PORT_SEND_ONCE));
    expect(a.space.snapshot().map((e) => e.name)).toEqual([p]);
    expect(a.pending.size + b.pending.size).toBe(0);
  });

  it("hands over to a receive blocked on a port set, naming the member", async () => {
    const { kernel, a, b } = twoTasks();
    const set = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_PORT_SET)).name;
    const p1 = await newPort(a);
    const p2 = await newPort(a);
    expect(await a.mach_port_move_member(p1, set)).toBe(0);
    expect(await a.mach_port_move_member(p2, set)).toBe(0);
    const s2 = kernel.giveRight(a, p2, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const base = snapshotAll(kernel);
    const pending = recv(a, set, { size: 64 });
    expect(await send(b, msg(s2, T.MACH_MSG_TYPE_COPY_SEND, { id: 9 }).build())).toBe(0);
    const got = await pending;
    expect(got.code).toBe(0);
    expect(got.header.local).toBe(p2);
    expect(got.header.seqno).toBe(0);
    expect(got.header.remote).toBe(0);
    expectBaseline(kernel, base);
  });

  it("copies every byte as the queue does, whatever the receive buffer held before", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const m = msg(s, T.MACH_MSG_TYPE_COPY_SEND, { id: 77 }).int32(0x01020304).int32(-1).build();
    m.set([0xa1, 0xa2, 0xa3, 0xa4], 12); // header padding and the high half of msgh_local
    m.set([0xb1, 0xb2, 0xb3, 0xb4], 20);
    const receive = async (first: boolean): Promise<Uint8Array> => {
      const buf = new Uint8Array(128).fill(0xee);
      const rcv = () => a.mach_msg(buf, T.MACH_RCV_MSG, 0, 128, p);
      if (first) {
        const pending = rcv();
        expect(await send(b, m)).toBe(0);
        expect(await pending).toBe(0);
      } else {
        expect(await send(b, m)).toBe(0);
        expect(await rcv()).toBe(0);
      }
      return buf;
    };
    const queued = await receive(false);
    const direct = await receive(true);
    direct.set(queued.subarray(24, 28), 24); // the sequence numbers differ (0, then 1)
    expect(Array.from(direct)).toEqual(Array.from(queued));
    expect(Array.from(queued.subarray(12, 16))).toEqual([0xa1, 0xa2, 0xa3, 0xa4]);
    expect(queued[m.length]).toBe(0xee); // nothing written past the message
  });

  it("a receive too small for the message still gets MACH_RCV_TOO_LARGE", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const big = msg(s, T.MACH_MSG_TYPE_COPY_SEND, { id: 5 }).int32(1).int32(2).build();
    // With MACH_RCV_LARGE the message stays queued for a larger receive.
    const large = recv(a, p, { size: 40, extra: T.MACH_RCV_LARGE });
    expect(await send(b, big)).toBe(0);
    const l = await large;
    expect(l.code).toBe(K.MACH_RCV_TOO_LARGE);
    expect(l.header.size).toBe(48);
    expect((await recv(a, p, { size: 48 })).header.id).toBe(5);
    // Without it the message is destroyed, taking a sequence number.
    const small = recv(a, p, { size: 40 });
    expect(await send(b, big)).toBe(0);
    expect((await small).code).toBe(K.MACH_RCV_TOO_LARGE);
    const pending = recv(a, p, { size: 48 });
    expect(await send(b, big)).toBe(0);
    expect((await pending).header.seqno).toBe(2);
  });

  it("a timed receive served directly does not time out afterwards", async () => {
    const { kernel, a, b } = twoTasks();
    const p = await newPort(a);
    const s = kernel.giveRight(a, p, T.MACH_MSG_TYPE_MAKE_SEND, b).name;
    const pending = recv(a, p, { size: 64, timeout: 20 });
    expect(a.pending.size).toBe(1);
    expect(await send(b, msg(s, T.MACH_MSG_TYPE_COPY_SEND, { id: 4 }).build())).toBe(0);
    expect((await pending).header.id).toBe(4);
    expect(a.pending.size).toBe(0);
    await new Promise((r) => setTimeout(r, 40));
    const next = recv(a, p, { size: 64, timeout: 1000 });
    expect(await send(b, msg(s, T.MACH_MSG_TYPE_COPY_SEND, { id: 6 }).build())).toBe(0);
    expect((await next).header.id).toBe(6);
  });

  it("RPC round trips keep every right accounted for, and task death still fails waits", async () => {
    const { kernel, a: server, b: client } = twoTasks();
    const service = await newPort(server);
    const s = kernel.giveRight(server, service, T.MACH_MSG_TYPE_MAKE_SEND, client).name;
    const reply = await newPort(client);
    const base = snapshotAll(kernel);
    const loop = (async () => {
      const buf = new Uint8Array(64);
      let code = await server.mach_msg(buf, T.MACH_RCV_MSG, 0, 64, service);
      while (code === 0) {
        const h = readHeader(buf);
        const out = msg(h.remote, T.MACH_MSG_TYPE_MOVE_SEND_ONCE, { id: h.id + 100 })
          .int32(h.seqno)
          .build();
        buf.set(out);
        code = await server.mach_msg(
          buf,
          T.MACH_SEND_MSG | T.MACH_RCV_MSG,
          out.length,
          64,
          service,
        );
      }
      return code;
    })();
    const buf = new Uint8Array(64);
    for (let i = 0; i < 50; i++) {
      buf.set(request(s, reply, 300, i));
      expect(await client.mach_msg(buf, T.MACH_SEND_MSG | T.MACH_RCV_MSG, 40, 64, reply)).toBe(0);
      const h = readHeader(buf);
      expect([h.id, h.seqno, new DataView(buf.buffer).getUint32(36, true)]).toEqual([400, i, i]);
    }
    expect(server.pending.size).toBe(1);
    expectBaseline(kernel, base);
    // The server dies blocked in its receive: the receive fails, the client's send right dies.
    server.terminate();
    expect(await loop).toBe(K.MACH_RCV_INVALID_NAME);
    expect(server.pending.size).toBe(0);
    expect((await client.mach_port_type(s)).type).toBe(R.MACH_PORT_TYPE_DEAD_NAME);
  });
});

describe("the allocation-free lists behind it", () => {
  it("PortHolders keeps insertion order and survives removal from anywhere", () => {
    const space = new IpcSpace("t");
    const port = new Port(new Set());
    const e = [1, 2, 3, 4].map((n) => new IpcEntry(space, n << 8));
    for (const x of e) port.holders.add(x);
    port.holders.add(e[1]!); // already there: no change
    expect(port.holders.delete(e[2]!)).toBe(true);
    expect(port.holders.delete(e[2]!)).toBe(false);
    expect(port.holders.delete(e[0]!)).toBe(true);
    expect([...port.holders].map((x) => x.name)).toEqual([2 << 8, 4 << 8]);
    expect(port.holders.size).toBe(2);
    expect(port.holders.has(e[3]!)).toBe(true);
    // An entry moves to another port's list by being added there.
    const other = new Port(new Set());
    other.holders.add(e[3]!);
    expect([...port.holders].map((x) => x.name)).toEqual([2 << 8]);
    expect(other.holders.size).toBe(1);
  });

  it("PendingCalls cancels every call once, each after leaving the list", () => {
    const calls = new PendingCalls();
    const log: string[] = [];
    class Call extends PendingCall {
      constructor(readonly label: string) {
        super();
      }
      cancel(): void {
        log.push(`${this.label}:${calls.has(this)}`);
      }
    }
    const [x, y, z] = [new Call("x"), new Call("y"), new Call("z")];
    calls.add(x);
    calls.add(y);
    calls.add(z);
    calls.delete(y);
    calls.delete(y);
    expect(calls.size).toBe(2);
    calls.cancelAll();
    expect(log.sort()).toEqual(["x:false", "z:false"]);
    expect(calls.size).toBe(0);
  });
});
