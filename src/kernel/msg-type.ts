// Message type numbers (MACH_MSG_TYPE_*), header bits and mach_msg options of GNU Mach's
// <mach/message.h>, and the rule that turns a sender's disposition into what the receiver gets.

export const MACH_MSG_TYPE_UNSTRUCTURED = 0;
export const MACH_MSG_TYPE_BIT = 0;
export const MACH_MSG_TYPE_BOOLEAN = 0;
export const MACH_MSG_TYPE_INTEGER_16 = 1;
export const MACH_MSG_TYPE_INTEGER_32 = 2;
export const MACH_MSG_TYPE_CHAR = 8;
export const MACH_MSG_TYPE_BYTE = 9;
export const MACH_MSG_TYPE_INTEGER_8 = 9;
export const MACH_MSG_TYPE_REAL = 10;
export const MACH_MSG_TYPE_INTEGER_64 = 11;
export const MACH_MSG_TYPE_STRING = 12;
export const MACH_MSG_TYPE_STRING_C = 12;
export const MACH_MSG_TYPE_PORT_NAME = 15;

/** Dispositions: what the sender does with the right it names. */
export const MACH_MSG_TYPE_MOVE_RECEIVE = 16;
export const MACH_MSG_TYPE_MOVE_SEND = 17;
export const MACH_MSG_TYPE_MOVE_SEND_ONCE = 18;
export const MACH_MSG_TYPE_COPY_SEND = 19;
export const MACH_MSG_TYPE_MAKE_SEND = 20;
export const MACH_MSG_TYPE_MAKE_SEND_ONCE = 21;

/** What a receiver finds: the right types a disposition turns into. */
export const MACH_MSG_TYPE_PORT_RECEIVE = MACH_MSG_TYPE_MOVE_RECEIVE;
export const MACH_MSG_TYPE_PORT_SEND = MACH_MSG_TYPE_MOVE_SEND;
export const MACH_MSG_TYPE_PORT_SEND_ONCE = MACH_MSG_TYPE_MOVE_SEND_ONCE;
export const MACH_MSG_TYPE_PROTECTED_PAYLOAD = 23;
export const MACH_MSG_TYPE_LAST = 23;
export const MACH_MSG_TYPE_POLYMORPHIC = 0xffffffff;

export type mach_msg_type_name_t = number;

/** A receive, send or send-once right carried in a message (16..18 after copyin). */
export type PortRightType =
  | typeof MACH_MSG_TYPE_PORT_RECEIVE
  | typeof MACH_MSG_TYPE_PORT_SEND
  | typeof MACH_MSG_TYPE_PORT_SEND_ONCE;

export function MACH_MSG_TYPE_PORT_ANY(x: number): boolean {
  return x >= MACH_MSG_TYPE_MOVE_RECEIVE && x <= MACH_MSG_TYPE_MAKE_SEND_ONCE;
}
export function MACH_MSG_TYPE_PORT_ANY_SEND(x: number): boolean {
  return x >= MACH_MSG_TYPE_MOVE_SEND && x <= MACH_MSG_TYPE_MAKE_SEND_ONCE;
}
export function MACH_MSG_TYPE_PORT_ANY_RIGHT(x: number): boolean {
  return x >= MACH_MSG_TYPE_MOVE_RECEIVE && x <= MACH_MSG_TYPE_MOVE_SEND_ONCE;
}

/**
 * The right a disposition produces in transit, as gnumach's ipc_object_copyin_type does:
 * MOVE_RECEIVE gives a receive right; MOVE_SEND, COPY_SEND and MAKE_SEND a send right;
 * MOVE_SEND_ONCE and MAKE_SEND_ONCE a send-once right.
 */
export function copyinType(disposition: number): PortRightType {
  switch (disposition) {
    case MACH_MSG_TYPE_MOVE_RECEIVE:
      return MACH_MSG_TYPE_PORT_RECEIVE;
    case MACH_MSG_TYPE_MOVE_SEND_ONCE:
    case MACH_MSG_TYPE_MAKE_SEND_ONCE:
      return MACH_MSG_TYPE_PORT_SEND_ONCE;
    default:
      return MACH_MSG_TYPE_PORT_SEND;
  }
}

export const MACH_MSGH_BITS_ZERO = 0x00000000;
export const MACH_MSGH_BITS_REMOTE_MASK = 0x000000ff;
export const MACH_MSGH_BITS_LOCAL_MASK = 0x0000ff00;
export const MACH_MSGH_BITS_COMPLEX = 0x80000000;
export const MACH_MSGH_BITS_CIRCULAR = 0x40000000;
export const MACH_MSGH_BITS_PORTS_MASK = MACH_MSGH_BITS_REMOTE_MASK | MACH_MSGH_BITS_LOCAL_MASK;

export function MACH_MSGH_BITS(remote: number, local: number): number {
  return (remote | (local << 8)) >>> 0;
}
export function MACH_MSGH_BITS_REMOTE(bits: number): number {
  return bits & MACH_MSGH_BITS_REMOTE_MASK;
}
export function MACH_MSGH_BITS_LOCAL(bits: number): number {
  return (bits & MACH_MSGH_BITS_LOCAL_MASK) >>> 8;
}

export const MACH_MSG_OPTION_NONE = 0x00000000;
export const MACH_SEND_MSG = 0x00000001;
export const MACH_RCV_MSG = 0x00000002;
export const MACH_SEND_TIMEOUT = 0x00000010;
export const MACH_SEND_NOTIFY = 0x00000020;
export const MACH_SEND_INTERRUPT = 0x00000040;
export const MACH_SEND_CANCEL = 0x00000080;
export const MACH_RCV_TIMEOUT = 0x00000100;
export const MACH_RCV_NOTIFY = 0x00000200;
export const MACH_RCV_INTERRUPT = 0x00000400;
export const MACH_RCV_LARGE = 0x00000800;
export const MACH_SEND_ALWAYS = 0x00010000;

export const MACH_MSG_TIMEOUT_NONE = 0;

/** Port names: 32-bit, task-local. */
export type mach_port_name_t = number;
export const MACH_PORT_NULL = 0;
export const MACH_PORT_DEAD = 0xffffffff;
export function MACH_PORT_VALID(name: number): boolean {
  return name !== MACH_PORT_NULL && name !== MACH_PORT_DEAD;
}
