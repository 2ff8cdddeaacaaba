// Fast RPC lanes between isolated tasks: RPCs over a lane give what the kernel path gives (bytes,
// sequence numbers), mixed lane and kernel messages keep their order, a server dying mid-RPC
// gives the client its send-once notification, a client dying leaves the server dead names,
// revocation (by either side) falls back without losing a message, and rights balance after each.
import { afterEach, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { IsolatedTask } from "../../src/kernel/isolated-task.js";
import type { SyscallServer } from "../../src/kernel/syscall-server.js";
import { auditKernel } from "../../src/kernel/audit.js";
import { MessageBuilder, readHeader } from "../../src/kernel/message.js";
import * as T from "../../src/kernel/msg-type.js";
import * as K from "../../src/kernel/kern-return.js";
import { MACH_NOTIFY_SEND_ONCE } from "../../src/kernel/notify.js";
import { MACH_PORT_RIGHT_RECEIVE, MACH_PORT_TYPE_SEND_ONCE } from "../../src/kernel/port-right.js";
import { lanePosted } from "../../src/kernel/fast-lane.js";
import { expectBaseline, newPort, recv, snapshotAll, type Baseline } from "./kernel-helpers.js";
import { idleCpuShare } from "../helpers/idle-cpu.js";
import {
  CMD_FORGE,
  CMD_MIXED,
  CMD_RPC,
  CMD_RPC_OOL,
  CMD_RPC_OPTIONS,
  CMD_SEND,
  CMD_TOUCH,
  intArg,
} from "./fixtures/lane-client.js";

const fixture = (n: string) => new URL(`./fixtures/${n}.ts`, import.meta.url);
const handles: IsolatedTask[] = [];

afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.kill()));
});

interface Report {
  code: number;
  id: number;
  sum: number;
  /** Lane requests sent and replies taken so far, kernel calls so far. */
  sent: number;
  taken: number;
  kcalls: number;
  /** The first 256 bytes of the client's last reply. */
  reply: Uint8Array;
}

/** `spinMicros`: how long each task's waits spin before sleeping (the runtime's default if unset). */
async function setup(lanesOn = true, spinMicros?: number) {
  const saved = process.env.TSMACH_FAST_LANES;
  process.env.TSMACH_FAST_LANES = lanesOn ? "1" : "0";
  const kernel = new Kernel();
  const boot = kernel.createTask("boot");
  const service = await newPort(boot);
  await boot.mach_port_insert_right(service, service, T.MACH_MSG_TYPE_MAKE_SEND);
  const sreport = await newPort(boot);
  const spawn = (
    name: string,
    module: string,
    prepare: (t: ReturnType<Kernel["createTask"]>) => unknown,
  ) => {
    const r = kernel.spawnTask(name, fixture(module), {
      prepare,
      ...(spinMicros !== undefined ? { spinMicros } : {}),
    });
    if (!r.ok) throw new Error(r.error);
    handles.push(r.handle);
    return r.handle;
  };
  const give = (name: number, disp: number, t: ReturnType<Kernel["createTask"]>) =>
    kernel.giveRight(boot, name, disp, t).name;
  const server = spawn("lane-server", "lane-server", (t) => ({
    service: give(service, T.MACH_MSG_TYPE_MOVE_RECEIVE, t),
    report: give(sreport, T.MACH_MSG_TYPE_MAKE_SEND, t),
  }));
  /** A lane client of the service, driven through its own control and report ports. */
  const addClient = async (name: string) => {
    const control = await newPort(boot);
    await boot.mach_port_insert_right(control, control, T.MACH_MSG_TYPE_MAKE_SEND);
    const report = await newPort(boot);
    const handle = spawn(name, "lane-client", (t) => ({
      service: give(service, T.MACH_MSG_TYPE_COPY_SEND, t),
      control: give(control, T.MACH_MSG_TYPE_MOVE_RECEIVE, t),
      report: give(report, T.MACH_MSG_TYPE_MAKE_SEND, t),
    }));
    const post = async (what: number, ints: number[] = []): Promise<void> => {
      const b = new MessageBuilder({
        bits: T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_COPY_SEND, 0),
        remote: control,
        local: 0,
        id: what,
      });
      for (const v of ints) b.int32(v);
      const m = b.build();
      expect(await boot.mach_msg(m, T.MACH_SEND_MSG, m.length, 0, 0)).toBe(0);
    };
    const collect = async (what: number): Promise<Report> => {
      const r = await recv(boot, report, { timeout: 20_000 });
      expect(r.code).toBe(0);
      expect(r.header.id).toBe(600 + what);
      return {
        code: intArg(r.buf, 0) >>> 0,
        id: intArg(r.buf, 1),
        sum: intArg(r.buf, 2),
        sent: intArg(r.buf, 3),
        taken: intArg(r.buf, 4),
        kcalls: intArg(r.buf, 5),
        reply: r.buf.slice(84, 84 + 256),
      };
    };
    const command = async (what: number, ints: number[] = []): Promise<Report> => {
      await post(what, ints);
      return collect(what);
    };
    return { handle, post, collect, command };
  };
  const first = await addClient("lane-client");
  const client = first.handle;
  const { post, collect, command } = first;
  if (saved === undefined) delete process.env.TSMACH_FAST_LANES;
  else process.env.TSMACH_FAST_LANES = saved;
  const lanes = () => (kernel as unknown as { server: SyscallServer }).server.lanes;
  return {
    kernel,
    boot,
    service,
    sreport,
    server,
    client,
    command,
    post,
    collect,
    lanes,
    addClient,
    first,
  };
}

/** A second lane client of the service, both warmed up (on lanes), the server's log emptied. */
async function twoClients(
  command: (w: number, i: number[]) => Promise<Report>,
  addClient: (name: string) => Promise<{
    command: (w: number, i?: number[]) => Promise<Report>;
    post: (w: number, i?: number[]) => Promise<void>;
    collect: (w: number) => Promise<Report>;
  }>,
) {
  await warmUp(command);
  const b = await addClient("lane-client-b");
  await warmUp(b.command);
  await command(CMD_RPC, [1, 60, 0]); // empties the server's log
  return b;
}

/** RPCs until the client reports that one went over a lane. */
async function warmUp(command: (w: number, i: number[]) => Promise<Report>): Promise<Report> {
  for (let i = 0; i < 50; i++) {
    const r = await command(CMD_RPC, [1, 10, 1000 + i]);
    expect(r.code).toBe(0);
    if (r.sent > 0) return r;
  }
  throw new Error("no lane was granted");
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The rights of every task and the kernel's books, once the tasks are idle again. */
async function settled(kernel: Kernel, b: Baseline): Promise<void> {
  expect(auditKernel(kernel)).toEqual([]);
  expectBaseline(kernel, b);
}

describe("fast RPC lanes between isolated tasks", () => {
  it("carry RPCs with the bytes and sequence numbers the kernel path gives", async () => {
    const { kernel, command, lanes } = await setup();
    const first = await command(CMD_RPC_OPTIONS, [40, 7, 0, 8192, 0, 0]);
    expect(first.code).toBe(0);
    expect(first.sent).toBe(0); // the first call takes the kernel path (and gets the lane)
    expect(lanes()!.size).toBe(1);
    const calls: Report[] = [first];
    for (let i = 0; i < 12; i++) calls.push(await command(CMD_RPC_OPTIONS, [40, 7, 0, 8192, 0, 0]));
    const last = calls[calls.length - 1]!;
    expect(last.sent).toBeGreaterThan(0);
    const viaLane = calls.filter((c, i) => i > 0 && c.sent > calls[i - 1]!.sent);
    expect(viaLane.length).toBeGreaterThan(5);
    const words = (r: Report) => Array.from(new Int32Array(r.reply.buffer, 0, 20));
    const w0 = words(first);
    calls.forEach((c, i) => {
      const w = words(c);
      expect(c.code).toBe(0);
      expect(c.id).toBe(140);
      // Reply header: bits, size, remote, local, id as the kernel's; seqno of R counts on.
      expect([w[0], w[1], w[2], w[4], w[7]]).toEqual([w0[0], w0[1], w0[2], w0[4], w0[7]]);
      expect(w[6]).toBe(w0[6]! + i);
      // What the server saw: value, bits, size, local, id; the seqno of P counts on.
      const seen = [9, 11, 13, 15, 19].map((k) => w[k]);
      expect(seen).toEqual([9, 11, 13, 15, 19].map((k) => w0[k]));
      expect(w[17]).toBe(w0[17]! + i);
    });
    expect(w0[11]).toBe(
      T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_PORT_SEND_ONCE, T.MACH_MSG_TYPE_PORT_SEND),
    );
    expect(auditKernel(kernel)).toEqual([]);
  });

  it("keep one sender's order across lane and kernel messages; rights balance", async () => {
    const { kernel, command } = await setup();
    await warmUp(command);
    // The server logs RPC values (id 10) and one-way values (id 50); id 60 returns the log.
    await command(CMD_RPC, [1, 60, 0]);
    const b = snapshotAll(kernel);
    const expected: number[] = [];
    let v = 1;
    for (let round = 0; round < 4; round++) {
      expect((await command(CMD_RPC, [2, 10, v])).code).toBe(0);
      expected.push(v, v + 1);
      v += 2;
      expect((await command(CMD_SEND, [v])).code).toBe(0);
      expected.push(v++);
      expect((await command(CMD_MIXED, [v])).code).toBe(0);
      expected.push(v, v + 1);
      v += 2;
    }
    const log = await command(CMD_RPC, [1, 60, 999]);
    expect(log.code).toBe(0);
    expect(log.sent).toBeGreaterThan(8);
    const got = Array.from(new Int32Array(log.reply.buffer, 32, 2 * (expected.length + 1))).filter(
      (_, i) => i % 2 === 1,
    );
    expect(got).toEqual([...expected, 999]);
    await settled(kernel, b);
  });

  it("let a kernel-path request in while a lane client keeps the server busy", async () => {
    const { boot, service, command, post, collect } = await setup();
    await warmUp(command);
    // The lane client starts a long run of RPCs (id 10); meanwhile an in-thread task calls the
    // same port through the kernel. Its answer must come while the run is still going.
    const rounds = 20_000;
    await post(CMD_RPC, [rounds, 10, 0]);
    const reply = await newPort(boot);
    const m = new MessageBuilder({
      bits: T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_COPY_SEND, T.MACH_MSG_TYPE_MAKE_SEND_ONCE),
      remote: service,
      local: reply,
      id: 40,
    })
      .int32(7)
      .build();
    await new Promise((r) => setTimeout(r, 20)); // the run is under way
    expect(await boot.mach_msg(m, T.MACH_SEND_MSG, m.length, 0, 0)).toBe(0);
    const answered = await recv(boot, reply, { timeout: 20_000 });
    expect([answered.code, answered.header.id, intArg(answered.buf, 0)]).toEqual([0, 140, 7]);
    const run = await collect(CMD_RPC);
    expect(run.code).toBe(0);
    // Served mid-run: its sequence number on the port lies among the run's.
    const seqno = intArg(answered.buf, 4);
    expect(seqno).toBeLessThan(run.sent);
    expect(run.sent).toBeGreaterThan(rounds / 2);
    await boot.mach_port_mod_refs(reply, MACH_PORT_RIGHT_RECEIVE, -1);
  });

  it("receive a lane request and a kernel message in the order they were sent", async () => {
    const { boot, service, command, addClient, lanes, first } = await setup();
    const b = await twoClients(command, addClient);
    type Words = { mem: { words: Int32Array }; client: { task: unknown } };
    const table = lanes() as unknown as { lanes: Map<number, Words> };
    const clientTask = first.handle.task;
    const posted = () => {
      let n = 0;
      for (const l of table.lanes.values())
        if (l.client.task === clientTask) n += lanePosted(l.mem.words);
      return n;
    };
    const oneWay = async (value: number) => {
      const m = new MessageBuilder({
        bits: T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_COPY_SEND, 0),
        remote: service,
        local: 0,
        id: 50,
      })
        .int32(value)
        .build();
      expect(await boot.mach_msg(m, T.MACH_SEND_MSG, m.length, 0, 0)).toBe(0);
    };
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
      expect(cond()).toBe(true);
    };
    // Each round: client b keeps the server busy (id 28 sleeps 150 ms) while a request of the
    // first client and a one-way kernel message from boot wait, sent in a known order. (A
    // request sent after the kernel message cannot take the lane: it must not overtake it.)
    const round = async (laneFirst: boolean, v: number) => {
      await b.post(CMD_RPC, [1, 28, 150]);
      await new Promise((r) => setTimeout(r, 20));
      const before = posted();
      if (!laneFirst) await oneWay(v);
      await first.post(CMD_RPC, [1, 10, laneFirst ? v : v + 1]);
      if (laneFirst) {
        await until(() => posted() > before); // the request is in the lane
        await oneWay(v + 1);
      }
      expect((await first.collect(CMD_RPC)).code).toBe(0);
      expect((await b.collect(CMD_RPC)).code).toBe(0);
    };
    await round(true, 1);
    await round(false, 3);
    const log = await command(CMD_RPC, [1, 60, 0]);
    const values = Array.from(new Int32Array(log.reply.buffer, 32, 2 * 4)).filter(
      (_, i) => i % 2 === 1,
    );
    expect(values).toEqual([1, 2, 3, 4]);
  });

  it("let a kernel-path send wait for the lane request before it, whatever the server does", async () => {
    const { command, addClient } = await setup();
    const b = await twoClients(command, addClient);
    await b.post(CMD_RPC, [1, 28, 150]); // keeps the server busy
    await new Promise((r) => setTimeout(r, 20));
    // A request the server will keep unanswered (id 20) stays in the lane when its receive
    // times out; a one-way send to the same port then goes by the kernel, and must wait until
    // the server has taken that request. Nothing answers the client meanwhile.
    const kept = await command(CMD_RPC_OPTIONS, [20, 1, T.MACH_RCV_TIMEOUT, 8192, 10, 0]);
    expect(kept.code).toBe(K.MACH_RCV_TIMED_OUT);
    expect((await command(CMD_SEND, [5])).code).toBe(0);
    expect((await b.collect(CMD_RPC)).code).toBe(0);
    const log = await command(CMD_RPC, [1, 60, 0]);
    expect(intArg(log.reply, 0)).toBe(5);
  });

  it("serve several lane clients of one port in turn", async () => {
    const { command, addClient } = await setup();
    const b = await twoClients(command, addClient);
    // Id 27 keeps the server busy about a millisecond, so both lanes hold a request whenever
    // it comes back for the next one: a fixed scan order would serve one client only.
    const n = 12; // the log of 2n values fits in the 256 bytes of reply the client reports
    await Promise.all([command(CMD_RPC, [n, 27, 1000]), b.command(CMD_RPC, [n, 27, 2000])]);
    const log = await command(CMD_RPC, [1, 60, 0]);
    expect(log.code).toBe(0);
    const values = Array.from(new Int32Array(log.reply.buffer, 32, 2 * 2 * n)).filter(
      (_, i) => i % 2 === 1,
    );
    expect(values.length).toBe(2 * n);
    const firstHalf = values.slice(0, n);
    expect(firstHalf.filter((v) => v >= 1000 && v < 2000).length).toBeGreaterThanOrEqual(n / 4);
    expect(firstHalf.filter((v) => v >= 2000).length).toBeGreaterThanOrEqual(n / 4);
  });

  it("give the client a send-once notification when the server dies holding its reply right", async () => {
    const { kernel, command, server, lanes } = await setup();
    const w = await warmUp(command);
    const r = await command(CMD_RPC_OPTIONS, [30, 0, 0, 8192, 0, 0]);
    expect(r.sent).toBe(w.sent + 1); // the fatal request went over the lane
    expect(r.code).toBe(0);
    expect(r.id).toBe(MACH_NOTIFY_SEND_ONCE);
    await server.exited;
    const after = await command(CMD_RPC, [1, 10, 1]);
    expect(after.code).toBe(K.MACH_SEND_INVALID_DEST);
    expect(lanes()!.size).toBe(0);
    expect(auditKernel(kernel)).toEqual([]);
  });

  it("turn a request still in the lane into a send-once notification when the server dies", async () => {
    const { kernel, boot, service, command, post, collect, server, lanes } = await setup();
    const w = await warmUp(command);
    // The server naps; the client's next request waits in the lane; the server is killed.
    const nap = new MessageBuilder({
      bits: T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_COPY_SEND, 0),
      remote: service,
      local: 0,
      id: 26,
    })
      .int32(2000)
      .build();
    expect(await boot.mach_msg(nap, T.MACH_SEND_MSG, nap.length, 0, 0)).toBe(0);
    await waitFor(() => kernel.snapshot().queued === 0);
    await post(CMD_RPC, [1, 10, 1]);
    await new Promise((r) => setTimeout(r, 100));
    await server.kill();
    const r = await collect(CMD_RPC);
    expect(r.sent).toBe(w.sent + 1); // it went over the lane, and was never taken
    expect([r.code, r.id]).toEqual([0, MACH_NOTIFY_SEND_ONCE]);
    expect(lanes()!.size).toBe(0);
    expect(auditKernel(kernel)).toEqual([]);
  });

  it("leave the server dead names for a dead client's reply rights", async () => {
    const { kernel, boot, service, sreport, client, command, post, lanes } = await setup();
    await warmUp(command);
    await command(CMD_RPC, [1, 60, 0]);
    const serverTask = [...kernel.tasks].find((t) => t.name === "lane-server")!;
    const before = serverTask.space.snapshot();
    // The client's request is taken over the lane and kept unanswered; then the client dies.
    await post(CMD_RPC_OPTIONS, [20, 0, 0, 8192, 0, 0]);
    await waitFor(() => lanes()!.owed() > 0);
    await client.kill();
    // The server answers what it kept: a dead name now, which it deallocates.
    const m = new MessageBuilder({
      bits: T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_COPY_SEND, 0),
      remote: service,
      local: 0,
      id: 21,
    })
      .int32(0)
      .build();
    expect(await boot.mach_msg(m, T.MACH_SEND_MSG, m.length, 0, 0)).toBe(0);
    const r = await recv(boot, sreport, { timeout: 20_000 });
    expect(r.code).toBe(0);
    expect([intArg(r.buf, 0) >>> 0, intArg(r.buf, 1), intArg(r.buf, 2)]).toEqual([
      K.MACH_SEND_INVALID_DEST,
      K.KERN_SUCCESS,
      -1,
    ]);
    expect(serverTask.space.snapshot()).toEqual(before);
    expect(lanes()!.size).toBe(0);
    expect(auditKernel(kernel)).toEqual([]);
  });

  it("fall back without losing a message when either side revokes, and come back", async () => {
    const { kernel, command } = await setup();
    const w = await warmUp(command);
    await command(CMD_RPC, [1, 60, 0]);
    const b = snapshotAll(kernel);
    // The client touches its send right: the lane is revoked, the next call takes the kernel.
    const touch = await command(CMD_TOUCH);
    expect(touch.code).toBe(0);
    const after = await command(CMD_RPC, [1, 10, 5]);
    expect(after.code).toBe(0);
    expect(after.sum).toBe(10);
    expect(after.sent).toBe(touch.sent);
    // A new lane is granted and used again.
    const again = await command(CMD_RPC, [20, 10, 1]);
    expect(again.code).toBe(0);
    expect(again.sum).toBe((2 * (20 * 21)) / 2);
    expect(again.sent).toBeGreaterThan(after.sent);
    // The server changes its port's queue limit while answering a lane request: its reply
    // right becomes real and the answer takes the kernel path.
    const q = await command(CMD_RPC_OPTIONS, [80, 0, 0, 8192, 0, 0]);
    expect([q.code, q.id, q.sum]).toEqual([0, 180, 0]);
    expect(q.sent).toBe(again.sent + 1);
    expect(q.taken).toBe(again.taken);
    // Asking the kernel about a lane reply name makes it a real send-once right.
    await command(CMD_RPC, [10, 10, 1]);
    const t = await command(CMD_RPC_OPTIONS, [70, 0, 0, 8192, 0, 0]);
    expect([t.code, t.id, t.sum]).toEqual([0, 170, 0]);
    expect(intArg(t.reply, 1) >>> 0).toBe(MACH_PORT_TYPE_SEND_ONCE);
    // Listing its names (portinfo) shows a reply right held on a lane, as a send-once right.
    await command(CMD_RPC, [10, 10, 1]);
    const listed = await command(CMD_RPC_OPTIONS, [71, 0, 0, 8192, 0, 0]);
    expect([listed.code, listed.id, intArg(listed.reply, 0), intArg(listed.reply, 1)]).toEqual([
      0, 171, 0, 1,
    ]);
    expect(intArg(listed.reply, 2) >>> 0).toBe(MACH_PORT_TYPE_SEND_ONCE);
    expect(w.code).toBe(0);
    await command(CMD_RPC, [1, 60, 0]);
    await settled(kernel, b);
  });

  it("carry out-of-line data (copied or moved) into memory the server frees in place", async () => {
    const { kernel, command } = await setup();
    const w = await warmUp(command);
    await command(CMD_RPC, [1, 60, 0]);
    const b = snapshotAll(kernel);
    const pool = kernel.sharedPool();
    const free = pool.stats().freePages;
    const expectSum = (count: number, size: number) => {
      let s = 0;
      for (let i = 0; i < count; i++)
        for (let k = 0; k < size; k++) s = (s + ((k * 7 + i) & 0xff)) | 0;
      return s;
    };
    for (const [size, dealloc] of [
      [4096, 0],
      [100_000, 1],
      [1 << 20, 0],
      [0, 0],
    ] as const) {
      const r = await command(CMD_RPC_OOL, [3, size, dealloc]);
      // Empty data arrives as a null pointer (no region: the server reports -1 and its
      // vm_deallocate fails), as from the kernel path.
      expect([r.code, r.id, r.sum]).toEqual([0, 145, size ? expectSum(3, size) : -3]);
      expect(intArg(r.reply, 1)).toBe(size ? K.KERN_SUCCESS : K.KERN_INVALID_ADDRESS);
    }
    const last = await command(CMD_RPC, [1, 60, 0]);
    expect(last.sent - w.sent).toBeGreaterThanOrEqual(12);
    expect(pool.stats().freePages).toBe(free);
    await settled(kernel, b);
  });

  it("give the kernel path's results for timeouts, too-large replies and late replies", async () => {
    // One script, run with lanes and without: every result, reply byte and seqno must agree.
    const script: [number, number[]][] = [
      ...Array.from({ length: 8 }, (_, i): [number, number[]] => [
        CMD_RPC_OPTIONS,
        [40, i, 0, 8192, 0, 0],
      ]),
      // A reply larger than the receive buffer: destroyed (its right's notification follows).
      [CMD_RPC_OPTIONS, [10, 1, 0, 32, 0, 0]],
      [CMD_RPC_OPTIONS, [40, 2, 0, 8192, 0, 0]],
      [CMD_RPC_OPTIONS, [40, 3, 0, 8192, 0, 0]],
      // With MACH_RCV_LARGE it stays queued and its size is reported.
      [CMD_RPC_OPTIONS, [10, 4, T.MACH_RCV_LARGE, 32, 0, 0]],
      [CMD_RPC_OPTIONS, [40, 5, 0, 8192, 0, 0]],
      [CMD_RPC_OPTIONS, [40, 6, 0, 8192, 0, 0]],
      // Replies run one behind from here (the one kept queued above comes first). A request the
      // server keeps, received with a timeout: the receive takes the previous reply, and the
      // kept one is answered later (id 21), before the next request's. The timeouts are long
      // enough never to expire on a loaded machine: when they did, the two runs differed.
      [CMD_RPC_OPTIONS, [20, 7, T.MACH_RCV_TIMEOUT, 8192, 5000, 0]],
      [CMD_RPC_OPTIONS, [40, 8, T.MACH_RCV_TIMEOUT, 8192, 5000, 0]],
      [CMD_SEND, [9]],
      [CMD_MIXED, [10]],
      [CMD_RPC_OPTIONS, [40, 12, 0, 8192, 0, 0]],
      [CMD_RPC_OPTIONS, [40, 13, 0, 200, 0, 16]],
      [CMD_RPC_OPTIONS, [40, 14, 0, 8192, 0, 5000]],
      [CMD_RPC_OPTIONS, [40, 15, 0, 8192, 0, 0]],
    ];
    const run = async (lanesOn: boolean) => {
      const { command, post, service, boot, lanes } = await setup(lanesOn);
      const out: unknown[] = [];
      for (const [what, ints] of script) {
        const r = await command(what, ints);
        // Names differ between the two kernels in their low (generation) byte only.
        const bytes = r.reply.slice();
        const w = new Uint32Array(bytes.buffer);
        for (const k of [2, 4, 15]) w[k] = w[k]! >>> 8;
        out.push([r.code, r.id, r.sum, Array.from(bytes)]);
        if (ints[0] === 20) {
          // Now let the server answer what it kept (boot asks, with no reply port).
          const m = new MessageBuilder({
            bits: T.MACH_MSGH_BITS(T.MACH_MSG_TYPE_COPY_SEND, 0),
            remote: service,
            local: 0,
            id: 21,
          })
            .int32(0)
            .build();
          expect(await boot.mach_msg(m, T.MACH_SEND_MSG, m.length, 0, 0)).toBe(0);
        }
      }
      void post;
      const used = (lanes()?.size ?? 0) > 0;
      await Promise.all(handles.splice(0).map((h) => h.kill()));
      return { out, used };
    };
    const withLanes = await run(true);
    const without = await run(false);
    expect(withLanes.used).toBe(true);
    expect(without.used).toBe(false);
    const brief = (o: unknown[]) =>
      o.map((x) => {
        const [code, id, sum, bytes] = x as [number, number, number, number[]];
        return `${code.toString(16)} ${id} ${sum} | ${Array.from(
          new Uint32Array(new Uint8Array(bytes).buffer, 0, 20),
        )
          .map((v) => v.toString(16))
          .join(" ")}`;
      });
    expect(brief(withLanes.out)).toEqual(brief(without.out));
    expect(withLanes.out).toEqual(without.out);
  });

  it("never deliver a right a client forged in a lane request", async () => {
    const { kernel, command } = await setup();
    await warmUp(command);
    await command(CMD_RPC, [1, 60, 0]);
    const b = snapshotAll(kernel);
    const serverTask = [...kernel.tasks].find((t) => t.name === "lane-server")!;
    // A name the server really holds (its service port's receive right), claimed as a send
    // right the message carries: the server's runtime refuses the message; the kernel destroys
    // it, and the client gets the send-once notification of its reply right.
    const victim = serverTask.space.snapshot()[0]!.name;
    const r = await command(CMD_FORGE, [victim]);
    expect([r.code, r.id]).toEqual([0, MACH_NOTIFY_SEND_ONCE]);
    // The server never saw it: its log holds only what came after.
    const log = await command(CMD_RPC, [1, 60, 77]);
    expect([log.code, log.id, log.sum]).toEqual([0, 160, 77]);
    await settled(kernel, b);
  });

  it("carry RPCs when neither task spins: each wait sleeps, and each message wakes it", async () => {
    // A consumer marks the slot it waits on as watched (its producer then skips the bell), even
    // before its wait begins; with no spin at all it goes straight to sleep, so it must unmark
    // first and look again, or a message posted in between would never wake it.
    const { command } = await setup(true, 0);
    const w = await warmUp(command);
    const r = await command(CMD_RPC, [100, 10, 1]);
    expect(r.code).toBe(0);
    expect(r.sum).toBe(2 * ((100 * 101) / 2));
    expect(r.sent).toBe(w.sent + 100);
  });

  it("park both tasks while idle, and wake them for the next call", async () => {
    const { command } = await setup();
    await warmUp(command);
    const before = await command(CMD_RPC, [200, 10, 1]);
    // Idle: well under one core's worth for the whole process (both workers and the kernel).
    expect(await idleCpuShare()).toBeLessThan(0.3);
    // Each side caught its last message spinning and kept that slot marked watched; it must have
    // unmarked it before sleeping, or this request and its reply would come with no ring.
    const after = await command(CMD_RPC, [20, 10, 1]);
    expect(after.code).toBe(0);
    expect(after.sum).toBe(2 * ((20 * 21) / 2));
    expect(after.sent).toBe(before.sent + 20);
  });
});
