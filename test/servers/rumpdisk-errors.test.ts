// rumpdisk's refusals: every D_* error of the device interface and of block.defs, and requests
// with bad arguments or malformed bodies, after which the server still serves.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { block_read, block_write } from "../../generated/block.js";
import {
  device_close,
  device_get_status,
  device_map,
  device_open,
  device_read,
  device_read_inband,
  device_set_status,
  device_write,
  device_write_inband,
} from "../../generated/device.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_RECNUM,
  D_INVALID_SIZE,
  D_NO_SUCH_DEVICE,
  D_READ,
  D_READ_ONLY,
  D_WRITE,
  VM_PROT_READ,
} from "../../src/kernel/devices/device-codes.js";
import { MACH_MSG_SUCCESS, MIG_BAD_ID } from "../../src/kernel/kern-return.js";
import type { SendRight } from "../../src/kernel/mig/index.js";
import { writeHeader } from "../../src/kernel/message.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSGH_BITS,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
} from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import { MAX_TRANSFER } from "../../src/servers/rumpdisk/block-rump.js";
import {
  DEV_FLUSH_CACHE,
  DEV_GET_RECORDS,
  DEV_GET_SIZE,
} from "../../src/servers/rumpdisk/device-status.js";
import { bootRumpdisk, type BootedRumpdisk } from "./rumpdisk-fixture.js";

const code = (r: { ok: boolean; code?: number }) => (r.ok ? "ok" : r.code);

describe("rumpdisk: D_* errors", () => {
  let b: BootedRumpdisk;
  let ro: SendRight;
  let rw: SendRight;
  let records: number;
  let start: number;
  beforeAll(async () => {
    b = await bootRumpdisk({ sectors: 8192 });
    const o1 = await device_open(b.client, b.master, D_READ, "wd0s1");
    const o2 = await device_open(b.client, b.master, D_READ | D_WRITE, "wd0s1");
    if (!o1.ok || !o2.ok) throw new Error("open");
    ro = o1.value.device;
    rw = o2.value.device;
    records = b.rumpdisk.devices.find((d) => d.name === "wd0s1")!.sectors;
    start = b.rumpdisk.devices.find((d) => d.name === "wd0s1")!.start;
  });
  afterAll(async () => b.shutdown());

  it("D_NO_SUCH_DEVICE for names rumpdisk does not have", async () => {
    for (const name of ["wd1", "wd0s7", "wd0s", "sd0", "", "wd0s1/../wd0", "x".repeat(120)])
      expect(code(await device_open(b.client, b.master, D_READ, name))).toBe(D_NO_SUCH_DEVICE);
  });

  it("D_INVALID_OPERATION for modes outside D_READ|D_WRITE|D_NODELAY|D_NOWAIT", async () => {
    expect(code(await device_open(b.client, b.master, 0x40, "wd0"))).toBe(D_INVALID_OPERATION);
    expect(code(await device_open(b.client, b.master, -1, "wd0"))).toBe(D_INVALID_OPERATION);
  });

  it("D_READ_ONLY: a read-only open refuses every kind of write", async () => {
    expect(code(await device_write(b.client, ro, 0, 0n, new Uint8Array(512)))).toBe(D_READ_ONLY);
    expect(code(await device_write_inband(b.client, ro, 0, 0n, new Uint8Array(8)))).toBe(
      D_READ_ONLY,
    );
    expect(code(await block_write(b.client, ro, 0n, new Uint8Array(512), 0))).toBe(D_READ_ONLY);
    // ... and nothing reached the image (its first sector still holds the pattern's LBA).
    expect(new DataView(b.fileBytes(start * 512, 8).buffer).getUint32(0, true)).toBe(start);
  });

  it("D_INVALID_RECNUM for records outside the device, reading or writing", async () => {
    expect(code(await device_read(b.client, ro, 0, BigInt(records), 512))).toBe(D_INVALID_RECNUM);
    expect(code(await device_read(b.client, ro, 0, -1n, 512))).toBe(D_INVALID_RECNUM);
    expect(code(await device_read(b.client, ro, 0, 1n << 62n, 512))).toBe(D_INVALID_RECNUM);
    expect(code(await device_read_inband(b.client, ro, 0, BigInt(records + 5), 16))).toBe(
      D_INVALID_RECNUM,
    );
    expect(code(await device_write(b.client, rw, 0, BigInt(records), new Uint8Array(512)))).toBe(
      D_INVALID_RECNUM,
    );
    // Starting inside but running past the end.
    expect(
      code(await device_write(b.client, rw, 0, BigInt(records - 1), new Uint8Array(1024))),
    ).toBe(D_INVALID_RECNUM);
    expect(code(await block_read(b.client, ro, BigInt(records - 1), 2))).toBe(D_INVALID_RECNUM);
  });

  it("D_INVALID_SIZE for bad sizes", async () => {
    expect(code(await device_read(b.client, ro, 0, 0n, -1))).toBe(D_INVALID_SIZE);
    expect(code(await device_read(b.client, ro, 0, 0n, MAX_TRANSFER + 1))).toBe(D_INVALID_SIZE);
    expect(code(await device_read_inband(b.client, ro, 0, 0n, 129))).toBe(D_INVALID_SIZE);
    expect(code(await device_get_status(b.client, ro, DEV_GET_SIZE, 1))).toBe(D_INVALID_SIZE);
    expect(code(await device_get_status(b.client, ro, DEV_GET_RECORDS, 0))).toBe(D_INVALID_SIZE);
    expect(code(await block_read(b.client, ro, 0n, 0))).toBe(D_INVALID_SIZE);
    expect(code(await block_write(b.client, rw, 0n, new Uint8Array(100), 0))).toBe(D_INVALID_SIZE);
  });

  it("D_INVALID_OPERATION for what a disk does not do", async () => {
    expect(code(await device_get_status(b.client, ro, 77, 2))).toBe(D_INVALID_OPERATION);
    expect(code(await device_set_status(b.client, ro, 77, new Int32Array(1)))).toBe(
      D_INVALID_OPERATION,
    );
    expect(code(await device_map(b.client, ro, VM_PROT_READ, 0n, 4096n, 0))).toBe(
      D_INVALID_OPERATION,
    );
    expect(code(await block_write(b.client, rw, 0n, new Uint8Array(512), 0x80))).toBe(
      D_INVALID_OPERATION,
    );
    // Device calls on the master port itself, and device_open on a device port.
    expect(code(await device_read(b.client, b.master, 0, 0n, 512))).toBe(D_NO_SUCH_DEVICE);
    expect(code(await device_open(b.client, ro, D_READ, "wd0"))).toBe(D_INVALID_OPERATION);
  });

  it("D_NO_SUCH_DEVICE after device_close", async () => {
    const o = await device_open(b.client, b.master, D_READ, "wd0");
    if (!o.ok) throw new Error("open");
    expect(code(await device_close(b.client, o.value.device))).toBe("ok");
    const r = await device_read(b.client, o.value.device, 0, 0n, 512);
    expect(r.ok).toBe(false);
  });

  it("DEV_FLUSH_CACHE succeeds on any open", async () => {
    expect(code(await device_set_status(b.client, rw, DEV_FLUSH_CACHE, new Int32Array(0)))).toBe(
      "ok",
    );
    expect(code(await device_set_status(b.client, ro, DEV_FLUSH_CACHE, new Int32Array(0)))).toBe(
      "ok",
    );
  });

  it("arbitrary arguments always get an answer: data or a D_* code, never a crash", async () => {
    const D_CODES = [
      D_INVALID_OPERATION,
      D_INVALID_RECNUM,
      D_INVALID_SIZE,
      D_NO_SUCH_DEVICE,
      D_READ_ONLY,
    ];
    const answered = (r: { ok: boolean; code?: number }) => r.ok || D_CODES.includes(r.code!);
    const int = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: -4, max: 70_000 }),
    );
    const rec = fc.oneof(
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      fc.bigInt({ min: -2n, max: 5000n }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        rec,
        int,
        int,
        fc.uint8Array({ maxLength: 2000 }),
        async (writable, recnum, n, flags, data) => {
          const dev = writable ? rw : ro;
          expect(answered(await device_read(b.client, dev, flags, recnum, n))).toBe(true);
          expect(answered(await device_read_inband(b.client, dev, flags, recnum, n))).toBe(true);
          expect(answered(await block_read(b.client, dev, recnum, n))).toBe(true);
          expect(answered(await device_get_status(b.client, dev, flags, n & 0x3ff))).toBe(true);
          // Writes only where they cannot land (past the end), so the image stays as it is.
          const past = BigInt(records) + (recnum < 0n ? -recnum : recnum);
          expect(
            answered(await device_write_inband(b.client, dev, flags, past, data.subarray(0, 128))),
          ).toBe(true);
          expect(answered(await block_write(b.client, dev, past, data, flags))).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
    expect(new DataView(b.fileBytes(start * 512, 8).buffer).getUint32(0, true)).toBe(start);
  });

  it("malformed requests get an error or nothing, and the server goes on serving", async () => {
    const reply = await b.client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    const ids = [
      2800, 2802, 2803, 2804, 2805, 2809, 2810, 2811, 2812, 2813, 47000, 47001, 47002, 47003, 47004,
      64, 70, 9999,
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ids),
        fc.uint8Array({ maxLength: 200 }),
        fc.boolean(),
        async (id, body, complex) => {
          const size = 32 + (body.length & ~3);
          const buf = new Uint8Array(Math.max(size, 8192));
          buf.set(body.subarray(0, size - 32), 32);
          writeHeader(buf, {
            bits:
              (MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) |
                (complex ? 0x8000_0000 : 0)) >>>
              0,
            size,
            remote: rw,
            local: reply.name,
            seqno: 0,
            id,
          });
          const kr = await b.client.mach_msg(
            buf,
            MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_TIMEOUT,
            size,
            buf.length,
            reply.name,
            200,
          );
          // Refused at send (bad descriptors), answered with an error, or not answered at all.
          expect(typeof kr).toBe("number");
          if (kr === MACH_MSG_SUCCESS) {
            // An answer is the routine's reply; an id no subsystem has is MIG_BAD_ID.
            expect(new DataView(buf.buffer).getInt32(28, true)).toBe(id + 100);
            if (id === 9999) expect(new DataView(buf.buffer).getInt32(36, true)).toBe(MIG_BAD_ID);
          }
        },
      ),
      { numRuns: 60 },
    );
    const ok = await device_read(b.client, ro, 0, 0n, 512);
    expect(
      ok.ok && Buffer.from(ok.value.data).equals(Buffer.from(b.fileBytes(start * 512, 512))),
    ).toBe(true);
  });
});
