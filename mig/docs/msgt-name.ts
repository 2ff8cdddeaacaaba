// The MACH_MSG_TYPE_* name of a descriptor's msgt_name, as the protocol docs print it.
// Rights read differently by side: what a receiver sees (PORT_*) and what a sender disposes (MOVE_*).

const DATA_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "MACH_MSG_TYPE_UNSTRUCTURED"],
  [1, "MACH_MSG_TYPE_INTEGER_16"],
  [2, "MACH_MSG_TYPE_INTEGER_32"],
  [8, "MACH_MSG_TYPE_CHAR"],
  [9, "MACH_MSG_TYPE_BYTE"],
  [10, "MACH_MSG_TYPE_REAL"],
  [11, "MACH_MSG_TYPE_INTEGER_64"],
  [12, "MACH_MSG_TYPE_STRING"],
  [15, "MACH_MSG_TYPE_PORT_NAME"],
]);

/** Names of rights as they arrive at the receiver of a message. */
const RECEIVED_RIGHTS: ReadonlyMap<number, string> = new Map([
  [16, "MACH_MSG_TYPE_PORT_RECEIVE"],
  [17, "MACH_MSG_TYPE_PORT_SEND"],
  [18, "MACH_MSG_TYPE_PORT_SEND_ONCE"],
]);

/** Names of rights as their sender disposes of them. */
const SENT_RIGHTS: ReadonlyMap<number, string> = new Map([
  [16, "MACH_MSG_TYPE_MOVE_RECEIVE"],
  [17, "MACH_MSG_TYPE_MOVE_SEND"],
  [18, "MACH_MSG_TYPE_MOVE_SEND_ONCE"],
  [19, "MACH_MSG_TYPE_COPY_SEND"],
  [20, "MACH_MSG_TYPE_MAKE_SEND"],
  [21, "MACH_MSG_TYPE_MAKE_SEND_ONCE"],
]);

/**
 * The symbolic name of msgt_name `n`: "received" for the descriptor as the receiver sees it,
 * "sent" for the sender's disposition. -1 is MACH_MSG_TYPE_POLYMORPHIC (chosen at run time);
 * `bits`, the element size, tells MACH_MSG_TYPE_BIT and MACH_MSG_TYPE_BOOLEAN from UNSTRUCTURED.
 */
export function msgtNameText(n: number, side: "received" | "sent", bits?: number): string {
  if (n === -1) return "MACH_MSG_TYPE_POLYMORPHIC";
  // 0 names three types in mach/message.h; the size tells which one a .defs most likely meant.
  if (n === 0 && bits === 1) return "MACH_MSG_TYPE_BIT";
  if (n === 0 && bits === 32) return "MACH_MSG_TYPE_BOOLEAN";
  const rights = side === "received" ? RECEIVED_RIGHTS : SENT_RIGHTS;
  return DATA_NAMES.get(n) ?? rights.get(n) ?? SENT_RIGHTS.get(n) ?? `msgt_name ${n}`;
}
