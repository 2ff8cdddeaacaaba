// Property: whatever bytes reach a generated dispatcher or come back to a client stub, the
// runtime answers with a MIG code (never throws), and the server goes on serving.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import { writeHeader } from "../../src/kernel/message.js";
import {
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
} from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import {
  KERN_SUCCESS,
  MIG_BAD_ARGUMENTS,
  MIG_BAD_ID,
  MigDemux,
  migCall,
  mig_release_reply_ports,
} from "../../src/kernel/mig/index.js";
import {
  counter_add,
  example_counter_routines,
  example_counter_server,
  type ExampleCounterServer,
} from "../../generated/example_counter.js";
import { asSendRight } from "../../src/kernel/mig/rights.js";

const impl: ExampleCounterServer = {
  counter_add: (_c, delta) => ({ value: delta }),
  counter_get: () => ({ value: 0n, name: "x" }),
  counter_set_name: () => KERN_SUCCESS,
  counter_reset: () => KERN_SUCCESS,
  counter_wait: () => ({ value: 0n }),
  counter_history: (_c) => ({ samples: BigInt64Array.of(1n, 2n), wrapped: false }),
};

describe("malformed messages", () => {
  it("the dispatcher refuses any simple request body with a MIG code and never throws", async () => {
    const kernel = new Kernel();
    const server = kernel.createTask("fuzz-server");
    const demux = new MigDemux(example_counter_server(impl));
    const before = (await server.mach_port_names()).names.length;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 91000, max: 91007 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 400 }),
        async (id, body, claimed) => {
          const msg = new Uint8Array(32 + body.length);
          msg.set(body, 32);
          writeHeader(msg, {
            bits: MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0),
            size: claimed,
            remote: 0,
            local: 0,
            seqno: 0,
            id,
          });
          const code = await demux.dispatch(server, msg);
          expect(typeof code).toBe("number");
          if (id >= 91006) expect(code).toBe(MIG_BAD_ID);
          else if (code !== KERN_SUCCESS) expect(code).toBe(MIG_BAD_ARGUMENTS);
        },
      ),
      { numRuns: 400 },
    );
    expect((await server.mach_port_names()).names.length).toBe(before);
    server.terminate();
  });

  it("a client stub answers any reply with a code or its values, never a throw", async () => {
    const kernel = new Kernel();
    const server = kernel.createTask("fuzz-replier");
    const client = kernel.createTask("fuzz-client");
    const port = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
    const send = asSendRight(kernel.giveRight(server, port, MACH_MSG_TYPE_MAKE_SEND, client).name);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 8, maxLength: 200 }),
        fc.boolean(),
        async (body, complex) => {
          const answering = (async () => {
            const buf = new Uint8Array(512);
            await server.mach_msg(buf, 2, 0, buf.length, port);
            const remote = new DataView(buf.buffer).getUint32(8, true);
            const reply = new Uint8Array(32 + (body.length & ~3));
            reply.set(body.subarray(0, body.length & ~3), 32);
            writeHeader(reply, {
              bits:
                MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0) |
                (complex ? MACH_MSGH_BITS_COMPLEX : 0),
              size: reply.length,
              remote,
              local: 0,
              seqno: 0,
              id: 91105,
            });
            // The kernel refuses some (bad descriptors under the complex bit): the reply right is
            // then dropped, and the client must see MIG_SERVER_DIED rather than wait forever.
            if ((await server.mach_msg(reply, 1, reply.length, 0, 0)) !== 0)
              await server.mach_port_deallocate(remote);
          })();
          const r = await migCall(client, example_counter_routines.counter_history, send, {});
          await answering;
          expect(typeof r.ok).toBe("boolean");
          if (!r.ok) expect(typeof r.code).toBe("number");
        },
      ),
      { numRuns: 200 },
    );
    // Still a working client.
    const served = (async () => {
      const buf = new Uint8Array(512);
      await server.mach_msg(buf, 2, 0, buf.length, port);
      await new MigDemux(example_counter_server(impl)).dispatch(server, buf);
    })();
    expect(await counter_add(client, send, 5n)).toEqual({ ok: true, value: { value: 5n } });
    await served;
    await mig_release_reply_ports(client);
    client.terminate();
    server.terminate();
  });
});
