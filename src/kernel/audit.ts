// Rights accounting check: recounts every port's send and send-once rights (spaces, queued
// messages, kernel-held notification requests) against the kernel's counters, and checks that
// every vm_map mapping has a live task. An empty result means the books balance.
import type { Kernel } from "./kernel.js";
import type { Port } from "./port.js";
import type { CarriedPort, KMsg } from "./kmsg.js";
import { ENTRY_RECEIVE, ENTRY_SEND, ENTRY_SEND_ONCE } from "./ipc-space.js";
import { MACH_MSG_TYPE_PORT_SEND, MACH_MSG_TYPE_PORT_SEND_ONCE } from "./msg-type.js";

export function auditKernel(kernel: Kernel): string[] {
  const send = new Map<Port, number>();
  const so = new Map<Port, number>();
  const bump = (m: Map<Port, number>, p: CarriedPort) => {
    if (p && p !== "dead") m.set(p, (m.get(p) ?? 0) + 1);
  };
  const carried = (p: CarriedPort, t: number) => {
    if (t === MACH_MSG_TYPE_PORT_SEND) bump(send, p);
    else if (t === MACH_MSG_TYPE_PORT_SEND_ONCE) bump(so, p);
  };
  const problems: string[] = [];
  for (const t of kernel.tasks) {
    for (const e of t.space.entries.values()) {
      if (e.type & ENTRY_SEND) bump(send, e.port);
      if (e.type & ENTRY_SEND_ONCE) bump(so, e.port);
      if (e.dnrequest) bump(so, e.dnrequest);
      if (e.type & ENTRY_RECEIVE && e.port?.receiverEntry !== e)
        problems.push(`${t.name}: receive entry ${e.name} not the port's receiver`);
      if (e.port && !e.port.active) problems.push(`${t.name}: entry ${e.name} names a dead port`);
    }
  }
  const visit = (k: KMsg) => {
    carried(k.dest, k.destType);
    if (k.replyType) carried(k.reply, k.replyType);
    for (const r of k.rights) carried(r.port, r.type);
    for (const o of k.ool) for (const r of o.rights ?? []) carried(r.port, r.type);
  };
  for (const p of kernel.ports) {
    for (const k of p.queue) visit(k);
    if (p.nsrequest) bump(so, p.nsrequest);
    if (p.pdrequest) bump(so, p.pdrequest);
  }
  for (const p of kernel.ports) {
    if ((send.get(p) ?? 0) !== p.srights)
      problems.push(`port ${p.id}: srights ${p.srights}, counted ${send.get(p) ?? 0}`);
    if ((so.get(p) ?? 0) !== p.sorights)
      problems.push(`port ${p.id}: sorights ${p.sorights}, counted ${so.get(p) ?? 0}`);
    if (p.receiver && !p.receiver.active) problems.push(`port ${p.id}: received by a dead space`);
  }
  // Memory-object mappings belong to live tasks only (a task's die with it).
  for (const m of kernel.mappings.records()) {
    if (!m.task.alive || !kernel.tasks.has(m.task))
      problems.push(`mapping ${m.id}: held by dead task ${m.task.name}`);
  }
  return problems;
}
