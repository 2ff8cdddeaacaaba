// The ports of a translator (the Hurd's libports/libnetfs plumbing): one receive right per
// protid in a port set, the fs and io routines (dir_lookup, io_read, io_write) served on them
// through the generated dispatchers, and a server loop that other subsystems can join. A port
// whose last send right goes away (no-senders notification) is destroyed with its protid entry.
import { fs_server, type FsServer } from "../../../generated/fs.js";
import { notify_server, type NotifyServer } from "../../../generated/notify.js";
import { io_server, type IoServer } from "../../../generated/io.js";
import { KERN_SUCCESS, type kern_return_t } from "../../kernel/kern-return.js";
import {
  MigDemux,
  mach_msg_server,
  polyRight,
  type MigSubsystemServer,
  type PolyRight,
  type ReceiveRight,
  type TaskApi,
} from "../../kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE } from "../../kernel/msg-type.js";
import { MACH_NOTIFY_NO_SENDERS } from "../../kernel/notify.js";
import { MACH_PORT_RIGHT_PORT_SET, MACH_PORT_RIGHT_RECEIVE } from "../../kernel/port-right.js";
import { EOPNOTSUPP } from "./errno.js";
import type { Protid, Translator } from "./translator.js";

/** dir_lookup's do_retry for a finished lookup (FS_RETRY_NORMAL with an empty retry name). */
export const FS_RETRY_NORMAL = 0;

export class NetfsPorts {
  private readonly byName = new Map<number, Protid>();
  private readonly byProtid = new Map<Protid, number>();
  private portSet = 0;

  constructor(
    readonly task: TaskApi,
    readonly fs: Translator,
  ) {}

  /** The port set every protid's receive right joins (allocated on first use). */
  private async set(): Promise<number> {
    if (this.portSet === 0) {
      const r = await this.task.mach_port_allocate(MACH_PORT_RIGHT_PORT_SET);
      if (r.kr !== KERN_SUCCESS)
        throw new Error(`${this.task.name}: cannot allocate a port set (${r.kr})`);
      this.portSet = r.name;
    }
    return this.portSet;
  }

  private readonly making = new Map<Protid, Promise<number>>();

  /** The receive right (in the server's space) denoting `p`; made once, on first use. */
  portFor(p: Protid): Promise<number> {
    const have = this.byProtid.get(p);
    if (have !== undefined) return Promise.resolve(have);
    let pending = this.making.get(p);
    if (!pending) {
      pending = this.makePort(p).finally(() => this.making.delete(p));
      this.making.set(p, pending);
    }
    return pending;
  }

  private async makePort(p: Protid): Promise<number> {
    const set = await this.set();
    const r = await this.task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    if (r.kr !== KERN_SUCCESS)
      throw new Error(`${this.task.name}: cannot allocate a port (${r.kr})`);
    const kr = await this.task.mach_port_move_member(r.name, set);
    if (kr !== KERN_SUCCESS)
      throw new Error(`${this.task.name}: cannot add a port to its set (${kr})`);
    this.byName.set(r.name, p);
    this.byProtid.set(p, r.name);
    await this.armNoSenders(r.name, 1);
    return r.name;
  }

  /** Asks for a no-senders notification on the port itself once its make-send count is `sync`. */
  private async armNoSenders(name: number, sync: number): Promise<void> {
    await this.task.mach_port_request_notification(
      name,
      MACH_NOTIFY_NO_SENDERS,
      sync,
      name,
      MACH_MSG_TYPE_MAKE_SEND_ONCE,
    );
  }

  /** Ports currently denoting protids (for accounting). */
  get portCount(): number {
    return this.byName.size;
  }

  /**
   * No senders left on a protid port: destroy it, unless send rights were made after the
   * notification was sent (then wait for the next one).
   */
  private notifyImpl(): NotifyServer {
    const ignore = () => KERN_SUCCESS;
    return {
      do_mach_notify_port_deleted: ignore,
      do_mach_notify_msg_accepted: ignore,
      // Not ours to keep (libports answers EOPNOTSUPP): the server loop destroys the right.
      do_mach_notify_port_destroyed: () => EOPNOTSUPP,
      do_mach_notify_send_once: ignore,
      do_mach_notify_dead_name: ignore,
      do_mach_notify_no_senders: async (port, mscount) => {
        const p = this.byName.get(port);
        if (!p) return KERN_SUCCESS;
        const status = await this.task.mach_port_get_receive_status(port);
        const now = status.status?.mps_mscount ?? mscount;
        if (now > mscount) {
          await this.armNoSenders(port, now);
          return KERN_SUCCESS;
        }
        this.byName.delete(port);
        if (this.byProtid.get(p) === port) this.byProtid.delete(p);
        await this.task.mach_port_mod_refs(port, MACH_PORT_RIGHT_RECEIVE, -1);
        return KERN_SUCCESS;
      },
    };
  }

  /**
   * The root port for `user`: the boot chain gives the task it names a send right made from it
   * (MACH_MSG_TYPE_MAKE_SEND), which is how the task's identity reaches the server.
   */
  rootPort(user: string): Promise<number> {
    return this.portFor(this.fs.protid(user));
  }

  /**
   * Serves `user`'s root on `name`: a receive right made by whoever started this server (the boot
   * chain, which kept the send rights it hands to clients) and moved into this task's space.
   */
  async adoptRoot(user: string, name: number): Promise<void> {
    const p = this.fs.protid(user);
    const kr = await this.task.mach_port_move_member(name, await this.set());
    if (kr !== KERN_SUCCESS)
      throw new Error(`${this.task.name}: cannot serve the root port of ${user} (${kr})`);
    this.byName.set(name, p);
    if (!this.byProtid.has(p)) this.byProtid.set(p, name);
    const status = await this.task.mach_port_get_receive_status(name);
    await this.armNoSenders(name, Math.max(1, status.status?.mps_mscount ?? 1));
  }

  /** The protid a request arrived on, or undefined for a port that is not one of ours. */
  protidOf(port: ReceiveRight | number): Protid | undefined {
    return this.byName.get(port);
  }

  /** dir_lookup and io_read/io_write over the translator. */
  private fsImpl(): FsServer & IoServer {
    return {
      dir_lookup: async (start, name, flags, _mode) => {
        const p = this.protidOf(start);
        if (!p) return EOPNOTSUPP;
        const r = this.fs.lookup(p, name, flags);
        if (!r.ok) return r.code;
        const port = await this.portFor(r.value);
        const result: PolyRight = polyRight(port, MACH_MSG_TYPE_MAKE_SEND);
        return { do_retry: FS_RETRY_NORMAL, retry_name: "", result };
      },
      io_read: async (object, offset, amount) => {
        const p = this.protidOf(object);
        if (!p) return EOPNOTSUPP;
        const r = await this.fs.read(p, offset, amount);
        return r.ok ? { data: r.value } : r.code;
      },
      io_write: async (object, data, offset) => {
        const p = this.protidOf(object);
        if (!p) return EOPNOTSUPP;
        const r = await this.fs.write(p, offset, data);
        return r.ok ? { amount: BigInt(r.value) } : r.code;
      },
    };
  }

  /**
   * Serves fs, io and the server's own subsystems on every protid port until the task dies or
   * the set is destroyed; resolves with the receive error that ended the loop.
   */
  async serve(...extra: MigSubsystemServer[]): Promise<kern_return_t> {
    const impl = this.fsImpl();
    const demux = new MigDemux(
      fs_server(impl),
      io_server(impl),
      notify_server(this.notifyImpl()),
      ...extra,
    );
    return mach_msg_server(this.task, demux, await this.set());
  }
}
