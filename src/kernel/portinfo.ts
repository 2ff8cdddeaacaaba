// What the Hurd's `portinfo` and `ps` show, read from the kernel's records: each right of a
// task's space with its port's state, and one line per task with counts of its rights.
import type { IpcEntry, IpcSpace } from "./ipc-space.js";
import type { Port } from "./port.js";
import {
  MACH_PORT_TYPE_DEAD_NAME,
  MACH_PORT_TYPE_PORT_SET,
  MACH_PORT_TYPE_RECEIVE,
  MACH_PORT_TYPE_SEND,
  MACH_PORT_TYPE_SEND_ONCE,
} from "./port-right.js";
import type { Task } from "./task.js";

/** The receive side of a port, as mach_port_get_receive_status reports it. */
export interface ReceiveInfo {
  readonly seqno: number;
  readonly msgcount: number;
  readonly qlimit: number;
  readonly mscount: number;
  /** Send and send-once rights to the port, in every space and in transit. */
  readonly srights: number;
  readonly sorights: number;
  /** The name of the port set it belongs to in this space (0: none). */
  readonly pset: number;
  readonly nsrequest: boolean;
  readonly pdrequest: boolean;
}

/** Where the receive right of a port someone holds a send (or send-once) right to is. */
export type ReceiverInfo =
  | { readonly kind: "task"; readonly task: string; readonly taskId: number; readonly name: number }
  | { readonly kind: "in-transit" }
  | { readonly kind: "dead" };

/** One name of a space, what it denotes and the state behind it. */
export interface RightInfo {
  readonly name: number;
  /** MACH_PORT_TYPE_* bits, as mach_port_type reports them (DNREQUEST excluded). */
  readonly type: number;
  /** User references of the send right or dead name (1 for a send-once right). */
  readonly urefs: number;
  /** A dead-name request is armed on the name. */
  readonly dnrequest: boolean;
  readonly receive?: ReceiveInfo;
  /** For send and send-once rights: who holds the receive right. */
  readonly receiver?: ReceiverInfo;
  /** For a port set: the names of its members, in this space. */
  readonly members?: readonly number[];
}

/** A task as `ps` lists it. */
export interface TaskInfo {
  /** The task's number (its IPC space's). */
  readonly id: number;
  readonly name: string;
  readonly mode: Task["mode"];
  readonly names: number;
  readonly receive: number;
  readonly send: number;
  readonly sendOnce: number;
  readonly portSets: number;
  readonly deadNames: number;
  /** Messages waiting on the ports it holds receive rights to. */
  readonly queued: number;
}

/** The name its receive right is held under (in the receiving task's space), or 0. */
function receiveName(port: Port): number {
  return port.receiverEntry?.name ?? 0;
}

function receiverOf(port: Port): ReceiverInfo {
  if (!port.active) return { kind: "dead" };
  const space: IpcSpace | null = port.receiver;
  if (!space) return { kind: "in-transit" };
  return { kind: "task", task: space.label, taskId: space.id, name: receiveName(port) };
}

function rightOf(space: IpcSpace, e: IpcEntry): RightInfo {
  const base = { name: e.name, type: e.type, urefs: e.urefs, dnrequest: e.dnrequest !== null };
  const port = e.port;
  if (e.type & MACH_PORT_TYPE_PORT_SET && e.pset) {
    const members: number[] = [];
    for (const p of e.pset.members) members.push(receiveName(p));
    return { ...base, members: members.sort((a, b) => a - b) };
  }
  if (!port) return base;
  let receive: ReceiveInfo | undefined;
  if (e.type & MACH_PORT_TYPE_RECEIVE) {
    let pset = 0;
    if (port.set) for (const x of space.entries.values()) if (x.pset === port.set) pset = x.name;
    receive = {
      seqno: port.seqno,
      msgcount: port.queue.length,
      qlimit: port.qlimit,
      mscount: port.mscount,
      srights: port.srights,
      sorights: port.sorights,
      pset,
      nsrequest: port.nsrequest !== null,
      pdrequest: port.pdrequest !== null,
    };
  }
  const sends = e.type & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_SEND_ONCE);
  // A send right held with the receive right names the task's own port: no need to say where.
  const receiver = sends && !receive ? receiverOf(port) : undefined;
  return {
    ...base,
    ...(receive ? { receive } : {}),
    ...(receiver ? { receiver } : {}),
  };
}

/** Every name of `task`'s space, sorted, with what it denotes (mach_port_names and more). */
export function taskRights(task: Task): RightInfo[] {
  const space = task.space;
  return space.entries
    .values()
    .map((e) => rightOf(space, e))
    .sort((a, b) => a.name - b.name);
}

/** One line per live task of `tasks`, in task-number order. */
export function taskTable(tasks: Iterable<Task>): TaskInfo[] {
  const rows: TaskInfo[] = [];
  for (const t of tasks) {
    if (!t.alive) continue;
    let receive = 0;
    let send = 0;
    let sendOnce = 0;
    let portSets = 0;
    let deadNames = 0;
    let queued = 0;
    const entries = t.space.entries.values();
    for (const e of entries) {
      if (e.type & MACH_PORT_TYPE_RECEIVE) {
        receive++;
        queued += e.port?.queue.length ?? 0;
      }
      if (e.type & MACH_PORT_TYPE_SEND) send++;
      if (e.type & MACH_PORT_TYPE_SEND_ONCE) sendOnce++;
      if (e.type & MACH_PORT_TYPE_PORT_SET) portSets++;
      if (e.type & MACH_PORT_TYPE_DEAD_NAME) deadNames++;
    }
    rows.push({
      id: t.space.id,
      name: t.name,
      mode: t.mode,
      names: entries.length,
      receive,
      send,
      sendOnce,
      portSets,
      deadNames,
      queued,
    });
  }
  return rows.sort((a, b) => a.id - b.id);
}

/** The type words portinfo prints for a name ("receive", "send", "receive send", ...). */
export function typeWords(type: number): string {
  const words: string[] = [];
  if (type & MACH_PORT_TYPE_RECEIVE) words.push("receive");
  if (type & MACH_PORT_TYPE_SEND) words.push("send");
  if (type & MACH_PORT_TYPE_SEND_ONCE) words.push("send-once");
  if (type & MACH_PORT_TYPE_PORT_SET) words.push("port-set");
  if (type & MACH_PORT_TYPE_DEAD_NAME) words.push("dead-name");
  return words.length > 0 ? words.join(" ") : "none";
}

/**
 * portinfo's lines for `rights`: the name and its type words; `verbose` adds references, the
 * receive side's state, set members and where each send right's receive right is.
 */
export function formatRights(rights: readonly RightInfo[], verbose: boolean): string[] {
  return rights.map((r) => {
    const head = `${String(r.name).padStart(5)}: ${typeWords(r.type)}`;
    if (!verbose) return head;
    const more: string[] = [];
    if (r.type & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DEAD_NAME)) more.push(`refs ${r.urefs}`);
    if (r.dnrequest) more.push("dead-name request");
    const q = r.receive;
    if (q) {
      if (q.pset) more.push(`in set ${q.pset}`);
      more.push(
        `seqno ${q.seqno}`,
        `msgs ${q.msgcount}/${q.qlimit}`,
        `mscount ${q.mscount}`,
        `senders ${q.srights}`,
      );
      if (q.sorights) more.push(`send-once ${q.sorights}`);
      if (q.nsrequest) more.push("no-senders request");
      if (q.pdrequest) more.push("port-destroyed request");
    }
    if (r.members) more.push(`members ${r.members.length > 0 ? r.members.join(", ") : "none"}`);
    const to = r.receiver;
    if (to)
      more.push(
        to.kind === "task"
          ? `to ${to.task} (task ${to.taskId}) ${to.name}`
          : to.kind === "dead"
            ? "to a dead port"
            : "to a port in transit",
      );
    return more.length > 0 ? `${head} (${more.join(", ")})` : head;
  });
}
