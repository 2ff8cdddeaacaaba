// Property: random, truncated and malformed messages (bad sizes, bad descriptors, invalid
// names, rights not held, bad out-of-line pointers) never crash the kernel, get the right error,
// leave the sender's space untouched when refused, and leak no right (audit + teardown to zero).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Kernel } from "../../src/kernel/kernel.js";
import { auditKernel } from "../../src/kernel/audit.js";
import { MessageBuilder, writeU32 } from "../../src/kernel/message.js";
import * as T from "../../src/kernel/msg-type.js";
import * as K from "../../src/kernel/kern-return.js";
import * as R from "../../src/kernel/port-right.js";
import * as N from "../../src/kernel/notify.js";

const SEND_CODES = new Set([
  K.MACH_MSG_SUCCESS,
  K.MACH_SEND_INVALID_DATA,
  K.MACH_SEND_INVALID_DEST,
  K.MACH_SEND_TIMED_OUT,
  K.MACH_SEND_MSG_TOO_SMALL,
  K.MACH_SEND_INVALID_REPLY,
  K.MACH_SEND_INVALID_RIGHT,
  K.MACH_SEND_INVALID_MEMORY,
  K.MACH_SEND_INVALID_TYPE,
  K.MACH_SEND_INVALID_HEADER,
  K.MACH_SEND_NO_BUFFER,
]);

type Kind =
  | "valid"
  | "short"
  | "misaligned"
  | "bad-dest"
  | "not-held"
  | "bad-type"
  | "truncated-body"
  | "bad-pointer"
  | "random";

const EXPECTED: Partial<Record<Kind, number>> = {
  valid: K.MACH_MSG_SUCCESS,
  short: K.MACH_SEND_MSG_TOO_SMALL,
  misaligned: K.MACH_SEND_MSG_TOO_SMALL,
  "bad-dest": K.MACH_SEND_INVALID_DEST,
  "not-held": K.MACH_SEND_INVALID_RIGHT,
  "bad-type": K.MACH_SEND_INVALID_TYPE,
  "truncated-body": K.MACH_SEND_MSG_TOO_SMALL,
  "bad-pointer": K.MACH_SEND_INVALID_MEMORY,
};

const dispositions = fc.constantFrom(16, 17, 18, 19, 20, 21);
const itemArb = fc.record({
  port: fc.boolean(),
  disp: dispositions,
  pick: fc.array(fc.nat(20), { minLength: 0, maxLength: 3 }),
  data: fc.uint8Array({ maxLength: 12 }),
  ool: fc.boolean(),
  longform: fc.boolean(),
});

describe("malformed messages", () => {
  it("never crash, give the right error, and leak nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Kind>(
          "valid",
          "short",
          "misaligned",
          "bad-dest",
          "not-held",
          "bad-type",
          "truncated-body",
          "bad-pointer",
          "random",
        ),
        fc.array(itemArb, { maxLength: 4 }),
        fc.constantFrom(17, 19, 20, 21),
        fc.uint8Array({ minLength: 0, maxLength: 96 }),
        fc.nat(200),
        async (kind, items, destDisp, randomBytes, cut) => {
          const kernel = new Kernel();
          const a = kernel.createTask("a");
          const b = kernel.createTask("b");
          // a's rights: receive P (+ send), receive X, send to b's Q, a send-once, a dead name, a set.
          const P = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_RECEIVE)).name;
          await a.mach_port_insert_right(P, P, T.MACH_MSG_TYPE_MAKE_SEND);
          const X = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_RECEIVE)).name;
          const Q = (await b.mach_port_allocate(R.MACH_PORT_RIGHT_RECEIVE)).name;
          const toQ = kernel.giveRight(b, Q, T.MACH_MSG_TYPE_MAKE_SEND, a).name;
          await b.mach_port_request_notification(
            Q,
            N.MACH_NOTIFY_NO_SENDERS,
            0,
            Q,
            T.MACH_MSG_TYPE_MAKE_SEND_ONCE,
          );
          const so = kernel.giveRight(b, Q, T.MACH_MSG_TYPE_MAKE_SEND_ONCE, a).name;
          const dead = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_DEAD_NAME)).name;
          const set = (await a.mach_port_allocate(R.MACH_PORT_RIGHT_PORT_SET)).name;
          const { address } = await a.vm_allocate(64);
          const names = [P, X, toQ, so, dead, set, 0, T.MACH_PORT_DEAD];
          // What the sender may still take from each name: a valid message never over-draws.
          const budget = new Map<number, { recv: number; send: number }>([
            [P, { recv: 1, send: 1 }],
            [X, { recv: 1, send: 0 }],
            [toQ, { recv: 0, send: 1 }],
            [so, { recv: 0, send: 1 }],
            [dead, { recv: 0, send: 1 }],
          ]);
          const candidates: Record<number, number[]> = {
            16: [P, X],
            17: [P, toQ, dead],
            18: [so, dead],
            19: [P, toQ, dead],
            20: [P, X],
            21: [P, X],
          };
          const take = (disp: number, n: number): boolean => {
            const b = budget.get(n)!;
            if (disp === 16) return b.recv === 1 ? ((b.recv = 0), true) : false;
            if (disp === 20 || disp === 21) return b.recv === 1;
            if (disp === 19) return b.send > 0;
            return b.send > 0 ? (b.send--, true) : false;
          };
          const dest = kind === "bad-dest" ? Q + 0x100000 : toQ;
          if (destDisp === 17) budget.get(toQ)!.send--;
          const b0 = new MessageBuilder({
            bits:
              T.MACH_MSGH_BITS(destDisp === 20 || destDisp === 21 ? 19 : destDisp, 0) |
              T.MACH_MSGH_BITS_COMPLEX,
            remote: dest,
            local: 0,
            id: 1,
          });
          for (const it of items) {
            if (it.port) {
              const pool = candidates[it.disp]!;
              const final = it.pick
                .map((i) => pool[i % pool.length]!)
                .filter((n) => take(it.disp, n));
              if (it.ool) {
                const { address: arr } = await a.vm_allocate(final.length * 4);
                const reg = a.vm_region(arr)!;
                final.forEach((n, i) => writeU32(reg, i * 4, n));
                b0.ool(it.disp, 32, final.length, arr);
              } else b0.ports(it.disp, final, it.longform);
            } else if (it.ool) b0.ool(9, 8, it.data.length, address);
            else b0.inline(9, 8, it.data.length, it.data, it.longform);
          }
          let bytes = b0.build();
          if (kind === "not-held")
            bytes = new MessageBuilder({
              bits: bytes[0]! | 0x80000000,
              remote: dest,
              local: 0,
              id: 1,
            })
              .ports(19, [Q + 0x300000])
              .build();
          if (kind === "bad-type")
            bytes = new MessageBuilder({
              bits: T.MACH_MSGH_BITS(19, 0) | T.MACH_MSGH_BITS_COMPLEX,
              remote: dest,
              local: 0,
              id: 1,
            })
              .inline(17, 16, 1, new Uint8Array(4))
              .build();
          if (kind === "bad-pointer")
            bytes = new MessageBuilder({
              bits: T.MACH_MSGH_BITS(19, 0) | T.MACH_MSGH_BITS_COMPLEX,
              remote: dest,
              local: 0,
              id: 1,
            })
              .ool(9, 8, 100, address + 8192 + cut)
              .build();
          if (kind === "truncated-body") {
            const full = new MessageBuilder({
              bits: T.MACH_MSGH_BITS(19, 0) | T.MACH_MSGH_BITS_COMPLEX,
              remote: dest,
              local: 0,
              id: 1,
            })
              .inline(9, 8, 40, new Uint8Array(40))
              .build();
            bytes = full.slice(0, 32 + 4 + 4 * (cut % 10));
          }
          let size = bytes.length;
          if (kind === "short") size = (cut % 8) * 4;
          if (kind === "misaligned") {
            size = 33 + (cut % 3);
            const grown = new Uint8Array(40);
            grown.set(bytes.subarray(0, Math.min(bytes.length, 40)));
            bytes = grown;
          }
          if (kind === "random") {
            bytes = new Uint8Array(Math.max(randomBytes.length, 32));
            bytes.set(randomBytes);
            if (cut % 2) {
              writeU32(bytes, 8, names[cut % names.length]!);
              writeU32(
                bytes,
                0,
                T.MACH_MSGH_BITS(17 + (cut % 5), 0) | (cut % 4 ? T.MACH_MSGH_BITS_COMPLEX : 0),
              );
            }
            size = cut % 3 === 0 ? cut : bytes.length - (bytes.length % 4);
          }
          if (size > bytes.length) size = bytes.length;
          const before = a.space.snapshot();
          const ports = kernel.snapshot().ports;
          const code = await a.mach_msg(
            bytes,
            T.MACH_SEND_MSG | T.MACH_SEND_TIMEOUT,
            size,
            0,
            0,
            0,
          );
          expect(SEND_CODES.has(code), K.kernReturnName(code)).toBe(true);
          const want = EXPECTED[kind];
          if (want !== undefined) {
            expect(K.kernReturnName(code)).toBe(K.kernReturnName(want));
          }
          if (code !== 0) {
            expect(a.space.snapshot()).toEqual(before);
            expect(kernel.snapshot().ports).toBe(ports);
          } else {
            // The message went to Q (b) or, for random headers, to P or X (a): exactly one has it.
            const buf = new Uint8Array(4096);
            const got = [
              await b.mach_msg(buf, T.MACH_RCV_MSG | T.MACH_RCV_TIMEOUT, 0, 4096, Q, 0),
              await a.mach_msg(buf, T.MACH_RCV_MSG | T.MACH_RCV_TIMEOUT, 0, 4096, P, 0),
              await a.mach_msg(buf, T.MACH_RCV_MSG | T.MACH_RCV_TIMEOUT, 0, 4096, X, 0),
            ];
            expect(got.filter((c) => c === 0).length).toBe(1);
          }
          expect(auditKernel(kernel)).toEqual([]);
          a.terminate();
          b.terminate();
          expect(auditKernel(kernel)).toEqual([]);
          expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
        },
      ),
      { numRuns: 400, seed: Number(process.env.KERNEL_FUZZ_SEED ?? 4242) },
    );
  });
});
