// Isolated task for the kernel rpc benchmarks: as "server" it answers every request on its
// service port (freeing out-of-line data it gets); as "client" it waits for commands on its
// control port, runs N round trips (null or with out-of-line data) and reports the time taken.
import { performance } from "node:perf_hooks";
import type { TaskApi } from "../src/kernel/task-api.js";
import { MessageBuilder, parseBody, readHeader, readPointer } from "../src/kernel/message.js";
import {
  MACH_MSGH_BITS,
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_SEND_MSG,
} from "../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../src/kernel/port-right.js";

export interface RpcBenchArgs {
  role: "server" | "client";
  /** server: the port it serves; client: the server's port. */
  service: number;
  /** client: where commands come from (receive right) and where reports go (send right). */
  control?: number;
  report?: number;
}

export const CMD_RUN = 1;
export const CMD_STOP = 2;
export const REPORT_ID = 3;

async function server(task: TaskApi, service: number): Promise<void> {
  const buf = new Uint8Array(1024);
  let code = await task.mach_msg(buf, MACH_RCV_MSG, 0, buf.length, service);
  const v = new DataView(buf.buffer);
  while (code === 0) {
    const bits = v.getUint32(0, true);
    if (bits & 0x80000000) {
      const body = parseBody(buf, v.getUint32(4, true));
      if (body.ok)
        for (const it of body.items)
          if (!it.inline) await task.vm_deallocate(readPointer(buf, it.dataOffset));
    }
    // The reply, written in place as a generated server stub does (nothing allocated).
    const remote = v.getUint32(8, true);
    const id = v.getInt32(28, true);
    v.setUint32(0, MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0), true);
    v.setUint32(4, 40, true);
    v.setUint32(8, remote, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, 0, true);
    v.setUint32(20, 0, true);
    v.setUint32(24, 0, true);
    v.setInt32(28, id + 100, true);
    v.setUint32(32, 0x10012002, true); // INTEGER_32, 32 bits, 1, inline
    v.setInt32(36, 0, true);
    code = await task.mach_msg(buf, MACH_SEND_MSG | MACH_RCV_MSG, 40, buf.length, service);
  }
}

async function client(task: TaskApi, a: RpcBenchArgs): Promise<void> {
  const reply = (await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const cmd = new Uint8Array(256);
  const buf = new Uint8Array(256);
  const dv = new DataView(cmd.buffer);
  for (;;) {
    if ((await task.mach_msg(cmd, MACH_RCV_MSG, 0, cmd.length, a.control!)) !== 0) return;
    if (readHeader(cmd).id === CMD_STOP) return;
    const rounds = dv.getUint32(36, true);
    const oolBytes = dv.getUint32(44, true);
    let addr = 0;
    if (oolBytes > 0) {
      addr = (await task.vm_allocate(oolBytes)).address;
      task.vm_region(addr)!.fill(0x5a);
    }
    const bits =
      MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) |
      (oolBytes ? 0x80000000 : 0);
    const b = new MessageBuilder({ bits: bits >>> 0, remote: a.service, local: reply, id: 10 });
    const req = (oolBytes ? b.ool(9, 8, oolBytes, addr) : b.int32(0)).build();
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      buf.set(req);
      const code = await task.mach_msg(
        buf,
        MACH_SEND_MSG | MACH_RCV_MSG,
        req.length,
        buf.length,
        reply,
      );
      if (code !== 0) throw new Error(`rpc failed: ${code}`);
    }
    const us = ((performance.now() - t0) * 1000) / rounds;
    if (addr) await task.vm_deallocate(addr);
    const r = new MessageBuilder({
      bits: MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0),
      remote: a.report!,
      local: 0,
      id: REPORT_ID,
    })
      .inline(11, 64, 1, new Uint8Array(new Float64Array([us]).buffer))
      .build();
    await task.mach_msg(r, MACH_SEND_MSG, r.length, 0, 0);
  }
}

export default async function main(task: TaskApi, args: unknown): Promise<void> {
  const a = args as RpcBenchArgs;
  if (a.role === "server") await server(task, a.service);
  else await client(task, a);
}
