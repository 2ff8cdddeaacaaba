// Test helpers for the kernel suites: message builders, a receive wrapper, and the rights
// baseline (snapshot every space and the kernel's port count, then check nothing leaked).
import { expect } from "vitest";
import { Kernel, type KernelSnapshot } from "../../src/kernel/kernel.js";
import { auditKernel } from "../../src/kernel/audit.js";
import type { Task } from "../../src/kernel/task.js";
import type { SpaceSnapshotEntry } from "../../src/kernel/ipc-space.js";
import { MessageBuilder, readHeader, type MachMsgHeader } from "../../src/kernel/message.js";
import {
  MACH_MSGH_BITS,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
  MACH_SEND_TIMEOUT,
} from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";

export interface Baseline {
  kernel: KernelSnapshot;
  spaces: Map<Task, SpaceSnapshotEntry[]>;
}

/** Snapshots every task's space and the kernel's live-port count. */
export function snapshotAll(kernel: Kernel): Baseline {
  const spaces = new Map<Task, SpaceSnapshotEntry[]>();
  for (const t of kernel.tasks) spaces.set(t, t.space.snapshot());
  return { kernel: kernel.snapshot(), spaces };
}

/** Asserts that every space and the kernel are exactly as in `b`: no right leaked or lost. */
export function expectBaseline(kernel: Kernel, b: Baseline): void {
  for (const [t, snap] of b.spaces) {
    if (t.alive) expect(t.space.snapshot(), `space of ${t.name}`).toEqual(snap);
  }
  expect(kernel.snapshot()).toEqual(b.kernel);
  expect(auditKernel(kernel)).toEqual([]);
}

export function msg(
  dest: number,
  destDisp: number,
  opts: { reply?: number; replyDisp?: number; id?: number; complex?: boolean } = {},
): MessageBuilder {
  const bits = MACH_MSGH_BITS(destDisp, opts.replyDisp ?? 0) | (opts.complex ? 0x80000000 : 0);
  return new MessageBuilder({
    bits: bits >>> 0,
    remote: dest,
    local: opts.reply ?? 0,
    id: opts.id ?? 1000,
  });
}

export async function send(task: Task, bytes: Uint8Array, timeout?: number): Promise<number> {
  const opt = MACH_SEND_MSG | (timeout !== undefined ? MACH_SEND_TIMEOUT : 0);
  return task.mach_msg(bytes, opt, bytes.length, 0, 0, timeout ?? 0);
}

export interface Received {
  code: number;
  buf: Uint8Array;
  header: MachMsgHeader;
}

export async function recv(
  task: Task,
  name: number,
  opts: { size?: number; timeout?: number; extra?: number } = {},
): Promise<Received> {
  const size = opts.size ?? 4096;
  const buf = new Uint8Array(Math.max(size, 32));
  const opt =
    MACH_RCV_MSG | (opts.timeout !== undefined ? MACH_RCV_TIMEOUT : 0) | (opts.extra ?? 0);
  const code = await task.mach_msg(buf, opt, 0, size, name, opts.timeout ?? 0);
  return { code, buf, header: readHeader(buf) };
}

export async function newPort(task: Task): Promise<number> {
  const r = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
  expect(r.kr).toBe(0);
  return r.name;
}

export function u32At(buf: Uint8Array, off: number): number {
  return new DataView(buf.buffer, buf.byteOffset).getUint32(off, true);
}

export function twoTasks(): { kernel: Kernel; a: Task; b: Task } {
  const kernel = new Kernel();
  return { kernel, a: kernel.createTask("a"), b: kernel.createTask("b") };
}
