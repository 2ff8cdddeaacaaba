// The example driver's server: named 64-bit counters, one port each, implementing the generated
// ExampleCounterServer interface (defs/example_counter.defs), with deferred replies for waits.
import { KERN_INVALID_ARGUMENT } from "../../src/kernel/kern-return.js";
import {
  KERN_SUCCESS,
  mach_msg_server,
  MIG_NO_REPLY,
  MigDemux,
  type MigReply,
  type ReceiveRight,
  type SendRight,
  type TaskApi,
} from "../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_PORT_SET, MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import {
  example_counter_server,
  type ExampleCounterServer,
} from "../../generated/example_counter.js";

/** How many past values counter_history keeps. */
export const HISTORY = 32;

interface Counter {
  name: string;
  value: bigint;
  history: bigint[];
  wrapped: boolean;
  waiters: { target: bigint; reply: MigReply<{ readonly value: bigint }> }[];
}

/** The counters of one server task, served on a port set. */
export class CounterDriver implements ExampleCounterServer {
  private readonly counters = new Map<number, Counter>();
  private portSet = 0;

  constructor(private readonly task: TaskApi) {}

  /** Creates a counter; returns its port (the server keeps the receive right). */
  async createCounter(name: string): Promise<ReceiveRight> {
    if (this.portSet === 0)
      this.portSet = (await this.task.mach_port_allocate(MACH_PORT_RIGHT_PORT_SET)).name;
    const port = (await this.task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)).name as ReceiveRight;
    await this.task.mach_port_move_member(port, this.portSet);
    this.counters.set(port, { name, value: 0n, history: [], wrapped: false, waiters: [] });
    return port;
  }

  /** A send right to a counter, made in this task (to hand to a client). */
  async sendRight(port: ReceiveRight): Promise<SendRight> {
    await this.task.mach_port_insert_right(port, port, MACH_MSG_TYPE_MAKE_SEND);
    return port as number as SendRight;
  }

  /** Serves every counter until the port set is destroyed. */
  serve(): Promise<number> {
    return mach_msg_server(this.task, new MigDemux(example_counter_server(this)), this.portSet);
  }

  private set(c: Counter, value: bigint): void {
    c.value = value;
    c.history.push(value);
    if (c.history.length > HISTORY) {
      c.history.shift();
      c.wrapped = true;
    }
    const ready = c.waiters.filter((w) => value >= w.target);
    c.waiters = c.waiters.filter((w) => value < w.target);
    for (const w of ready) void w.reply.send({ value });
  }

  counter_add(counter: ReceiveRight, delta: bigint): { readonly value: bigint } | number {
    const c = this.counters.get(counter);
    if (!c) return KERN_INVALID_ARGUMENT;
    this.set(c, BigInt.asIntN(64, c.value + delta));
    return { value: c.value };
  }

  counter_get(counter: ReceiveRight): { readonly value: bigint; readonly name: string } | number {
    const c = this.counters.get(counter);
    return c ? { value: c.value, name: c.name } : KERN_INVALID_ARGUMENT;
  }

  counter_set_name(counter: ReceiveRight, name: string): number {
    const c = this.counters.get(counter);
    if (!c) return KERN_INVALID_ARGUMENT;
    c.name = name;
    return KERN_SUCCESS;
  }

  counter_reset(counter: ReceiveRight): number {
    const c = this.counters.get(counter);
    if (!c) return KERN_INVALID_ARGUMENT;
    this.set(c, 0n);
    return KERN_SUCCESS;
  }

  counter_wait(
    counter: ReceiveRight,
    reply: MigReply<{ readonly value: bigint }>,
    target: bigint,
  ): { readonly value: bigint } | number {
    const c = this.counters.get(counter);
    if (!c) return KERN_INVALID_ARGUMENT;
    if (c.value >= target) return { value: c.value };
    c.waiters.push({ target, reply });
    return MIG_NO_REPLY;
  }

  counter_history(
    counter: ReceiveRight,
  ): { readonly samples: BigInt64Array; readonly wrapped: boolean } | number {
    const c = this.counters.get(counter);
    return c
      ? { samples: BigInt64Array.from(c.history), wrapped: c.wrapped }
      : KERN_INVALID_ARGUMENT;
  }

  /** Stops serving: destroys the counters' ports and the port set. */
  async shutdown(): Promise<void> {
    for (const port of this.counters.keys()) await this.task.mach_port_destroy(port);
    this.counters.clear();
    if (this.portSet) await this.task.mach_port_destroy(this.portSet);
  }
}
