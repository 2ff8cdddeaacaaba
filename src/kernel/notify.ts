// Kernel notifications with the ids and formats of gnumach's notify.defs / <mach/notify.h>:
// port-deleted 65, port-destroyed 69, no-senders 70, send-once 71, dead-name 72. Each is sent
// with (and consumes) a kernel-held send-once right to the notify port.
import { MessageBuilder } from "./message.js";
import {
  MACH_MSG_TYPE_INTEGER_32,
  MACH_MSG_TYPE_PORT_NAME,
  MACH_MSG_TYPE_PORT_RECEIVE,
  MACH_MSG_TYPE_PORT_SEND_ONCE,
  MACH_MSGH_BITS,
  MACH_MSGH_BITS_COMPLEX,
} from "./msg-type.js";
import type { Port } from "./port.js";
import type { CarriedRight, KMsg } from "./kmsg.js";
import { nextStamp } from "./kmsg.js";
import { enqueueKmsg } from "./message-queue.js";
import { destroyReceiveRight } from "./ipc-right.js";

export const MACH_NOTIFY_FIRST = 0o100;
export const MACH_NOTIFY_PORT_DELETED = MACH_NOTIFY_FIRST + 0o1;
export const MACH_NOTIFY_MSG_ACCEPTED = MACH_NOTIFY_FIRST + 0o2;
export const MACH_NOTIFY_PORT_DESTROYED = MACH_NOTIFY_FIRST + 0o5;
export const MACH_NOTIFY_NO_SENDERS = MACH_NOTIFY_FIRST + 0o6;
export const MACH_NOTIFY_SEND_ONCE = MACH_NOTIFY_FIRST + 0o7;
export const MACH_NOTIFY_DEAD_NAME = MACH_NOTIFY_FIRST + 0o10;
export const MACH_NOTIFY_LAST = MACH_NOTIFY_FIRST + 0o15;

/** Size of every notification but send-once (header + descriptor + one 32-bit value). */
export const NOTIFICATION_SIZE = 40;

function post(
  notify: Port,
  id: number,
  body: ((b: MessageBuilder) => void) | null,
  rights: CarriedRight[] = [],
): void {
  const b = new MessageBuilder({
    bits:
      MACH_MSGH_BITS(MACH_MSG_TYPE_PORT_SEND_ONCE, 0) |
      (rights.length ? MACH_MSGH_BITS_COMPLEX : 0),
    remote: 0,
    local: 0,
    id,
  });
  if (body) body(b);
  const kmsg: KMsg = {
    bytes: b.build(),
    dest: notify,
    destType: MACH_MSG_TYPE_PORT_SEND_ONCE,
    reply: null,
    replyType: 0,
    rights,
    ool: [],
    stamp: nextStamp(),
  };
  if (!notify.active) {
    // The notify port died: its send-once right simply goes away, and so do carried rights.
    notify.sorights--;
    for (const r of rights) if (r.port && r.port !== "dead") destroyReceiveRight(r.port);
    return;
  }
  enqueueKmsg(kmsg);
}

/** A send or send-once right with a dead-name request was deleted before the port died. */
export function notifyPortDeleted(notify: Port, name: number): void {
  post(notify, MACH_NOTIFY_PORT_DELETED, (b) =>
    b.inline(MACH_MSG_TYPE_PORT_NAME, 32, 1, u32(name)),
  );
}

/** The receive right of `port` would have been destroyed: it travels to `notify` instead. */
export function notifyPortDestroyed(notify: Port, port: Port): void {
  port.transitDest = notify;
  post(
    notify,
    MACH_NOTIFY_PORT_DESTROYED,
    (b) => b.inline(MACH_MSG_TYPE_PORT_RECEIVE, 32, 1, u32(0)),
    [{ offset: 36, port, type: MACH_MSG_TYPE_PORT_RECEIVE }],
  );
}

/** No send rights remain; `mscount` is the port's make-send count at that moment. */
export function notifyNoSenders(notify: Port, mscount: number): void {
  post(notify, MACH_NOTIFY_NO_SENDERS, (b) =>
    b.inline(MACH_MSG_TYPE_INTEGER_32, 32, 1, u32(mscount)),
  );
}

/** A send-once right to `port` was destroyed unused: the notification goes to the port itself. */
export function notifySendOnce(port: Port): void {
  post(port, MACH_NOTIFY_SEND_ONCE, null);
}

/** The port behind `name` died; `name` is now a dead name in the requester's space. */
export function notifyDeadName(notify: Port, name: number): void {
  post(notify, MACH_NOTIFY_DEAD_NAME, (b) => b.inline(MACH_MSG_TYPE_PORT_NAME, 32, 1, u32(name)));
}

function u32(v: number): Uint8Array {
  const d = new Uint8Array(4);
  new DataView(d.buffer).setUint32(0, v >>> 0, true);
  return d;
}
