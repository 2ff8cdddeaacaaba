// Bad input never crashes the servers: random names, offsets, amounts and registers get error
// values from the pci-arbiter and acpi logic, and malformed RPCs get MIG's answers while the
// server keeps serving.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pci_get_ndevs } from "../../generated/pci.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { MIG_BAD_ARGUMENTS, MIG_BAD_ID, type SendRight } from "../../src/kernel/mig/index.js";
import { MessageBuilder, readU32 } from "../../src/kernel/message.js";
import {
  MACH_MSG_TYPE_COPY_SEND,
  MACH_MSG_TYPE_MAKE_SEND_ONCE,
  MACH_MSGH_BITS,
  MACH_RCV_MSG,
  MACH_SEND_MSG,
} from "../../src/kernel/msg-type.js";
import { MACH_PORT_RIGHT_RECEIVE } from "../../src/kernel/port-right.js";
import type { Task } from "../../src/kernel/task.js";
import type { SimBackend } from "../../src/machine/sim-backend.js";
import { AcpiTranslator } from "../../src/servers/acpi/acpi-translator.js";
import { PciAccessPolicy } from "../../src/servers/pci-arbiter/access-policy.js";
import { PciArbiter } from "../../src/servers/pci-arbiter/arbiter.js";
import { runPciArbiter, type PciArbiterTask } from "../../src/servers/pci-arbiter/server.js";
import { simMachine } from "./pci-fixtures.js";
import { giveSend } from "./rpc-fixture.js";

describe("pci-arbiter and acpi logic under random input", () => {
  let sim: SimBackend;
  let arbiter: PciArbiter;
  let acpi: AcpiTranslator;
  beforeAll(async () => {
    sim = simMachine();
    const p = PciAccessPolicy.parse({ rules: [{ task: "t" }] });
    if (!p.ok) throw new Error();
    arbiter = await PciArbiter.start(sim, p.value);
    const a = await AcpiTranslator.start({ backend: sim });
    if (!a.ok) throw new Error(a.error.message);
    acpi = a.value;
  });
  afterAll(() => sim.close());

  it("lookups, reads, writes and pci_* calls return values, never throw", async () => {
    const name = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        "0000/00/1f/2/config",
        "0000/00/1f/2",
        "..",
        "/",
        "0000/00/1f/2/region5",
        "tables/DSDT",
      ),
    );
    const big = fc.bigInt({ min: -(1n << 64n), max: 1n << 64n });
    await fc.assert(
      fc.asyncProperty(
        name,
        big,
        big,
        fc.integer(),
        fc.uint8Array({ maxLength: 300 }),
        async (n, off, amount, reg, data) => {
          for (const fs of [arbiter.fs, acpi.fs]) {
            const found = fs.lookup(fs.protid("t"), n);
            if (!found.ok) {
              expect(found.code >>> 30).toBe(1);
              continue;
            }
            const p = found.value;
            const r = await fs.read(p, off, amount);
            if (r.ok)
              expect(r.value.length).toBeLessThanOrEqual(
                Number(amount > 1n << 24n ? 1n << 24n : amount),
              );
            await fs.write(p, off, data.subarray(0, 4));
            if (fs === arbiter.fs) {
              const c = await arbiter.confRead(p, reg, amount);
              if (c.ok) expect(reg >= 0 && reg < 256).toBe(true);
              arbiter.getDevRegions(p);
              arbiter.getNdevs(p);
            }
          }
          const irq = await acpi.getPciIrq(reg, reg >> 3, reg & 7);
          expect(typeof (irq.ok ? irq.value : irq.code)).toBe("number");
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("malformed RPCs to the pci-arbiter", () => {
  let sim: SimBackend;
  let kernel: Kernel;
  let server: Task;
  let client: Task;
  let root: SendRight;
  let arb: PciArbiterTask;
  beforeAll(async () => {
    sim = simMachine();
    kernel = new Kernel();
    server = kernel.createTask("pci-arbiter");
    const p = PciAccessPolicy.parse({ rules: [{ task: "c" }] });
    if (!p.ok) throw new Error();
    arb = await runPciArbiter(server, sim, p.value);
    client = kernel.createTask("c");
    root = giveSend(kernel, server, await arb.ports.rootPort("c"), client);
  });
  afterAll(async () => {
    client.terminate();
    server.terminate();
    await arb.served;
    await sim.close();
  });

  async function rpc(id: number, build: (b: MessageBuilder) => MessageBuilder): Promise<number> {
    const reply = await client.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
    const msg = build(
      new MessageBuilder({
        bits: MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE),
        remote: root,
        local: reply.name,
        id,
      }),
    ).build();
    const buf = new Uint8Array(4096);
    buf.set(msg);
    const kr = await client.mach_msg(
      buf,
      MACH_SEND_MSG | MACH_RCV_MSG,
      msg.length,
      buf.length,
      reply.name,
    );
    await client.mach_port_mod_refs(reply.name, MACH_PORT_RIGHT_RECEIVE, -1);
    expect(kr).toBe(0);
    expect(readU32(buf, 28)).toBe(id + 100);
    return readU32(buf, 36) | 0;
  }

  it("answers MIG_BAD_ID and MIG_BAD_ARGUMENTS and keeps serving", async () => {
    expect(await rpc(39007, (b) => b)).toBe(MIG_BAD_ID);
    expect(await rpc(39000, (b) => b.int32(0))).toBe(MIG_BAD_ARGUMENTS); // pci_conf_read without amount
    expect(await rpc(21001, (b) => b.raw(Uint8Array.of(1, 2, 3, 4)))).toBe(MIG_BAD_ARGUMENTS); // io_read, garbage
    expect(await rpc(20018, (b) => b.int32(5).int32(6))).toBe(MIG_BAD_ARGUMENTS); // dir_lookup without a name
    const n = await pci_get_ndevs(client, root);
    expect(n.ok && n.value.ndevs).toBe(BigInt(arb.arbiter.functions.length));
  });
});
