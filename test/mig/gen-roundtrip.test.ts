// Generated stubs and dispatcher talking through the kernel: every argument kind (in/out/inout
// ints and bigints, booleans, c_string, arrays fixed/bounded/unbounded/out-of-line, structs,
// rights of each disposition, polymorphic rights), simpleroutines and deferred replies.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { Task } from "../../src/kernel/task.js";
import {
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_PORT_SEND,
} from "../../src/kernel/msg-type.js";
import {
  MACH_PORT_RIGHT_RECEIVE,
  MACH_PORT_TYPE_RECEIVE,
  MACH_PORT_TYPE_SEND,
  MACH_PORT_TYPE_SEND_ONCE,
} from "../../src/kernel/port-right.js";
import {
  asReceiveRight,
  asSendOnceRight,
  asSendRight,
  mach_msg_server,
  MIG_ARRAY_TOO_LARGE,
  MIG_NO_REPLY,
  MigDemux,
  mig_release_reply_ports,
  type MigReply,
  type MigSubsystemServer,
  type PolyRight,
  type ReceiveRight,
  type SendRight,
} from "../../src/kernel/mig/index.js";
import { MACH_RCV_TIMED_OUT } from "../../src/kernel/kern-return.js";
import { generateInto, importModule } from "./gen-support.js";

export const ROUNDTRIP_DEFS = `
/* Every argument kind the generator maps. */
subsystem roundtrip 93000;

type int64_t = MACH_MSG_TYPE_INTEGER_64;
type boolean_t = MACH_MSG_TYPE_BOOLEAN;
type mach_port_t = MACH_MSG_TYPE_COPY_SEND;
type mach_port_make_send_t = MACH_MSG_TYPE_MAKE_SEND ctype: mach_port_t;
type mach_port_make_send_once_t = MACH_MSG_TYPE_MAKE_SEND_ONCE ctype: mach_port_t;
type mach_port_move_send_t = MACH_MSG_TYPE_MOVE_SEND ctype: mach_port_t;
type mach_port_move_send_once_t = MACH_MSG_TYPE_MOVE_SEND_ONCE ctype: mach_port_t;
type mach_port_move_receive_t = MACH_MSG_TYPE_MOVE_RECEIVE ctype: mach_port_t;
type mach_port_poly_t = polymorphic ctype: mach_port_t;
type reply_port_t = MACH_MSG_TYPE_MAKE_SEND_ONCE | polymorphic ctype: mach_port_t;
type name_t = c_string[64];
type quad_t = array[4] of int;
type ints_t = array[*:16] of int;
type many_t = array[] of int;
type blob_t = ^array[] of MACH_MSG_TYPE_BYTE;
type triple_t = struct[3] of int;
type bytes_t = array[*:64] of char;
type ports_t = array[*:4] of mach_port_t;

routine scalars(
		server	: mach_port_t;
		a	: int;
	inout	b	: int;
	out	c	: int;
		x	: int64_t;
	inout	y	: int64_t;
	out	z	: int64_t;
		flag	: boolean_t;
	out	nflag	: boolean_t;
		s	: name_t;
	out	t	: name_t);

routine arrays(
		server	: mach_port_t;
		fixed	: quad_t;
		bounded	: ints_t;
		unbounded : many_t;
		ool	: blob_t;
		st	: triple_t;
		chars	: bytes_t;
	out	ofixed	: quad_t;
	out	obounded : ints_t;
	out	ounbounded : many_t;
	out	oool	: blob_t;
	out	ost	: triple_t);

routine ports(
		server	: mach_port_t;
		copy	: mach_port_t;
		make	: mach_port_make_send_t;
		makeonce : mach_port_make_send_once_t;
		moverecv : mach_port_move_receive_t;
		movesend : mach_port_move_send_t;
		moveonce : mach_port_move_send_once_t;
		poly	: mach_port_poly_t;
		several	: ports_t;
	out	osend	: mach_port_make_send_t;
	out	opoly	: mach_port_poly_t;
	out	types	: ints_t);

routine deferred(
		server	: mach_port_t;
	sreplyport reply : reply_port_t;
		v	: int;
	out	w	: int);

simpleroutine oneway(
		server	: mach_port_t;
		v	: int);

routine timed(
		server	: mach_port_t;
	waittime wait	: int;
		v	: int;
	out	w	: int);

routine counted(
		server	: mach_port_t;
		n	: int;
	out	values	: ints_t, CountInOut);
`;

interface Roundtrip {
  roundtrip_server(impl: unknown): MigSubsystemServer;
  scalars(
    ...a: unknown[]
  ): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: number }>;
  arrays(
    ...a: unknown[]
  ): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: number }>;
  ports(
    ...a: unknown[]
  ): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: number }>;
  deferred(
    ...a: unknown[]
  ): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: number }>;
  timed(
    ...a: unknown[]
  ): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: number }>;
  counted(
    ...a: unknown[]
  ): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: number }>;
  oneway(...a: unknown[]): Promise<number>;
}

describe("generated stubs through the kernel", () => {
  let dir: string;
  let mod: Roundtrip;
  const kernel = new Kernel();
  let server: Task;
  let client: Task;
  let service: ReceiveRight;
  let clientSend: SendRight;
  let served: Promise<number>;
  const received: Record<string, unknown> = {};
  let pendingReply: { reply: MigReply<{ w: number }>; v: number } | undefined;
  let onewayValue: number | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsmig-roundtrip-"));
    const defs = join(dir, "roundtrip.defs");
    writeFileSync(defs, ROUNDTRIP_DEFS);
    mod = await importModule<Roundtrip>(await generateInto(join(dir, "out"), defs));
    server = kernel.createTask("rt-server");
    client = kernel.createTask("rt-client");
    const r = await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    service = asReceiveRight(r.name);
    const given = kernel.giveRight(server, service, MACH_MSG_TYPE_MAKE_SEND, client);
    clientSend = asSendRight(given.name);
    const impl = {
      scalars: (
        _p: ReceiveRight,
        a: number,
        b: number,
        x: bigint,
        y: bigint,
        flag: boolean,
        s: string,
      ) => ({
        b: b + 1,
        c: a * 2,
        y: y * 3n,
        z: x - 1n,
        nflag: !flag,
        t: s.toUpperCase(),
      }),
      arrays: (
        _p: ReceiveRight,
        fixed: Int32Array,
        bounded: Int32Array,
        unbounded: Int32Array,
        ool: Uint8Array,
        st: readonly number[],
        chars: Uint8Array,
      ) => {
        Object.assign(received, { fixed, bounded, unbounded, ool, st, chars });
        return {
          ofixed: fixed.map((v) => v + 1),
          obounded: bounded.slice().reverse(),
          ounbounded: unbounded.map((v) => -v),
          oool: ool.map((v) => v ^ 0xff),
          ost: [st[2]!, st[1]!, st[0]!] as const,
        };
      },
      ports: async (_p: ReceiveRight, ...args: unknown[]) => {
        const rights = args.slice(0, 6) as number[];
        const poly = args[6] as PolyRight;
        const several = args[7] as number[];
        const types: number[] = [];
        for (const n of [...rights, poly.name, ...several])
          types.push((await server.mach_port_type(n)).type);
        Object.assign(received, { poly });
        return {
          osend: service,
          opoly: { name: service, disposition: MACH_MSG_TYPE_MAKE_SEND },
          types: Int32Array.from(types),
        };
      },
      deferred: (_p: ReceiveRight, reply: MigReply<{ w: number }>, v: number) => {
        if (v < 0) return { w: v };
        pendingReply = { reply, v };
        return MIG_NO_REPLY;
      },
      oneway: (_p: ReceiveRight, v: number) => {
        onewayValue = v;
        return 0;
      },
      timed: (_p: ReceiveRight, v: number) => (v < 0 ? MIG_NO_REPLY : { w: v + 1 }),
      counted: (_p: ReceiveRight, n: number, valuesCnt: number) => {
        received["valuesCnt"] = valuesCnt;
        return { values: Int32Array.from({ length: n }, (_, i) => i * i) };
      },
    };
    served = mach_msg_server(server, new MigDemux(mod.roundtrip_server(impl)), service);
  }, 60_000);

  afterAll(async () => {
    await mig_release_reply_ports(client);
    client?.terminate();
    server?.terminate();
    await served;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("passes ints, bigints, booleans and strings in, out and inout", async () => {
    const r = await mod.scalars(client, clientSend, 21, 5, 10n, -7n, true, "sda1");
    expect(r).toEqual({
      ok: true,
      value: { b: 6, c: 42, y: -21n, z: 9n, nflag: false, t: "SDA1" },
    });
    const big = await mod.scalars(
      client,
      clientSend,
      -1,
      0x7fffffff,
      -(2n ** 63n),
      2n ** 40n,
      false,
      "x".repeat(100),
    );
    expect(big.ok && big.value).toMatchObject({
      c: -2,
      b: -0x80000000,
      z: 2n ** 63n - 1n,
      y: 3n * 2n ** 40n,
      nflag: true,
    });
    expect(big.ok && (big.value["t"] as string).length).toBe(63); // c_string[64]: 63 chars and NUL
  });

  it("passes arrays fixed, bounded, unbounded (in-line and out-of-line) and out-of-line data", async () => {
    const fixed = Int32Array.of(1, 2, 3, 4);
    const bounded = Int32Array.of(5, 6, 7);
    const big = Int32Array.from({ length: 3000 }, (_, i) => i); // > 2048 bytes: goes out of line
    const ool = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
    const r = await mod.arrays(
      client,
      clientSend,
      fixed,
      bounded,
      big,
      ool,
      [7, 8, 9],
      new TextEncoder().encode("abc"),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.value["ofixed"] as Int32Array)).toEqual([2, 3, 4, 5]);
    expect(Array.from(r.value["obounded"] as Int32Array)).toEqual([7, 6, 5]);
    expect(Array.from(r.value["ounbounded"] as Int32Array)).toEqual(
      Array.from(big, (v) => (v === 0 ? 0 : -v)),
    );
    expect(r.value["oool"]).toEqual(ool.map((v) => v ^ 0xff));
    expect(r.value["ost"]).toEqual([9, 8, 7]);
    expect(Array.from(received["unbounded"] as Int32Array)).toEqual(Array.from(big));
    expect(new TextDecoder().decode(received["chars"] as Uint8Array)).toBe("abc");
    const small = await mod.arrays(
      client,
      clientSend,
      fixed,
      new Int32Array(0),
      Int32Array.of(1),
      new Uint8Array(0),
      [0, 0, 0],
      new Uint8Array(0),
    );
    expect(small.ok && Array.from(small.value["ounbounded"] as Int32Array)).toEqual([-1]);
    expect(small.ok && (small.value["oool"] as Uint8Array).length).toBe(0);
    // The client refuses what cannot fit, before sending, as GNU MIG's stubs do.
    const tooMany = await mod.arrays(
      client,
      clientSend,
      fixed,
      new Int32Array(17),
      Int32Array.of(1),
      new Uint8Array(0),
      [0, 0, 0],
      new Uint8Array(0),
    );
    expect(tooMany).toEqual({ ok: false, code: MIG_ARRAY_TOO_LARGE });
  });

  it("moves rights under every disposition and polymorphic rights both ways", async () => {
    const recv = async () => (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
    const copy = await recv();
    await client.mach_port_insert_right(copy, copy, MACH_MSG_TYPE_MAKE_SEND);
    const make = await recv();
    const makeonce = await recv();
    const moverecv = await recv();
    const movesend = await recv();
    await client.mach_port_insert_right(movesend, movesend, MACH_MSG_TYPE_MAKE_SEND);
    const onceSource = await recv();
    const once = await client.mach_port_extract_right(onceSource, MACH_MSG_TYPE_MAKE_SEND_ONCE);
    const r = await mod.ports(
      client,
      clientSend,
      asSendRight(copy),
      asReceiveRight(make),
      asReceiveRight(makeonce),
      asReceiveRight(moverecv),
      asSendRight(movesend),
      asSendOnceRight(once.poly),
      { name: copy, disposition: MACH_MSG_TYPE_MAKE_SEND },
      [asSendRight(copy), asSendRight(copy)],
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.value["types"] as Int32Array)).toEqual([
      MACH_PORT_TYPE_SEND,
      MACH_PORT_TYPE_SEND,
      MACH_PORT_TYPE_SEND_ONCE,
      MACH_PORT_TYPE_RECEIVE,
      MACH_PORT_TYPE_SEND,
      MACH_PORT_TYPE_SEND_ONCE,
      MACH_PORT_TYPE_SEND,
      MACH_PORT_TYPE_SEND,
      MACH_PORT_TYPE_SEND,
    ]);
    expect((received["poly"] as PolyRight).disposition).toBe(MACH_MSG_TYPE_PORT_SEND);
    // What came back: send rights to the service port, under the name the client already has.
    expect(r.value["osend"]).toBe(clientSend);
    expect(r.value["opoly"]).toEqual({ name: clientSend, disposition: MACH_MSG_TYPE_PORT_SEND });
    expect((await client.mach_port_type(clientSend)).type).toBe(MACH_PORT_TYPE_SEND);
    // Moved rights are gone from the client.
    expect((await client.mach_port_type(moverecv)).kr).not.toBe(0);
    expect((await client.mach_port_type(once.poly)).kr).not.toBe(0);
  });

  it("lets a handler with a sreplyport answer later (MIG_NO_REPLY)", async () => {
    const call = mod.deferred(client, clientSend, 20);
    for (let i = 0; i < 100 && !pendingReply; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pendingReply?.v).toBe(20);
    let settled = false;
    void call.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false); // no reply yet: the server deferred it
    expect(await pendingReply!.reply.send({ w: 40 })).toBe(0);
    expect(await call).toEqual({ ok: true, value: { w: 40 } });
    expect(await pendingReply!.reply.send({ w: 1 })).not.toBe(0); // a send-once right replies once
    expect(await mod.deferred(client, clientSend, -3)).toEqual({ ok: true, value: { w: -3 } });
  });

  it("sends simpleroutines one way", async () => {
    expect(await mod.oneway(client, clientSend, 1234)).toBe(0);
    for (let i = 0; i < 100 && onewayValue === undefined; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(onewayValue).toBe(1234);
  });

  it("gives up after a routine's waittime (MACH_RCV_TIMED_OUT)", async () => {
    expect(await mod.timed(client, clientSend, 1000, 5)).toEqual({ ok: true, value: { w: 6 } });
    expect(await mod.timed(client, clientSend, 30, -1)).toEqual({
      ok: false,
      code: MACH_RCV_TIMED_OUT,
    });
  });

  it("passes the CountInOut capacity and answers MIG_ARRAY_TOO_LARGE above it", async () => {
    const r = await mod.counted(client, clientSend, 4, 10);
    expect(r.ok && Array.from(r.value["values"] as Int32Array)).toEqual([0, 1, 4, 9]);
    expect(received["valuesCnt"]).toBe(10);
    expect(await mod.counted(client, clientSend, 6, 5)).toEqual({
      ok: false,
      code: MIG_ARRAY_TOO_LARGE,
    });
  });
});
