// The boot console: a device port served by an in-thread task, where isolated servers write
// their boot messages (device_write / device_write_inband, as on gnumach's "console").
import { device_server, device_write_inband, type DeviceServer } from "../../generated/device.js";
import { D_INVALID_OPERATION, D_SUCCESS } from "../kernel/devices/device-codes.js";
import { KERN_SUCCESS } from "../kernel/kern-return.js";
import type { Kernel } from "../kernel/kernel.js";
import { mach_msg_server, MigDemux, type SendRight, type TaskApi } from "../kernel/mig/index.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../kernel/port-right.js";
import type { Task } from "../kernel/task.js";

export interface ConsoleDevice {
  readonly task: Task;
  /** The console's port: a receive right of `task` (give send rights with MAKE_SEND). */
  readonly port: number;
  close(): void;
}

/** Starts the console; each complete line written to it goes to `log`. */
export async function startConsole(
  kernel: Kernel,
  log: (line: string) => void,
): Promise<ConsoleDevice | undefined> {
  const task = kernel.createTask("console");
  const p = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  if (p.kr !== KERN_SUCCESS) return undefined;
  const dec = new TextDecoder();
  let pending = "";
  const write = (data: Uint8Array) => {
    pending += dec.decode(data, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      log(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    return { bytes_written: data.length };
  };
  const refuse = () => D_INVALID_OPERATION;
  const impl: DeviceServer = {
    ds_device_open: refuse,
    ds_device_close: () => D_SUCCESS,
    ds_device_write: (_p, _r, _m, _rec, data) => write(data),
    ds_device_write_inband: (_p, _r, _m, _rec, data) => write(data),
    ds_device_read: refuse,
    ds_device_read_inband: refuse,
    ds_device_map: refuse,
    ds_device_set_status: refuse,
    ds_device_get_status: refuse,
    // Refused: the server loop destroys the right each request carried (mach_msg_server).
    ds_device_set_filter: refuse,
    ds_device_intr_register: refuse,
    ds_device_intr_ack: refuse,
  };
  void mach_msg_server(task, new MigDemux(device_server(impl)), p.name);
  return { task, port: p.name, close: () => task.terminate("console closed") };
}

/** A task's writer on the console: lines go out in order; flush() waits until all are written. */
export interface ConsoleWriter {
  (line: string): void;
  flush(): Promise<void>;
}

/** Console output of `task` as device_write_inband calls on `console` (a send right). */
export function consoleWriter(task: TaskApi, console: SendRight): ConsoleWriter {
  let queue = Promise.resolve();
  const enc = new TextEncoder();
  const say = (line: string): void => {
    const bytes = enc.encode(line + "\n");
    queue = queue
      .then(async () => {
        for (let o = 0; o < bytes.length; o += 128)
          await device_write_inband(task, console, 0, 0n, bytes.subarray(o, o + 128));
      })
      .catch(() => undefined); // a console that is gone loses the line, nothing else
  };
  return Object.assign(say, { flush: () => queue });
}
