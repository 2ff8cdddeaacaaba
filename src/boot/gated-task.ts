// The start gate of a boot server's worker: it loads its module at once (all servers load together),
// then runs main only when a message arrives on its gate, so that servers still start in order.
import { pathToFileURL } from "node:url";
import { MACH_MSG_HEADER_SIZE, writeHeader } from "../kernel/message.js";
import { MACH_MSG_SUCCESS } from "../kernel/kern-return.js";
import type { TaskApi } from "../kernel/mig/index.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSGH_BITS,
  MACH_RCV_MSG,
  MACH_SEND_MSG,
} from "../kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../kernel/port-right.js";
import type { TaskMain } from "../kernel/task-worker.js";
import { resolveWorkerModule } from "../kernel/worker-spawn.js";

/** The message id of "start now" (in no MIG subsystem's range). */
export const GATE_OPEN_ID = 0x7473_0001;

export interface GatedTaskArgs {
  /** The server's task module, as a file path or URL. */
  readonly module: string;
  /** Receive right: the gate; the first message on it starts main. */
  readonly gate: number;
  /** The server's own arguments. */
  readonly args: unknown;
}

function isGatedTaskArgs(v: unknown): v is GatedTaskArgs {
  if (typeof v !== "object" || v === null) return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a["module"] === "string" &&
    a["module"].length > 0 &&
    Number.isInteger(a["gate"]) &&
    (a["gate"] as number) > 0
  );
}

/** The module path a worker will load for `module` (its .ts source under tsx), or an error. */
export function gatedModulePath(module: URL): string | { error: string } {
  const found = resolveWorkerModule(module);
  return "missing" in found
    ? { error: `task module not found (tried ${found.tried.join(", ")})` }
    : found.path;
}

/** Sends the start message to a gate (a send right of `task`). */
export async function openGate(task: TaskApi, gate: number): Promise<number> {
  const buf = new Uint8Array(MACH_MSG_HEADER_SIZE);
  writeHeader(buf, {
    bits: MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0),
    size: MACH_MSG_HEADER_SIZE,
    remote: gate,
    local: 0,
    seqno: 0,
    id: GATE_OPEN_ID,
  });
  return task.mach_msg(buf, MACH_SEND_MSG, buf.length, 0, 0);
}

export default async function main(task: TaskApi, input: unknown): Promise<void> {
  if (!isGatedTaskArgs(input)) throw new Error("gated task: bad arguments");
  const { module, gate, args } = input;
  const url = module.startsWith("file:") ? module : pathToFileURL(module).href;
  const mod = (await import(url)) as { default?: TaskMain };
  if (typeof mod.default !== "function") throw new Error(`${module} has no default main`);
  const buf = new Uint8Array(256);
  const kr = await task.mach_msg(buf, MACH_RCV_MSG, 0, buf.length, gate);
  // The gate died (the boot chain gave up): nothing to start.
  if (kr !== MACH_MSG_SUCCESS) return;
  await task.mach_port_mod_refs(gate, MACH_PORT_RIGHT_RECEIVE, -1);
  await mod.default(task, args);
}
