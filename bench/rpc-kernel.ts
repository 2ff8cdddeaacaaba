// Kernel rpc benchmarks: a null routine in-thread (generated-style encode, dispatch, reply)
// against calling the handler directly, a null routine between two isolated tasks, and
// out-of-line transfers of 4 KiB and 1 MiB between isolated tasks, as PeerSessions that
// bench/rpc.ts samples interleaved with the peers of bench/rpc-peers.ts.
import { performance } from "node:perf_hooks";
import { Kernel } from "../src/kernel/kernel.js";
import type { Task } from "../src/kernel/task.js";
import {
  HDR_BITS,
  HDR_ID,
  HDR_LOCAL,
  HDR_REMOTE,
  HDR_SEQNO,
  HDR_SIZE,
  MessageBuilder,
  readU32,
  writeU32,
} from "../src/kernel/message.js";
import {
  MACH_MSGH_BITS,
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSG_TYPE_MOVE_RECEIVE,
  MACH_MSG_TYPE_MOVE_SEND_ONCE,
  MACH_RCV_MSG,
  MACH_RCV_TIMEOUT,
  MACH_SEND_MSG,
} from "../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../src/kernel/port-right.js";
import type { IsolatedTask } from "../src/kernel/isolated-task.js";
import {
  asSendRight,
  mach_msg_server,
  mig_release_reply_ports,
  MigDemux,
} from "../src/kernel/mig/index.js";
import { device_close, device_server, type DeviceServer } from "../generated/device.js";
import { D_INVALID_OPERATION } from "../src/kernel/devices/device-codes.js";
import { KERN_SUCCESS } from "../src/kernel/kern-return.js";
import { benchResult, type BenchGroup, type BenchResult } from "./harness.js";
import { closeAll, interleave, openPeers, PEER_NAMES, type PeerSession } from "./rpc-peers.js";
import { CMD_RUN, CMD_STOP, type RpcBenchArgs } from "./rpc-kernel-task.js";

const NULL_ID = 4000;

/**
 * The server side of a generated-style null routine: decode, check, call, encode the reply
 * (mig_reply_header_t), with the byte-wise accessors the MIG runtime's header code uses.
 */
function nullDispatch(req: Uint8Array, out: Uint8Array, handler: () => number): number {
  const id = readU32(req, HDR_ID) | 0;
  if (id !== NULL_ID || readU32(req, HDR_SIZE) !== 32) return 0;
  const kr = handler();
  writeU32(out, HDR_BITS, MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0));
  writeU32(out, HDR_SIZE, 40);
  writeU32(out, HDR_REMOTE, readU32(req, HDR_REMOTE));
  writeU32(out, 12, 0);
  writeU32(out, HDR_LOCAL, 0);
  writeU32(out, 20, 0);
  writeU32(out, HDR_SEQNO, 0);
  writeU32(out, HDR_ID, id + 100);
  writeU32(out, 32, 0x10012002); // INTEGER_32, 32 bits, 1, inline
  writeU32(out, 36, kr >>> 0);
  return 40;
}

const nullHandler = (): number => 0;

/** rpc.null.in-thread: client and server tasks on this event loop. */
export async function openInThread(rounds = 20000): Promise<PeerSession> {
  const kernel = new Kernel();
  const server = kernel.createTask("server");
  const client = kernel.createTask("client");
  const service = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const send = kernel.giveRight(server, service, MACH_MSG_TYPE_MAKE_SEND, client).name;
  const reply = (await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  let stop = false;
  // The server loop of GNU's mach_msg_server: the reply goes out and the next request comes in
  // through one mach_msg on the reply buffer, then request and reply buffers swap.
  const loop = (async () => {
    let buf = new Uint8Array(256);
    let out = new Uint8Array(256);
    let code = await server.mach_msg(buf, MACH_RCV_MSG, 0, 256, service);
    while (code === 0 && !stop) {
      const n = nullDispatch(buf, out, nullHandler);
      code = await server.mach_msg(out, MACH_SEND_MSG | MACH_RCV_MSG, n, 256, service);
      const t = buf;
      buf = out;
      out = t;
    }
  })();
  const req = new MessageBuilder({
    bits: MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE),
    remote: send,
    local: reply,
    id: NULL_ID,
  }).build();
  const buf = new Uint8Array(256);
  return {
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) {
        buf.set(req);
        const code = await client.mach_msg(buf, MACH_SEND_MSG | MACH_RCV_MSG, 32, 256, reply);
        if (code !== 0 || readU32(buf, 36) !== 0) throw new Error(`in-thread rpc failed: ${code}`);
      }
      return ((performance.now() - t0) * 1000) / rounds;
    },
    async close() {
      stop = true;
      server.terminate();
      client.terminate();
      await loop;
    },
  };
}

/** A device server whose device_close is the null routine; every other routine is refused. */
const nullDevice: DeviceServer = {
  ds_device_open: () => D_INVALID_OPERATION,
  ds_device_close: () => KERN_SUCCESS,
  ds_device_write: () => D_INVALID_OPERATION,
  ds_device_write_inband: () => D_INVALID_OPERATION,
  ds_device_read: () => D_INVALID_OPERATION,
  ds_device_read_inband: () => D_INVALID_OPERATION,
  ds_device_map: () => D_INVALID_OPERATION,
  ds_device_set_status: () => D_INVALID_OPERATION,
  ds_device_get_status: () => D_INVALID_OPERATION,
  ds_device_set_filter: () => D_INVALID_OPERATION,
  ds_device_intr_register: () => D_INVALID_OPERATION,
  ds_device_intr_ack: () => D_INVALID_OPERATION,
};

/**
 * rpc.null.in-thread.mig: a null routine (device_close: no arguments, RetCode only) through the
 * generated stubs and the MIG runtime: the client stub (migCall), MigDemux and mach_msg_server.
 */
export async function openInThreadMig(rounds = 20000): Promise<PeerSession> {
  const kernel = new Kernel();
  const server = kernel.createTask("server");
  const client = kernel.createTask("client");
  const service = (await server.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const device = asSendRight(
    kernel.giveRight(server, service, MACH_MSG_TYPE_MAKE_SEND, client).name,
  );
  const loop = mach_msg_server(server, new MigDemux(device_server(nullDevice)), service);
  return {
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) {
        const r = await device_close(client, device);
        if (!r.ok) throw new Error(`in-thread mig rpc failed: ${r.code}`);
      }
      return ((performance.now() - t0) * 1000) / rounds;
    },
    async close() {
      await mig_release_reply_ports(client);
      server.terminate();
      client.terminate();
      await loop;
    },
  };
}

/** The peer of rpc.null.in-thread: the same dispatch, handler called directly (no kernel). */
export async function openDirect(rounds = 200000): Promise<PeerSession> {
  const req = new MessageBuilder({ bits: 0x1513, remote: 1, local: 2, id: NULL_ID }).build();
  const out = new Uint8Array(256);
  const handler = async (): Promise<number> => nullHandler();
  return {
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) {
        await handler();
        nullDispatch(req, out, nullHandler);
      }
      return ((performance.now() - t0) * 1000) / rounds;
    },
    async close() {},
  };
}

/** Two isolated tasks (client, server) driven from this thread by command messages. */
export async function openCrossTask(
  oolBytes: number,
  rounds: number,
): Promise<PeerSession & { kernel: Kernel }> {
  const kernel = new Kernel({ poolBytes: 64 * 1024 * 1024 });
  const boot: Task = kernel.createTask("boot");
  const service = (await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  await boot.mach_port_insert_right(service, service, MACH_MSG_TYPE_MAKE_SEND);
  const control = (await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  await boot.mach_port_insert_right(control, control, MACH_MSG_TYPE_MAKE_SEND);
  const report = (await boot.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name;
  const module = new URL("./rpc-kernel-task.js", import.meta.url);
  const handles: IsolatedTask[] = [];
  const spawn = (name: string, prepare: (t: Task) => RpcBenchArgs) => {
    const r = kernel.spawnTask(name, module, { prepare });
    if (!r.ok) throw new Error(r.error);
    handles.push(r.handle);
  };
  spawn("rpc-server", (t) => ({
    role: "server",
    service: kernel.giveRight(boot, service, MACH_MSG_TYPE_MOVE_RECEIVE, t).name,
  }));
  spawn("rpc-client", (t) => ({
    role: "client",
    service: kernel.giveRight(boot, service, MACH_MSG_TYPE_COPY_SEND, t).name,
    control: kernel.giveRight(boot, control, MACH_MSG_TYPE_MOVE_RECEIVE, t).name,
    report: kernel.giveRight(boot, report, MACH_MSG_TYPE_MAKE_SEND, t).name,
  }));
  const cmd = (id: number, n: number) =>
    new MessageBuilder({
      bits: MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0),
      remote: control,
      local: 0,
      id,
    })
      .int32(n)
      .int32(oolBytes)
      .build();
  const buf = new Uint8Array(256);
  return {
    kernel,
    async sample() {
      const m = cmd(CMD_RUN, rounds);
      await boot.mach_msg(m, MACH_SEND_MSG, m.length, 0, 0);
      const code = await boot.mach_msg(
        buf,
        MACH_RCV_MSG | MACH_RCV_TIMEOUT,
        0,
        256,
        report,
        120_000,
      );
      if (code !== 0) throw new Error(`cross-task sample failed: ${code}`);
      const us = new DataView(buf.buffer).getFloat64(36, true);
      return oolBytes ? oolBytes / us : us; // MB/s (bytes per microsecond) for transfers
    },
    async close() {
      const m = cmd(CMD_STOP, 0);
      await boot.mach_msg(m, MACH_SEND_MSG, m.length, 0, 0);
      await Promise.all(handles.map((h) => h.kill()));
      boot.terminate();
    },
  };
}

/** Every kernel rpc figure with its peer, sampled interleaved with the peers. */
export async function kernelRpcResults(
  options: { runs?: number; warmup?: number } = {},
): Promise<BenchResult[]> {
  // Sessions that would disturb what they are not the peer of are sampled apart: whatever runs
  // beside a sample takes the core it needs on this 2-core machine.
  // - The in-thread figures and their peer (the handler called directly) first, on their own:
  //   the worker peers' idle sides spin between naps, and the cross-task kernels, postMessage
  //   and comlink add work and garbage to this thread (in-thread read 1.0-1.1 us beside them,
  //   0.75-0.85 us without; the direct call was the same either way).
  // - The bare shared-memory peer's idle side spins between its samples (on 2 cores the
  //   in-thread figure triples): it is sampled on its own, then closed.
  // - The cross-task figures then, interleaved with their peers.
  const local = {
    inThread: await openInThread(),
    inThreadMig: await openInThreadMig(),
    direct: await openDirect(),
  };
  let l: Record<keyof typeof local, number[]>;
  try {
    l = await interleave(local, options);
  } finally {
    await closeAll(local);
  }
  const { bareShm, ...peers } = await openPeers();
  let bare: number[];
  try {
    bare = (await interleave({ bareShm }, options)).bareShm;
  } finally {
    await bareShm.close();
  }
  const ours = {
    cross: await openCrossTask(0, 20000),
    ool4k: await openCrossTask(4096, 5000),
    // 1 MiB round trips reach their steady rate after some thousands (compiled code, learned
    // spins): 200 a sample measured mostly the ramp.
    ool1m: await openCrossTask(1024 * 1024, 2000),
  };
  try {
    const s = await interleave({ ...peers, ...ours }, options);
    const all = { ...s, bareShm: bare };
    const peer = (k: keyof typeof PEER_NAMES) => ({ name: PEER_NAMES[k], samples: all[k] });
    return [
      benchResult("rpc.null.in-thread", "us", l.inThread, "lower", {
        name: "handler called directly",
        samples: l.direct,
      }),
      benchResult("rpc.null.in-thread.mig", "us", l.inThreadMig, "lower", {
        name: "handler called directly",
        samples: l.direct,
      }),
      benchResult("rpc.null.cross-task", "us", s.cross, "lower", peer("bareShm")),
      benchResult(
        "rpc.null.cross-task.vs-postmessage",
        "us",
        s.cross,
        "lower",
        peer("postMessage"),
      ),
      benchResult("rpc.null.cross-task.vs-comlink", "us", s.cross, "lower", peer("comlink")),
      benchResult("rpc.ool.4k", "MB/s", s.ool4k, "higher", peer("memcpy4k")),
      benchResult("rpc.ool.1m", "MB/s", s.ool1m, "higher", peer("memcpy1m")),
    ];
  } finally {
    await closeAll({ ...peers, ...ours });
  }
}

/** bench/rpc.ts can re-export this: `export { group } from "./rpc-kernel.js"`. */
export const group: BenchGroup = { name: "rpc", run: () => kernelRpcResults() };
