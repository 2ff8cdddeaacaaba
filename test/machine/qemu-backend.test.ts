// The QEMU backend against a real q35 PC: PCI config space through 0xCF8/0xCFC, guest memory,
// SeaBIOS's ACPI tables in the BIOS area, the ICH9 AHCI's registers, DMA and its interrupt.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendAccessError } from "../../src/machine/backend.js";
import { QemuBackend } from "../../src/machine/qemu/qemu-backend.js";
import { need } from "../helpers/tools.js";

const DISK_SECTORS = 8192; // 4 MiB

/** Running (a zombie waiting for its reaper is not). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

async function configRead(b: QemuBackend, bdf: [number, number, number], off: number) {
  const [bus, dev, fn] = bdf;
  await b.portWrite(0xcf8, 4, (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | off) >>> 0);
  return b.portRead(0xcfc, 4);
}

async function configWrite(b: QemuBackend, bdf: [number, number, number], off: number, v: number) {
  const [bus, dev, fn] = bdf;
  await b.portWrite(0xcf8, 4, (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | off) >>> 0);
  await b.portWrite(0xcfc, 4, v);
}

function sum8(bytes: Uint8Array): number {
  return bytes.reduce((s, x) => (s + x) & 0xff, 0);
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

describe.skipIf(!need("qemu"))("QEMU q35 over qtest", () => {
  let b: QemuBackend;
  let dir: string;
  const early: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsmach-qemu-test-"));
    const disk = new Uint8Array(DISK_SECTORS * 512);
    for (let i = 0; i < disk.length; i++) disk[i] = (i * 13 + (i >> 9)) & 0xff;
    writeFileSync(join(dir, "disk.img"), disk);
    b = await QemuBackend.start({ disk: join(dir, "disk.img") });
    b.onInterrupt((line) => early.push(line));
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("enumerates the q35's functions through 0xCF8/0xCFC", async () => {
    const found = new Map<string, { id: string; cls: string; progIf: number }>();
    for (let dev = 0; dev < 32; dev++) {
      for (let fn = 0; fn < 8; fn++) {
        const id = await configRead(b, [0, dev, fn], 0);
        if (id === 0xffffffff) {
          if (fn === 0) break;
          continue;
        }
        const cls = await configRead(b, [0, dev, fn], 8);
        const key = `00:${dev.toString(16).padStart(2, "0")}.${fn}`;
        const hex = (v: number) => v.toString(16).padStart(4, "0");
        found.set(key, {
          id: `${hex(id & 0xffff)}:${hex(id >>> 16)}`,
          cls: hex(cls >>> 16),
          progIf: (cls >>> 8) & 0xff,
        });
      }
    }
    expect(found.get("00:1f.2")).toEqual({ id: "8086:2922", cls: "0106", progIf: 1 });
    expect(found.get("00:00.0")).toMatchObject({ id: "8086:29c0", cls: "0600" });
    expect(found.get("00:1f.0")).toMatchObject({ id: "8086:2918", cls: "0601" });
    expect(found.get("00:1f.3")).toMatchObject({ id: "8086:2930", cls: "0c05" });
    // The LPC bridge is multi-function, so functions 1-7 of device 31 were probed.
    expect((await configRead(b, [0, 31, 0], 0x0c)) & 0x0080_0000).not.toBe(0);
    // Writing config space works: SeaBIOS assigned BAR5, and sizing it shows 8 KiB... or more.
    const bar5 = await configRead(b, [0, 31, 2], 0x24);
    expect(bar5).toBeGreaterThan(0);
    await configWrite(b, [0, 31, 2], 0x24, 0xffffffff);
    const size = (~((await configRead(b, [0, 31, 2], 0x24)) & ~0xf) >>> 0) + 1;
    await configWrite(b, [0, 31, 2], 0x24, bar5);
    expect(size).toBeGreaterThanOrEqual(0x1000);
    expect(await configRead(b, [0, 31, 2], 0x24)).toBe(bar5);
  });

  it("round-trips guest memory through DMA buffers and MMIO-width accesses", async () => {
    const a = await b.allocDma(100_000, 4096);
    expect(a % 4096).toBe(0);
    const inRam = b.ramRanges().some(([s, e]) => a >= s && a + 100_000 <= e);
    expect(inRam).toBe(true);
    expect(await b.memRead(a, 64)).toEqual(new Uint8Array(64)); // zeroed on allocation
    const data = new Uint8Array(100_000).map((_, i) => (i * 31 + 7) & 0xff);
    await b.memWrite(a, data); // more than one qtest write chunk
    expect(Buffer.compare(await b.memRead(a, data.length), data)).toBe(0);
    await b.mmioWrite(a + 8, 4, 0xdeadbeef);
    await b.mmioWrite(a + 12, 2, 0xcafe);
    await b.mmioWrite(a + 14, 1, 0x5a);
    expect(await b.mmioRead(a + 8, 4)).toBe(0xdeadbeef);
    expect(Array.from(await b.memRead(a + 8, 7))).toEqual([
      0xef, 0xbe, 0xad, 0xde, 0xfe, 0xca, 0x5a,
    ]);
    const other = await b.allocDma(4096);
    expect(other >= a + 100_000 || other + 4096 <= a).toBe(true);
    await b.freeDma(a);
    await b.freeDma(other);
    await expect(b.freeDma(a)).rejects.toBeInstanceOf(BackendAccessError);
  });

  it("finds SeaBIOS's RSDP in the BIOS area and walks its tables", async () => {
    const bios = await b.memRead(0xe0000, 0x20000);
    let rsdpAt = -1;
    for (let off = 0; off + 20 <= bios.length; off += 16) {
      if (
        ascii(bios.subarray(off, off + 8)) === "RSD PTR " &&
        sum8(bios.subarray(off, off + 20)) === 0
      ) {
        rsdpAt = off;
        break;
      }
    }
    expect(rsdpAt).toBeGreaterThanOrEqual(0);
    const rsdp = bios.subarray(rsdpAt, rsdpAt + 36);
    const rv = new DataView(rsdp.buffer, rsdp.byteOffset, 36);
    const revision = rsdp[15]!;
    let root: number;
    let entrySize: number;
    if (revision >= 2 && rv.getBigUint64(24, true) !== 0n) {
      expect(sum8(rsdp.subarray(0, rv.getUint32(20, true)))).toBe(0);
      root = Number(rv.getBigUint64(24, true));
      entrySize = 8;
    } else {
      root = rv.getUint32(16, true);
      entrySize = 4;
    }
    const readTable = async (addr: number) => {
      const head = await b.memRead(addr, 8);
      const len = new DataView(head.buffer).getUint32(4, true);
      expect(len).toBeGreaterThanOrEqual(36);
      const t = await b.memRead(addr, len);
      expect(sum8(t)).toBe(0);
      return t;
    };
    const rootTable = await readTable(root);
    expect(ascii(rootTable.subarray(0, 4))).toBe(entrySize === 8 ? "XSDT" : "RSDT");
    const rtv = new DataView(rootTable.buffer);
    const sigs = new Map<string, Uint8Array>();
    for (let off = 36; off + entrySize <= rootTable.length; off += entrySize) {
      const addr = entrySize === 8 ? Number(rtv.getBigUint64(off, true)) : rtv.getUint32(off, true);
      const t = await readTable(addr);
      sigs.set(ascii(t.subarray(0, 4)), t);
    }
    for (const s of ["FACP", "APIC", "HPET", "MCFG", "WAET"]) expect(sigs.has(s), s).toBe(true);
    const fadt = sigs.get("FACP")!;
    const fv = new DataView(fadt.buffer);
    const xdsdt = fadt.length >= 148 ? Number(fv.getBigUint64(140, true)) : 0;
    const dsdt = await readTable(xdsdt || fv.getUint32(40, true));
    expect(ascii(dsdt.subarray(0, 4))).toBe("DSDT");
    // ACPI tables live in reserved memory, not in the RAM the `mem` device must refuse.
    const inRam = (a: number) => b.ramRanges().some(([s, e]) => a >= s && a < e);
    expect(inRam(root)).toBe(false);
    expect(inRam(0xe0000 + rsdpAt)).toBe(false);
  });

  it("reads the AHCI's CAP, VS and PI through BAR5", async () => {
    const abar = ((await configRead(b, [0, 31, 2], 0x24)) & ~0xf) >>> 0;
    const cap = await b.mmioRead(abar + 0x00, 4);
    const vs = await b.mmioRead(abar + 0x10, 4);
    const pi = await b.mmioRead(abar + 0x0c, 4);
    expect([0x10000, 0x10100, 0x10200, 0x10300, 0x10301]).toContain(vs);
    expect((cap & 0x1f) + 1).toBe(6); // NP: the ICH9 has six ports
    expect(((cap >>> 8) & 0x1f) + 1).toBe(32); // NCS: 32 command slots
    expect(cap & (1 << 30)).not.toBe(0); // SNCQ
    expect(pi).toBe(0x3f);
    const ssts = (port: number) => b.mmioRead(abar + 0x100 + port * 0x80 + 0x28, 4);
    expect((await ssts(0)) & 0xf).toBe(3); // our disk: device present, link up
    expect((await ssts(1)) & 0xf).toBe(0); // nothing on port 1
  });

  it("delivers the AHCI's interrupt at the IOAPIC after a DMA IDENTIFY", async () => {
    const ahci: [number, number, number] = [0, 31, 2];
    const abar = ((await configRead(b, ahci, 0x24)) & ~0xf) >>> 0;
    const cmd = await configRead(b, ahci, 0x04);
    await configWrite(b, ahci, 0x04, (cmd & 0xffff) | 0x6); // memory space, bus master
    const p0 = abar + 0x100;
    const r = (o: number) => b.mmioRead(o, 4);
    const w = (o: number, v: number) => b.mmioWrite(o, 4, v);
    const until = async (what: string, f: () => Promise<boolean>) => {
      const end = Date.now() + 5000;
      while (!(await f())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      }
    };

    await w(abar + 0x04, 0x8000_0000); // GHC.AE
    await w(p0 + 0x18, (await r(p0 + 0x18)) & ~0x11); // stop: ST and FRE off
    await until("port idle", async () => ((await r(p0 + 0x18)) & 0xc000) === 0);
    const clb = await b.allocDma(1024, 1024);
    const fb = await b.allocDma(256, 256);
    const ctba = await b.allocDma(256, 128);
    const buf = await b.allocDma(512, 2);
    await w(p0 + 0x00, clb);
    await w(p0 + 0x04, 0);
    await w(p0 + 0x08, fb);
    await w(p0 + 0x0c, 0);
    await w(p0 + 0x14, 0); // PxIE off while the port comes up
    await w(p0 + 0x18, (await r(p0 + 0x18)) | 0x10); // FRE
    await w(p0 + 0x30, 0xffffffff); // PxSERR
    await w(p0 + 0x10, 0xffffffff); // PxIS
    await w(abar + 0x08, 0xffffffff); // IS
    await w(p0 + 0x14, 0x0000_00ff); // PxIE: D2H, PIO setup, DMA setup, ...
    await w(p0 + 0x18, (await r(p0 + 0x18)) | 0x01); // ST
    await w(abar + 0x04, 0x8000_0002); // GHC.AE | GHC.IE

    // Command header 0: 5-dword FIS, one PRD; command table: H2D IDENTIFY DEVICE.
    const hdr = new Uint8Array(32);
    const hv = new DataView(hdr.buffer);
    hv.setUint32(0, (1 << 16) | 5, true);
    hv.setUint32(8, ctba, true);
    await b.memWrite(clb, hdr);
    const table = new Uint8Array(0x90);
    table.set([0x27, 0x80, 0xec, 0x00], 0);
    const tv = new DataView(table.buffer);
    tv.setUint32(0x80, buf, true);
    tv.setUint32(0x8c, (1 << 31) | 511, true);
    await b.memWrite(ctba, table);

    const raised = new Promise<number>((res) => {
      const off = b.onInterrupt((line) => {
        off();
        res(line);
      });
    });
    // Nothing interrupted before (SeaBIOS's PIT ticks were silenced by the parking kernel).
    expect(early).toEqual([]);
    await w(p0 + 0x38, 1); // PxCI: issue slot 0
    let timer: NodeJS.Timeout | undefined;
    const line = await Promise.race([
      raised,
      new Promise<number>((_, rej) => {
        timer = setTimeout(() => rej(new Error("no interrupt within 5 s")), 5000);
      }),
    ]);
    clearTimeout(timer);
    // The ICH9 routes 00:1f.2 INTA through D31IR to a PIRQ; in APIC mode PIRQn is GSI 16+n.
    const rcba = ((await configRead(b, [0, 31, 0], 0xf0)) & ~0x3fff) >>> 0;
    const pirq = (await b.mmioRead(rcba + 0x3140, 2)) & 0x7;
    expect(line).toBe(16 + pirq);
    expect(b.interruptAsserted(line)).toBe(true);
    await until("command completion", async () => ((await r(p0 + 0x38)) & 1) === 0);
    expect((await r(abar + 0x08)) & 1).toBe(1); // IS: port 0

    const id = await b.memRead(buf, 512);
    const word = (i: number) => id[i * 2]! | (id[i * 2 + 1]! << 8);
    let model = "";
    for (let i = 27; i <= 46; i++) model += String.fromCharCode(word(i) >> 8, word(i) & 0xff);
    expect(model.trim()).toBe("QEMU HARDDISK");
    const lba48 = word(100) + word(101) * 0x10000 + word(102) * 0x1_0000_0000;
    expect(lba48).toBe(DISK_SECTORS);

    // End of interrupt while the HBA still asserts the line: it is delivered again.
    const again: number[] = [];
    const off = b.onInterrupt((l) => again.push(l));
    await b.endOfInterrupt(line);
    expect(again).toEqual([line]);
    // Acknowledging at the HBA lowers the level-triggered line; then nothing is redelivered.
    await w(p0 + 0x10, await r(p0 + 0x10));
    await w(abar + 0x08, 1);
    expect(b.interruptAsserted(line)).toBe(false);
    await b.endOfInterrupt(line);
    expect(again).toEqual([line]);
    off();
    await expect(b.endOfInterrupt(24)).rejects.toMatchObject({ reason: "out-of-range" });
  });

  it("refuses bad accesses with clear errors and keeps running", async () => {
    await expect(b.portRead(0x10000, 1)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.portRead(0xfffe, 4)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.mmioRead(-4, 4)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.mmioRead(0x1000, 3 as 4)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.portWrite(0x80, 1, 0x100)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.memRead(0x1000, -1)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.memRead(0.5, 1)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.allocDma(0)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.allocDma(4096, 3)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.allocDma(1 << 30)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(b.qtest.command("no_such_command")).rejects.toMatchObject({
      reason: "unsupported",
    });
    await expect(b.qtest.command("outb 0x80\n0x1")).rejects.toMatchObject({
      reason: "out-of-range",
    });
    expect(await configRead(b, [0, 31, 2], 0)).toBe(0x29228086);
  });

  it("powers off through ACPI S5 and leaves no process or socket", async () => {
    const pid = b.pid;
    const sock = b.qtest;
    expect(isAlive(pid)).toBe(true);
    await b.powerOff();
    const exit = await b.exited;
    expect(exit.code).toBe(0); // QEMU's own orderly exit on the guest's S5 request
    expect(isAlive(pid)).toBe(false);
    expect(sock.closed).toBe(true);
    await expect(b.portRead(0xcfc, 4)).rejects.toMatchObject({ reason: "closed" });
  });
});

describe.skipIf(!need("qemu"))("QEMU lifecycle", () => {
  it("close() kills QEMU and removes its temporary directory", async () => {
    const b = await QemuBackend.start({ memoryMiB: 128 });
    const pid = b.pid;
    const tmp = b.tempDir;
    expect(existsSync(tmp)).toBe(true);
    expect(b.ramRanges().at(-1)![1]).toBeLessThanOrEqual(128 << 20);
    await b.close();
    await b.close(); // idempotent
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(tmp)).toBe(false);
  });

  // The launcher relies on util-linux's setpriv for the parent-death signal.
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].some((p) => existsSync(p));
  if (!setpriv) console.warn("SKIPPED: needs setpriv (Debian package util-linux)");
  it.skipIf(!setpriv)(
    "QEMU dies with the Node process that started it, even on SIGKILL",
    async () => {
      const script = [
        `import { QemuBackend } from ${JSON.stringify(new URL("../../src/machine/qemu/qemu-backend.js", import.meta.url).href)};`,
        "const b = await QemuBackend.start({ memoryMiB: 64 });",
        "console.log(`qemu ${b.pid} ${b.tempDir}`);",
        "setInterval(() => {}, 1000);",
      ].join("\n");
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        {
          cwd: new URL("../..", import.meta.url).pathname,
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const line = await new Promise<string>((res, rej) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) res(out);
        });
        child.once("exit", (code) => rej(new Error(`child exited (${code}) before starting QEMU`)));
      });
      const [, pidText, tmp] = /^qemu (\d+) (\S+)/.exec(line)!;
      const pid = Number(pidText);
      expect(isAlive(pid)).toBe(true);
      child.kill("SIGKILL");
      const end = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(isAlive(pid)).toBe(false);
      // Its directory outlives it, and the next launch attempt sweeps it away.
      expect(existsSync(tmp!)).toBe(true);
      await new Promise((r) =>
        child.exitCode === null && child.signalCode === null ? child.once("exit", r) : r(0),
      );
      await expect(QemuBackend.start({ binary: "/nonexistent/qemu" })).rejects.toThrow(/not found/);
      expect(existsSync(tmp!)).toBe(false);
    },
    30_000,
  );

  it("rejects bad options and missing disks without starting anything", async () => {
    await expect(QemuBackend.start({ memoryMiB: 1 })).rejects.toMatchObject({
      reason: "out-of-range",
    });
    await expect(QemuBackend.start({ disk: "/nonexistent/disk.img" })).rejects.toThrow(
      /not a file/,
    );
    await expect(QemuBackend.start({ binary: "/nonexistent/qemu" })).rejects.toMatchObject({
      reason: "unsupported",
    });
    await expect(
      QemuBackend.start({ extraArgs: ["-device", "no-such-device"], startTimeoutMs: 10_000 }),
    ).rejects.toThrow(/no-such-device/);
  });
});
