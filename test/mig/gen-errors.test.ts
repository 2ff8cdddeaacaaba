// Errors as values on both sides of generated stubs: the dispatcher's TypeCheck (MIG_BAD_ARGUMENTS
// for a bad size or descriptor, MIG_BAD_ID) and the client's (MIG_REPLY_MISMATCH, MIG_TYPE_ERROR,
// MIG_ARRAY_TOO_LARGE, MIG_SERVER_DIED), with the rights of refused messages destroyed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { Task } from "../../src/kernel/task.js";
import { MessageBuilder, readHeader, readU32 } from "../../src/kernel/message.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_INTEGER_64,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
  MACH_RCV_MSG,
  MACH_SEND_MSG,
} from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import { MACH_RCV_TOO_LARGE } from "../../src/kernel/kern-return.js";
import {
  asReceiveRight,
  asSendRight,
  KERN_SUCCESS,
  mach_msg_server,
  MIG_BAD_ARGUMENTS,
  MIG_BAD_ID,
  MIG_REMOTE_ERROR,
  MIG_REPLY_MISMATCH,
  MIG_SERVER_DIED,
  MIG_TYPE_ERROR,
  MigDemux,
  mig_release_reply_ports,
  type ReceiveRight,
  type SendRight,
} from "../../src/kernel/mig/index.js";
import {
  counter_add,
  counter_history,
  counter_set_name,
  example_counter_server,
  type ExampleCounterServer,
} from "../../generated/example_counter.js";

const u64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return b;
};

describe("generated stubs report errors as values", () => {
  const kernel = new Kernel();
  let server: Task;
  let client: Task;
  let service: ReceiveRight;
  let clientSend: SendRight;
  let served: Promise<number>;
  let replyPort: number;
  let total = 0n;

  const impl: ExampleCounterServer = {
    counter_add: (_c, delta) => ({ value: (total += delta) }),
    counter_get: () => ({ value: total, name: "c" }),
    counter_set_name: (_c, name) => {
      if (name === "boom") throw new Error("handler bug");
      return KERN_SUCCESS;
    },
    counter_reset: () => KERN_SUCCESS,
    counter_wait: () => ({ value: total }),
    counter_history: () => ({ samples: new BigInt64Array(0), wrapped: false }),
  };

  beforeAll(async () => {
    server = kernel.createTask("err-server");
    client = kernel.createTask("err-client");
    service = asReceiveRight((await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name);
    clientSend = asSendRight(
      kernel.giveRight(server, service, MACH_MSG_TYPE_MAKE_SEND, client).name,
    );
    served = mach_msg_server(server, new MigDemux(example_counter_server(impl)), service);
    replyPort = (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  });

  afterAll(async () => {
    await mig_release_reply_ports(client);
    client.terminate();
    server.terminate();
    await served;
  });

  /** Sends a hand-built request and returns the reply's RetCode. */
  async function rawCall(
    build: (b: MessageBuilder) => void,
    id = 91000,
    complex = false,
  ): Promise<number> {
    const b = new MessageBuilder({
      bits:
        MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) |
        (complex ? MACH_MSGH_BITS_COMPLEX : 0),
      remote: clientSend,
      local: replyPort,
      id,
    });
    build(b);
    const msg = b.build();
    const buf = new Uint8Array(256);
    buf.set(msg);
    const kr = await client.mach_msg(
      buf,
      MACH_SEND_MSG | MACH_RCV_MSG,
      msg.length,
      buf.length,
      replyPort,
    );
    expect(kr).toBe(0);
    expect(readHeader(buf).id).toBe(id + 100);
    return readU32(buf, 36) | 0;
  }

  describe("server TypeCheck", () => {
    it("accepts a well-formed request", async () => {
      expect(await rawCall((b) => b.inline(MACH_MSG_TYPE_INTEGER_64, 64, 1, u64(5n)))).toBe(
        KERN_SUCCESS,
      );
    });

    it("answers MIG_BAD_ARGUMENTS for a bad size", async () => {
      // Trailing bytes after the last field.
      expect(
        await rawCall((b) =>
          b.inline(MACH_MSG_TYPE_INTEGER_64, 64, 1, u64(5n)).raw(new Uint8Array(4)),
        ),
      ).toBe(MIG_BAD_ARGUMENTS);
      // No field at all.
      expect(await rawCall(() => {})).toBe(MIG_BAD_ARGUMENTS);
      // A descriptor promising more data than the message holds.
      expect(await rawCall((b) => b.raw(Uint8Array.of(0x0b, 0x40, 0x01, 0x10, 1, 2, 3, 4)))).toBe(
        MIG_BAD_ARGUMENTS,
      );
    });

    it("answers MIG_BAD_ARGUMENTS for a bad descriptor", async () => {
      // Right size, wrong type name (two 32-bit ints instead of one 64-bit).
      expect(await rawCall((b) => b.inline(MACH_MSG_TYPE_INTEGER_32, 32, 2, u64(5n)))).toBe(
        MIG_BAD_ARGUMENTS,
      );
      // Long form where the short form is expected.
      expect(await rawCall((b) => b.inline(MACH_MSG_TYPE_INTEGER_64, 64, 1, u64(5n), true))).toBe(
        MIG_BAD_ARGUMENTS,
      );
      // The complex bit on a message that has no rights or out-of-line data.
      expect(
        await rawCall((b) => b.inline(MACH_MSG_TYPE_INTEGER_64, 64, 1, u64(5n)), 91000, true),
      ).toBe(MIG_BAD_ARGUMENTS);
    });

    it("destroys the rights a refused request carries", async () => {
      const before = (await server.mach_port_names()).names.length;
      const extra = (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
      await client.mach_port_insert_right(extra, extra, MACH_MSG_TYPE_MAKE_SEND);
      expect(
        await rawCall((b) => b.ports(MACH_MSG_TYPE_COPY_SEND, [extra, extra]), 91000, true),
      ).toBe(MIG_BAD_ARGUMENTS);
      expect((await server.mach_port_names()).names.length).toBe(before);
      await client.mach_port_destroy(extra);
    });

    it("answers MIG_BAD_ID for an id outside the subsystem", async () => {
      expect(await rawCall((b) => b.inline(MACH_MSG_TYPE_INTEGER_64, 64, 1, u64(5n)), 91050)).toBe(
        MIG_BAD_ID,
      );
      expect(await rawCall(() => {}, 2800)).toBe(MIG_BAD_ID);
    });
  });

  it("answers MIG_REMOTE_ERROR when a handler throws, and keeps serving", async () => {
    expect(await counter_set_name(client, clientSend, "boom")).toEqual({
      ok: false,
      code: MIG_REMOTE_ERROR,
    });
    expect(await counter_set_name(client, clientSend, "fine")).toEqual({ ok: true, value: {} });
  });

  describe("client TypeCheck", () => {
    /** A second service whose server answers each request with `respond`. */
    async function fakeServer(
      respond: (req: ReturnType<typeof readHeader>, server: Task) => Promise<void>,
    ): Promise<{ send: SendRight; stop: () => Promise<void> }> {
      const port = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
      const send = asSendRight(
        kernel.giveRight(server, port, MACH_MSG_TYPE_MAKE_SEND, client).name,
      );
      const loop = (async () => {
        for (;;) {
          const buf = new Uint8Array(1024);
          if ((await server.mach_msg(buf, MACH_RCV_MSG, 0, buf.length, port)) !== 0) return;
          await respond(readHeader(buf), server);
        }
      })();
      return {
        send,
        stop: async () => {
          await server.mach_port_destroy(port);
          await loop;
          await client.mach_port_deallocate(send);
        },
      };
    }

    function reply(
      req: ReturnType<typeof readHeader>,
      id: number,
      build: (b: MessageBuilder) => void,
    ): Uint8Array {
      const b = new MessageBuilder({
        bits: MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0),
        remote: req.remote,
        local: 0,
        id,
      });
      build(b);
      return b.build();
    }

    async function answerWith(
      build: (req: ReturnType<typeof readHeader>) => Uint8Array | null,
      call: (dest: SendRight) => Promise<unknown>,
    ): Promise<unknown> {
      const fake = await fakeServer(async (req, s) => {
        const msg = build(req);
        if (msg) await s.mach_msg(msg, MACH_SEND_MSG, msg.length, 0, 0);
        else await s.mach_port_deallocate(req.remote); // drop the reply right unused
      });
      try {
        return await call(fake.send);
      } finally {
        await fake.stop();
      }
    }

    it("MIG_REPLY_MISMATCH for a reply with another id", async () => {
      const r = await answerWith(
        (req) =>
          reply(req, req.id + 101, (b) =>
            b.int32(0).inline(MACH_MSG_TYPE_INTEGER_64, 64, 1, u64(1n)),
          ),
        (d) => counter_add(client, d, 1n),
      );
      expect(r).toEqual({ ok: false, code: MIG_REPLY_MISMATCH });
    });

    it("MIG_TYPE_ERROR for a reply with a bad descriptor or size", async () => {
      const badType = await answerWith(
        (req) =>
          reply(req, req.id + 100, (b) =>
            b.int32(0).inline(MACH_MSG_TYPE_INTEGER_32, 32, 2, u64(1n)),
          ),
        (d) => counter_add(client, d, 1n),
      );
      expect(badType).toEqual({ ok: false, code: MIG_TYPE_ERROR });
      const short = await answerWith(
        (req) => reply(req, req.id + 100, (b) => b.int32(0)),
        (d) => counter_add(client, d, 1n),
      );
      expect(short).toEqual({ ok: false, code: MIG_TYPE_ERROR });
    });

    it("the server's return code for a short error reply", async () => {
      const r = await answerWith(
        (req) => reply(req, req.id + 100, (b) => b.int32(2502)),
        (d) => counter_add(client, d, 1n),
      );
      expect(r).toEqual({ ok: false, code: 2502 });
    });

    it("an array above its bound does not fit the reply buffer (MACH_RCV_TOO_LARGE, as GNU MIG's)", async () => {
      // GNU MIG's reply buffer is sizeof(Reply): 32 samples at most. (MIG_ARRAY_TOO_LARGE for a
      // reply above the caller's CountInOut capacity is in gen-roundtrip.test.ts.)
      const samples = new Uint8Array(40 * 8);
      const r = await answerWith(
        (req) =>
          reply(req, req.id + 100, (b) =>
            b
              .int32(0)
              .inline(MACH_MSG_TYPE_INTEGER_64, 64, 40, samples)
              .inline(0, 32, 1, new Uint8Array(4)),
          ),
        (d) => counter_history(client, d),
      );
      expect(r).toEqual({ ok: false, code: MACH_RCV_TOO_LARGE });
      const fits = await answerWith(
        (req) =>
          reply(req, req.id + 100, (b) =>
            b
              .int32(0)
              .inline(MACH_MSG_TYPE_INTEGER_64, 64, 2, samples.subarray(0, 16))
              .inline(0, 32, 1, Uint8Array.of(1, 0, 0, 0)),
          ),
        (d) => counter_history(client, d),
      );
      expect(fits).toEqual({ ok: true, value: { samples: new BigInt64Array(2), wrapped: true } });
    });

    it("MIG_SERVER_DIED when the reply port gets a send-once notification", async () => {
      const r = await answerWith(
        () => null,
        (d) => counter_add(client, d, 1n),
      );
      expect(r).toEqual({ ok: false, code: MIG_SERVER_DIED });
    });
  });
});
