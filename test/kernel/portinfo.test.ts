// portinfo and ps from the kernel's records: each name with its type, references, queue state,
// set members and where a send right leads; each task with counts of its rights.
import { describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
} from "../../src/kernel/msg-type.js";
import { MACH_NOTIFY_DEAD_NAME } from "../../src/kernel/notify.js";
import { formatRights, taskRights, taskTable, typeWords } from "../../src/kernel/portinfo.js";
import {
  MACH_PORT_RIGHT_PORT_SET,
  MACH_PORT_RIGHT_RECEIVE,
  MACH_PORT_TYPE_DEAD_NAME,
  MACH_PORT_TYPE_PORT_SET,
  MACH_PORT_TYPE_RECEIVE,
  MACH_PORT_TYPE_SEND,
  MACH_PORT_TYPE_SEND_ONCE,
} from "../../src/kernel/port-right.js";
import { msg, send } from "./kernel-helpers.js";

/** A server with a port set of two ports, a client holding rights to them, and a dead name. */
async function world() {
  const kernel = new Kernel();
  const server = kernel.createTask("server");
  const client = kernel.createTask("client");
  const a = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const b = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const set = (await server.mach_port_allocate(MACH_PORT_RIGHT_PORT_SET)).name;
  expect(await server.mach_port_move_member(a, set)).toBe(0);
  expect(await server.mach_port_move_member(b, set)).toBe(0);
  expect(await server.mach_port_insert_right(b, b, MACH_MSG_TYPE_MAKE_SEND)).toBe(0);
  const toA = kernel.giveRight(server, a, MACH_MSG_TYPE_MAKE_SEND, client).name;
  kernel.giveRight(server, a, MACH_MSG_TYPE_MAKE_SEND, client); // a second reference
  const once = kernel.giveRight(server, b, MACH_MSG_TYPE_MAKE_SEND_ONCE, client).name;
  // A port that dies under the client's send right: a dead name, with a dead-name request.
  const doomed = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const dead = kernel.giveRight(server, doomed, MACH_MSG_TYPE_MAKE_SEND, client).name;
  const notify = (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  // Two messages wait on a.
  for (let i = 0; i < 2; i++)
    expect(await send(client, msg(toA, MACH_MSG_TYPE_COPY_SEND, { id: 7 + i }).build())).toBe(0);
  return { kernel, server, client, a, b, set, toA, once, doomed, dead, notify };
}

describe("portinfo", () => {
  it("lists every name of a space, sorted, with what it denotes", async () => {
    const w = await world();
    const rights = taskRights(w.server);
    expect(rights.map((r) => r.name)).toEqual([w.a, w.b, w.set, w.doomed].sort((x, y) => x - y));
    const byName = new Map(rights.map((r) => [r.name, r]));
    expect(byName.get(w.a)).toMatchObject({
      type: MACH_PORT_TYPE_RECEIVE,
      // One send right in the client's space, one in each queued message (its destination).
      receive: { pset: w.set, msgcount: 2, qlimit: 5, mscount: 2, srights: 3, sorights: 0 },
    });
    expect(byName.get(w.a)!.receiver).toBeUndefined();
    // Receive and send under one name: the send right is the task's own, so it leads nowhere new.
    expect(byName.get(w.b)).toMatchObject({
      type: MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND,
      urefs: 1,
      receive: { pset: w.set, mscount: 1, srights: 1, sorights: 1 },
    });
    expect(byName.get(w.b)!.receiver).toBeUndefined();
    expect(byName.get(w.set)).toMatchObject({
      type: MACH_PORT_TYPE_PORT_SET,
      members: [w.a, w.b].sort((x, y) => x - y),
    });
  });

  it("says where each send right leads and how many references it has", async () => {
    const w = await world();
    const rights = new Map(taskRights(w.client).map((r) => [r.name, r]));
    expect(rights.get(w.toA)).toMatchObject({
      type: MACH_PORT_TYPE_SEND,
      urefs: 2,
      receiver: { kind: "task", task: "server", taskId: w.server.space.id, name: w.a },
    });
    expect(rights.get(w.once)).toMatchObject({
      type: MACH_PORT_TYPE_SEND_ONCE,
      receiver: { kind: "task", task: "server", name: w.b },
    });
    expect(await w.server.mach_port_destroy(w.doomed)).toBe(0);
    expect(rights.get(w.dead)?.type).toBe(MACH_PORT_TYPE_SEND);
    const after = new Map(taskRights(w.client).map((r) => [r.name, r]));
    expect(after.get(w.dead)).toMatchObject({ type: MACH_PORT_TYPE_DEAD_NAME, urefs: 1 });
    expect(after.get(w.dead)!.receiver).toBeUndefined();
  });

  it("formats lines as the Hurd's portinfo does, with details when verbose", async () => {
    const w = await world();
    const r = await w.client.mach_port_request_notification(
      w.toA,
      MACH_NOTIFY_DEAD_NAME,
      0,
      w.notify,
      MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    expect(r.kr).toBe(0);
    const rights = taskRights(w.client).filter((x) => x.name === w.toA || x.name === w.notify);
    const pad = (n: number) => String(n).padStart(5);
    const lines = [
      [w.toA, `${pad(w.toA)}: send`],
      [w.notify, `${pad(w.notify)}: receive`],
    ]
      .sort((x, y) => (x[0] as number) - (y[0] as number))
      .map((x) => x[1]);
    expect(formatRights(rights, false)).toEqual(lines);
    const verbose = formatRights(rights, true);
    const id = w.server.space.id;
    expect(verbose).toContain(
      `${pad(w.toA)}: send (refs 2, dead-name request, to server (task ${id}) ${w.a})`,
    );
    // The notify port holds the send-once right of the dead-name request.
    expect(verbose).toContain(
      `${pad(w.notify)}: receive (seqno 0, msgs 0/5, mscount 0, senders 0, send-once 1)`,
    );
    const server = formatRights(
      taskRights(w.server).filter((x) => x.name === w.set || x.name === w.a),
      true,
    );
    const members = [w.a, w.b].sort((x, y) => x - y).join(", ");
    expect(server).toContain(`${pad(w.set)}: port-set (members ${members})`);
    expect(server).toContain(
      `${pad(w.a)}: receive (in set ${w.set}, seqno 0, msgs 2/5, mscount 2, senders 3)`,
    );
  });

  it("names every combination of type bits", () => {
    expect(typeWords(MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND)).toBe("receive send");
    expect(typeWords(MACH_PORT_TYPE_SEND_ONCE)).toBe("send-once");
    expect(typeWords(MACH_PORT_TYPE_DEAD_NAME)).toBe("dead-name");
    expect(typeWords(MACH_PORT_TYPE_PORT_SET)).toBe("port-set");
    expect(typeWords(0)).toBe("none");
  });
});

describe("ps", () => {
  it("lists live tasks in task-number order with counts of their rights and queued messages", async () => {
    const w = await world();
    expect(await w.server.mach_port_destroy(w.doomed)).toBe(0);
    const gone = w.kernel.createTask("gone");
    gone.terminate("test");
    // The client gives one reference of its send right away: counts are of names, not refs.
    expect(await w.client.mach_port_deallocate(w.toA)).toBe(0);
    const rows = taskTable(w.kernel.tasks);
    expect(rows.map((r) => r.name)).toEqual(["server", "client"]);
    expect(rows[0]!.id).toBeLessThan(rows[1]!.id);
    expect(rows[0]).toEqual({
      id: w.server.space.id,
      name: "server",
      mode: "in-thread",
      names: 3,
      receive: 2,
      send: 1,
      sendOnce: 0,
      portSets: 1,
      deadNames: 0,
      queued: 2,
    });
    expect(rows[1]).toMatchObject({
      names: 4,
      receive: 1,
      send: 1,
      sendOnce: 1,
      portSets: 0,
      deadNames: 1,
      queued: 0,
    });
  });
});
