// The system-call records an isolated task exchanges with the kernel over its two shared-memory
// channels: a request (seq, op, six 32-bit arguments, payload) and a reply (seq, return code,
// six 32-bit results, payload). Little-endian, 32 bytes of fixed part, payload after.

export const SYSCALL_HEADER = 32;

export const SysOp = {
  MACH_MSG: 1,
  PORT_ALLOCATE: 2,
  PORT_DEALLOCATE: 3,
  PORT_DESTROY: 4,
  PORT_MOD_REFS: 5,
  PORT_INSERT_RIGHT: 6,
  PORT_EXTRACT_RIGHT: 7,
  PORT_REQUEST_NOTIFICATION: 8,
  PORT_GET_REFS: 9,
  PORT_SET_QLIMIT: 10,
  PORT_MOVE_MEMBER: 11,
  PORT_NAMES: 12,
  PORT_TYPE: 13,
  PORT_GET_RECEIVE_STATUS: 14,
  VM_ALLOCATE: 15,
  VM_DEALLOCATE: 16,
  EXIT: 17,
  /**
   * vm_map: [pager, offset lo, hi, size lo, hi, prot] -> [id, shared buffer id, byte offset lo,
   * hi, register shadow buffer id, its byte offset] (buffer ids 0: none).
   */
  VM_MAP: 18,
  /** A mapping's register read: [id, offset lo, hi, width (1, 2, 4; 0 = bytes), length] -> [value]. */
  VM_MAPPING_READ: 19,
  /**
   * A mapping's register write: [id, offset lo, hi, width, value]; with width 0, a write of
   * bytes: [id, offset lo, hi, 0, length] and the bytes as the payload.
   */
  VM_MAPPING_WRITE: 20,
  /** vm_deallocate of a mapping: [id]. */
  VM_UNMAP: 21,
  /**
   * Fast RPC lanes (fast-lane-kernel.ts): [lane id, action, name]. As the op of an unsolicited
   * reply record (seq 0), a lane grant: [lane id, role, lane buffer, peer's bell buffer, name, name].
   */
  LANE: 64,
} as const;

/** A decoded request or reply: seq, op/code, six words, and the payload view. */
export interface SysRecord {
  seq: number;
  op: number;
  args: number[];
  payload: Uint8Array;
}

export function encodeRecord(
  dst: Uint8Array,
  offset: number,
  seq: number,
  op: number,
  args: readonly number[],
  payload?: Uint8Array,
  payloadLength = payload?.length ?? 0,
): void {
  const v = new DataView(dst.buffer, dst.byteOffset + offset, SYSCALL_HEADER);
  v.setUint32(0, seq >>> 0, true);
  v.setInt32(4, op | 0, true);
  for (let i = 0; i < 6; i++) v.setUint32(8 + i * 4, (args[i] ?? 0) >>> 0, true);
  if (payload && payloadLength > 0)
    dst.set(payload.subarray(0, payloadLength), offset + SYSCALL_HEADER);
}

/** Decodes a record in place (payload is a view; copy it before the record is consumed). */
export function decodeRecord(rec: Uint8Array): SysRecord | null {
  if (rec.length < SYSCALL_HEADER) return null;
  const v = new DataView(rec.buffer, rec.byteOffset, SYSCALL_HEADER);
  const args: number[] = [];
  for (let i = 0; i < 6; i++) args.push(v.getUint32(8 + i * 4, true));
  return {
    seq: v.getUint32(0, true),
    op: v.getInt32(4, true),
    args,
    payload: rec.subarray(SYSCALL_HEADER),
  };
}

/** Splits a 64-bit address into two words and back. */
export function addrWords(addr: number): [number, number] {
  return [addr % 0x1_0000_0000, Math.floor(addr / 0x1_0000_0000)];
}
export function wordsAddr(lo: number, hi: number): number {
  return hi * 0x1_0000_0000 + lo;
}
