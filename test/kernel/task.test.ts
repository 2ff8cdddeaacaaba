// Tasks in both modes: isolated tasks serving and calling RPCs through the kernel, out-of-line
// data through the shared pool, and task death (return, throw, endless loop killed) destroying
// rights with their notifications while the kernel and other tasks go on.
import * as inspector from "node:inspector";
import { afterEach, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { IsolatedTask } from "../../src/kernel/isolated-task.js";
import { auditKernel } from "../../src/kernel/audit.js";
import { msg, newPort, recv, send, u32At } from "./kernel-helpers.js";
import * as T from "../../src/kernel/msg-type.js";
import * as R from "../../src/kernel/port-right.js";
import * as N from "../../src/kernel/notify.js";
import { readHeader } from "../../src/kernel/message.js";

const fixture = (n: string) => new URL(`./fixtures/${n}.ts`, import.meta.url);
const handles: IsolatedTask[] = [];

afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.kill()));
});

function spawn(
  kernel: Kernel,
  name: string,
  module: string,
  prepare: Parameters<Kernel["spawnTask"]>[2],
): IsolatedTask {
  const r = kernel.spawnTask(name, fixture(module), prepare);
  if (!r.ok) throw new Error(r.error);
  handles.push(r.handle);
  return r.handle;
}

async function call(
  client: ReturnType<Kernel["createTask"]>,
  service: number,
  reply: number,
  value: number,
  timeout = 10000,
) {
  const buf = new Uint8Array(256);
  const m = msg(service, T.MACH_MSG_TYPE_COPY_SEND, {
    reply,
    replyDisp: T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    id: 10,
  })
    .int32(value)
    .build();
  buf.set(m);
  const code = await client.mach_msg(
    buf,
    T.MACH_SEND_MSG | T.MACH_RCV_MSG | T.MACH_RCV_TIMEOUT,
    m.length,
    256,
    reply,
    timeout,
  );
  return { code, id: readHeader(buf).id, value: u32At(buf, 36) };
}

describe("isolated tasks", () => {
  it("serve RPCs from an in-thread client; killing the server turns the client's right dead", async () => {
    const kernel = new Kernel();
    const client = kernel.createTask("client");
    const p = await newPort(client);
    const svc = kernel.giveRight(client, p, T.MACH_MSG_TYPE_MAKE_SEND, client).name;
    expect(svc).toBe(p);
    const server = spawn(kernel, "echo", "echo-server", {
      prepare: (t) => ({
        service: kernel.giveRight(client, p, T.MACH_MSG_TYPE_MOVE_RECEIVE, t).name,
      }),
    });
    const reply = await newPort(client);
    for (let i = 1; i <= 20; i++)
      expect(await call(client, p, reply, i)).toEqual({ code: 0, id: 110, value: 2 * i });
    const notify = await newPort(client);
    expect(
      (
        await client.mach_port_request_notification(
          p,
          N.MACH_NOTIFY_DEAD_NAME,
          0,
          notify,
          T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
        )
      ).kr,
    ).toBe(0);
    await server.kill();
    expect(await server.exited).toEqual({ reason: "killed" });
    const n = await recv(client, notify, { timeout: 5000 });
    expect(n.header.id).toBe(N.MACH_NOTIFY_DEAD_NAME);
    expect(u32At(n.buf, 36)).toBe(p);
    expect((await client.mach_port_type(p)).type).toBe(R.MACH_PORT_TYPE_DEAD_NAME);
    expect(auditKernel(kernel)).toEqual([]);
    expect(kernel.snapshot().ports).toBe(2); // reply and notify; the service port died with the server
  });

  it("two isolated tasks talk RPC through the kernel; out-of-line data crosses via the pool", async () => {
    const kernel = new Kernel();
    const boot = kernel.createTask("boot");
    const p = await newPort(boot);
    const report = await newPort(boot);
    expect(await boot.mach_port_insert_right(p, p, T.MACH_MSG_TYPE_MAKE_SEND)).toBe(0);
    spawn(kernel, "echo", "echo-server", {
      prepare: (t) => ({
        service: kernel.giveRight(boot, p, T.MACH_MSG_TYPE_MOVE_RECEIVE, t).name,
      }),
    });
    const clientTask = spawn(kernel, "client", "rpc-client", {
      prepare: (t) => ({
        service: kernel.giveRight(boot, p, T.MACH_MSG_TYPE_COPY_SEND, t).name,
        report: kernel.giveRight(boot, report, T.MACH_MSG_TYPE_MAKE_SEND, t).name,
        count: 50,
      }),
    });
    const r = await recv(boot, report, { timeout: 20000 });
    expect(r.code).toBe(0);
    expect(r.header.id).toBe(500);
    expect(u32At(r.buf, 36)).toBe(50 * 51);
    expect(await clientTask.exited).toEqual({ reason: "exited" });
    // Out-of-line: an in-thread sender, 100 KB copied into the isolated server's pool memory.
    const reply = await newPort(boot);
    const { address } = await boot.vm_allocate(100_000);
    const region = boot.vm_region(address)!;
    for (let i = 0; i < region.length; i++) region[i] = i & 0xff;
    let expected = 0;
    for (let i = 0; i < region.length; i++) expected = (expected + region[i]!) >>> 0;
    const buf = new Uint8Array(256);
    const m = msg(p, T.MACH_MSG_TYPE_COPY_SEND, {
      reply,
      replyDisp: T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
      id: 10,
      complex: true,
    })
      .ool(9, 8, 100_000, address)
      .build();
    buf.set(m);
    expect(
      await boot.mach_msg(
        buf,
        T.MACH_SEND_MSG | T.MACH_RCV_MSG | T.MACH_RCV_TIMEOUT,
        m.length,
        256,
        reply,
        10000,
      ),
    ).toBe(0);
    expect(u32At(buf, 36)).toBe(expected);
    const before = kernel.sharedPool().stats().freePages;
    expect(before).toBe(kernel.sharedPool().stats().totalPages);
  });
});

describe("task death", () => {
  it("a worker stuck in an endless loop is killed; its rights die with notifications; the kernel goes on", async () => {
    const kernel = new Kernel();
    const boot = kernel.createTask("boot");
    const report = await newPort(boot);
    const held = await newPort(boot);
    const notify = await newPort(boot);
    await boot.mach_port_request_notification(
      held,
      N.MACH_NOTIFY_NO_SENDERS,
      1,
      notify,
      T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    const looper = spawn(kernel, "looper", "looper", {
      prepare: (t) => {
        kernel.giveRight(boot, held, T.MACH_MSG_TYPE_MAKE_SEND, t);
        return { report: kernel.giveRight(boot, report, T.MACH_MSG_TYPE_MAKE_SEND, t).name };
      },
    });
    expect((await recv(boot, report, { timeout: 20000 })).header.id).toBe(1);
    // The kernel still serves in-thread tasks while the worker spins.
    expect(await send(boot, msg(report, T.MACH_MSG_TYPE_MAKE_SEND, { id: 2 }).build())).toBe(0);
    expect((await recv(boot, report, { timeout: 1000 })).header.id).toBe(2);
    await looper.kill();
    expect((await looper.exited).reason).toBe("killed");
    const n = await recv(boot, notify, { timeout: 5000 });
    expect(n.header.id).toBe(N.MACH_NOTIFY_NO_SENDERS);
    expect(u32At(n.buf, 36)).toBe(1);
    expect(auditKernel(kernel)).toEqual([]);
    expect(kernel.tasks.size).toBe(1);
  });

  it("an isolated task's thread carries its name, as a debugger lists it", async () => {
    // The inspector's NodeWorker domain reports each worker thread with its title; it reports
    // them only while the inspector is open (on a port of this loopback, closed at the end).
    inspector.open(0, "127.0.0.1", false);
    const session = new inspector.Session();
    try {
      session.connect();
      const titles: string[] = [];
      session.on("NodeWorker.attachedToWorker", (m) => titles.push(m.params.workerInfo.title));
      await new Promise<void>((r) =>
        session.post("NodeWorker.enable", { waitForDebuggerOnStart: false }, () => r()),
      );
      const kernel = new Kernel();
      const boot = kernel.createTask("boot");
      const report = await newPort(boot);
      spawn(kernel, "pci-arbiter", "looper", {
        prepare: (t) => ({
          report: kernel.giveRight(boot, report, T.MACH_MSG_TYPE_MAKE_SEND, t).name,
        }),
      });
      expect((await recv(boot, report, { timeout: 20_000 })).header.id).toBe(1);
      // Other threads may be listed too (tsx runs its module hooks in one); this task's is there.
      expect(titles.filter((t) => /^\[worker \d+\] tsmach pci-arbiter$/.test(t))).toHaveLength(1);
    } finally {
      session.disconnect();
      inspector.close();
    }
  });

  it("an isolated task that throws dies alone: its ports are destroyed", async () => {
    const kernel = new Kernel();
    const t = spawn(kernel, "thrower", "thrower", {});
    expect((await t.exited).reason).toBe("threw");
    expect(t.task.alive).toBe(false);
    expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
  });

  it("an in-thread task that throws dies: a pending RPC's reply right yields a send-once notification", async () => {
    const kernel = new Kernel();
    const client = kernel.createTask("client");
    const p = await newPort(client);
    const reply = await newPort(client);
    const s = kernel.giveRight(client, p, T.MACH_MSG_TYPE_MAKE_SEND, client).name;
    const { done } = kernel.runTask("server", async (task) => {
      const svc = kernel.giveRight(client, p, T.MACH_MSG_TYPE_MOVE_RECEIVE, task).name;
      const r = await recv(task, svc, { timeout: 5000 });
      if (r.code === 0) throw new Error("server bug");
    });
    const rpc = call(client, s, reply, 1, 5000);
    expect((await done).ok).toBe(false);
    expect((await rpc).id).toBe(N.MACH_NOTIFY_SEND_ONCE);
    expect((await client.mach_port_type(s)).type).toBe(R.MACH_PORT_TYPE_DEAD_NAME);
    expect(auditKernel(kernel)).toEqual([]);
  });
});
