// Right kinds and the type bits of <mach/port.h> (MACH_PORT_RIGHT_*, MACH_PORT_TYPE_*), as
// mach_port_allocate, mach_port_type and mach_port_names report them, and queue-limit bounds.

export const MACH_PORT_RIGHT_SEND = 0;
export const MACH_PORT_RIGHT_RECEIVE = 1;
export const MACH_PORT_RIGHT_SEND_ONCE = 2;
export const MACH_PORT_RIGHT_PORT_SET = 3;
export const MACH_PORT_RIGHT_DEAD_NAME = 4;
export const MACH_PORT_RIGHT_NUMBER = 5;

export type mach_port_right_t = number;
export type mach_port_type_t = number;

export function MACH_PORT_TYPE(right: mach_port_right_t): mach_port_type_t {
  return (1 << (right + 16)) >>> 0;
}
export const MACH_PORT_TYPE_NONE = 0;
export const MACH_PORT_TYPE_SEND = MACH_PORT_TYPE(MACH_PORT_RIGHT_SEND);
export const MACH_PORT_TYPE_RECEIVE = MACH_PORT_TYPE(MACH_PORT_RIGHT_RECEIVE);
export const MACH_PORT_TYPE_SEND_ONCE = MACH_PORT_TYPE(MACH_PORT_RIGHT_SEND_ONCE);
export const MACH_PORT_TYPE_PORT_SET = MACH_PORT_TYPE(MACH_PORT_RIGHT_PORT_SET);
export const MACH_PORT_TYPE_DEAD_NAME = MACH_PORT_TYPE(MACH_PORT_RIGHT_DEAD_NAME);
export const MACH_PORT_TYPE_SEND_RECEIVE = MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE;
export const MACH_PORT_TYPE_SEND_RIGHTS = MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_SEND_ONCE;
export const MACH_PORT_TYPE_PORT_RIGHTS = MACH_PORT_TYPE_SEND_RIGHTS | MACH_PORT_TYPE_RECEIVE;
export const MACH_PORT_TYPE_PORT_OR_DEAD = MACH_PORT_TYPE_PORT_RIGHTS | MACH_PORT_TYPE_DEAD_NAME;
export const MACH_PORT_TYPE_ALL_RIGHTS = MACH_PORT_TYPE_PORT_OR_DEAD | MACH_PORT_TYPE_PORT_SET;
export const MACH_PORT_TYPE_DNREQUEST = 0x80000000;

export const MACH_PORT_QLIMIT_DEFAULT = 5;
export const MACH_PORT_QLIMIT_MAX = 16;
/** User references on one name never exceed this (gnumach's MACH_PORT_UREFS_MAX). */
export const MACH_PORT_UREFS_MAX = 0xffff;
