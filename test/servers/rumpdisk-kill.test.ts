// Killing rumpdisk in the middle of writes: clients get an error reply or a dead-name
// notification, never a hang, and every write acknowledged before a flush's reply is in the image.
import { describe, expect, it } from "vitest";
import { device_open, device_set_status, device_write } from "../../generated/device.js";
import { D_READ, D_WRITE } from "../../src/kernel/devices/device-codes.js";
import { MACH_MSG_SUCCESS } from "../../src/kernel/kern-return.js";
import {
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
} from "../../src/kernel/msg-type.js";
import { MACH_NOTIFY_DEAD_NAME } from "../../src/kernel/notify.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import { DEV_FLUSH_CACHE } from "../../src/servers/rumpdisk/device-status.js";
import { bootRumpdisk } from "./rumpdisk-fixture.js";

const SS = 512;
const CHUNK = 64 * 1024;

function pattern(i: number): Uint8Array {
  return Uint8Array.from({ length: CHUNK }, (_, k) => (i * 31 + k * 7 + 1) & 0xff);
}

/** Settles with `p`'s value, or "hang" after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | "hang"> {
  return Promise.race([p, new Promise<"hang">((r) => setTimeout(() => r("hang"), ms))]);
}

describe("rumpdisk: killed mid-write", () => {
  it("answers or dies visibly; writes acknowledged before a flush's reply are in the image", async () => {
    const b = await bootRumpdisk({ sectors: 16384 });
    try {
      const o = await device_open(b.client, b.master, D_READ | D_WRITE, "wd0");
      if (!o.ok) throw new Error("open");
      const dev = o.value.device;
      const notify = await b.client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      const req = await b.client.mach_port_request_notification(
        dev,
        MACH_NOTIFY_DEAD_NAME,
        0,
        notify.name,
        MACH_MSG_TYPE_MAKE_SEND_ONCE,
      );
      expect(req.kr).toBe(0);

      // Writes racing a flush: those acknowledged before the flush's reply must be durable.
      const acked = new Set<number>();
      const writes = Array.from({ length: 24 }, (_, i) =>
        device_write(b.client, dev, 0, BigInt((i * CHUNK) / SS), pattern(i)).then((r) => {
          if (r.ok) acked.add(i);
          return r;
        }),
      );
      // Concurrent stub calls need not reach rumpdisk in call order: let one write be answered
      // first, so that the flush has acknowledged writes to vouch for.
      await writes[0];
      const flush = await device_set_status(b.client, dev, DEV_FLUSH_CACHE, new Int32Array(0));
      expect(flush.ok).toBe(true);
      const durable = [...acked];
      // More writes in flight, and rumpdisk dies under them.
      const late = Array.from({ length: 24 }, (_, i) =>
        device_write(b.client, dev, 0, BigInt(((24 + i) * CHUNK) / SS), pattern(100 + i)),
      );
      await new Promise((r) => setImmediate(r));
      b.server.terminate("killed");

      const results = await within(Promise.all([...writes, ...late]), 5000);
      expect(results).not.toBe("hang");
      if (results === "hang") return;
      const failed = results.filter((r) => !r.ok);
      expect(failed.length).toBeGreaterThan(0); // the kill did land mid-write
      for (const r of results) if (r.ok) expect(r.value.bytes_written).toBe(CHUNK);

      // The client hears of the death.
      const buf = new Uint8Array(256);
      const kr = await b.client.mach_msg(
        buf,
        MACH_RCV_MSG | MACH_RCV_TIMEOUT,
        0,
        buf.length,
        notify.name,
        2000,
      );
      expect(kr).toBe(MACH_MSG_SUCCESS);
      expect(new DataView(buf.buffer).getInt32(28, true)).toBe(MACH_NOTIFY_DEAD_NAME);

      // A later call fails at once instead of waiting.
      const after = await within(device_write(b.client, dev, 0, 0n, new Uint8Array(SS)), 2000);
      expect(after).not.toBe("hang");
      expect(after !== "hang" && after.ok).toBe(false);

      expect(durable.length).toBeGreaterThan(0);
      for (const i of durable)
        expect(Buffer.from(b.fileBytes(i * CHUNK, CHUNK)).equals(Buffer.from(pattern(i)))).toBe(
          true,
        );
    } finally {
      await b.shutdown();
    }
  });
});
