// Rights a refused request carries, through generated stubs: in-line and out-of-line arrays of
// send rights and a moved receive right are destroyed by the server loop when the routine fails
// (as GNU's mach_msg_server does), and are the routine's when it succeeds.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { Task } from "../../src/kernel/task.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE, MACH_PORT_TYPE_SEND } from "../../src/kernel/port-right.js";
import {
  asReceiveRight,
  asSendRight,
  mach_msg_server,
  MigDemux,
  mig_release_reply_ports,
  type MigSubsystemServer,
  type ReceiveRight,
  type SendRight,
} from "../../src/kernel/mig/index.js";
import { generateInto, importModule } from "./gen-support.js";

const DEFS = `
subsystem handoff 94000;

type mach_port_t = MACH_MSG_TYPE_COPY_SEND;
type mach_port_move_receive_t = MACH_MSG_TYPE_MOVE_RECEIVE ctype: mach_port_t;
type inline_ports_t = array[*:4] of mach_port_t;
type ool_ports_t = ^array[] of mach_port_t;

routine hand(
		server	: mach_port_t;
		fail	: int;
		few	: inline_ports_t;
		many	: ool_ports_t;
		recv	: mach_port_move_receive_t);
`;

type Result = { ok: true; value: Record<string, unknown> } | { ok: false; code: number };
interface Handoff {
  handoff_server(impl: unknown): MigSubsystemServer;
  hand(...a: unknown[]): Promise<Result>;
}

const REFUSED = 0x2a;

describe("rights of a request its routine refuses, through generated stubs", () => {
  let dir: string;
  let mod: Handoff;
  const kernel = new Kernel();
  let server: Task;
  let client: Task;
  let dest: SendRight;
  let served: Promise<number>;
  let kept: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsmig-handoff-"));
    const defs = join(dir, "handoff.defs");
    writeFileSync(defs, DEFS);
    mod = await importModule<Handoff>(await generateInto(join(dir, "out"), defs));
    server = kernel.createTask("handoff-server");
    client = kernel.createTask("handoff-client");
    const service = asReceiveRight((await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name);
    dest = asSendRight(kernel.giveRight(server, service, MACH_MSG_TYPE_MAKE_SEND, client).name);
    const impl = {
      hand: (
        _p: ReceiveRight,
        fail: number,
        few: Uint32Array,
        many: Uint32Array,
        recv: ReceiveRight,
      ) => {
        if (fail) return REFUSED;
        kept = [...few, ...many, recv];
        return 0;
      },
    };
    served = mach_msg_server(server, new MigDemux(mod.handoff_server(impl)), service);
  }, 60_000);

  afterAll(async () => {
    await mig_release_reply_ports(client);
    client?.terminate();
    server?.terminate();
    await served;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Ports of the client's: five to send rights of, one whose receive right moves. */
  async function ports(): Promise<{ sends: number[]; moved: number }> {
    const sends: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
      await client.mach_port_insert_right(p, p, MACH_MSG_TYPE_MAKE_SEND);
      sends.push(p);
    }
    const moved = (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
    return { sends, moved };
  }

  /** hand(): two of the send rights in-line, the other three out-of-line, and the receive right. */
  const hand = (fail: number, sends: number[], moved: number) =>
    mod.hand(
      client,
      dest,
      fail,
      Uint32Array.from(sends.slice(0, 2)),
      Uint32Array.from(sends.slice(2)),
      moved,
    );
  const srightsOf = (name: number) => client.space.lookup(name)!.port!.srights;
  const serverNames = async () => (await server.mach_port_names()).names.length;

  it("a failing routine's rights are released: the server holds nothing, the ports live on", async () => {
    const before = await serverNames();
    const { sends, moved } = await ports();
    const movedPort = client.space.lookup(moved)!.port!;
    const r = await hand(1, sends, moved);
    expect(r).toEqual({ ok: false, code: REFUSED });
    expect(await serverNames()).toBe(before);
    // Each port is back to the one send right its own task holds.
    for (const p of sends) expect(srightsOf(p)).toBe(1);
    // The moved receive right was destroyed with the request: the port is dead.
    expect(movedPort.active).toBe(false);
    for (const p of sends) expect(await client.mach_port_destroy(p)).toBe(0);
  });

  it("a routine that succeeds keeps every right it was given", async () => {
    const before = await serverNames();
    const { sends, moved } = await ports();
    const r = await hand(0, sends, moved);
    expect(r.ok).toBe(true);
    expect(kept).toHaveLength(6);
    expect(await serverNames()).toBe(before + 6);
    for (const n of kept.slice(0, 5))
      expect((await server.mach_port_type(n)).type & MACH_PORT_TYPE_SEND).not.toBe(0);
    for (const p of sends) expect(srightsOf(p)).toBe(2);
    for (const n of kept) expect(await server.mach_port_destroy(n)).toBe(0);
    for (const p of sends) expect(await client.mach_port_destroy(p)).toBe(0);
  });
});
