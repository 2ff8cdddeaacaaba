// A kernel message: a message between copyin and copyout, its rights held by the kernel as
// port references (never names) and its out-of-line regions already copied.
import type { Port } from "./port.js";
import type { PortRightType } from "./msg-type.js";
import type { OolData } from "./vm-map.js";

/** A carried right: a port, the null port, or a dead name (MACH_PORT_DEAD). */
export type CarriedPort = Port | null | "dead";

export interface CarriedRight {
  /** Offset in `bytes` where the name goes (inline), or index in an OOL port array. */
  offset: number;
  port: CarriedPort;
  type: PortRightType;
}

export interface OolRegion {
  /** Offset of the 8-byte pointer in `bytes`. */
  pointerOffset: number;
  /** The copied data (copy semantics: the sender can no longer change it). */
  data: OolData;
  /** For out-of-line port arrays: the rights, one per 4-byte name of `data`. */
  rights?: CarriedRight[];
}

let stampCounter = 0;

export interface KMsg {
  /** Whole message, header included; names and pointers are rewritten at copyout. */
  bytes: Uint8Array;
  dest: Port;
  destType: PortRightType;
  reply: CarriedPort;
  /** 0 when there is no reply right. */
  replyType: PortRightType | 0;
  rights: CarriedRight[];
  ool: OolRegion[];
  /** Global arrival order, for fair receives on port sets. */
  stamp: number;
  /**
   * For a port with fast lanes: each lane's count of requests posted when this message was
   * queued (lane id -> count), so the server keeps arrival order across lane and queue.
   */
  lanePosted?: Map<number, number>;
}

export function nextStamp(): number {
  return ++stampCounter;
}
