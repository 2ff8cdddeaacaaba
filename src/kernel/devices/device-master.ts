// The master device port and the kernel devices behind it ("irq", "time", "mem"), served by a kernel
// task through the generated device stubs; unknown names go to user-space servers that registered.
import { device_open, device_server, type DeviceServer } from "../../../generated/device.js";
import { notify_server, type NotifyServer } from "../../../generated/notify.js";
import type { MachineBackend } from "../../machine/backend.js";
import type { Kernel } from "../kernel.js";
import {
  KERN_INVALID_ARGUMENT,
  KERN_INVALID_TASK,
  KERN_SUCCESS,
  MACH_SEND_INVALID_DEST,
  MIG_NO_REPLY,
  MIG_SERVER_DIED,
  type kern_return_t,
} from "../kern-return.js";
import {
  mach_msg_server,
  MigDemux,
  polyRight,
  type MigReply,
  type PolyRight,
  type SendRight,
} from "../mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_SEND,
  MACH_PORT_DEAD,
  MACH_PORT_NULL,
} from "../msg-type.js";
import { MACH_NOTIFY_DEAD_NAME } from "../notify.js";
import type { Port } from "../port.js";
import {
  MACH_PORT_RIGHT_PORT_SET,
  MACH_PORT_RIGHT_RECEIVE,
  MACH_PORT_TYPE_SEND,
} from "../port-right.js";
import type { Task } from "../task.js";
import {
  D_INVALID_OPERATION,
  D_NO_MEMORY,
  D_NO_SUCH_DEVICE,
  D_SUCCESS,
  type io_return_t,
} from "./device-codes.js";
import { postIntrNotification } from "./intr-notification.js";
import { IrqLines } from "./irq-lines.js";
import { IO_PORT_DEVICE_NAME, IoPortDevice } from "./io-port-device.js";
import { MemDevice } from "./mem-device.js";
import type { PhysicalMapping } from "./physical-mapping.js";
import { TimeDevice, type TimeDeviceOptions } from "./time-device.js";
import { TIME_PAGE_SIZE, type TimePageReader } from "./time-page.js";
import type { MemoryObjectResolution, MemoryObjectSource } from "../memory-object.js";
import { VM_PROT_READ } from "./device-codes.js";

/** The kernel's own devices. */
export type KernelDeviceName = "irq" | "time" | "mem";
export const KERNEL_DEVICE_NAMES: readonly KernelDeviceName[] = ["irq", "time", "mem"];

/** Which device names a forwarder serves: a list, or a test on the name. */
export type DeviceNameMatch = readonly string[] | ((name: string) => boolean);

/** What device_map gave, once mapped into a task. */
export type DeviceMapping =
  | { readonly kind: "time"; readonly page: SharedArrayBuffer; readonly reader: TimePageReader }
  | { readonly kind: "mem"; readonly mapping: PhysicalMapping };

export type MapResult =
  | { readonly ok: true; readonly value: DeviceMapping }
  | { readonly ok: false; readonly code: kern_return_t };

export interface DeviceMasterOptions extends TimeDeviceOptions {
  /** The machine: interrupts for "irq", physical memory for "mem" (both refuse without one). */
  readonly backend?: MachineBackend;
  /** Interrupt lines (GSIs) of the machine (default 24, an IOAPIC's). */
  readonly irqLines?: number;
}

interface Forwarder {
  readonly id: number;
  /** Send right to the server's master device port, in the kernel task's space. */
  readonly port: number;
  readonly match: DeviceNameMatch;
}

interface MemoryObject {
  /** Receive right (and one send right) of the pager port in the kernel task's space. */
  readonly name: number;
  readonly port: Port;
  readonly map: () => DeviceMapping;
}

/** Distinct device_map ranges the kernel keeps memory objects for. */
export const MAX_MEMORY_OBJECTS = 1024;

function matches(m: DeviceNameMatch, name: string): boolean {
  return typeof m === "function" ? m(name) : m.includes(name);
}

export class DeviceMaster implements MemoryObjectSource {
  readonly time: TimeDevice;
  readonly irq: IrqLines<number>;
  readonly mem: MemDevice | undefined;
  private readonly devicePorts = new Map<KernelDeviceName, number>();
  private readonly deviceByPort = new Map<number, KernelDeviceName>();
  private readonly pagers = new Map<string, MemoryObject>();
  private readonly pagerByPort = new Map<Port, MemoryObject>();
  private forwarders: Forwarder[] = [];
  private nextForwarder = 1;
  private unsubscribe: (() => void) | undefined;
  private removeSource: (() => void) | undefined;
  private loop: Promise<kern_return_t> | undefined;
  private closed = false;

  private constructor(
    private readonly kernel: Kernel,
    /** The kernel task: holds every device port's receive right and serves them. */
    readonly task: Task,
    /** The master device port (a receive right of the kernel task). */
    readonly masterPort: number,
    private readonly portSet: number,
    private readonly notifyPort: number,
    private readonly backend: MachineBackend | undefined,
    options: DeviceMasterOptions,
  ) {
    this.time = new TimeDevice(options);
    this.mem = backend ? new MemDevice(backend) : undefined;
    this.irq = new IrqLines<number>(options.irqLines ?? 24, {
      notify: (name, line) => {
        const port = this.task.space.lookup(name)?.port;
        return port != null && postIntrNotification(port, line);
      },
      unmasked: (line) => {
        const eoi = this.backend?.endOfInterrupt;
        if (!eoi) return false;
        void eoi.call(this.backend, line).catch(() => undefined);
        return true;
      },
    });
  }

  /** Creates the kernel task with the master device port and the kernel devices, and serves them. */
  static async start(
    kernel: Kernel,
    options: DeviceMasterOptions = {},
  ): Promise<{ ok: true; value: DeviceMaster } | { ok: false; code: kern_return_t }> {
    const task = kernel.createTask("kernel");
    const receive = async (): Promise<number | kern_return_t> => {
      const r = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
      return r.kr === KERN_SUCCESS ? r.name : -1;
    };
    const pset = await task.mach_port_allocate(MACH_PORT_RIGHT_PORT_SET);
    const master = await receive();
    const notify = await receive();
    if (pset.kr !== KERN_SUCCESS || master < 0 || notify < 0) {
      task.terminate("device master setup failed");
      return { ok: false, code: pset.kr !== KERN_SUCCESS ? pset.kr : KERN_INVALID_TASK };
    }
    const dm = new DeviceMaster(kernel, task, master, pset.name, notify, options.backend, options);
    await task.mach_port_move_member(master, pset.name);
    await task.mach_port_move_member(notify, pset.name);
    for (const d of KERNEL_DEVICE_NAMES) {
      const port = await receive();
      if (port < 0) {
        task.terminate("device master setup failed");
        return { ok: false, code: KERN_INVALID_TASK };
      }
      await task.mach_port_move_member(port, pset.name);
      dm.devicePorts.set(d, port);
      dm.deviceByPort.set(port, d);
    }
    dm.time.start();
    // vm_map of this master's memory objects, for tasks of either kind.
    dm.removeSource = kernel.mappings.addSource(dm);
    if (options.backend) dm.unsubscribe = options.backend.onInterrupt((line) => dm.irq.fire(line));
    const demux = new MigDemux(device_server(dm.deviceServer()), notify_server(dm.notifyServer()));
    dm.loop = mach_msg_server(task, demux, pset.name);
    // "io" (port I/O, i386_io_perm_create's part): its own ports, device_open forwarded to them.
    const io = options.backend && (await IoPortDevice.start(kernel, task, options.backend));
    if (io && typeof io !== "number")
      await dm.addForwarder(task, io.openPort, [IO_PORT_DEVICE_NAME]);
    return { ok: true, value: dm };
  }

  /**
   * Gives `to` a send right to the master device port, as the kernel hands it to the bootstrap
   * task (which passes it down the boot chain). Returns the name in `to`'s space.
   */
  giveMasterPort(to: Task): { kr: kern_return_t; name: number } {
    if (this.closed) return { kr: KERN_INVALID_TASK, name: 0 };
    return this.kernel.giveRight(this.task, this.masterPort, MACH_MSG_TYPE_MAKE_SEND, to);
  }

  /**
   * Registers a user-space device server: device_open of a name `match` accepts is forwarded to
   * the master device port `serverPort` (a send or receive right of `from`), as the Hurd's boot chain sends
   * unknown names on to the next server (rumpdisk for "wd0"). Forwarders are asked in the order
   * they were added; one whose port dies is dropped. Returns an id for removeForwarder.
   */
  async addForwarder(
    from: Task,
    serverPort: number,
    match: DeviceNameMatch,
  ): Promise<{ kr: kern_return_t; id: number }> {
    if (this.closed) return { kr: KERN_INVALID_TASK, id: 0 };
    // A send right is copied; a server that holds only the receive right lends a new send right.
    const held = from.alive ? from.space.lookup(serverPort) : undefined;
    const disposition =
      held && held.type & MACH_PORT_TYPE_SEND ? MACH_MSG_TYPE_COPY_SEND : MACH_MSG_TYPE_MAKE_SEND;
    const r = this.kernel.giveRight(from, serverPort, disposition, this.task);
    if (r.kr !== KERN_SUCCESS) return { kr: r.kr, id: 0 };
    await this.watchDeath(r.name);
    const id = this.nextForwarder++;
    this.forwarders.push({ id, port: r.name, match });
    return { kr: KERN_SUCCESS, id };
  }

  /** Stops forwarding for a registration; KERN_INVALID_ARGUMENT when there is none by that id. */
  async removeForwarder(id: number): Promise<kern_return_t> {
    const f = this.forwarders.find((x) => x.id === id);
    if (!f) return KERN_INVALID_ARGUMENT;
    this.forwarders = this.forwarders.filter((x) => x !== f);
    await this.task.mach_port_deallocate(f.port);
    return KERN_SUCCESS;
  }

  /** The kernel's port for a kernel device (for tests and listings). */
  devicePort(name: KernelDeviceName): number {
    return this.devicePorts.get(name)!;
  }

  /**
   * vm_map of a memory object device_map returned: `pager` is a send right in `task`'s space.
   * The time page is shared memory; a mem mapping reaches the machine through the backend. For an
   * isolated task, its kernel record is passed: the time page's SharedArrayBuffer (and on the
   * simulated PC a mem mapping's sharedView()) can be handed to its worker.
   */
  mapDeviceMemory(task: Task, pager: number): MapResult {
    if (!task.alive) return { ok: false, code: KERN_INVALID_TASK };
    const e = task.space.lookup(pager);
    const obj =
      e && e.type & MACH_PORT_TYPE_SEND && e.port ? this.pagerByPort.get(e.port) : undefined;
    if (!obj) return { ok: false, code: KERN_INVALID_ARGUMENT };
    return { ok: true, value: obj.map() };
  }

  /**
   * The kernel's vm_map (Kernel.mappings, TaskApi.vm_map) asks here what a pager stands for: the
   * time page (shared, offsets 0..4095, read-only) or a mem range (offsets are physical
   * addresses; shared where the machine's memory is, device registers through the backend).
   */
  resolveMemoryObject(task: Task, pager: number): MemoryObjectResolution {
    if (this.closed) return { ok: false, code: KERN_INVALID_ARGUMENT };
    const r = this.mapDeviceMemory(task, pager);
    if (!r.ok) return r;
    const m = r.value;
    if (m.kind === "time")
      return {
        ok: true,
        value: {
          start: 0,
          size: TIME_PAGE_SIZE,
          maxProt: VM_PROT_READ,
          shared: { buffer: m.page, byteOffset: 0 },
        },
      };
    const view = m.mapping.sharedView();
    const shadow = m.mapping.registerShadow();
    return {
      ok: true,
      value: {
        start: m.mapping.base,
        size: m.mapping.size,
        maxProt: m.mapping.prot,
        shared: view && { buffer: view.buffer as SharedArrayBuffer, byteOffset: view.byteOffset },
        registers: m.mapping,
        ...(shadow ? { shadow } : {}),
      },
    };
  }

  /** Stops serving: the kernel task dies (every device port with it) and interrupts are released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.removeSource?.();
    this.time.stop();
    this.task.terminate("device master closed");
    await this.loop;
  }

  /** Asks for a dead-name notification on `name` (a send right the kernel task holds). */
  private async watchDeath(name: number): Promise<void> {
    const r = await this.task.mach_port_request_notification(
      name,
      MACH_NOTIFY_DEAD_NAME,
      0,
      this.notifyPort,
      MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
    if (r.kr === KERN_SUCCESS && r.previous !== 0) await this.task.mach_port_deallocate(r.previous);
  }

  private async pager(
    key: string,
    map: () => DeviceMapping,
  ): Promise<MemoryObject | kern_return_t> {
    const cached = this.pagers.get(key);
    if (cached) return cached;
    // Memory objects live as long as the kernel; distinct ranges are bounded so that no caller
    // can make the kernel hold ports without end.
    if (this.pagers.size >= MAX_MEMORY_OBJECTS) return D_NO_MEMORY;
    const r = await this.task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (r.kr !== KERN_SUCCESS) return r.kr;
    const kr = await this.task.mach_port_insert_right(r.name, r.name, MACH_MSG_TYPE_MAKE_SEND);
    if (kr !== KERN_SUCCESS) return kr;
    await this.task.mach_port_move_member(r.name, this.portSet);
    const obj: MemoryObject = { name: r.name, port: this.task.space.lookup(r.name)!.port!, map };
    this.pagers.set(key, obj);
    this.pagerByPort.set(obj.port, obj);
    return obj;
  }

  /** device_open relayed to a user-space server; the answer goes to the original caller. */
  private async forwardOpen(
    f: Forwarder,
    reply: MigReply<{ readonly device: PolyRight }> | undefined,
    mode: number,
    name: string,
  ): Promise<void> {
    const r = await device_open(this.task, f.port as SendRight, mode, name);
    if (r.ok) {
      if (reply) await reply.send({ device: polyRight(r.value.device, MACH_MSG_TYPE_MOVE_SEND) });
      else await this.task.mach_port_deallocate(r.value.device);
      return;
    }
    if (r.code === MACH_SEND_INVALID_DEST || r.code === MIG_SERVER_DIED) {
      this.forwarders = this.forwarders.filter((x) => x !== f);
      await reply?.fail(D_NO_SUCH_DEVICE);
      return;
    }
    await reply?.fail(r.code);
  }

  private deviceServer(): DeviceServer {
    const device = (port: number): KernelDeviceName | undefined => this.deviceByPort.get(port);
    const noData = (port: number): io_return_t =>
      device(port) ? D_INVALID_OPERATION : D_NO_SUCH_DEVICE;
    return {
      ds_device_open: (master, reply, mode, name) => {
        if (master !== this.masterPort) return D_INVALID_OPERATION;
        const own = this.devicePorts.get(name as KernelDeviceName);
        if (own !== undefined) return { device: polyRight(own, MACH_MSG_TYPE_MAKE_SEND) };
        const f = this.forwarders.find((x) => matches(x.match, name));
        if (!f) return D_NO_SUCH_DEVICE;
        void this.forwardOpen(f, reply, mode, name);
        return MIG_NO_REPLY;
      },
      ds_device_close: (port) => (device(port) ? D_SUCCESS : D_NO_SUCH_DEVICE),
      ds_device_write: (port) => noData(port),
      ds_device_write_inband: (port) => noData(port),
      ds_device_read: (port) => noData(port),
      ds_device_read_inband: (port) => noData(port),
      ds_device_map: async (port, prot, offset, size) => {
        const d = device(port);
        if (!d) return D_NO_SUCH_DEVICE;
        if (d === "time") {
          const kr = this.time.checkMap(prot, offset, size);
          if (kr !== D_SUCCESS) return kr;
          const obj = await this.pager("time", () => ({
            kind: "time",
            page: this.time.page,
            reader: this.time.reader(),
          }));
          return typeof obj === "number" ? obj : { pager: obj.name as SendRight };
        }
        if (d === "mem" && this.mem) {
          const mem = this.mem;
          const kr = mem.checkMap(prot, offset, size);
          if (kr !== D_SUCCESS) return kr;
          const obj = await this.pager(`mem:${prot}:${offset}:${size}`, () => ({
            kind: "mem",
            mapping: mem.map(prot, offset, size),
          }));
          return typeof obj === "number" ? obj : { pager: obj.name as SendRight };
        }
        return D_INVALID_OPERATION;
      },
      ds_device_set_status: (port) => noData(port),
      ds_device_get_status: (port) => noData(port),
      // A refused request's right is destroyed by the server loop (mach_msg_server), as in GNU's.
      ds_device_set_filter: (port) => noData(port),
      ds_device_intr_register: async (port, id, flags, receive_port) => {
        const d = device(port);
        if (!d) return D_NO_SUCH_DEVICE;
        // No flag is defined; only "irq" takes handlers; the machine must deliver interrupts; a
        // null or dead port cannot receive them.
        if (flags !== 0 || d !== "irq" || !this.backend) return D_INVALID_OPERATION;
        if (receive_port === MACH_PORT_NULL || receive_port === MACH_PORT_DEAD)
          return D_INVALID_OPERATION;
        const kr = this.irq.register(id, receive_port);
        // Refused (the same port registered again, say): the server loop releases the right.
        if (kr !== D_SUCCESS) return kr;
        await this.watchDeath(receive_port);
        return D_SUCCESS;
      },
      ds_device_intr_ack: async (port, receive_port) => {
        const d = device(port);
        const kr = !d
          ? D_NO_SUCH_DEVICE
          : d !== "irq"
            ? D_INVALID_OPERATION
            : this.irq.ack(receive_port);
        // gnumach releases the right on success; a refused request's right the server loop
        // destroys (mach_msg_server).
        if (kr === D_SUCCESS && receive_port !== MACH_PORT_NULL && receive_port !== MACH_PORT_DEAD)
          await this.task.mach_port_deallocate(receive_port);
        return kr;
      },
    };
  }

  private notifyServer(): NotifyServer {
    return {
      do_mach_notify_port_deleted: () => KERN_SUCCESS,
      do_mach_notify_msg_accepted: () => KERN_SUCCESS,
      do_mach_notify_port_destroyed: async (_notify, rights) => {
        await this.task.mach_port_mod_refs(rights, MACH_PORT_RIGHT_RECEIVE, -1);
        return KERN_SUCCESS;
      },
      do_mach_notify_no_senders: () => KERN_SUCCESS,
      do_mach_notify_send_once: () => KERN_SUCCESS,
      do_mach_notify_dead_name: async (_notify, name) => {
        // A handler's or a forwarder's port died: its pending interrupts count as acknowledged.
        this.irq.remove(name);
        this.forwarders = this.forwarders.filter((f) => f.port !== name);
        await this.task.mach_port_destroy(name);
        return KERN_SUCCESS;
      },
    };
  }
}
