// rumpdisk's DmaArena.physOf with the kernel's pool attached as a RAM bank: pool views map to
// bank addresses, views outside the bank or of other memory have none, guest RAM is unchanged.
import { describe, expect, it } from "vitest";
import { HIGH_BANK_BASE, MIN_MEMORY, PhysicalMemory } from "../../src/machine/physical-memory.js";
import { DmaArena, type DmaArenaSpec } from "../../src/servers/rumpdisk/dma-arena.js";

const PAGE = 4096;
const RAM_BYTES = 64 * 1024;
const ARENA_PHYS = 16 * 1024;
const ARENA_SIZE = 32 * 1024;
/** The pool's data starts two pages into its buffer, as a pool carved out of a larger one may. */
const POOL_OFFSET = 2 * PAGE;
const POOL_LENGTH = 8 * PAGE;

function setup(withBank = true): {
  arena: DmaArena;
  ram: SharedArrayBuffer;
  pool: SharedArrayBuffer;
} {
  const ram = new SharedArrayBuffer(RAM_BYTES);
  const pool = new SharedArrayBuffer(POOL_OFFSET + POOL_LENGTH + 2 * PAGE);
  const spec: DmaArenaSpec = {
    ram,
    phys: ARENA_PHYS,
    size: ARENA_SIZE,
    ...(withBank
      ? {
          bank: {
            buffer: pool,
            byteOffset: POOL_OFFSET,
            length: POOL_LENGTH,
            phys: HIGH_BANK_BASE,
          },
        }
      : {}),
  };
  return { arena: new DmaArena(spec), ram, pool };
}

describe("DmaArena.physOf with a pool bank", () => {
  it("maps a pool view at data offset N to bank.phys + N, up to the bank's last byte", () => {
    const { arena, pool } = setup();
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET, POOL_LENGTH))).toBe(HIGH_BANK_BASE);
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET, 1))).toBe(HIGH_BANK_BASE);
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET + 3 * PAGE + 24, 512))).toBe(
      HIGH_BANK_BASE + 3 * PAGE + 24,
    );
    const tail = new Uint8Array(pool, POOL_OFFSET + POOL_LENGTH - 100, 100);
    expect(arena.physOf(tail)).toBe(HIGH_BANK_BASE + POOL_LENGTH - 100);
    // A subarray of a pool view is a view of the pool too.
    const region = new Uint8Array(pool, POOL_OFFSET + PAGE, 2 * PAGE);
    expect(arena.physOf(region.subarray(300, 400))).toBe(HIGH_BANK_BASE + PAGE + 300);
  });

  it("gives undefined for pool views before the bank's start or running past its end", () => {
    const { arena, pool } = setup();
    expect(arena.physOf(new Uint8Array(pool, 0, 16))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET - 1, 1))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET - 4, 8))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET + POOL_LENGTH - 4, 5))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET, POOL_LENGTH + 1))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET + POOL_LENGTH, PAGE))).toBeUndefined();
  });

  it("keeps mapping guest RAM inside the arena to its own address, and nothing outside it", async () => {
    const { arena, ram } = setup();
    expect(arena.physOf(new Uint8Array(ram, ARENA_PHYS, ARENA_SIZE))).toBe(ARENA_PHYS);
    expect(arena.physOf(new Uint8Array(ram, ARENA_PHYS + 100, 28))).toBe(ARENA_PHYS + 100);
    expect(arena.physOf(new Uint8Array(ram, ARENA_PHYS - 1, 2))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(ram, ARENA_PHYS + ARENA_SIZE - 1, 2))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(ram, 0, 16))).toBeUndefined();
    const r = await arena.dmaAlloc(1024, 512);
    expect(r.shared).toBeInstanceOf(Uint8Array);
    expect(arena.physOf(r.shared!)).toBe(r.phys);
    expect(r.phys).toBeGreaterThanOrEqual(ARENA_PHYS);
    await arena.dmaFree(r);
  });

  it("gives undefined for views of unrelated memory", () => {
    const { arena } = setup();
    expect(
      arena.physOf(new Uint8Array(new SharedArrayBuffer(POOL_OFFSET + PAGE), POOL_OFFSET, 16)),
    ).toBeUndefined();
    expect(arena.physOf(new Uint8Array(ARENA_PHYS + 64).subarray(ARENA_PHYS))).toBeUndefined();
  });

  it("without a bank, pool views have no physical address", () => {
    const { arena, ram, pool } = setup(false);
    expect(arena.physOf(new Uint8Array(pool, POOL_OFFSET, PAGE))).toBeUndefined();
    expect(arena.physOf(new Uint8Array(ram, ARENA_PHYS, 16))).toBe(ARENA_PHYS);
  });

  it("agrees with PhysicalMemory: the address it gives windows the same bytes", () => {
    const mem = new PhysicalMemory(MIN_MEMORY);
    const pool = new SharedArrayBuffer(POOL_OFFSET + POOL_LENGTH);
    const bankView = new Uint8Array(pool, POOL_OFFSET, POOL_LENGTH);
    expect(mem.attachBank(HIGH_BANK_BASE, bankView)).toBe(true);
    const arena = new DmaArena({
      ram: mem.buffer,
      phys: 0x100000,
      size: 0x10000,
      bank: { buffer: pool, byteOffset: POOL_OFFSET, length: POOL_LENGTH, phys: HIGH_BANK_BASE },
    });
    const v = new Uint8Array(pool, POOL_OFFSET + 5 * PAGE + 64, 256);
    v.forEach((_, i) => (v[i] = (i * 31 + 7) & 0xff));
    const phys = arena.physOf(v);
    expect(phys).toBe(HIGH_BANK_BASE + 5 * PAGE + 64);
    const w = mem.window(phys!, v.length);
    expect(w.buffer).toBe(v.buffer);
    expect(w.byteOffset).toBe(v.byteOffset);
    expect(mem.read32(phys! + 4)).toBe(new DataView(pool).getUint32(v.byteOffset + 4, true));
  });
});
