// The ports of rumpdisk's open devices: one receive right per device_open, in the server's port
// set, with the open file behind it; a no-senders notification closes a device nobody holds.
import { KERN_SUCCESS, type kern_return_t } from "../../kernel/kern-return.js";
import type { TaskApi } from "../../kernel/task-api.js";
import { MACH_MSG_TYPE_MAKE_SEND_ONCE } from "../../kernel/msg-type.js";
import { MACH_NOTIFY_NO_SENDERS } from "../../kernel/notify.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../kernel/port-right.js";
import type { WriteBarrier } from "./write-barrier.js";

/** An open device: what device_open found out, and the rump file it reads and writes. */
export interface OpenDevice {
  /** The receive right the device's requests arrive on. */
  readonly port: number;
  /** "wd0", "wd0s1". */
  readonly name: string;
  readonly unit: number;
  /** The rump kernel's file descriptor. */
  readonly fd: number;
  /** The mode device_open was given (D_READ, D_WRITE, ...). */
  readonly mode: number;
  readonly writable: boolean;
  /** Record (sector) size in bytes and the number of records. */
  readonly recordSize: number;
  readonly records: number;
  /** The device's first sector on its disk (0 for the whole disk). */
  readonly firstSector: number;
  /** Writes in flight on the device's disk (shared by every open of that disk). */
  readonly barrier: WriteBarrier;
}

export class DevicePorts {
  private readonly open = new Map<number, OpenDevice>();

  constructor(
    private readonly task: TaskApi,
    /** The port set the server receives on. */
    private readonly portSet: number,
  ) {}

  /** A new device port for `device` (without its port, which this fills in). */
  async create(
    device: Omit<OpenDevice, "port">,
  ): Promise<{ ok: true; value: OpenDevice } | { ok: false; code: kern_return_t }> {
    const r = await this.task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (r.kr !== KERN_SUCCESS) return { ok: false, code: r.kr };
    const kr = await this.task.mach_port_move_member(r.name, this.portSet);
    if (kr !== KERN_SUCCESS) {
      await this.task.mach_port_mod_refs(r.name, MACH_PORT_RIGHT_RECEIVE, -1);
      return { ok: false, code: kr };
    }
    // Sync 1: the notification comes once the send right device_open makes is gone again.
    const n = await this.task.mach_port_request_notification(
      r.name,
      MACH_NOTIFY_NO_SENDERS,
      1,
      r.name,
      MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    if (n.kr === KERN_SUCCESS && n.previous !== 0) await this.task.mach_port_deallocate(n.previous);
    const value: OpenDevice = { ...device, port: r.name };
    this.open.set(r.name, value);
    return { ok: true, value };
  }

  get(port: number): OpenDevice | undefined {
    return this.open.get(port);
  }

  /** Every open device (for shutdown). */
  all(): OpenDevice[] {
    return [...this.open.values()];
  }

  /** Forgets the device and destroys its port: holders of send rights get dead names. */
  async destroy(port: number): Promise<OpenDevice | undefined> {
    const d = this.open.get(port);
    if (!d) return undefined;
    this.open.delete(port);
    await this.task.mach_port_mod_refs(port, MACH_PORT_RIGHT_RECEIVE, -1);
    return d;
  }
}
