// The pci-arbiter's logic on the simulated PC: enumeration (and through a bridge), BAR sizing,
// the DOMAIN/BUS/DEV/FUNC tree, config/region reads and writes, pci_* routines, access control.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { AHCI_DEVICE, AHCI_VENDOR } from "../../src/machine/index.js";
import { EACCES, EINVAL, ENOENT, ENOTDIR, EROFS, EISDIR } from "../../src/servers/netfs/errno.js";
import { PciAccessPolicy } from "../../src/servers/pci-arbiter/access-policy.js";
import { PciArbiter } from "../../src/servers/pci-arbiter/arbiter.js";
import { decodePciBars, PCI_BAR_SIZE } from "../../src/servers/pci-arbiter/bars.js";
import { ConfigAccess } from "../../src/servers/pci-arbiter/config-access.js";
import { enumeratePci, formatBdf } from "../../src/servers/pci-arbiter/enumerate.js";
import { BridgeMachine, configSpace, simMachine } from "./pci-fixtures.js";

function policy(rules: unknown[]): PciAccessPolicy {
  const p = PciAccessPolicy.parse({ rules });
  if (!p.ok) throw new Error(p.errors.join("\n"));
  return p.value;
}

function must<T>(r: { ok: true; value: T } | { ok: false; code: number }): T {
  if (!r.ok) throw new Error(`error 0x${r.code.toString(16)}`);
  return r.value;
}

describe("pci-arbiter on the simulated PC", () => {
  let sim: SimBackend;
  let arbiter: PciArbiter;
  beforeEach(async () => {
    sim = simMachine();
    arbiter = await PciArbiter.start(
      sim,
      policy([
        { task: "rumpdisk", class: 1, subclass: 6 },
        { task: "viewer", access: "r" },
      ]),
    );
  });
  afterEach(async () => sim.close());

  it("enumerates the host bridge, the LPC bridge and the AHCI controller with their ids", () => {
    const lines = arbiter.functions.map(
      (f) =>
        `${formatBdf(f)} ${(f.deviceClass >> 8).toString(16).padStart(4, "0")}: ${f.vendorId.toString(16)}:${f.deviceId.toString(16)}`,
    );
    const ahci = arbiter.functions.find(
      (f) => f.vendorId === AHCI_VENDOR && f.deviceId === AHCI_DEVICE,
    );
    expect(ahci).toBeDefined();
    expect(ahci!.deviceClass >> 8).toBe(0x0106);
    expect(lines[0]).toMatch(/^00:00\.0 0600: /);
    expect(lines.some((l) => l.startsWith("00:1f.0 0601:"))).toBe(true);
  });

  it("sizes the AHCI's BAR5 (ABAR) by writing all-ones and restores it", async () => {
    const ahci = arbiter.functions.find(
      (f) => f.vendorId === AHCI_VENDOR && f.deviceId === AHCI_DEVICE,
    )!;
    const abar = ahci.regions[5]!;
    expect(abar.size).toBeGreaterThan(0n);
    expect(abar.isIO).toBe(false);
    const cfg = new ConfigAccess(sim);
    const now = await cfg.readValue(ahci, 0x24, 4);
    expect(BigInt(now!) & ~0xfn).toBe(abar.baseAddr);
    // decoding is back on after sizing
    expect(((await cfg.readValue(ahci, 4, 2))! & 2) !== 0 || abar.baseAddr === 0n).toBe(true);
  });

  it("publishes DOMAIN/BUS/DEV/FUNC with config and the regions that have a size", async () => {
    const root = arbiter.fs.protid("viewer");
    const listing = new TextDecoder().decode(must(await arbiter.fs.read(root, 0n, 100n)));
    expect(listing).toBe("0000\n");
    const fn = must(arbiter.fs.lookup(root, "0000/00/1f/2"));
    const names = new TextDecoder()
      .decode(must(await arbiter.fs.read(fn, 0n, 1000n)))
      .trim()
      .split("\n");
    expect(names).toContain("config");
    expect(names).toContain("region5");
    expect(names).not.toContain("region0");
    expect(must(arbiter.fs.lookup(fn, "../../1f/2/config")).node.name).toBe("config");
  });

  it("reads config bytes with io_read and writes them with io_write (serialised)", async () => {
    const disk = arbiter.fs.protid("rumpdisk");
    const config = must(arbiter.fs.lookup(disk, "0000/00/1f/2/config"));
    const head = must(await arbiter.fs.read(config, 0n, 4n));
    expect([head[0]! | (head[1]! << 8), head[2]! | (head[3]! << 8)]).toEqual([
      AHCI_VENDOR,
      AHCI_DEVICE,
    ]);
    const whole = must(await arbiter.fs.read(config, 0n, 4096n));
    expect(whole.length).toBe(256);
    expect(must(await arbiter.fs.read(config, 300n, 4n)).length).toBe(0);
    // interrupt line register (0x3c) is writable; many writers at once see their own values
    const writes = [1, 2, 3, 4, 5].map((v) => arbiter.fs.write(config, 0x3cn, Uint8Array.of(v)));
    expect((await Promise.all(writes)).every((r) => r.ok)).toBe(true);
    expect(must(await arbiter.fs.read(config, 0x3cn, 1n))[0]).toBe(5);
    const reads = await Promise.all(
      Array.from({ length: 8 }, () => arbiter.fs.read(config, 0n, 4n)),
    );
    expect(reads.map((r) => (r.ok ? r.value[0] : -1))).toEqual(Array(8).fill(AHCI_VENDOR & 0xff));
  });

  it("reads the AHCI's registers through region5 (CAP and VS)", async () => {
    const disk = arbiter.fs.protid("rumpdisk");
    const abar = must(arbiter.fs.lookup(disk, "0000/00/1f/2/region5"));
    const vs = must(await arbiter.fs.read(abar, 0x10n, 4n));
    const version = new DataView(vs.buffer).getUint32(0, true);
    expect(version).toBe(0x00010301);
  });

  it("implements pci_conf_read/write, pci_get_ndevs, pci_get_dev_regions and pci_get_dev_rom", async () => {
    const disk = arbiter.fs.protid("rumpdisk");
    const config = must(arbiter.fs.lookup(disk, "0000/00/1f/2/config"));
    expect([...must(await arbiter.confRead(config, 0, 2n))]).toEqual([
      AHCI_VENDOR & 0xff,
      AHCI_VENDOR >> 8,
    ]);
    expect(must(await arbiter.confWrite(config, 0x3c, Uint8Array.of(11)))).toBe(1n);
    expect(must(await arbiter.confRead(config, 0x3c, 1n))[0]).toBe(11);
    const regions = decodePciBars(must(arbiter.getDevRegions(config)))!;
    expect(regions).toHaveLength(6);
    expect(must(arbiter.getDevRegions(config)).length).toBe(6 * PCI_BAR_SIZE);
    const ahci = arbiter.functions.find(
      (f) => f.vendorId === AHCI_VENDOR && f.deviceId === AHCI_DEVICE,
    )!;
    expect(regions[5]).toEqual(ahci.regions[5]);
    expect(must(arbiter.getDevRom(config)).length).toBe(16);
    expect(must(arbiter.getNdevs(arbiter.fs.protid("rumpdisk")))).toBe(1n);
    expect(must(arbiter.getNdevs(arbiter.fs.protid("viewer")))).toBe(
      BigInt(arbiter.functions.length),
    );
    expect(must(arbiter.getNdevs(arbiter.fs.protid("nobody")))).toBe(0n);
    // errors: not the root, not a config node, bad offsets
    const n = arbiter.getNdevs(config);
    expect(n.ok ? 0 : n.code).toBe(EINVAL);
    const bad = await arbiter.confRead(config, 256, 4n);
    expect(bad.ok ? 0 : bad.code).toBe(EINVAL);
    const dir = must(arbiter.fs.lookup(disk, "0000/00"));
    const r = await arbiter.confRead(dir, 0, 4n);
    expect(r.ok ? 0 : r.code).toBe(EINVAL);
  });

  it("refuses tasks the configuration does not name, and writes by read-only grants", async () => {
    const other = arbiter.fs.protid("intruder");
    const open = arbiter.fs.lookup(other, "0000/00/1f/2/config");
    expect(open.ok ? 0 : open.code).toBe(EACCES);
    const fnDir = must(arbiter.fs.lookup(other, "0000/00/1f/2"));
    const r = await arbiter.confRead(fnDir, 0, 4n);
    expect(r.ok ? 0 : r.code).toBe(EACCES);
    // rumpdisk may use the AHCI only
    const host = arbiter.fs.lookup(arbiter.fs.protid("rumpdisk"), "0000/00/00/0/config");
    expect(host.ok ? 0 : host.code).toBe(EACCES);
    // viewer reads everything, writes nothing
    const viewer = must(arbiter.fs.lookup(arbiter.fs.protid("viewer"), "0000/00/1f/2/config"));
    expect(must(await arbiter.fs.read(viewer, 0n, 2n)).length).toBe(2);
    const w = await arbiter.fs.write(viewer, 0x3cn, Uint8Array.of(1));
    expect(w.ok ? 0 : w.code).toBe(EACCES);
    const cw = await arbiter.confWrite(viewer, 0x3c, Uint8Array.of(1));
    expect(cw.ok ? 0 : cw.code).toBe(EACCES);
    // opening for writing needs a read-write grant
    const rw = arbiter.fs.lookup(arbiter.fs.protid("viewer"), "0000/00/1f/2/config", 3);
    expect(rw.ok ? 0 : rw.code).toBe(EACCES);
    expect(arbiter.fs.lookup(arbiter.fs.protid("rumpdisk"), "0000/00/1f/2/config", 3).ok).toBe(
      true,
    );
  });

  it("answers bad names and operations with error values", async () => {
    const root = arbiter.fs.protid("rumpdisk");
    const cases: [string, number][] = [
      ["0001", ENOENT],
      ["0000/00/1f/2/config/x", ENOTDIR],
      ["x".repeat(2000), hurdNameTooLong()],
    ];
    for (const [name, code] of cases) {
      const r = arbiter.fs.lookup(root, name);
      expect(r.ok ? 0 : r.code, name.slice(0, 20)).toBe(code);
    }
    const w = await arbiter.fs.write(root, 0n, Uint8Array.of(1));
    expect(w.ok ? 0 : w.code).toBe(EISDIR);
    const config = must(arbiter.fs.lookup(root, "0000/00/1f/2/config"));
    const neg = await arbiter.fs.read(config, -1n, 4n);
    expect(neg.ok ? 0 : neg.code).toBe(EINVAL);
    const past = await arbiter.fs.write(config, 255n, Uint8Array.of(1, 2));
    expect(past.ok ? 0 : past.code).toBe(EINVAL);
  });
});

function hurdNameTooLong(): number {
  return 0x40000000 | 63;
}

describe("pci-arbiter enumeration through a PCI-to-PCI bridge", () => {
  function machine(writable = true): BridgeMachine {
    const bridge = configSpace(0x8086, 0x244e, 0x060400, 1);
    bridge[0x18] = 0;
    bridge[0x19] = 2; // secondary bus
    bridge[0x1a] = 2;
    const multi = configSpace(0x1234, 0x1111, 0x020000, 0x80);
    return new BridgeMachine(
      new Map([
        ["0:0:0", configSpace(0x8086, 0x29c0, 0x060000)],
        ["0:3:0", bridge],
        ["0:5:0", multi],
        ["0:5:3", configSpace(0x1234, 0x2222, 0x0c0300)],
        ["2:0:0", configSpace(0x1af4, 0x1042, 0x010000)],
        ["2:1:0", configSpace(0x1af4, 0x1041, 0x020000)],
      ]),
      writable,
    );
  }

  it("finds the functions behind the bridge and every function of a multi-function device", async () => {
    const fns = await enumeratePci(new ConfigAccess(machine()));
    expect(fns.map(formatBdf)).toEqual([
      "00:00.0",
      "00:03.0",
      "00:05.0",
      "00:05.3",
      "02:00.0",
      "02:01.0",
    ]);
    const arbiter = await PciArbiter.start(machine(), policy([{ task: "*", access: "r" }]));
    const root = arbiter.fs.protid("anyone");
    expect(must(arbiter.fs.lookup(root, "0000/02/01/0/config")).node.name).toBe("config");
  });

  it("on a read-only machine enumerates without writing and refuses writes with EROFS", async () => {
    const m = machine(false);
    const arbiter = await PciArbiter.start(m, policy([{ task: "t" }]));
    expect(arbiter.functions).toHaveLength(6);
    const config = must(arbiter.fs.lookup(arbiter.fs.protid("t"), "0000/00/05/3/config"));
    const w = await arbiter.fs.write(config, 0x3cn, Uint8Array.of(1));
    expect(w.ok ? 0 : w.code).toBe(EROFS);
    expect(m.log).toEqual([]);
  });
});

describe("BAR and ROM sizing", () => {
  it("decodes and sizes I/O, 32-bit, 64-bit prefetchable BARs and the ROM, and restores them", async () => {
    const cfg = configSpace(0x1234, 0x5678, 0x030000);
    const dv = new DataView(cfg.buffer);
    dv.setUint16(4, 0x0007, true); // command: I/O, memory, bus master
    dv.setUint32(0x10, 0xc001, true); // I/O BAR at 0xc000, 32 ports
    dv.setUint32(0x14, 0xfe000000, true); // 32-bit memory, 16 MiB
    dv.setUint32(0x18, 0x0000000c, true); // 64-bit prefetchable, 4 GiB at 0x8_0000_0000
    dv.setUint32(0x1c, 0x00000008, true);
    dv.setUint32(0x30, 0xfeb00000, true); // ROM, 64 KiB, decode off
    const m = new BridgeMachine(new Map([["0:2:0", cfg]]));
    m.masks.set(
      "0:2:0",
      new Map([
        [0x10, 0xffffffe0],
        [0x14, 0xff000000],
        [0x18, 0x00000000],
        [0x1c, 0xfffffffc],
        [0x20, 0],
        [0x24, 0],
        [0x30, 0xffff0001],
      ]),
    );
    const before = [...cfg];
    const [f] = await enumeratePci(new ConfigAccess(m));
    expect(
      f!.regions.map((r) => [r.index, r.baseAddr, r.size, r.isIO, r.isPrefetchable, r.is64]),
    ).toEqual([
      [0, 0xc000n, 0x20n, true, false, false],
      [1, 0xfe000000n, 0x1000000n, false, false, false],
      [2, 0x8_0000_0000n, 0x4_0000_0000n, false, true, true],
      [3, 0n, 0n, false, false, false],
      [4, 0n, 0n, false, false, false],
      [5, 0n, 0n, false, false, false],
    ]);
    expect(f!.rom).toEqual({ baseAddr: 0xfeb00000n, size: 0x10000n });
    expect([...cfg]).toEqual(before);
    // decoding was off while the BARs held all-ones
    const firstOnes = m.log.findIndex((l) => l === "w 10 ffffffff");
    expect(m.log.slice(0, firstOnes)).toContain("w 4 4");
    const arbiter = await PciArbiter.start(m, policy([{ task: "t" }]));
    const fn = must(arbiter.fs.lookup(arbiter.fs.protid("t"), "0000/00/02/0"));
    const names = new TextDecoder().decode(must(await arbiter.fs.read(fn, 0n, 100n)));
    expect(names).toBe("config\nregion0\nregion1\nregion2\nrom\n");
  });
});

describe("pci-arbiter access configuration", () => {
  it("rejects bad rules with a message naming the field", () => {
    const r = PciAccessPolicy.parse({
      rules: [{ task: "x", dev: 40 }, { bus: 1 }, { task: "y", access: "w" }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join("\n")).toMatch(/rules\.0\.dev/);
    expect(r.errors.join("\n")).toMatch(/rules\.1\.task/);
    expect(r.errors.join("\n")).toMatch(/rules\.2\.access/);
    expect(PciAccessPolicy.parse("nonsense").ok).toBe(false);
  });
});
