// The pci-arbiter over Mach IPC on the simulated PC: dir_lookup, io_read and io_write of the
// tree, the pci.defs routines through the generated stubs, and refusals for unnamed tasks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  pci_conf_read,
  pci_conf_write,
  pci_get_dev_regions,
  pci_get_dev_rom,
  pci_get_ndevs,
} from "../../generated/pci.js";
import { io_write } from "../../generated/io.js";
import { Kernel } from "../../src/kernel/kernel.js";
import type { Task } from "../../src/kernel/task.js";
import { AHCI_DEVICE, AHCI_VENDOR } from "../../src/machine/index.js";
import type { SimBackend } from "../../src/machine/sim-backend.js";
import { EACCES, EINVAL, EISDIR, ENOENT } from "../../src/servers/netfs/errno.js";
import { listDir, lookup, readAll } from "../../src/servers/netfs/client.js";
import { PciAccessPolicy } from "../../src/servers/pci-arbiter/access-policy.js";
import { decodePciBars } from "../../src/servers/pci-arbiter/bars.js";
import { runPciArbiter, type PciArbiterTask } from "../../src/servers/pci-arbiter/server.js";
import { simMachine } from "./pci-fixtures.js";
import { giveSend } from "./rpc-fixture.js";
import type { SendRight } from "../../src/kernel/mig/index.js";

function must<T>(r: { ok: true; value: T } | { ok: false; code: number }): T {
  if (!r.ok) throw new Error(`error 0x${r.code.toString(16)}`);
  return r.value;
}
const codeOf = (r: { ok: boolean; code?: number }): number => (r.ok ? 0 : r.code!);

describe("pci-arbiter over RPC (simulated PC)", () => {
  let sim: SimBackend;
  let kernel: Kernel;
  let server: Task;
  let arb: PciArbiterTask;
  let disk: Task;
  let diskRoot: SendRight;
  let intruder: Task;
  let intruderRoot: SendRight;

  beforeEach(async () => {
    sim = simMachine();
    kernel = new Kernel();
    server = kernel.createTask("pci-arbiter");
    const p = PciAccessPolicy.parse({ rules: [{ task: "rumpdisk", class: 1, subclass: 6 }] });
    if (!p.ok) throw new Error(p.errors.join());
    arb = await runPciArbiter(server, sim, p.value);
    disk = kernel.createTask("rumpdisk");
    diskRoot = giveSend(kernel, server, await arb.ports.rootPort(disk.name), disk);
    intruder = kernel.createTask("intruder");
    intruderRoot = giveSend(kernel, server, await arb.ports.rootPort(intruder.name), intruder);
  });

  afterEach(async () => {
    for (const t of [disk, intruder, server]) t.terminate();
    expect(await arb.served).not.toBe(0);
    await sim.close();
  });

  it("lists the tree and reads a function's config with dir_lookup and io_read", async () => {
    expect(must(await listDir(disk, diskRoot))).toEqual(["0000"]);
    const bus0 = must(await lookup(disk, diskRoot, "0000/00"));
    const devs = must(await listDir(disk, bus0));
    expect(devs).toContain("1f");
    const fn = must(await lookup(disk, bus0, "1f/2"));
    const files = must(await listDir(disk, fn));
    expect(files[0]).toBe("config");
    expect(files).toContain("region5");
    expect(files.every((f) => /^(config|rom|region[0-5])$/.test(f))).toBe(true);
    const config = must(await lookup(disk, fn, "config"));
    const bytes = must(await readAll(disk, config));
    expect(bytes.length).toBe(256);
    const dv = new DataView(bytes.buffer);
    expect([dv.getUint16(0, true), dv.getUint16(2, true), bytes[0x0b], bytes[0x0a]]).toEqual([
      AHCI_VENDOR,
      AHCI_DEVICE,
      1,
      6,
    ]);
  });

  it("hands out one port per node and task, however many lookups race for it", async () => {
    const all = await Promise.all(
      Array.from({ length: 6 }, () => lookup(disk, diskRoot, "0000/00/1f/2/config")),
    );
    const names = all.map((r) => must(r));
    expect(new Set(names).size).toBe(1);
  });

  it("destroys a node's port when its last send right goes away (no-senders), and remakes it", async () => {
    const before = arb.ports.portCount;
    const baseline = server.space.snapshot().length;
    const config = must(await lookup(disk, diskRoot, "0000/00/1f/2/config"));
    expect(arb.ports.portCount).toBe(before + 1);
    await disk.mach_port_deallocate(config);
    for (let i = 0; i < 50 && arb.ports.portCount > before; i++)
      await new Promise((r) => setTimeout(r, 2));
    expect(arb.ports.portCount).toBe(before);
    expect(server.space.snapshot().length).toBe(baseline);
    const again = must(await lookup(disk, diskRoot, "0000/00/1f/2/config"));
    expect(must(await readAll(disk, again, 2, 2)).length).toBe(2);
  });

  it("writes config with io_write and reads the AHCI's registers through region5", async () => {
    const config = must(await lookup(disk, diskRoot, "0000/00/1f/2/config"));
    expect(must(await io_write(disk, config, Uint8Array.of(9), 0x3cn)).amount).toBe(1n);
    expect(must(await readAll(disk, config, 1, 1, 0x3cn))[0]).toBe(9);
    const abar = must(await lookup(disk, diskRoot, "0000/00/1f/2/region5"));
    const ghc = must(await readAll(disk, abar, 0x14, 0x14));
    expect(new DataView(ghc.buffer).getUint32(0x10, true)).toBe(0x00010301);
  });

  it("serves pci_conf_read/write, pci_get_ndevs, pci_get_dev_regions and pci_get_dev_rom", async () => {
    const config = must(await lookup(disk, diskRoot, "0000/00/1f/2/config"));
    expect([...must(await pci_conf_read(disk, config, 0, 4n)).data]).toEqual([
      0x86,
      0x80,
      AHCI_DEVICE & 0xff,
      AHCI_DEVICE >> 8,
    ]);
    expect(must(await pci_conf_write(disk, config, 0x3c, Uint8Array.of(7))).amount).toBe(1n);
    expect(must(await pci_conf_read(disk, config, 0x3c, 1n)).data[0]).toBe(7);
    expect(must(await pci_get_ndevs(disk, diskRoot)).ndevs).toBe(1n);
    expect(must(await pci_get_ndevs(intruder, intruderRoot)).ndevs).toBe(0n);
    const bars = decodePciBars(must(await pci_get_dev_regions(disk, config)).data)!;
    const ahci = arb.arbiter.functions.find((f) => f.deviceId === AHCI_DEVICE)!;
    expect(bars[5]).toEqual(ahci.regions[5]);
    expect(bars[5]!.size).toBeGreaterThan(0n);
    expect(must(await pci_get_dev_rom(disk, config)).data.length).toBe(16);
    expect(codeOf(await pci_get_ndevs(disk, config))).toBe(EINVAL);
    expect(codeOf(await pci_conf_read(disk, config, 4096, 4n))).toBe(EINVAL);
  });

  it("refuses a task the configuration does not name, and bad requests, with error values", async () => {
    expect(codeOf(await lookup(intruder, intruderRoot, "0000/00/1f/2/config"))).toBe(EACCES);
    const fn = must(await lookup(intruder, intruderRoot, "0000/00/1f/2"));
    expect(codeOf(await pci_conf_read(intruder, fn, 0, 4n))).toBe(EACCES);
    expect(codeOf(await pci_get_dev_regions(intruder, fn))).toBe(EACCES);
    expect(codeOf(await lookup(disk, diskRoot, "0000/00/00/0/config"))).toBe(EACCES);
    expect(codeOf(await lookup(disk, diskRoot, "0000/07"))).toBe(ENOENT);
    expect(codeOf(await io_write(disk, diskRoot, Uint8Array.of(1), 0n))).toBe(EISDIR);
  });
});
