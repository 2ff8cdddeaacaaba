// Property: any sequence of port operations, sends with rights, receives and task deaths keeps
// the rights accounting exact (auditKernel) and, once every task is gone, leaves no port alive.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Kernel } from "../../src/kernel/kernel.js";
import { auditKernel } from "../../src/kernel/audit.js";
import type { Task } from "../../src/kernel/task.js";
import { MessageBuilder } from "../../src/kernel/message.js";
import * as T from "../../src/kernel/msg-type.js";
import * as R from "../../src/kernel/port-right.js";
import * as N from "../../src/kernel/notify.js";
import { msg, newPort, recv } from "./kernel-helpers.js";
import * as K from "../../src/kernel/kern-return.js";

const op = fc.record({
  // Weighted: rights must exist and travel often for the rare steps to matter.
  kind: fc.constantFrom(
    "allocate",
    "allocate",
    "deallocate",
    "destroy",
    "modrefs",
    "give",
    "give",
    "give",
    "send",
    "send",
    "send",
    "recv",
    "recv",
    "notify",
    "set",
    "qlimit",
    "kill",
  ),
  task: fc.nat(2),
  other: fc.nat(2),
  pick: fc.nat(50),
  pick2: fc.nat(50),
  disp: fc.constantFrom(16, 17, 18, 19, 20, 21),
  n: fc.integer({ min: -2, max: 2 }),
});

describe("rights accounting over random histories", () => {
  it("balances after every step and drains to zero", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 60, size: "max" }), async (ops) => {
        const kernel = new Kernel();
        const tasks: Task[] = [
          kernel.createTask("t0"),
          kernel.createTask("t1"),
          kernel.createTask("t2"),
        ];
        const nameOf = async (t: Task, i: number) => {
          const names = (await t.mach_port_names()).names;
          return names.length ? names[i % names.length]! : 0x4242;
        };
        // Half the time, a name of the kind the operation wants (so that most steps do something).
        const nameWith = async (t: Task, i: number, mask: number) => {
          const r = await t.mach_port_names();
          const fit = r.names.filter((_, k) => r.types[k]! & mask);
          return i % 2 && fit.length ? fit[i % fit.length]! : nameOf(t, i);
        };
        for (const o of ops) {
          const t = tasks[o.task]!;
          const u = tasks[o.other]!;
          const name = await nameOf(t, o.pick);
          switch (o.kind) {
            case "allocate":
              await t.mach_port_allocate(
                [
                  R.MACH_PORT_RIGHT_RECEIVE,
                  R.MACH_PORT_RIGHT_RECEIVE,
                  R.MACH_PORT_RIGHT_PORT_SET,
                  R.MACH_PORT_RIGHT_DEAD_NAME,
                ][o.pick % 4]!,
              );
              break;
            case "deallocate":
              await t.mach_port_deallocate(name);
              break;
            case "destroy":
              await t.mach_port_destroy(name);
              break;
            case "modrefs":
              await t.mach_port_mod_refs(name, o.pick2 % 5, o.n);
              break;
            case "give": {
              const want =
                o.disp === 16 || o.disp >= 20
                  ? R.MACH_PORT_TYPE_RECEIVE
                  : o.disp === 18
                    ? R.MACH_PORT_TYPE_SEND_ONCE
                    : R.MACH_PORT_TYPE_SEND;
              const from = await nameWith(t, o.pick, want);
              // Twice, sometimes: the second send right merges into the first's name.
              for (let i = 0; i < (o.n > 0 ? 2 : 1); i++) kernel.giveRight(t, from, o.disp, u);
              break;
            }
            case "send": {
              const dest = await nameWith(
                t,
                o.pick2,
                R.MACH_PORT_TYPE_SEND_RIGHTS | R.MACH_PORT_TYPE_RECEIVE,
              );
              const carried = await nameWith(t, o.pick + 1, R.MACH_PORT_TYPE_PORT_RIGHTS);
              const m = msg(dest, [17, 18, 19, 20, 21][o.pick2 % 5]!, {
                complex: true,
                reply: o.n > 0 ? name : 0,
                replyDisp: o.n > 0 ? 21 : 0,
              })
                .ports(o.disp, [carried])
                .build();
              await t.mach_msg(m, T.MACH_SEND_MSG | T.MACH_SEND_TIMEOUT, m.length, 0, 0, 0);
              break;
            }
            case "recv":
              await recv(
                t,
                await nameWith(t, o.pick, R.MACH_PORT_TYPE_RECEIVE | R.MACH_PORT_TYPE_PORT_SET),
                { timeout: 0, size: o.pick2 % 3 ? 256 : 32 },
              );
              break;
            case "notify":
              await t.mach_port_request_notification(
                name,
                [N.MACH_NOTIFY_DEAD_NAME, N.MACH_NOTIFY_NO_SENDERS, N.MACH_NOTIFY_PORT_DESTROYED][
                  o.pick2 % 3
                ]!,
                o.pick2 % 2,
                await nameOf(t, o.pick2),
                o.pick2 % 2 ? 21 : 18,
              );
              break;
            case "set":
              await t.mach_port_move_member(name, await nameOf(t, o.pick2));
              break;
            case "qlimit":
              await t.mach_port_set_qlimit(name, o.pick2 % 3);
              break;
            case "kill":
              t.terminate();
              tasks[o.task] = kernel.createTask(`t${o.task}'`);
              break;
          }
          expect(auditKernel(kernel)).toEqual([]);
        }
        for (const t of tasks) t.terminate();
        expect(auditKernel(kernel)).toEqual([]);
        expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
      }),
      { numRuns: 250, seed: Number(process.env.KERNEL_FUZZ_SEED ?? 7) },
    );
  });
});

describe("receivers and moving rights", () => {
  it("a receive blocked on a port that joins a set gets MACH_RCV_PORT_CHANGED", async () => {
    const kernel = new Kernel();
    const a = kernel.createTask("a");
    const p = await newPort(a);
    const set = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_PORT_SET)).name;
    const pending = recv(a, p, { timeout: 5000 });
    await a.mach_port_move_member(p, set);
    expect((await pending).code).toBe(K.MACH_RCV_PORT_CHANGED);
  });

  it("a receive blocked on a port whose receive right is sent away gets MACH_RCV_PORT_DIED", async () => {
    const kernel = new Kernel();
    const a = kernel.createTask("a");
    const b = kernel.createTask("b");
    const inbox = await newPort(b);
    const toB = kernel.giveRight(b, inbox, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
    const p = await newPort(a);
    const pending = recv(a, p, { timeout: 5000 });
    const m = new MessageBuilder({
      bits: (T.MACH_MSGH_BITS(19, 0) | T.MACH_MSGH_BITS_COMPLEX) >>> 0,
      remote: toB,
      local: 0,
      id: 1,
    })
      .ports(T.MACH_MSG_TYPE_MOVE_RECEIVE, [p])
      .build();
    expect(await a.mach_msg(m, T.MACH_SEND_MSG, m.length, 0, 0)).toBe(0);
    expect((await pending).code).toBe(K.MACH_RCV_PORT_DIED);
  });
});
