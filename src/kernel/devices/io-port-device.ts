// The kernel's "io" device: x86 I/O-port access granted as gnumach grants it. device_map of a port
// range is i386_io_perm_create (the pager is the io_perm), vm_map of it is i386_io_perm_modify.
import { device_server, type DeviceServer } from "../../../generated/device.js";
import {
  BackendAccessError,
  type AccessWidth,
  type MachineBackend,
} from "../../machine/backend.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_SUCCESS,
  type kern_return_t,
} from "../kern-return.js";
import type { Kernel } from "../kernel.js";
import type { AccessResult, MemoryObjectResolution, MemoryObjectSource } from "../memory-object.js";
import { mach_msg_server, MigDemux, polyRight, type SendRight } from "../mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../msg-type.js";
import type { Port } from "../port.js";
import {
  MACH_PORT_RIGHT_PORT_SET,
  MACH_PORT_RIGHT_RECEIVE,
  MACH_PORT_TYPE_SEND,
} from "../port-right.js";
import type { Task } from "../task.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_IO_ERROR,
  D_NO_MEMORY,
  D_NO_SUCH_DEVICE,
  D_READ_ONLY,
  D_SUCCESS,
  D_WRITE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type io_return_t,
} from "./device-codes.js";

/** The device's name on the master device port. */
export const IO_PORT_DEVICE_NAME = "io";
/** x86 has 65536 I/O ports. */
export const IO_PORT_SPACE = 0x10000;
/** Distinct port ranges the kernel keeps pagers (io_perm ports) for. */
export const MAX_IO_PERMS = 256;

/** One io_perm: ports [from, from+count) with the protection device_map granted. */
interface IoPerm {
  /** The pager's receive right (which also holds a send right) in the kernel task. */
  readonly name: number;
  readonly port: Port;
  readonly from: number;
  readonly count: number;
  readonly prot: number;
}

function failure(e: unknown): { ok: false; code: kern_return_t } {
  if (e instanceof BackendAccessError) {
    if (e.reason === "read-only") return { ok: false, code: D_READ_ONLY };
    if (e.reason === "out-of-range") return { ok: false, code: KERN_INVALID_ADDRESS };
  }
  return { ok: false, code: D_IO_ERROR };
}

/**
 * Only holders of the master device port can open "io" (device_open is forwarded here from the
 * master), and what they get is a capability: a device port opened without D_WRITE maps ranges
 * read-only (VM_PROT_WRITE is D_READ_ONLY), and only a task holding the pager (io_perm) send right
 * can vm_map it; each in/out is then a VM_MAPPING_READ/WRITE the kernel performs on the machine.
 */
export class IoPortDevice implements MemoryObjectSource {
  private readonly perms = new Map<string, IoPerm>();
  private readonly permByPort = new Map<Port, IoPerm>();

  private constructor(
    private readonly task: Task,
    private readonly backend: MachineBackend,
    private readonly portSet: number,
    /** Where device_open("io") is forwarded (a receive right of the kernel task). */
    readonly openPort: number,
    /** The device ports handed out: opened with and without D_WRITE. */
    private readonly readWrite: number,
    private readonly readOnly: number,
  ) {}

  /**
   * Starts the device in the kernel task `task` (the device master's), serving on its own port
   * set, and makes vm_map resolve its pagers. Returns the device or the code that stopped it.
   */
  static async start(
    kernel: Kernel,
    task: Task,
    backend: MachineBackend,
  ): Promise<IoPortDevice | kern_return_t> {
    const pset = await task.mach_port_allocate(MACH_PORT_RIGHT_PORT_SET);
    if (pset.kr !== KERN_SUCCESS) return pset.kr;
    const names: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      if (r.kr !== KERN_SUCCESS) return r.kr;
      await task.mach_port_move_member(r.name, pset.name);
      names.push(r.name);
    }
    const dev = new IoPortDevice(task, backend, pset.name, names[0]!, names[1]!, names[2]!);
    const remove = kernel.mappings.addSource(dev);
    task.onDeath(remove);
    void mach_msg_server(task, new MigDemux(device_server(dev.server())), pset.name);
    return dev;
  }

  /** vm_map asks here what an io_perm stands for: ports as offsets, reached through the kernel. */
  resolveMemoryObject(task: Task, pager: number): MemoryObjectResolution {
    if (!this.task.alive || !task.alive) return { ok: false, code: KERN_INVALID_ARGUMENT };
    const e = task.space.lookup(pager);
    const perm =
      e && e.type & MACH_PORT_TYPE_SEND && e.port ? this.permByPort.get(e.port) : undefined;
    if (!perm) return { ok: false, code: KERN_INVALID_ARGUMENT };
    const backend = this.backend;
    return {
      ok: true,
      value: {
        start: perm.from,
        size: perm.count,
        maxProt: perm.prot,
        registers: {
          readRegister: async (o, w): Promise<AccessResult<number>> => {
            try {
              return { ok: true, value: await backend.portRead(perm.from + o, w) };
            } catch (e) {
              return failure(e);
            }
          },
          writeRegister: async (o, w: AccessWidth, v): Promise<AccessResult<number>> => {
            try {
              await backend.portWrite(perm.from + o, w, v);
              return { ok: true, value: w };
            } catch (e) {
              return failure(e);
            }
          },
          // Ports are registers: there is no block of bytes to copy.
          read: async () => ({ ok: false, code: KERN_INVALID_ARGUMENT }),
        },
      },
    };
  }

  /** The io_perm for a range, made once per (prot, from, count). */
  private async perm(prot: number, from: number, count: number): Promise<IoPerm | kern_return_t> {
    const key = `${prot}:${from}:${count}`;
    const have = this.perms.get(key);
    if (have) return have;
    if (this.perms.size >= MAX_IO_PERMS) return D_NO_MEMORY;
    const r = await this.task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (r.kr !== KERN_SUCCESS) return r.kr;
    const kr = await this.task.mach_port_insert_right(r.name, r.name, MACH_MSG_TYPE_MAKE_SEND);
    if (kr !== KERN_SUCCESS) return kr;
    await this.task.mach_port_move_member(r.name, this.portSet);
    const port = this.task.space.lookup(r.name)?.port;
    if (!port) return D_IO_ERROR;
    const perm: IoPerm = { name: r.name, port, from, count, prot };
    this.perms.set(key, perm);
    this.permByPort.set(perm.port, perm);
    return perm;
  }

  private server(): DeviceServer {
    const isDevice = (p: number) => p === this.readWrite || p === this.readOnly;
    const none = (p: number): io_return_t => (isDevice(p) ? D_INVALID_OPERATION : D_NO_SUCH_DEVICE);
    return {
      ds_device_open: (master, _reply, mode, name) => {
        if (master !== this.openPort) return D_INVALID_OPERATION;
        if (name !== IO_PORT_DEVICE_NAME) return D_NO_SUCH_DEVICE;
        const port = mode & D_WRITE ? this.readWrite : this.readOnly;
        return { device: polyRight(port, MACH_MSG_TYPE_MAKE_SEND) };
      },
      ds_device_close: (p) => (isDevice(p) ? D_SUCCESS : D_NO_SUCH_DEVICE),
      ds_device_write: (p) => none(p),
      ds_device_write_inband: (p) => none(p),
      ds_device_read: (p) => none(p),
      ds_device_read_inband: (p) => none(p),
      ds_device_set_status: (p) => none(p),
      ds_device_get_status: (p) => none(p),
      ds_device_map: async (p, prot, offset, size) => {
        if (!isDevice(p)) return D_NO_SUCH_DEVICE;
        if (prot === 0 || (prot & ~(VM_PROT_READ | VM_PROT_WRITE)) !== 0)
          return D_INVALID_OPERATION;
        if (offset < 0n || size <= 0n || offset + size > BigInt(IO_PORT_SPACE))
          return D_INVALID_SIZE;
        if (prot & VM_PROT_WRITE && (p === this.readOnly || !this.backend.writable))
          return D_READ_ONLY;
        const perm = await this.perm(prot, Number(offset), Number(size));
        if (typeof perm === "number") return perm;
        return { pager: perm.name as SendRight };
      },
      // Refused: the server loop destroys the right each request carried (mach_msg_server).
      ds_device_set_filter: (p) => none(p),
      ds_device_intr_register: (p) => none(p),
      ds_device_intr_ack: (p) => none(p),
    };
  }
}
