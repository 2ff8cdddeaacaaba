// The README's example driver (defs/example_counter.defs, examples/counter/): the hand-written
// server implements the generated interface, the client calls the generated stubs, nothing leaks.
import { describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import { asSendRight, mig_release_reply_ports } from "../../src/kernel/mig/index.js";
import { KERN_INVALID_ARGUMENT } from "../../src/kernel/kern-return.js";
import { counter_add, counter_history } from "../../generated/example_counter.js";
import { runCounterExample } from "../../examples/counter/main.js";
import { CounterDriver, HISTORY } from "../../examples/counter/counter-server.js";

describe("example driver: counters", () => {
  it("serves the client's calls, the deferred wait and the one-way reset, and leaks nothing", async () => {
    const kernel = new Kernel();
    const log = await runCounterExample(kernel);
    expect(log).toEqual([
      "added 3: 3",
      "added 4: 7",
      "added 5: 12",
      "waited for 10: 12",
      "apples = 12",
      "reset sent: KERN_SUCCESS",
      "history: 3 7 12 0",
    ]);
    expect(kernel.snapshot()).toEqual({ ports: 0, queued: 0, tasks: 0 });
  });

  it("keeps the last values only, and answers errors as values", async () => {
    const kernel = new Kernel();
    const server = kernel.createTask("s");
    const client = kernel.createTask("c");
    const driver = new CounterDriver(server);
    const port = await driver.createCounter("n");
    const serving = driver.serve();
    const send = asSendRight(kernel.giveRight(server, port, MACH_MSG_TYPE_MAKE_SEND, client).name);
    for (let i = 1; i <= HISTORY + 3; i++)
      expect((await counter_add(client, send, 1n)).ok).toBe(true);
    const h = await counter_history(client, send);
    expect(h.ok && h.value.wrapped).toBe(true);
    expect(h.ok && Array.from(h.value.samples)).toEqual(
      Array.from({ length: HISTORY }, (_, i) => BigInt(i + 4)),
    );
    // A port that is not a counter of this server's table.
    expect(driver.counter_add((port + 1000) as typeof port, 1n)).toBe(KERN_INVALID_ARGUMENT);
    await mig_release_reply_ports(client);
    await driver.shutdown();
    await serving;
    client.terminate();
    server.terminate();
    expect(kernel.snapshot().ports).toBe(0);
  });
});
