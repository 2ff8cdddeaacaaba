// Port rights as generated stubs see them: task-local names branded with the right they denote,
// so a send right cannot be passed where a send-once right (or a receive right) is required.
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_PORT_NULL,
} from "../msg-type.js";

declare const rightBrand: unique symbol;

/** The kind of right a name denotes in its task's space. */
export type RightKind = "receive" | "send" | "send-once";

/** A port name of the calling task that denotes a right of kind K. */
export type PortRight<K extends RightKind> = number & { readonly [rightBrand]: K };

export type ReceiveRight = PortRight<"receive">;
export type SendRight = PortRight<"send">;
export type SendOnceRight = PortRight<"send-once">;

/** A plain name (MACH_MSG_TYPE_PORT_NAME): carried as a number, no right moves. */
export type mach_port_name_t = number;

/** A disposition a sender may name (MACH_MSG_TYPE_MOVE_RECEIVE .. MAKE_SEND_ONCE). */
export type PortDisposition =
  | typeof MACH_MSG_TYPE_MOVE_RECEIVE
  | typeof MACH_MSG_TYPE_MOVE_SEND
  | typeof MACH_MSG_TYPE_MOVE_SEND_ONCE
  | typeof MACH_MSG_TYPE_COPY_SEND
  | typeof MACH_MSG_TYPE_MAKE_SEND
  | typeof MACH_MSG_TYPE_MAKE_SEND_ONCE;

/**
 * A right whose disposition is chosen at run time (a `polymorphic` argument): the name and the
 * disposition to send it with, or, when received, the right type it arrived as (16..18).
 */
export interface PolyRight {
  readonly name: number;
  readonly disposition: number;
}

/** Asserts that `name` denotes a receive right of the calling task. */
export function asReceiveRight(name: number): ReceiveRight {
  return name as ReceiveRight;
}
/** Asserts that `name` denotes a send right of the calling task. */
export function asSendRight(name: number): SendRight {
  return name as SendRight;
}
/** Asserts that `name` denotes a send-once right of the calling task. */
export function asSendOnceRight(name: number): SendOnceRight {
  return name as SendOnceRight;
}

/** MACH_PORT_NULL, acceptable wherever a right is. */
export const NULL_RIGHT = MACH_PORT_NULL as number & { readonly [rightBrand]: RightKind };

/** A polymorphic right: `name` sent with `disposition`. */
export function polyRight(name: number, disposition: PortDisposition): PolyRight {
  return { name, disposition };
}
