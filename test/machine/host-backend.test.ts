// The read-only host backend: config mechanism #1 and ECAM answered from sysfs, compared with
// `lspci -n` on this machine; ACPI tables from /sys/firmware; every write refused.
import { execFileSync } from "node:child_process";
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendAccessError } from "../../src/machine/backend.js";
import { HostBackend } from "../../src/machine/host/host-backend.js";
import { parseIomemRam } from "../../src/machine/host/host-ram.js";
import { need } from "../helpers/tools.js";

const PCI = "/sys/bus/pci/devices";
const ACPI = "/sys/firmware/acpi/tables";

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function pciReadable(): boolean {
  try {
    const names = readdirSync(PCI);
    return names.length > 0 && names.every((n) => readable(join(PCI, n, "config")));
  } catch {
    return false;
  }
}

function acpiReadable(): boolean {
  try {
    const files = readdirSync(ACPI).filter((n) => statSync(join(ACPI, n)).isFile());
    return files.length > 0 && files.every((n) => readable(join(ACPI, n)));
  } catch {
    return false;
  }
}

function skipUnless(ok: boolean, what: string): boolean {
  if (!ok) console.warn(`SKIPPED: ${what} is not readable on this machine`);
  return !ok;
}

async function cf8Read(
  b: HostBackend,
  bus: number,
  dev: number,
  fn: number,
  off: number,
  width: 1 | 2 | 4 = 4,
) {
  await b.portWrite(
    0xcf8,
    4,
    (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | (off & 0xfc)) >>> 0,
  );
  return b.portRead(0xcfc + (off & 3), width);
}

function sum8(bytes: Uint8Array): number {
  return bytes.reduce((s, x) => (s + x) & 0xff, 0);
}

describe.skipIf(!need("lspci") || skipUnless(pciReadable(), PCI))("host PCI over sysfs", () => {
  let b: HostBackend;
  beforeAll(async () => {
    b = await HostBackend.open();
  });
  afterAll(async () => {
    await b?.close();
  });

  it("finds every function lspci -n lists, with the same ids, class and revision", async () => {
    const expected = new Map<string, string>();
    for (const line of execFileSync("lspci", ["-n", "-D"], { encoding: "utf8" }).split("\n")) {
      const m =
        /^0000:([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) ([0-9a-f]{4}): ([0-9a-f]{4}:[0-9a-f]{4})(?: \(rev ([0-9a-f]{2})\))?/.exec(
          line,
        );
      if (m) expected.set(m[1]!, `${m[2]} ${m[3]} rev ${m[4] ?? "00"}`);
    }
    expect(expected.size).toBeGreaterThan(0);
    const seen = new Map<string, string>();
    const hex = (v: number, w: number) => v.toString(16).padStart(w, "0");
    for (let bus = 0; bus < 256; bus++) {
      for (let dev = 0; dev < 32; dev++) {
        for (let fn = 0; fn < 8; fn++) {
          const id = await cf8Read(b, bus, dev, fn, 0);
          if (id === 0xffffffff) continue;
          const cls = await cf8Read(b, bus, dev, fn, 8);
          seen.set(
            `${hex(bus, 2)}:${hex(dev, 2)}.${fn}`,
            `${hex(cls >>> 16, 4)} ${hex(id & 0xffff, 4)}:${hex(id >>> 16, 4)} rev ${hex(cls & 0xff, 2)}`,
          );
        }
      }
    }
    expect(seen).toEqual(expected);
  });

  it("reads bytes and words at every CONFIG_DATA offset consistently with dwords", async () => {
    const fn = b.pciFunctions.find((f) => f.domain === 0)!;
    for (const off of [0, 4, 8, 0x0c]) {
      const dword = await cf8Read(b, fn.bus, fn.device, fn.func, off);
      for (let i = 0; i < 4; i++) {
        expect(await cf8Read(b, fn.bus, fn.device, fn.func, off + i, 1)).toBe(
          (dword >>> (8 * i)) & 0xff,
        );
      }
      expect(await cf8Read(b, fn.bus, fn.device, fn.func, off + 2, 2)).toBe(dword >>> 16);
    }
    const raw = readFileSync(fn.configPath);
    expect(await cf8Read(b, fn.bus, fn.device, fn.func, 0)).toBe(raw.readUInt32LE(0));
  });

  it("answers ECAM reads inside the MCFG window from the same config space", async (ctx) => {
    const w = b.ecamWindows.find((x) => x.segment === 0);
    if (!w) {
      ctx.skip(); // no MCFG table on this host
      return;
    }
    for (const f of b.pciFunctions.filter(
      (x) => x.domain === 0 && x.bus >= w.startBus && x.bus <= w.endBus,
    )) {
      const at = w.base + ((f.bus - w.startBus) << 20) + (f.device << 15) + (f.func << 12);
      expect(await b.mmioRead(at, 4)).toBe(await cf8Read(b, f.bus, f.device, f.func, 0));
      expect(await b.mmioRead(at + 8, 4)).toBe(await cf8Read(b, f.bus, f.device, f.func, 8));
    }
  });

  it("refuses every write, and config space is unchanged afterwards", async () => {
    const fn = b.pciFunctions.find((f) => f.domain === 0)!;
    const before = await cf8Read(b, fn.bus, fn.device, fn.func, 4);
    await expect(b.portWrite(0xcfc, 4, 0)).rejects.toMatchObject({ reason: "read-only" });
    await expect(b.portWrite(0xcfd, 1, 0)).rejects.toMatchObject({ reason: "read-only" });
    await expect(b.portWrite(0x80, 1, 0)).rejects.toMatchObject({ reason: "read-only" });
    await expect(b.mmioWrite(0xfee00000, 4, 0)).rejects.toMatchObject({ reason: "read-only" });
    await expect(b.memWrite(0x1000, new Uint8Array(4))).rejects.toMatchObject({
      reason: "read-only",
    });
    await expect(b.allocDma(4096)).rejects.toMatchObject({ reason: "read-only" });
    await expect(b.freeDma(0x1000)).rejects.toMatchObject({ reason: "read-only" });
    await expect(b.powerOff()).rejects.toMatchObject({ reason: "read-only" });
    expect(b.writable).toBe(false);
    expect(await cf8Read(b, fn.bus, fn.device, fn.func, 4)).toBe(before);
  });

  it("lists the host's RAM, and refuses memory it cannot read", async () => {
    const ram = b.ramRanges();
    expect(ram.length).toBeGreaterThan(0);
    for (const [s, e] of ram) expect(e).toBeGreaterThan(s);
    await expect(b.memRead(0xe0000, 16)).rejects.toMatchObject({ reason: "unsupported" });
    await expect(b.portRead(0x60, 1)).rejects.toMatchObject({ reason: "unsupported" });
  });
});

describe.skipIf(skipUnless(acpiReadable(), ACPI))("host ACPI tables over sysfs", () => {
  it("gives every table with the signature, length and checksum of its file", async () => {
    const b = await HostBackend.open();
    const tables = await b.firmwareTables();
    const files = readdirSync(ACPI).filter((n) => statSync(join(ACPI, n)).isFile());
    expect([...tables.keys()].sort()).toEqual(files.sort());
    for (const name of files) {
      const file = new Uint8Array(readFileSync(join(ACPI, name)));
      const t = tables.get(name)!;
      expect(Buffer.compare(t, file), name).toBe(0);
      const sig = String.fromCharCode(...t.subarray(0, 4));
      expect(name.startsWith(sig), `${name} has signature ${sig}`).toBe(true);
      expect(new DataView(t.buffer, t.byteOffset).getUint32(4, true), name).toBe(file.length);
      if (sig !== "FACS") expect(sum8(t), `${name} checksum`).toBe(0);
    }
    expect(tables.has("DSDT")).toBe(true);
    expect(tables.has("FACP")).toBe(true);
    await b.close();
    await expect(b.firmwareTables()).rejects.toMatchObject({ reason: "closed" });
  });
});

describe("host backend over a fabricated sysfs tree", () => {
  let root: string;
  let b: HostBackend;

  function config(size: number, vendor: number, device: number, cls: number): Uint8Array {
    const c = new Uint8Array(size);
    const v = new DataView(c.buffer);
    v.setUint16(0, vendor, true);
    v.setUint16(2, device, true);
    v.setUint32(8, cls, true);
    if (size > 0x40) c[0x40] = 0x77;
    return c;
  }

  function table(sig: string, body: number[]): Uint8Array {
    const t = new Uint8Array(36 + body.length);
    t.set(
      [...sig].map((ch) => ch.charCodeAt(0)),
      0,
    );
    new DataView(t.buffer).setUint32(4, t.length, true);
    t.set(body, 36);
    t[9] = (256 - sum8(t)) & 0xff;
    return t;
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "tsmach-host-test-"));
    const dev = (name: string, bytes: Uint8Array) => {
      mkdirSync(join(root, "pci", name), { recursive: true });
      writeFileSync(join(root, "pci", name, "config"), bytes);
    };
    dev("0000:00:00.0", config(256, 0x8086, 0x29c0, 0x06000002));
    dev("0000:00:1f.2", config(64, 0x8086, 0x2922, 0x01060102)); // as an unprivileged reader sees it
    dev("0000:02:03.1", config(4096, 0x1af4, 0x1042, 0x01800001));
    dev("0001:00:00.0", config(256, 0x1234, 0x5678, 0x02000000)); // segment 1: not on mechanism #1
    mkdirSync(join(root, "pci", "not-a-device"));
    mkdirSync(join(root, "acpi", "dynamic"), { recursive: true });
    const mcfgBody = new Array<number>(8 + 16).fill(0);
    [0x00, 0x00, 0x00, 0xb0].forEach((x, i) => (mcfgBody[8 + i] = x)); // base address
    mcfgBody[8 + 10] = 0; // start bus
    mcfgBody[8 + 11] = 3; // end bus
    writeFileSync(join(root, "acpi", "MCFG"), table("MCFG", mcfgBody));
    writeFileSync(join(root, "acpi", "SSDT1"), table("SSDT", [1, 2, 3]));
    writeFileSync(join(root, "acpi", "SSDT2"), table("SSDT", [4]));
    writeFileSync(
      join(root, "iomem"),
      "00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n00100000-3fffffff : System RAM\n  01000000-01ffffff : Kernel code\n",
    );
    b = await HostBackend.open({
      pciDevices: join(root, "pci"),
      acpiTables: join(root, "acpi"),
      iomem: join(root, "iomem"),
      memmap: join(root, "none"),
    });
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("decodes CONFIG_ADDRESS and CONFIG_DATA like the hardware", async () => {
    expect(await cf8Read(b, 0, 0, 0, 0)).toBe(0x29c08086);
    expect(await cf8Read(b, 0, 0, 0, 2, 2)).toBe(0x29c0);
    expect(await cf8Read(b, 0, 0, 0, 0x0b, 1)).toBe(0x06);
    expect(await cf8Read(b, 2, 3, 1, 8)).toBe(0x01800001);
    expect(await cf8Read(b, 0, 31, 2, 0x40)).toBe(0xffffffff); // past the 64 readable bytes
    expect(await cf8Read(b, 0, 31, 2, 8)).toBe(0x01060102);
    expect(await cf8Read(b, 0, 1, 0, 0)).toBe(0xffffffff); // nothing there
    expect(await cf8Read(b, 0, 1, 0, 0, 1)).toBe(0xff);
    // Enable bit clear: the data port reads all ones; CONFIG_ADDRESS reads back as written.
    await b.portWrite(0xcf8, 4, 0x0000_0000);
    expect(await b.portRead(0xcfc, 4)).toBe(0xffffffff);
    await b.portWrite(0xcf8, 4, 0x8000_0008);
    expect(await b.portRead(0xcf8, 4)).toBe(0x8000_0008);
    expect(b.pciFunctions.map((f) => f.configPath.split("/").at(-2))).toEqual([
      "0000:00:00.0",
      "0000:00:1f.2",
      "0000:02:03.1",
      "0001:00:00.0",
    ]);
  });

  it("answers ECAM reads from MCFG's window, including extended config space", async () => {
    expect(b.ecamWindows).toEqual([{ base: 0xb000_0000, segment: 0, startBus: 0, endBus: 3 }]);
    expect(await b.mmioRead(0xb000_0000, 4)).toBe(0x29c08086);
    expect(await b.mmioRead(0xb000_0000 + (2 << 20) + (3 << 15) + (1 << 12) + 0x40, 1)).toBe(0x77);
    expect(await b.mmioRead(0xb000_0000 + (2 << 20) + (3 << 15) + (1 << 12) + 0x800, 4)).toBe(0);
    expect(await b.mmioRead(0xb000_0000 + (1 << 20), 4)).toBe(0xffffffff);
    await expect(b.mmioRead(0xb040_0000, 4)).rejects.toMatchObject({ reason: "unsupported" });
    await expect(b.mmioRead(0xb000_0001, 4)).rejects.toMatchObject({ reason: "unsupported" });
  });

  it("keys several tables of one signature by file name and skips subdirectories", async () => {
    const t = await b.firmwareTables();
    expect([...t.keys()]).toEqual(["MCFG", "SSDT1", "SSDT2"]);
    expect(sum8(t.get("SSDT2")!)).toBe(0);
  });

  it("reads RAM ranges from iomem", () => {
    expect(b.ramRanges()).toEqual([
      [0x1000, 0xa0000 - 0x400],
      [0x100000, 0x40000000],
    ]);
    expect(parseIomemRam("00000000-00000000 : System RAM\n")).toEqual([[0, 1]]);
  });

  it("rejects bad arguments and everything after close", async () => {
    await expect(b.portRead(0x10000, 1)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.portRead(0xcfc, 3 as 4)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.portWrite(0xcf8, 4, 2 ** 32)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.portRead(0xcfe, 4)).rejects.toMatchObject({ reason: "unsupported" });
    await expect(b.mmioRead(-1, 4)).rejects.toBeInstanceOf(BackendAccessError);
    await expect(HostBackend.open({ pciDevices: join(root, "missing") })).rejects.toMatchObject({
      reason: "unsupported",
    });
    await b.close();
    await expect(b.portRead(0xcfc, 4)).rejects.toMatchObject({ reason: "closed" });
  });
});
