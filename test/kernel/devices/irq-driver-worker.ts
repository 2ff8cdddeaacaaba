// Isolated-task fixture: a driver in its own worker thread that opens "irq" through the master
// device port, registers for a line, and acknowledges `count` interrupts before it exits.
import { device_intr_ack, device_intr_register, device_open } from "../../../generated/device.js";
import { intrNotificationId } from "../../../src/kernel/devices/intr-notification.js";
import { asSendRight, polyRight } from "../../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND, MACH_RCV_MSG } from "../../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../../src/kernel/port-right.js";
import type { TaskApi } from "../../../src/kernel/task-api.js";

export default async function main(task: TaskApi, args: unknown): Promise<void> {
  const { master, line, count } = args as { master: number; line: number; count: number };
  const irq = await device_open(task, asSendRight(master), 0, "irq");
  if (!irq.ok) throw new Error(`device_open irq: ${irq.code}`);
  const port = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  const me = polyRight(port.name, MACH_MSG_TYPE_MAKE_SEND);
  const reg = await device_intr_register(task, irq.value.device, line, 0, me);
  if (!reg.ok) throw new Error(`device_intr_register: ${reg.code}`);
  const buf = new Uint8Array(256);
  for (let i = 0; i < count; i++) {
    const kr = await task.mach_msg(buf, MACH_RCV_MSG, 0, buf.length, port.name);
    if (kr !== 0 || intrNotificationId(buf) !== line)
      throw new Error(`not an interrupt of line ${line}`);
    const ack = await device_intr_ack(task, irq.value.device, me);
    if (!ack.ok) throw new Error(`device_intr_ack: ${ack.code}`);
  }
}
