// The rump kernel's system calls: rump_init attaches ahcisata and wd over the given glue, then
// rump_sys_open/pread/pwrite/ioctl/fsync/close on /dev/wdN, /dev/rwdNd, /dev/wdNsM; reboot.
import type { MachineBackend } from "../machine/backend.js";
import { AhciHba, findAhci } from "./ahcisata/hba.js";
import { BusDmaTag, type BusDmaMemory } from "./bus-dma.js";
import {
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EIO,
  EMFILE,
  ENOENT,
  ENOTTY,
  ENXIO,
  EROFS,
  describeThrown,
  fail,
  ok,
  type RumpResult,
} from "./errno.js";
import { BackendPciUser, type BackendPciOptions } from "./pci-backend.js";
import type { RumpPciUser } from "./pci-user.js";
import { createRumpUser, type RumpUser } from "./rumpuser.js";
import { DIOCCACHESYNC, DIOCGMEDIASIZE, DIOCGSECTORSIZE, ioctlParamLength } from "./wd/dkio.js";
import { WdDisk, type WdDevice } from "./wd/disk.js";

/** open(2) flags (NetBSD sys/fcntl.h). */
export const O_RDONLY = 0x0;
export const O_WRONLY = 0x1;
export const O_RDWR = 0x2;
export const O_ACCMODE = 0x3;
/** reboot(2) flags (NetBSD sys/reboot.h). */
export const RB_AUTOBOOT = 0;
export const RB_HALT = 0x8;
export const RB_NOSYNC = 0x4;
export const RB_POWERDOWN = RB_HALT | 0x800;

const MAX_FILES = 1024;

export interface RumpInitOptions {
  /** The PCI glue; or give `backend` to use BackendPciUser over it. */
  pci?: RumpPciUser;
  backend?: MachineBackend;
  backendOptions?: BackendPciOptions;
  /** Hypercalls; default createRumpUser with `params` and `console`. */
  hypercalls?: RumpUser;
  params?: Readonly<Record<string, string>>;
  console?: (line: string) => void;
  /** ahcisata: interrupt-driven (default) or polled completion; NCQ on (default) or off. */
  interrupts?: boolean;
  ncq?: boolean;
  timeoutMs?: number;
  /** What rump_sys_reboot(RB_POWERDOWN) calls; default backend.powerOff when a backend is given. */
  powerOff?: () => Promise<void>;
}

/** One open file: the device and the access mode it was opened with. */
interface OpenFile {
  dev: WdDevice;
  readable: boolean;
  writable: boolean;
}

/** What rumpdisk and the boot log need to know about a device node. */
export interface RumpDeviceInfo {
  name: string;
  unit: number;
  /** Partition number M of wdNsM, undefined for the whole disk. */
  partition: number | undefined;
  sectorSize: number;
  sectors: number;
  /** First sector on the disk. */
  start: number;
}

/** Memory for I/O buffers that a transfer can use without a bounce copy where memory is shared. */
export interface RumpIoBuffer {
  readonly view: Uint8Array;
  free(): Promise<void>;
}

/** A rump kernel instance: the attached controllers and disks and the file table. */
export class RumpKernel {
  private readonly files = new Map<number, OpenFile>();
  private down = false;

  constructor(
    readonly hypercalls: RumpUser,
    readonly pci: RumpPciUser,
    readonly controllers: readonly AhciHba[],
    readonly disks: readonly WdDisk[],
    private readonly powerOffHook: (() => Promise<void>) | undefined,
  ) {}

  get alive(): boolean {
    return !this.down;
  }

  /** Every device node: wdN (the whole disk, also rwdNd) and wdNsM. */
  devices(): RumpDeviceInfo[] {
    return this.disks.flatMap((d) =>
      d.devices().map((v) => ({
        name: v.name,
        unit: d.unit,
        partition: v.partition?.index,
        sectorSize: d.sectorSize,
        sectors: v.sectors,
        start: v.start,
      })),
    );
  }

  /** Resolves /dev/wdN, /dev/rwdNd, /dev/wdNd, wdNsM (with or without /dev/ and r). */
  lookup(path: string): RumpResult<WdDevice> {
    if (typeof path !== "string") return fail(EINVAL, "the path is not a string");
    const m = /^(?:\/dev\/)?r?wd(\d+)(?:([a-p])|s(\d+))?$/.exec(path);
    if (!m) return fail(ENOENT, `no such file: ${path}`);
    const unit = Number(m[1]);
    const disk = this.disks.find((d) => d.unit === unit);
    if (!disk) return fail(ENXIO, `${path}: no disk wd${unit}`);
    if (m[2] !== undefined) {
      if (m[2] !== "d")
        return fail(ENXIO, `${path}: only the raw partition d exists (no disklabel)`);
      return ok(disk.whole);
    }
    if (m[3] === undefined) return ok(disk.whole);
    const part = disk.partition(Number(m[3]));
    return part ? ok(part) : fail(ENXIO, `${path}: wd${unit} has no partition ${m[3]}`);
  }

  private file(fd: number): RumpResult<OpenFile> {
    if (this.down) return fail(ENXIO, "the rump kernel has been rebooted");
    const f = Number.isInteger(fd) ? this.files.get(fd) : undefined;
    return f ? ok(f) : fail(EBADF, `fd ${fd} is not open`);
  }

  open(path: string, flags: number): RumpResult<number> {
    if (this.down) return fail(ENXIO, "the rump kernel has been rebooted");
    if (!Number.isInteger(flags) || (flags & O_ACCMODE) === O_ACCMODE)
      return fail(EINVAL, `bad open flags ${flags}`);
    const dev = this.lookup(path);
    if (!dev.ok) return dev;
    let fd = 0;
    while (this.files.has(fd)) fd++;
    if (fd >= MAX_FILES) return fail(EMFILE, "too many open files");
    const mode = flags & O_ACCMODE;
    this.files.set(fd, {
      dev: dev.value,
      readable: mode !== O_WRONLY,
      writable: mode !== O_RDONLY,
    });
    return ok(fd);
  }

  async pread(fd: number, buf: Uint8Array, offset: number): Promise<RumpResult<number>> {
    const f = this.file(fd);
    if (!f.ok) return f;
    if (!f.value.readable) return fail(EBADF, `fd ${fd} is open write-only`);
    if (!(buf instanceof Uint8Array)) return fail(EFAULT, "the buffer is not a Uint8Array");
    return f.value.dev.disk.pread(f.value.dev, buf, offset);
  }

  async pwrite(fd: number, buf: Uint8Array, offset: number): Promise<RumpResult<number>> {
    const f = this.file(fd);
    if (!f.ok) return f;
    if (!(buf instanceof Uint8Array)) return fail(EFAULT, "the buffer is not a Uint8Array");
    if (!f.value.writable)
      return f.value.readable
        ? fail(EROFS, `fd ${fd} (${f.value.dev.name}) is open read-only`)
        : fail(EBADF, `fd ${fd} is not writable`);
    return f.value.dev.disk.pwrite(f.value.dev, buf, offset);
  }

  /**
   * ioctl(2). The value is returned, and also stored little-endian in `data` for the ioctls that
   * copy out (as the C call would), when `data` is given.
   */
  async ioctl(fd: number, cmd: number, data?: Uint8Array): Promise<RumpResult<number>> {
    const f = this.file(fd);
    if (!f.ok) return f;
    const dev = f.value.dev;
    const put = (value: number): RumpResult<number> => {
      if (data) {
        const len = ioctlParamLength(cmd);
        if (!(data instanceof Uint8Array) || data.length < len)
          return fail(EFAULT, `ioctl 0x${(cmd >>> 0).toString(16)} needs a ${len}-byte argument`);
        const v = new DataView(data.buffer, data.byteOffset, len);
        if (len === 8) v.setBigUint64(0, BigInt(value), true);
        else v.setUint32(0, value >>> 0, true);
      }
      return ok(value);
    };
    switch (cmd >>> 0) {
      case DIOCGSECTORSIZE:
        return put(dev.disk.sectorSize);
      case DIOCGMEDIASIZE:
        return put(dev.sectors * dev.disk.sectorSize);
      case DIOCCACHESYNC: {
        if (!f.value.writable) return fail(EBADF, `DIOCCACHESYNC needs a writable open`);
        const r = await dev.disk.flush();
        return r.ok ? ok(0) : fail(EIO, r.message);
      }
      default:
        return fail(ENOTTY, `ioctl 0x${(cmd >>> 0).toString(16)} is not a disk ioctl`);
    }
  }

  async fsync(fd: number): Promise<RumpResult<void>> {
    const f = this.file(fd);
    if (!f.ok) return f;
    const r = await f.value.dev.disk.flush();
    return r.ok ? r : fail(EIO, r.message);
  }

  close(fd: number): RumpResult<void> {
    const f = this.file(fd);
    if (!f.ok) return f;
    this.files.delete(fd);
    return ok(undefined);
  }

  /** Whether the drives can move data to and from `buf` in place (no bounce buffer). */
  isDeviceVisible(buf: Uint8Array): boolean {
    return new BusDmaTag(this.pci).loadDirect(buf) !== undefined;
  }

  /** Memory for I/O buffers; in shared memory where the glue has it (no bounce copies). */
  async allocIoBuffer(size: number): Promise<RumpResult<RumpIoBuffer>> {
    const tag = new BusDmaTag(this.pci);
    const m = await tag.dmamemAlloc(size, 4096);
    if (!m.ok) return m;
    const mem: BusDmaMemory = m.value;
    let freed = false;
    return ok({
      view: mem.view,
      free: async () => {
        if (!freed) await tag.dmamemFree(mem);
        freed = true;
      },
    });
  }

  /** Syncs the disks (unless RB_NOSYNC), detaches the controllers, powers down if asked. */
  async reboot(howto: number): Promise<RumpResult<void>> {
    if (this.down) return fail(ENXIO, "the rump kernel has already been rebooted");
    if (!Number.isInteger(howto)) return fail(EINVAL, `bad reboot flags ${howto}`);
    let result: RumpResult<void> = ok(undefined);
    if (!(howto & RB_NOSYNC)) {
      for (const d of this.disks) {
        const r = await d.flush();
        if (!r.ok) result = r;
      }
    }
    this.down = true;
    this.files.clear();
    for (const c of this.controllers) await c.detach();
    if ((howto & RB_POWERDOWN) === RB_POWERDOWN && this.powerOffHook) {
      try {
        await this.powerOffHook();
      } catch (e) {
        result = fail(EIO, `power off: ${describeThrown(e)}`);
      }
    }
    if (current === this) current = undefined;
    return result;
  }
}

let current: RumpKernel | undefined;

/** The kernel rump_sys_* calls go to (undefined before rump_init or after reboot). */
export function rump_kernel(): RumpKernel | undefined {
  return current;
}

/**
 * Boots a rump kernel: attaches every AHCI controller on PCI bus 0 and every ATA disk on them
 * as wd0, wd1, ... It becomes the kernel of the rump_sys_* calls; EBUSY if one is running.
 */
export async function rump_init(options: RumpInitOptions): Promise<RumpResult<RumpKernel>> {
  if (current?.alive) return fail(EBUSY, "a rump kernel is already running; reboot it first");
  const ru =
    options.hypercalls ??
    createRumpUser({ params: options.params ?? {}, console: options.console ?? (() => undefined) });
  let pci = options.pci;
  if (!pci) {
    if (!options.backend) return fail(EINVAL, "rump_init needs a PCI glue or a machine backend");
    pci = new BackendPciUser(options.backend, options.backendOptions ?? {});
  }
  const backend = options.backend;
  const powerOff = options.powerOff ?? (backend ? () => backend.powerOff() : undefined);
  let found;
  try {
    found = await findAhci(pci);
  } catch (e) {
    return fail(EIO, `PCI scan: ${describeThrown(e)}`);
  }
  const controllers: AhciHba[] = [];
  const disks: WdDisk[] = [];
  for (const [unit, address] of found.entries()) {
    const hba = await AhciHba.attach({
      ru,
      pci,
      address,
      unit,
      ...(options.interrupts !== undefined ? { interrupts: options.interrupts } : {}),
      ...(options.ncq !== undefined ? { ncq: options.ncq } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    if (!hba.ok) {
      ru.dprintf(hba.message);
      continue;
    }
    controllers.push(hba.value);
    for (const drive of hba.value.drives) {
      const unitNo = disks.length;
      const wd = await WdDisk.attach(unitNo, drive);
      const id = drive.identity;
      const mib = Math.floor((drive.sectors * drive.sectorSize) / (1 << 20));
      ru.dprintf(
        `wd${unitNo} at ${drive.location}: <${id.model}>, ${mib} MB, ${drive.sectors} sectors of ${drive.sectorSize} bytes`,
      );
      for (const w of wd.label.warnings) ru.dprintf(`wd${unitNo}: ${w}`);
      for (const p of wd.label.partitions)
        ru.dprintf(
          `wd${unitNo}s${p.index}: ${p.scheme.toUpperCase()} type ${p.type}, start ${p.start}, ${p.sectors} sectors${p.name ? ` "${p.name}"` : ""}`,
        );
      disks.push(wd);
    }
  }
  const k = new RumpKernel(ru, pci, controllers, disks, powerOff);
  current = k;
  return ok(k);
}

function kernel(): RumpResult<RumpKernel> {
  return current?.alive ? ok(current) : fail(ENXIO, "no rump kernel: call rump_init first");
}

export function rump_sys_open(path: string, flags: number): RumpResult<number> {
  const k = kernel();
  return k.ok ? k.value.open(path, flags) : k;
}

export async function rump_sys_pread(
  fd: number,
  buf: Uint8Array,
  offset: number,
): Promise<RumpResult<number>> {
  const k = kernel();
  return k.ok ? k.value.pread(fd, buf, offset) : k;
}

export async function rump_sys_pwrite(
  fd: number,
  buf: Uint8Array,
  offset: number,
): Promise<RumpResult<number>> {
  const k = kernel();
  return k.ok ? k.value.pwrite(fd, buf, offset) : k;
}

export async function rump_sys_ioctl(
  fd: number,
  cmd: number,
  data?: Uint8Array,
): Promise<RumpResult<number>> {
  const k = kernel();
  return k.ok ? k.value.ioctl(fd, cmd, data) : k;
}

export async function rump_sys_fsync(fd: number): Promise<RumpResult<void>> {
  const k = kernel();
  return k.ok ? k.value.fsync(fd) : k;
}

export function rump_sys_close(fd: number): RumpResult<void> {
  const k = kernel();
  return k.ok ? k.value.close(fd) : k;
}

export async function rump_sys_reboot(howto: number): Promise<RumpResult<void>> {
  const k = kernel();
  return k.ok ? k.value.reboot(howto) : k;
}
