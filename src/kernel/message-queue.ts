// Message queues of ports and port sets: enqueue, hand-over to blocked receivers in FIFO order
// (sequence numbers, MACH_RCV_TOO_LARGE), and waking senders blocked on a full queue.
import type { KMsg } from "./kmsg.js";
import { nextStamp } from "./kmsg.js";
import type { Port, ReceiveWaiter } from "./port.js";
import type { PortSet } from "./port-set.js";
import { MACH_RCV_TOO_LARGE } from "./kern-return.js";
import { destroyKmsg } from "./ipc-right.js";
import { writeU32 } from "./message.js";
import { MACH_MSG_TYPE_PORT_SEND_ONCE } from "./msg-type.js";

/** True when a normal send must wait: full queue, unless sent with a send-once right. */
export function queueFull(port: Port, destType: number): boolean {
  return port.queue.length >= port.qlimit && destType !== MACH_MSG_TYPE_PORT_SEND_ONCE;
}

/** Appends a message to its destination's queue and hands it over if a receiver waits. */
export function enqueueKmsg(kmsg: KMsg): void {
  kmsg.stamp = nextStamp();
  kmsg.dest.queue.push(kmsg);
  deliverPort(kmsg.dest);
  kmsg.dest.laneWatch?.(kmsg.dest);
}

export function deliverPort(port: Port): void {
  if (port.set) {
    deliverSet(port.set);
    return;
  }
  while (port.queue.length > 0 && port.receivers.length > 0) {
    handOver(port, port.receivers.shift()!);
  }
}

export function deliverSet(set: PortSet): void {
  while (set.receivers.length > 0) {
    const port = set.firstReady();
    if (!port) return;
    handOver(port, set.receivers.shift()!);
  }
}

/**
 * Gives the head message of `port` to `w`. Too large: with MACH_RCV_LARGE the message stays
 * queued and its size is reported; without, it is dequeued (taking a sequence number) and
 * destroyed, as gnumach does.
 */
function handOver(port: Port, w: ReceiveWaiter): void {
  const kmsg = port.queue[0]!;
  const size = kmsg.bytes.length;
  if (size > w.rcvSize) {
    if (w.large) {
      w.deliver(null, MACH_RCV_TOO_LARGE, size);
      return;
    }
    port.queue.shift();
    port.seqno = (port.seqno + 1) >>> 0;
    destroyKmsg(kmsg);
    wakeSender(port);
    w.deliver(null, MACH_RCV_TOO_LARGE, size);
    return;
  }
  port.queue.shift();
  writeU32(kmsg.bytes, 24, port.seqno);
  port.seqno = (port.seqno + 1) >>> 0;
  w.deliver(kmsg, 0, size);
  wakeSender(port);
}

/** Wakes the oldest blocked sender if the queue has room (or the port died). */
export function wakeSender(port: Port): void {
  if (port.senders.length === 0) return;
  if (port.active && port.queue.length >= port.qlimit) return;
  const s = port.senders.shift()!;
  queueMicrotask(() => s.wake());
}

/** Wakes every blocked sender (the port died or its queue limit grew). */
export function wakeAllSenders(port: Port): void {
  const all = port.senders.splice(0);
  for (const s of all) queueMicrotask(() => s.wake());
}

/** Removes a receiver that timed out or whose task died. */
export function cancelReceiver(list: ReceiveWaiter[], w: ReceiveWaiter): boolean {
  const i = list.indexOf(w);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
