// The device_intr_notify message (id 100): what the kernel sends to a registered handler port when
// its interrupt line fires, laid out as gnumach's device_intr_notification_t (header, int32 id).
import { nextStamp, type KMsg } from "../kmsg.js";
import { enqueueKmsg } from "../message-queue.js";
import { MessageBuilder, readU32 } from "../message.js";
import { MACH_MSG_TYPE_PORT_SEND, MACH_MSGH_BITS } from "../msg-type.js";
import type { Port } from "../port.js";

/** msgh_id of device_intr_notify (<device/notify.h> DEVICE_INTR_NOTIFY). */
export const DEVICE_INTR_NOTIFY = 100;
/** sizeof(device_intr_notification_t): 32-byte header, one descriptor, the id. */
export const DEVICE_INTR_NOTIFICATION_SIZE = 40;

/** Built notifications by interrupt id: building one took about 5 us, copying one 0.5. */
const built = new Map<number, Uint8Array>();
/** Ids kept in `built` (interrupt lines are few; any other id is built each time). */
const KEEP_IDS = 256;

/** The message bytes as the kernel builds them (ports are filled in at delivery): a fresh copy. */
export function intrNotificationBytes(id: number): Uint8Array {
  let bytes = built.get(id);
  if (!bytes) {
    bytes = new MessageBuilder({
      bits: MACH_MSGH_BITS(MACH_MSG_TYPE_PORT_SEND, 0),
      remote: 0,
      local: 0,
      id: DEVICE_INTR_NOTIFY,
    })
      .int32(id)
      .build();
    if (Number.isInteger(id) && id >= 0 && id < KEEP_IDS) built.set(id, bytes);
  }
  return new Uint8Array(bytes);
}

/**
 * Queues device_intr_notify(id) on `port` the way gnumach's deliver_intr does: with a copy of
 * the kernel's send right and regardless of the queue limit (an interrupt is never held back by
 * a full queue). False when the port is dead.
 */
export function postIntrNotification(port: Port, id: number): boolean {
  if (!port.active) return false;
  port.srights++; // the copied send right travels with the message and is released on receipt
  const kmsg: KMsg = {
    bytes: intrNotificationBytes(id),
    dest: port,
    destType: MACH_MSG_TYPE_PORT_SEND,
    reply: null,
    replyType: 0,
    rights: [],
    ool: [],
    stamp: nextStamp(),
  };
  enqueueKmsg(kmsg);
  return true;
}

/** The interrupt id of a received device_intr_notify, or undefined for any other message. */
export function intrNotificationId(msg: Uint8Array): number | undefined {
  if (msg.length < DEVICE_INTR_NOTIFICATION_SIZE || (readU32(msg, 28) | 0) !== DEVICE_INTR_NOTIFY)
    return undefined;
  if (readU32(msg, 4) !== DEVICE_INTR_NOTIFICATION_SIZE || readU32(msg, 32) !== 0x10012002)
    return undefined;
  return readU32(msg, 36) | 0;
}
