// The example driver end to end: a kernel, a counter server task and a client task talking
// through the generated stubs. Run it with `npx tsx examples/counter/main.ts`.
import { Kernel } from "../../src/kernel/kernel.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import { asSendRight, mig_release_reply_ports } from "../../src/kernel/mig/index.js";
import { runCounterClient } from "./counter-client.js";
import { CounterDriver } from "./counter-server.js";

/** Boots the example in `kernel` and returns the client's log. */
export async function runCounterExample(kernel: Kernel = new Kernel()): Promise<string[]> {
  const server = kernel.createTask("counter-server");
  const client = kernel.createTask("counter-client");
  const driver = new CounterDriver(server);
  const port = await driver.createCounter("counter");
  const serving = driver.serve();
  const given = kernel.giveRight(server, port, MACH_MSG_TYPE_MAKE_SEND, client);
  try {
    return await runCounterClient(client, asSendRight(given.name));
  } finally {
    await mig_release_reply_ports(client);
    await client.mach_port_deallocate(given.name);
    await driver.shutdown();
    await serving;
    client.terminate();
    server.terminate();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await runCounterExample()) console.log(line);
}
