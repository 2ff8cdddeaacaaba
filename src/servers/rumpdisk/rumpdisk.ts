// The rumpdisk server: boots a rump kernel (ahcisata, wd) and serves device.defs and block.defs
// for wdN and wdNsM on ports of one port set, with its own master device port for device_open.
import { block_server } from "../../../generated/block.js";
import { device_server } from "../../../generated/device.js";
import { notify_server } from "../../../generated/notify.js";
import { KERN_SUCCESS, type kern_return_t } from "../../kernel/kern-return.js";
import {
  mach_msg_server,
  mig_deallocate,
  MigDemux,
  setOolDelivery,
  type SendRight,
  type TaskApi,
} from "../../kernel/mig/index.js";
import { MACH_PORT_RIGHT_PORT_SET, MACH_PORT_RIGHT_RECEIVE } from "../../kernel/port-right.js";
import {
  RB_AUTOBOOT,
  rump_init,
  rump_sys_close,
  type RumpDeviceInfo,
  type RumpInitOptions,
  type RumpKernel,
} from "../../rump/index.js";
import {
  isRumpdiskName,
  rumpBlockServer,
  rumpDeviceServer,
  rumpNotifyServer,
  type RumpdiskContext,
} from "./block-rump.js";
import { DevicePorts } from "./device-ports.js";
import { IoBufferPool } from "./io-buffers.js";
import { ReplyRegionReserve } from "./reply-regions.js";
import { WriteBarrier } from "./write-barrier.js";

export { isRumpdiskName };

export interface RumpdiskServer {
  /** rumpdisk's master device port: a receive right in its task's space. */
  readonly master: number;
  readonly rump: RumpKernel;
  /** wd0, wd0s1, ...: every device node the rump kernel found. */
  readonly devices: readonly RumpDeviceInfo[];
  /** Resolves with the receive error that ended the server loop. */
  readonly served: Promise<kern_return_t>;
  /** Stops serving (device ports die), syncs the disks and reboots the rump kernel. */
  shutdown(): Promise<void>;
}

export type RumpdiskStart = { ok: true; value: RumpdiskServer } | { ok: false; error: string };

export interface RumpdiskOptions {
  /** How to boot the rump kernel: the PCI glue (or a machine backend), console, NCQ. */
  readonly rump: RumpInitOptions;
  /** The master device port rumpdisk got at boot (a send right of `task`): other names go there. */
  readonly next?: SendRight;
  /**
   * A receive right of `task` to serve as rumpdisk's master device port (the boot chain made it
   * and kept a send right); without one rumpdisk allocates its own.
   */
  readonly master?: number;
}

/** Starts rumpdisk in `task`: rump_init, then the server loop. */
export async function runRumpdisk(task: TaskApi, options: RumpdiskOptions): Promise<RumpdiskStart> {
  const rump = options.rump;
  const k = await rump_init(rump);
  if (!k.ok) return { ok: false, error: `rump_init: ${k.message}` };
  const kernel = k.value;
  const pset = await task.mach_port_allocate(MACH_PORT_RIGHT_PORT_SET);
  const master =
    options.master !== undefined
      ? { kr: KERN_SUCCESS, name: options.master }
      : await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  if (pset.kr !== KERN_SUCCESS || master.kr !== KERN_SUCCESS) {
    await kernel.reboot(RB_AUTOBOOT);
    return { ok: false, error: "rumpdisk: cannot allocate its ports" };
  }
  await task.mach_port_move_member(master.name, pset.name);
  const ports = new DevicePorts(task, pset.name);
  const buffers = new IoBufferPool(kernel);
  const barriers = new Map<number, WriteBarrier>();
  const devices = kernel.devices();
  // Replies take their out-of-line regions from a reserve: no vm_allocate on the way out.
  const regions = new ReplyRegionReserve(task);
  const serverTask = regions.serverTask();
  // Requests' out-of-line data arrives mapped, not copied: a write goes to the drive from the
  // region the kernel handed over, which the routine gives back when the write is done.
  setOolDelivery(serverTask, "map");
  // Whether the drives can DMA into this task's own regions: found out on the first read.
  let regionsVisible: boolean | undefined;
  const ctx: RumpdiskContext = {
    task,
    master: master.name,
    ports,
    buffers,
    deviceVisible: (buf) => kernel.isDeviceVisible(buf),
    releaseData: (data) => void mig_deallocate(serverTask, data),
    async replyRegion(size) {
      if (regionsVisible === false) return undefined;
      const r = await regions.take(size);
      if (r && (regionsVisible ??= kernel.isDeviceVisible(r.view))) return r;
      if (r) await task.vm_deallocate(r.address);
      return undefined;
    },
    barrierFor(unit) {
      let b = barriers.get(unit);
      if (!b) barriers.set(unit, (b = new WriteBarrier()));
      return b;
    },
    drive(unit) {
      const disk = kernel.disks.find((d) => d.unit === unit);
      if (!disk) return undefined;
      const id = disk.drive.identity;
      return { model: id.model, serial: id.serial, ncq: disk.drive.ncq };
    },
    firstSector: (name) => devices.find((d) => d.name === name)?.start ?? 0,
    ...(options.next !== undefined ? { next: options.next } : {}),
  };
  const demux = new MigDemux(
    device_server(rumpDeviceServer(ctx)),
    block_server(rumpBlockServer(ctx)),
    notify_server(rumpNotifyServer(ctx)),
  );
  const served = mach_msg_server(serverTask, demux, pset.name);
  let stopped: Promise<void> | undefined;
  return {
    ok: true,
    value: {
      master: master.name,
      rump: kernel,
      devices,
      served,
      shutdown() {
        stopped ??= (async () => {
          for (const d of ports.all()) {
            await ports.destroy(d.port);
            rump_sys_close(d.fd);
          }
          await task.mach_port_mod_refs(master.name, MACH_PORT_RIGHT_RECEIVE, -1);
          await task.mach_port_destroy(pset.name);
          await served;
          for (const b of barriers.values()) await b.drain();
          await buffers.close();
          await regions.close();
          if (kernel.alive) await kernel.reboot(RB_AUTOBOOT);
        })();
        return stopped;
      },
    },
  };
}
