// rumpdisk's device operations, as the Hurd's rumpdisk/block-rump.c maps them: each device_*
// (and block_*) call becomes rump_sys_open/pread/pwrite/ioctl/fsync/close on /dev/wdN[sM].
import type { BlockServer } from "../../../generated/block.js";
import { device_open, type DeviceServer } from "../../../generated/device.js";
import type { NotifyServer } from "../../../generated/notify.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_RECNUM,
  D_INVALID_SIZE,
  D_NO_SUCH_DEVICE,
  D_NODELAY,
  D_NOWAIT,
  D_READ,
  D_READ_ONLY,
  D_SUCCESS,
  D_WRITE,
  type io_return_t,
} from "../../kernel/devices/device-codes.js";
import { KERN_SUCCESS } from "../../kernel/kern-return.js";
import {
  polyRight,
  type MigReply,
  type PolyRight,
  type SendRight,
  type TaskApi,
} from "../../kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND, MACH_MSG_TYPE_MOVE_SEND } from "../../kernel/msg-type.js";
import {
  DIOCGMEDIASIZE,
  DIOCGSECTORSIZE,
  O_RDONLY,
  O_RDWR,
  rump_sys_close,
  rump_sys_fsync,
  rump_sys_ioctl,
  rump_sys_open,
  rump_sys_pread,
  rump_sys_pwrite,
} from "../../rump/index.js";
import {
  DEV_FLUSH_CACHE,
  DEV_GET_RECORDS,
  DEV_GET_RECORDS_COUNT,
  DEV_GET_SIZE,
  DEV_GET_SIZE_COUNT,
} from "./device-status.js";
import type { DevicePorts, OpenDevice } from "./device-ports.js";
import { deviceCodeOf } from "./errno-map.js";
import type { IoBuffer, IoBufferPool } from "./io-buffers.js";
import { replyLater, replyLaterStatus } from "./reply-later.js";
import type { FillRegion } from "./reply-regions.js";
import type { WriteBarrier } from "./write-barrier.js";
import { copyBytes } from "../../kernel/shared-copy.js";

/** The largest transfer one request may ask for (bigger ones get D_INVALID_SIZE). */
export const MAX_TRANSFER = 8 << 20;
/** In-band data is at most this long (io_buf_ptr_inband_t). */
export const INBAND_MAX = 128;
/** Open modes device_open accepts. */
const D_MODES = D_READ | D_WRITE | D_NODELAY | D_NOWAIT;
/** Names rumpdisk serves: the whole disk wdN and its partitions wdNsM. */
const DEVICE_NAME = /^wd(\d{1,3})(?:s(\d{1,3}))?$/;

/** block_get_info flags. */
export const BLOCK_INFO_READ_ONLY = 0x1;
export const BLOCK_INFO_WRITE_CACHE = 0x2;
export const BLOCK_INFO_NCQ = 0x4;
/** block_write flags: force unit access (the data is synced before the reply). */
export const BLOCK_WRITE_FUA = 0x1;

/** What the device operations need from the server around them. */
export interface RumpdiskContext {
  readonly task: TaskApi;
  /** rumpdisk's master device port (a receive right). */
  readonly master: number;
  readonly ports: DevicePorts;
  readonly buffers: IoBufferPool;
  barrierFor(unit: number): WriteBarrier;
  /** The drive behind wd`unit`: identity and queueing. */
  drive(unit: number): { model: string; serial: string; ncq: boolean } | undefined;
  /** The first sector of device `name` on its disk (0 for the whole disk). */
  firstSector(name: string): number;
  /**
   * A region of rumpdisk's own memory the drives can DMA into (the pool as guest RAM), for a
   * read to land in the very region its reply carries; undefined where memory is not shared.
   */
  replyRegion?(size: number): Promise<FillRegion | undefined>;
  /** Whether the drives can reach `buf` in place (no staging copy needed). */
  deviceVisible?(buf: Uint8Array): boolean;
  /**
   * Gives back a request's out-of-line data once the routine is done with it, where requests
   * arrive mapped (setOolDelivery "map"): a no-op for any other array.
   */
  releaseData?(data: Uint8Array): void;
  /**
   * The master device port rumpdisk got from the task before it in the boot chain (a send
   * right): device_open of a name rumpdisk does not serve is forwarded there, as in the Hurd.
   */
  readonly next?: SendRight;
}

/** Whether `name` is a device name rumpdisk serves ("wd0", "wd0s1"). */
export function isRumpdiskName(name: string): boolean {
  return DEVICE_NAME.test(name);
}

/** device_open: open /dev/NAME in the rump kernel and make a port for it. */
async function openDevice(
  ctx: RumpdiskContext,
  mode: number,
  name: string,
): Promise<OpenDevice | io_return_t> {
  const m = DEVICE_NAME.exec(name);
  if (!m) return D_NO_SUCH_DEVICE;
  if (!Number.isInteger(mode) || (mode & ~D_MODES) !== 0) return D_INVALID_OPERATION;
  const writable = (mode & D_WRITE) !== 0;
  const fd = rump_sys_open(`/dev/${name}`, writable ? O_RDWR : O_RDONLY);
  if (!fd.ok) return deviceCodeOf(fd);
  const sectorSize = await rump_sys_ioctl(fd.value, DIOCGSECTORSIZE);
  const mediaSize = await rump_sys_ioctl(fd.value, DIOCGMEDIASIZE);
  if (!sectorSize.ok || !mediaSize.ok) {
    rump_sys_close(fd.value);
    return deviceCodeOf(
      !sectorSize.ok ? sectorSize : (mediaSize as Exclude<typeof mediaSize, { ok: true }>),
    );
  }
  const unit = Number(m[1]);
  const made = await ctx.ports.create({
    name,
    unit,
    fd: fd.value,
    mode,
    writable,
    recordSize: sectorSize.value,
    records: Math.floor(mediaSize.value / sectorSize.value),
    firstSector: ctx.firstSector(name),
    barrier: ctx.barrierFor(unit),
  });
  if (!made.ok) {
    rump_sys_close(fd.value);
    return made.code;
  }
  return made.value;
}

/** A checked request: the byte offset it starts at, or the D_* code refusing it. */
type Checked =
  | { readonly ok: true; readonly offset: number }
  | { readonly ok: false; readonly code: io_return_t };
const refuse = (code: io_return_t): Checked => ({ ok: false, code });

/** device_open of a name served further down the chain: asked there, answered from here. */
function forwardOpen(
  ctx: RumpdiskContext,
  next: SendRight,
  reply: MigReply<{ readonly device: PolyRight }> | undefined,
  mode: number,
  name: string,
) {
  return replyLater(reply, async () => {
    const r = await device_open(ctx.task, next, mode, name);
    return r.ok ? { device: polyRight(r.value.device, MACH_MSG_TYPE_MOVE_SEND) } : r.code;
  });
}

/** Checks a transfer of `bytes` at record `recnum` (which must lie on the device). */
function checkRange(d: OpenDevice, recnum: bigint, bytes: number, limit: number): Checked {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > limit) return refuse(D_INVALID_SIZE);
  if (recnum < 0n || recnum >= BigInt(d.records)) return refuse(D_INVALID_RECNUM);
  return { ok: true, offset: Number(recnum) * d.recordSize };
}

/**
 * device_read / block_read: pread into a DMA-visible buffer, answered when it completes. Where
 * rumpdisk's own memory is DMA-visible the buffer is the reply's region itself, which the reply
 * then moves to the client (no copy on the way); otherwise an I/O buffer, which goes back to
 * the pool once the reply has taken its copy.
 */
function readAndReply(
  d: OpenDevice,
  ctx: RumpdiskContext,
  offset: number,
  length: number,
  reply: MigReply<{ readonly data: Uint8Array }> | undefined,
) {
  let buf: IoBuffer | undefined;
  return replyLater(
    reply,
    async () => {
      const region = await ctx.replyRegion?.(length);
      if (region) {
        const r = await rump_sys_pread(d.fd, region.view, offset);
        if (r.ok && r.value > 0) return { data: region.seal(r.value) };
        await ctx.task.vm_deallocate(region.address);
        return r.ok ? { data: new Uint8Array(0) } : deviceCodeOf(r);
      }
      buf = await ctx.buffers.get(length);
      const r = await rump_sys_pread(d.fd, buf.view.subarray(0, length), offset);
      if (!r.ok) return deviceCodeOf(r);
      // A Buffer view: the reply's encoder then copies the bytes once, straight from the DMA
      // buffer into the out-of-line region (its slice() of a Buffer is a view, not a copy).
      return { data: Buffer.from(buf.view.buffer, buf.view.byteOffset, r.value) };
    },
    () => buf?.release(),
  );
}

/**
 * device_write / block_write: pwrite, tracked so that a flush waits for it. Data the drives can
 * reach (a received region, where the pool is guest RAM) goes to them in place; other data is
 * copied once into a DMA-visible buffer, so the drive gets it in as few commands as the
 * transfer allows rather than through per-slot bounce buffers.
 */
async function writeAt(
  d: OpenDevice,
  ctx: RumpdiskContext,
  offset: number,
  data: Uint8Array,
): Promise<
  | { readonly ok: true; readonly written: number }
  | { readonly ok: false; readonly code: io_return_t }
> {
  const write = async () => {
    if (ctx.deviceVisible?.(data)) return rump_sys_pwrite(d.fd, data, offset);
    const buf = await ctx.buffers.get(data.length);
    try {
      const staged = buf.view.subarray(0, data.length);
      copyBytes(staged, data);
      return await rump_sys_pwrite(d.fd, staged, offset);
    } finally {
      buf.release();
    }
  };
  const r = await d.barrier.track(write());
  return r.ok ? { ok: true, written: r.value } : { ok: false, code: deviceCodeOf(r) };
}

/** A write's refusal: gives the request's data back (where it arrived mapped), then the code. */
function refuser(ctx: RumpdiskContext, data: Uint8Array): (code: io_return_t) => io_return_t {
  return (code) => {
    ctx.releaseData?.(data);
    return code;
  };
}

/** DEV_FLUSH_CACHE / block_flush: a barrier, then DIOCCACHESYNC's work (fsync). */
async function flush(d: OpenDevice): Promise<io_return_t> {
  await d.barrier.drain();
  const r = await rump_sys_fsync(d.fd);
  return r.ok ? D_SUCCESS : deviceCodeOf(r);
}

/** The device.defs routines (gnumach's device interface) over the rump kernel. */
export function rumpDeviceServer(ctx: RumpdiskContext): DeviceServer {
  const dev = (port: number) => ctx.ports.get(port);
  const read = (
    port: number,
    reply: Parameters<DeviceServer["ds_device_read"]>[1] | undefined,
    recnum: bigint,
    wanted: number,
    limit: number,
  ) => {
    const d = dev(port);
    if (!d) return D_NO_SUCH_DEVICE;
    const at = checkRange(d, recnum, wanted, limit);
    if (!at.ok) return at.code;
    if (wanted === 0) return { data: new Uint8Array(0) };
    return readAndReply(d, ctx, at.offset, wanted, reply);
  };
  const write = (
    port: number,
    reply: Parameters<DeviceServer["ds_device_write"]>[1] | undefined,
    recnum: bigint,
    data: Uint8Array,
    limit: number,
  ) => {
    const d = dev(port);
    if (!(data instanceof Uint8Array)) return D_INVALID_SIZE;
    const refuse = refuser(ctx, data);
    if (!d) return refuse(D_NO_SUCH_DEVICE);
    if (!d.writable) return refuse(D_READ_ONLY);
    const at = checkRange(d, recnum, data.length, limit);
    if (!at.ok) return refuse(at.code);
    if (at.offset + data.length > d.records * d.recordSize) return refuse(D_INVALID_RECNUM);
    if (data.length === 0) return { bytes_written: 0 };
    return replyLater(reply, async () => {
      try {
        const w = await writeAt(d, ctx, at.offset, data);
        return w.ok ? { bytes_written: w.written } : w.code;
      } finally {
        ctx.releaseData?.(data);
      }
    });
  };
  return {
    ds_device_open: async (master, reply, mode, name) => {
      if (master !== ctx.master) return D_INVALID_OPERATION;
      if (!isRumpdiskName(name) && ctx.next !== undefined)
        return forwardOpen(ctx, ctx.next, reply, mode, name);
      const d = await openDevice(ctx, mode, name);
      if (typeof d === "number") return d;
      return { device: polyRight(d.port, MACH_MSG_TYPE_MAKE_SEND) };
    },
    ds_device_close: async (port) => {
      const d = await ctx.ports.destroy(port);
      if (!d) return D_NO_SUCH_DEVICE;
      rump_sys_close(d.fd);
      return D_SUCCESS;
    },
    ds_device_read: (port, reply, _mode, recnum, wanted) =>
      read(port, reply, recnum, wanted, MAX_TRANSFER),
    ds_device_read_inband: (port, reply, _mode, recnum, wanted) =>
      read(port, reply, recnum, wanted, INBAND_MAX),
    ds_device_write: (port, reply, _mode, recnum, data) =>
      write(port, reply, recnum, data, MAX_TRANSFER),
    ds_device_write_inband: (port, reply, _mode, recnum, data) =>
      write(port, reply, recnum, data, INBAND_MAX),
    ds_device_get_status: (port, flavor, count) => {
      const d = dev(port);
      if (!d) return D_NO_SUCH_DEVICE;
      const bytes = d.records * d.recordSize;
      switch (flavor) {
        case DEV_GET_SIZE:
          if (count < DEV_GET_SIZE_COUNT) return D_INVALID_SIZE;
          // An int32 holds at most 2 GiB - 1; bigger disks answer DEV_GET_RECORDS only.
          if (bytes > 0x7fff_ffff) return D_INVALID_SIZE;
          return { status: Int32Array.of(bytes, d.recordSize) };
        case DEV_GET_RECORDS:
          if (count < DEV_GET_RECORDS_COUNT) return D_INVALID_SIZE;
          if (d.records > 0x7fff_ffff) return D_INVALID_SIZE;
          return { status: Int32Array.of(d.records, d.recordSize) };
        default:
          return D_INVALID_OPERATION;
      }
    },
    ds_device_set_status: (port, flavor) => {
      const d = dev(port);
      if (!d) return D_NO_SUCH_DEVICE;
      if (flavor !== DEV_FLUSH_CACHE) return D_INVALID_OPERATION;
      return flush(d);
    },
    ds_device_map: (port) => (dev(port) ? D_INVALID_OPERATION : D_NO_SUCH_DEVICE),
    // Refused: the server loop destroys the right each request carried (mach_msg_server).
    ds_device_set_filter: (port) => (dev(port) ? D_INVALID_OPERATION : D_NO_SUCH_DEVICE),
    ds_device_intr_register: (port) => (dev(port) ? D_INVALID_OPERATION : D_NO_SUCH_DEVICE),
    ds_device_intr_ack: (port) => (dev(port) ? D_INVALID_OPERATION : D_NO_SUCH_DEVICE),
  };
}

/** Checks a block request of `count` sectors at `sector` (all of them on the device). */
function checkSectors(d: OpenDevice, sector: bigint, count: number): Checked {
  if (!Number.isInteger(count) || count <= 0 || count * d.recordSize > MAX_TRANSFER)
    return refuse(D_INVALID_SIZE);
  if (sector < 0n || sector + BigInt(count) > BigInt(d.records)) return refuse(D_INVALID_RECNUM);
  return { ok: true, offset: Number(sector) * d.recordSize };
}

/** The block.defs routines (tsmach's block protocol) over the rump kernel. */
export function rumpBlockServer(ctx: RumpdiskContext): BlockServer {
  const dev = (port: number) => ctx.ports.get(port);
  return {
    bs_block_get_info: (port) => {
      const d = dev(port);
      if (!d) return D_NO_SUCH_DEVICE;
      const drive = ctx.drive(d.unit);
      const flags =
        (d.writable ? 0 : BLOCK_INFO_READ_ONLY) |
        BLOCK_INFO_WRITE_CACHE |
        (drive?.ncq ? BLOCK_INFO_NCQ : 0);
      return {
        sector_size: d.recordSize,
        sectors: BigInt(d.records),
        first_sector: BigInt(d.firstSector),
        flags,
        model: (drive?.model ?? "").slice(0, 63),
        serial: (drive?.serial ?? "").slice(0, 63),
      };
    },
    bs_block_read: (port, reply, sector, count) => {
      const d = dev(port);
      if (!d) return D_NO_SUCH_DEVICE;
      const at = checkSectors(d, sector, count);
      if (!at.ok) return at.code;
      return readAndReply(d, ctx, at.offset, count * d.recordSize, reply);
    },
    bs_block_write: (port, reply, sector, data, flags) => {
      const d = dev(port);
      if (!(data instanceof Uint8Array)) return D_INVALID_SIZE;
      const refuse = refuser(ctx, data);
      if (!d) return refuse(D_NO_SUCH_DEVICE);
      if (!d.writable) return refuse(D_READ_ONLY);
      if ((flags & ~BLOCK_WRITE_FUA) !== 0) return refuse(D_INVALID_OPERATION);
      if (data.length % d.recordSize !== 0) return refuse(D_INVALID_SIZE);
      const count = data.length / d.recordSize;
      const at = checkSectors(d, sector, count);
      if (!at.ok) return refuse(at.code);
      return replyLater(reply, async () => {
        try {
          const w = await writeAt(d, ctx, at.offset, data);
          if (!w.ok) return w.code;
        } finally {
          ctx.releaseData?.(data);
        }
        if (flags & BLOCK_WRITE_FUA) {
          const f = await flush(d);
          if (f !== D_SUCCESS) return f;
        }
        return { count };
      });
    },
    bs_block_flush: (port, reply) => {
      const d = dev(port);
      if (!d) return D_NO_SUCH_DEVICE;
      return replyLaterStatus(reply, () => flush(d));
    },
    bs_block_write_zeroes: (port, reply, sector, count) => {
      const d = dev(port);
      if (!d) return D_NO_SUCH_DEVICE;
      if (!d.writable) return D_READ_ONLY;
      if (!Number.isInteger(count) || count <= 0) return D_INVALID_SIZE;
      if (sector < 0n || sector + BigInt(count) > BigInt(d.records)) return D_INVALID_RECNUM;
      return replyLaterStatus(reply, async () => {
        const chunk = Math.max(1, Math.floor((1 << 20) / d.recordSize));
        const zeroes = new Uint8Array(Math.min(count, chunk) * d.recordSize);
        for (let done = 0; done < count; done += chunk) {
          const n = Math.min(chunk, count - done);
          const w = await writeAt(
            d,
            ctx,
            (Number(sector) + done) * d.recordSize,
            zeroes.subarray(0, n * d.recordSize),
          );
          if (!w.ok) return w.code;
        }
        return KERN_SUCCESS;
      });
    },
  };
}

/** Notifications on device ports: no senders left means nobody can use the device; close it. */
export function rumpNotifyServer(ctx: RumpdiskContext): NotifyServer {
  return {
    do_mach_notify_port_deleted: () => KERN_SUCCESS,
    do_mach_notify_msg_accepted: () => KERN_SUCCESS,
    do_mach_notify_port_destroyed: async (_n, rights) => {
      await ctx.task.mach_port_destroy(rights);
      return KERN_SUCCESS;
    },
    do_mach_notify_no_senders: async (port) => {
      const d = await ctx.ports.destroy(port);
      if (d) rump_sys_close(d.fd);
      return KERN_SUCCESS;
    },
    do_mach_notify_send_once: () => KERN_SUCCESS,
    do_mach_notify_dead_name: async (_n, name) => {
      await ctx.task.mach_port_deallocate(name);
      return KERN_SUCCESS;
    },
  };
}
