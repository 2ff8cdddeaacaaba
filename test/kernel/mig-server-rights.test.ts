// Who owns what a request carries once a MIG routine has run, as in GNU's mach_msg_server: the
// routine on success or MIG_NO_REPLY; the server loop, which destroys it, when the routine fails.
import { afterEach, describe, expect, it } from "vitest";
import { device_intr_ack, device_server, type DeviceServer } from "../../generated/device.js";
import { D_INVALID_OPERATION, D_SUCCESS } from "../../src/kernel/devices/device-codes.js";
import { MACH_RCV_TIMED_OUT, MIG_NO_REPLY } from "../../src/kernel/kern-return.js";
import { Kernel } from "../../src/kernel/kernel.js";
import {
  asSendRight,
  mach_msg_server,
  mig_release_reply_ports,
  MigDemux,
  polyRight,
  type SendRight,
} from "../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import { MACH_PORT_TYPE_SEND } from "../../src/kernel/port-right.js";
import type { Task } from "../../src/kernel/task.js";
import { refusingDeviceServer } from "../helpers/refusing-device-server.js";
import { newPort } from "./kernel-helpers.js";

interface Setup {
  server: Task;
  client: Task;
  dev: SendRight;
  /** A port of the client's, whose send rights travel in requests. */
  port: number;
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function setup(impl: (server: Task) => Partial<DeviceServer>): Promise<Setup> {
  const kernel = new Kernel();
  const server = kernel.createTask("server");
  const client = kernel.createTask("client");
  const service = await newPort(server);
  const dev = asSendRight(kernel.giveRight(server, service, MACH_MSG_TYPE_MAKE_SEND, client).name);
  const loop = mach_msg_server(
    server,
    new MigDemux(device_server(refusingDeviceServer(impl(server)))),
    service,
  );
  const port = await newPort(client);
  stops.push(async () => {
    await mig_release_reply_ports(client);
    server.terminate("test over");
    await loop;
    client.terminate("test over");
    expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
  });
  return { server, client, dev, port };
}

/** The names in `task`'s space that denote send rights. */
async function sendNames(task: Task): Promise<number[]> {
  const r = await task.mach_port_names();
  return r.names.filter((_, i) => (r.types[i]! & MACH_PORT_TYPE_SEND) !== 0);
}

/** Send rights to the client's port held in any space (the port's srights). */
const sendersOf = (s: Setup) => s.client.space.lookup(s.port)!.port!.srights;

describe("rights a request carries, after the routine", () => {
  it("a routine that fails leaves them to the server loop, which releases them", async () => {
    let seen = 0;
    const s = await setup(() => ({
      ds_device_intr_ack: (_d, right) => {
        seen = right;
        return D_INVALID_OPERATION;
      },
    }));
    const before = await sendNames(s.server);
    for (let i = 0; i < 3; i++)
      expect(
        await device_intr_ack(s.client, s.dev, polyRight(s.port, MACH_MSG_TYPE_MAKE_SEND)),
      ).toEqual({
        ok: false,
        code: D_INVALID_OPERATION,
      });
    expect(seen).not.toBe(0);
    expect(await sendNames(s.server)).toEqual(before);
    expect(sendersOf(s)).toBe(0);
  });

  it("a routine that succeeds keeps them", async () => {
    const s = await setup(() => ({ ds_device_intr_ack: () => D_SUCCESS }));
    const before = await sendNames(s.server);
    expect(
      (await device_intr_ack(s.client, s.dev, polyRight(s.port, MACH_MSG_TYPE_MAKE_SEND))).ok,
    ).toBe(true);
    const after = await sendNames(s.server);
    expect(after).toHaveLength(before.length + 1);
    expect(sendersOf(s)).toBe(1);
  });

  it("a routine that throws is a failure: the client gets MIG's error and the right is released", async () => {
    const s = await setup(() => ({
      ds_device_intr_ack: () => {
        throw new Error("driver bug");
      },
    }));
    const r = await device_intr_ack(s.client, s.dev, polyRight(s.port, MACH_MSG_TYPE_MAKE_SEND));
    expect(r.ok).toBe(false);
    expect(sendersOf(s)).toBe(0);
  });

  it("a routine that answers later (MIG_NO_REPLY) keeps them", async () => {
    const s = await setup(() => ({ ds_device_intr_ack: () => MIG_NO_REPLY }));
    // No answer comes: the caller gives up waiting, and the server still holds the right.
    const r = await device_intr_ack(s.client, s.dev, polyRight(s.port, MACH_MSG_TYPE_MAKE_SEND), {
      timeout: 50,
    });
    expect(r).toEqual({ ok: false, code: MACH_RCV_TIMED_OUT });
    expect(sendersOf(s)).toBe(1);
  });
});
