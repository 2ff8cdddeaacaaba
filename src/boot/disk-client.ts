// A client of rumpdisk's device interface: device_open of a disk or partition, byte-addressed
// reads and writes built from record-addressed device_read/device_write, and a flush.
import {
  device_close,
  device_get_status,
  device_open,
  device_read,
  device_set_status,
  device_write,
} from "../../generated/device.js";
import { deviceReturnName, D_READ, D_WRITE } from "../kernel/devices/device-codes.js";
import { kernReturnName, type kern_return_t } from "../kernel/kern-return.js";
import type { SendRight, TaskApi } from "../kernel/mig/index.js";
import {
  DEV_FLUSH_CACHE,
  DEV_GET_RECORDS,
  DEV_GET_RECORDS_COUNT,
} from "../servers/rumpdisk/device-status.js";

/** Bytes one device_read or device_write carries at most here. */
export const CLIENT_CHUNK = 1 << 20;

export type DeviceResult<T> = { ok: true; value: T } | { ok: false; code: kern_return_t };

/** D_NO_SUCH_DEVICE, KERN_..., MIG_... : the symbolic name of any code a device call returns. */
export function codeName(code: kern_return_t): string {
  return deviceReturnName(code) ?? kernReturnName(code);
}

export class DeviceClient {
  private constructor(
    readonly task: TaskApi,
    readonly port: SendRight,
    readonly name: string,
    readonly recordSize: number,
    readonly records: number,
  ) {}

  get size(): number {
    return this.recordSize * this.records;
  }

  /** device_open through `master`, then DEV_GET_RECORDS for the geometry. */
  static async open(
    task: TaskApi,
    master: SendRight,
    name: string,
    writable = false,
  ): Promise<DeviceResult<DeviceClient>> {
    const o = await device_open(task, master, D_READ | (writable ? D_WRITE : 0), name);
    if (!o.ok) return o;
    const s = await device_get_status(task, o.value.device, DEV_GET_RECORDS, DEV_GET_RECORDS_COUNT);
    if (!s.ok) {
      await task.mach_port_deallocate(o.value.device);
      return s;
    }
    const [records = 0, recordSize = 0] = s.value.status;
    return { ok: true, value: new DeviceClient(task, o.value.device, name, recordSize, records) };
  }

  /** Reads [offset, offset+length); short only at the device's end. */
  async read(offset: number, length: number): Promise<DeviceResult<Uint8Array>> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const rec = Math.floor(at / this.recordSize);
      const skip = at - rec * this.recordSize;
      const want = Math.min(CLIENT_CHUNK - skip, length - done);
      const r = await device_read(this.task, this.port, 0, BigInt(rec), skip + want);
      if (!r.ok) return r;
      const got = r.value.data.subarray(skip, skip + want);
      out.set(got, done);
      done += got.length;
      if (got.length < want) return { ok: true, value: out.subarray(0, done) };
    }
    return { ok: true, value: out };
  }

  /**
   * Writes `data` at byte `offset`. device_write starts at a record, so an unaligned start
   * first reads the head of its record back (the rest of a partial record is kept by rumpdisk).
   */
  async write(offset: number, data: Uint8Array): Promise<DeviceResult<number>> {
    let done = 0;
    while (done < data.length) {
      const at = offset + done;
      const rec = Math.floor(at / this.recordSize);
      const skip = at - rec * this.recordSize;
      const n = Math.min(CLIENT_CHUNK - skip, data.length - done);
      let buf = data.subarray(done, done + n);
      if (skip > 0) {
        const head = await this.read(rec * this.recordSize, skip);
        if (!head.ok) return head;
        const joined = new Uint8Array(skip + n);
        joined.set(head.value);
        joined.set(buf, skip);
        buf = joined;
      }
      // As a Buffer view, the stub's serializer takes the bytes without an extra copy.
      const w = await device_write(
        this.task,
        this.port,
        0,
        BigInt(rec),
        Buffer.from(buf.buffer, buf.byteOffset, buf.length),
      );
      if (!w.ok) return w;
      done += n;
    }
    return { ok: true, value: done };
  }

  /** DEV_FLUSH_CACHE: returns once everything written is in the image and synced. */
  async flush(): Promise<DeviceResult<void>> {
    const r = await device_set_status(this.task, this.port, DEV_FLUSH_CACHE, new Int32Array(0));
    return r.ok ? { ok: true, value: undefined } : r;
  }

  async close(): Promise<void> {
    await device_close(this.task, this.port);
    await this.task.mach_port_deallocate(this.port);
  }
}
