// mach_msg_destroy for stubs: releases the rights and out-of-line memory a message carries, so a
// refused request, a mismatched reply or an undeliverable reply leaks nothing.
import { MACH_MSG_HEADER_SIZE, parseBody, readHeader, readPointer } from "../message.js";
import {
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_MSGH_BITS_COMPLEX,
  MACH_MSGH_BITS_LOCAL,
  MACH_MSGH_BITS_REMOTE,
  MACH_PORT_VALID,
} from "../msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../port-right.js";
import type { TaskApi } from "../task-api.js";

/** Gives up one right held under `name`, as the type names it (received or moved). */
async function release(task: TaskApi, name: number, type: number): Promise<void> {
  if (!MACH_PORT_VALID(name)) return;
  if (type === MACH_MSG_TYPE_MOVE_RECEIVE)
    await task.mach_port_mod_refs(name, MACH_PORT_RIGHT_RECEIVE, -1);
  else if (type === MACH_MSG_TYPE_MOVE_SEND || type === MACH_MSG_TYPE_MOVE_SEND_ONCE)
    await task.mach_port_deallocate(name);
}

/**
 * Destroys what a message holds. A received message holds the reply right in msgh_remote and
 * every port in its body as the received types (16..18); an unsent one holds what its MOVE_*
 * dispositions would have moved. Copy and make dispositions hold nothing. `header: false` keeps
 * the header's rights (a reply still goes to msgh_remote); `memory: false` releases the rights
 * only, leaving out-of-line regions (ports in them included) for the caller to free.
 */
export async function destroyMessage(
  task: TaskApi,
  msg: Uint8Array,
  options: { readonly header: boolean; readonly memory?: boolean } = { header: true },
): Promise<void> {
  if (msg.length < MACH_MSG_HEADER_SIZE) return;
  const h = readHeader(msg);
  if (options.header) {
    await release(task, h.remote, MACH_MSGH_BITS_REMOTE(h.bits));
    await release(task, h.local, MACH_MSGH_BITS_LOCAL(h.bits));
  }
  if (!(h.bits & MACH_MSGH_BITS_COMPLEX)) return;
  const size = Math.min(h.size, msg.length);
  const parsed = parseBody(msg, size);
  if (!parsed.ok) return;
  for (const it of parsed.items) {
    const isRight =
      it.name === MACH_MSG_TYPE_MOVE_RECEIVE ||
      it.name === MACH_MSG_TYPE_MOVE_SEND ||
      it.name === MACH_MSG_TYPE_MOVE_SEND_ONCE;
    if (it.inline) {
      if (!isRight) continue;
      const dv = new DataView(msg.buffer, msg.byteOffset + it.dataOffset, it.number * 4);
      for (let i = 0; i < it.number; i++) await release(task, dv.getUint32(i * 4, true), it.name);
      continue;
    }
    const addr = readPointer(msg, it.dataOffset);
    if (it.byteLength === 0 || addr === 0) continue;
    if (isRight) {
      const region = task.vm_region(addr);
      if (region && region.length >= it.number * 4) {
        const dv = new DataView(region.buffer, region.byteOffset, it.number * 4);
        for (let i = 0; i < it.number; i++) await release(task, dv.getUint32(i * 4, true), it.name);
      }
    }
    if (options.memory !== false) await task.vm_deallocate(addr);
  }
}
