// The QEMU backend's parts that need no QEMU: the qtest line protocol against a scripted peer,
// the DMA pool's allocation discipline, the parking kernel's Multiboot header, the E820 parser.
import { createServer, Socket, type Server } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { DmaPool } from "../../src/machine/qemu/dma-pool.js";
import { parseMultibootMmap, ramRangesOf } from "../../src/machine/qemu/memory-map.js";
import { buildParkKernel, PARK_LOAD_ADDR } from "../../src/machine/qemu/park-kernel.js";
import { QtestClient, type QtestIrqEvent } from "../../src/machine/qemu/qtest-client.js";

describe("qtest client against a scripted QEMU", () => {
  let dir: string | undefined;
  let server: Server | undefined;

  afterEach(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A peer that answers each command line with reply(line), written in odd-sized pieces. */
  async function peer(reply: (line: string, sock: Socket) => string | undefined) {
    dir = mkdtempSync(join(tmpdir(), "tsmach-qtest-"));
    const path = join(dir, "s");
    const seen: string[] = [];
    server = createServer((sock) => {
      let buf = "";
      sock.setEncoding("latin1");
      sock.on("data", (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          seen.push(line);
          const out = reply(line, sock);
          if (out === undefined) continue;
          for (let i = 0; i < out.length; i += 3) sock.write(out.slice(i, i + 3));
        }
      });
    });
    await new Promise<void>((r) => server!.listen(path, r));
    const sock = new Socket();
    await new Promise<void>((r) => sock.connect(path, r));
    return { client: new QtestClient(sock), seen };
  }

  it("pairs replies with commands in order, with IRQ lines interleaved anywhere", async () => {
    const { client, seen } = await peer((line) => {
      if (line.startsWith("inl")) return "IRQ raise 16\nOK 0x29228086\nIRQ lower 16\n";
      if (line.startsWith("readb")) return "OK 0x00000000000000ab\n";
      if (line.startsWith("b64read")) return `OK ${Buffer.from([1, 2, 3]).toString("base64")}\n`;
      return "OK\n";
    });
    const irqs: QtestIrqEvent[] = [];
    client.onIrq((e) => irqs.push(e));
    const [, v, b, bytes] = await Promise.all([
      client.outl(0xcf8, 0x8000fa00),
      client.inl(0xcfc),
      client.readb(0x1000),
      client.memread(0x2000, 3),
    ]);
    expect(v).toBe(0x29228086);
    expect(b).toBe(0xab);
    expect(Array.from(bytes)).toEqual([1, 2, 3]);
    expect(irqs).toEqual([
      { line: 16, raised: true },
      { line: 16, raised: false },
    ]);
    expect(seen).toEqual([
      "outl 0xcf8 0x8000fa00",
      "inl 0xcfc",
      "readb 0x1000",
      "b64read 0x2000 0x3",
    ]);
    client.close();
  });

  it("turns FAIL and ERR into errors and a closed socket into 'closed'", async () => {
    const { client } = await peer((line, sock) => {
      if (line.startsWith("bogus")) return "FAIL Unknown command 'bogus'\n";
      if (line.startsWith("b64write")) return "ERR invalid argument size\n";
      if (line.startsWith("readl")) {
        sock.destroy();
        return undefined;
      }
      return "OK\n";
    });
    await expect(client.command("bogus")).rejects.toMatchObject({ reason: "unsupported" });
    await expect(client.memwrite(0x1000, new Uint8Array(1))).rejects.toThrow(/invalid argument/);
    await expect(client.readl(0x1000)).rejects.toMatchObject({ reason: "closed" });
    expect(client.closed).toBe(true);
    await expect(client.inb(0x80)).rejects.toMatchObject({ reason: "closed" });
  });

  it("validates arguments before QEMU, which would abort on them, ever sees them", async () => {
    const { client, seen } = await peer(() => "OK\n");
    await expect(client.outb(0x10000, 0)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.outb(0x80, 0x100)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.outw(0x80, -0x8001)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.writel(-1, 0)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.writel(1.5, 0)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.memread(0, -1)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.memread(0, 2 ** 40)).rejects.toMatchObject({ reason: "out-of-range" });
    await expect(client.irqInterceptIn("io apic")).rejects.toMatchObject({
      reason: "out-of-range",
    });
    await expect(client.command("outb 1 2\nquit")).rejects.toMatchObject({
      reason: "out-of-range",
    });
    expect(seen).toEqual([]);
    // Two's complement of a negative dword is what `0x80000000 | x` means; zero-length is a no-op.
    await client.outl(0xcf8, 0x8000_0000 | 0x10);
    await client.memwrite(0x1000, new Uint8Array(0));
    expect(await client.memread(0x1000, 0)).toEqual(new Uint8Array(0));
    expect(seen).toEqual(["outl 0xcf8 0x80000010"]);
    client.close();
  });
});

describe("DMA pool", () => {
  it("hands out aligned, disjoint blocks and gets every byte back", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            len: fc.integer({ min: 1, max: 20_000 }),
            alignLog: fc.integer({ min: 0, max: 12 }),
            free: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        (ops) => {
          const pool = new DmaPool(0x100_0000, 0x100_0000 + (1 << 20));
          const live = new Map<number, number>();
          for (const op of ops) {
            let at: number;
            try {
              at = pool.alloc(op.len, 1 << op.alignLog);
            } catch {
              continue; // full: allowed
            }
            expect(at % (1 << op.alignLog)).toBe(0);
            expect(at).toBeGreaterThanOrEqual(pool.start);
            expect(at + op.len).toBeLessThanOrEqual(pool.end);
            for (const [s, len] of live) expect(at + op.len <= s || at >= s + len).toBe(true);
            live.set(at, op.len);
            if (op.free) {
              pool.release(at);
              live.delete(at);
            }
          }
          for (const s of live.keys()) pool.release(s);
          expect(pool.free).toBe(1 << 20);
          expect(pool.alloc(1 << 20, 1)).toBe(pool.start); // coalesced into one hole again
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses bad sizes, alignments, double frees and exhaustion", () => {
    const pool = new DmaPool(0x1000, 0x3000);
    expect(() => pool.alloc(0)).toThrow(/bad DMA length/);
    expect(() => pool.alloc(16, 3)).toThrow(/power of two/);
    const a = pool.alloc(0x2000, 0x1000);
    expect(() => pool.alloc(1)).toThrow(/out of DMA memory/);
    pool.release(a);
    expect(() => pool.release(a)).toThrow(/not an allocated/);
    expect(() => new DmaPool(10, 5)).toThrow(/bad DMA pool range/);
  });
});

describe("parking kernel and memory map", () => {
  it("is a valid Multiboot image that loads at 1 MiB", () => {
    const img = buildParkKernel();
    const v = new DataView(img.buffer);
    expect(v.getUint32(0, true)).toBe(0x1badb002);
    expect((v.getUint32(0, true) + v.getUint32(4, true) + v.getUint32(8, true)) >>> 0).toBe(0);
    expect(v.getUint32(4, true) & 0x10000).not.toBe(0);
    expect(v.getUint32(16, true)).toBe(PARK_LOAD_ADDR);
    const entry = v.getUint32(28, true) - PARK_LOAD_ADDR;
    expect(entry).toBeGreaterThanOrEqual(32);
    expect(entry).toBeLessThan(img.length);
    expect(v.getUint32(20, true) - PARK_LOAD_ADDR).toBe(img.length);
  });

  it("decodes E820 entries and keeps only RAM", () => {
    const entry = (base: number, len: number, type: number) => {
      const e = new Uint8Array(24);
      const v = new DataView(e.buffer);
      v.setUint32(0, 20, true);
      v.setBigUint64(4, BigInt(base), true);
      v.setBigUint64(12, BigInt(len), true);
      v.setUint32(20, type, true);
      return [...e];
    };
    const bytes = new Uint8Array([
      ...entry(0x100000, 0xff00000, 1),
      ...entry(0, 0x9fc00, 1),
      ...entry(0xfffc0000, 0x40000, 2),
      ...entry(0x5000, 0, 1),
    ]);
    const map = parseMultibootMmap(bytes);
    expect(map).toHaveLength(3);
    expect(ramRangesOf(map)).toEqual([
      [0, 0x9fc00],
      [0x100000, 0x10000000],
    ]);
    expect(parseMultibootMmap(new Uint8Array(10))).toEqual([]);
  });
});
