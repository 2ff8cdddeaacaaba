// The DMA arena where guest RAM is remote: the boot chain's pager over it (DmaArenaObject), vm_map
// and bulk byte reads and writes of the mapping through the kernel, and rumpdisk's RemoteDmaArena.
import { describe, expect, it } from "vitest";
import { DmaArenaObject } from "../../src/boot/dma-arena-object.js";
import { VM_PROT_READ, VM_PROT_WRITE } from "../../src/kernel/devices/device-codes.js";
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
} from "../../src/kernel/kern-return.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { MACH_MSG_TYPE_COPY_SEND } from "../../src/kernel/msg-type.js";
import type { MachineBackend } from "../../src/machine/backend.js";
import {
  RemoteDmaArena,
  isRemoteDmaArenaSpec,
} from "../../src/servers/rumpdisk/remote-dma-arena.js";

const BASE = 0x100_0000;
const SIZE = 256 * 1024;
const RW = VM_PROT_READ | VM_PROT_WRITE;

/** Guest RAM only the "machine" can reach (as QEMU's over qtest), with a log of the writes. */
function remoteRam() {
  const ram = new Uint8Array(BASE + SIZE);
  const writes: [number, number][] = [];
  const backend = {
    memRead: async (addr: number, n: number) => ram.slice(addr, addr + n),
    memWrite: async (addr: number, data: Uint8Array) => {
      writes.push([addr, data.length]);
      ram.set(data, addr);
    },
  } as unknown as MachineBackend;
  return { ram, writes, backend };
}

async function setup() {
  const m = remoteRam();
  const kernel = new Kernel();
  const boot = kernel.createTask("bootstrap");
  const rd = kernel.createTask("rumpdisk");
  const obj = await DmaArenaObject.create(kernel, boot, m.backend, BASE, SIZE);
  if (!obj) throw new Error("no pager");
  const pager = kernel.giveRight(boot, obj.pager, MACH_MSG_TYPE_COPY_SEND, rd);
  expect(pager.kr).toBe(KERN_SUCCESS);
  return { ...m, kernel, boot, rd, obj, pager: pager.name };
}

describe("the DMA arena's pager", () => {
  it("maps only its range, only for holders of its send right, reads and writes bytes", async () => {
    const s = await setup();
    // Outside the arena, or too much protection: refused.
    expect((await s.rd.vm_map(s.pager, BASE - 4096, SIZE, RW)).kr).toBe(KERN_INVALID_ARGUMENT);
    expect((await s.rd.vm_map(s.pager, BASE, SIZE + 1, RW)).kr).toBe(KERN_INVALID_ARGUMENT);
    expect((await s.rd.vm_map(s.pager, BASE, SIZE, 7)).kr).toBe(KERN_PROTECTION_FAILURE);
    // A task without the right cannot name it.
    const other = s.kernel.createTask("other");
    expect((await other.vm_map(s.pager, BASE, SIZE, RW)).kr).toBe(KERN_INVALID_ARGUMENT);

    const m = await s.rd.vm_map(s.pager, BASE + 4096, 8192, RW);
    expect(m.kr).toBe(KERN_SUCCESS);
    const map = m.mapping!;
    expect(map.shared).toBe(false);
    const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7 + 1) & 0xff);
    expect(await map.writeBytes(100, data)).toBe(KERN_SUCCESS);
    expect(Buffer.from(s.ram.subarray(BASE + 4096 + 100, BASE + 4096 + 3100)).equals(data)).toBe(
      true,
    );
    const back = await map.readBytes(100, 3000);
    expect(back.ok && Buffer.from(back.value).equals(data)).toBe(true);
    // Past the end, and after unmap: KERN_INVALID_ADDRESS, nothing written.
    const n = s.writes.length;
    expect(await map.writeBytes(8000, new Uint8Array(500))).toBe(KERN_INVALID_ADDRESS);
    expect(await map.unmap()).toBe(KERN_SUCCESS);
    expect(await map.writeBytes(0, new Uint8Array(4))).toBe(KERN_INVALID_ADDRESS);
    expect(s.writes.length).toBe(n);

    // A read-only mapping refuses writes.
    const ro = await s.rd.vm_map(s.pager, BASE, 4096, VM_PROT_READ);
    expect(await ro.mapping!.writeBytes(0, new Uint8Array(4))).toBe(KERN_PROTECTION_FAILURE);
    // Once destroyed, the pager maps nothing.
    await s.obj.destroy();
    expect((await s.rd.vm_map(s.pager, BASE, 4096, RW)).kr).not.toBe(KERN_SUCCESS);
  });

  it("the kernel's bulk write keeps the mapping table's checks", async () => {
    const s = await setup();
    const m = await s.rd.vm_map(s.pager, BASE, 8192, RW);
    const id = m.mapping!.id;
    const t = s.kernel.mappings;
    expect(await t.writeBytes(s.rd, id, 0, new Uint8Array([1, 2, 3]))).toBe(KERN_SUCCESS);
    expect([...s.ram.subarray(BASE, BASE + 3)]).toEqual([1, 2, 3]);
    expect(await t.writeBytes(s.rd, id, 8190, new Uint8Array(3))).toBe(KERN_INVALID_ADDRESS);
    expect(await t.writeBytes(s.rd, id, -1, new Uint8Array(3))).toBe(KERN_INVALID_ADDRESS);
    expect(await t.writeBytes(s.rd, id, 0, new Uint8Array(0))).toBe(KERN_INVALID_ADDRESS);
    // Only the task holding the mapping may use it.
    const other = s.kernel.createTask("other");
    expect(await t.writeBytes(other, id, 0, new Uint8Array(3))).toBe(KERN_INVALID_ADDRESS);
    // The mapping dies with its task.
    s.rd.terminate("killed");
    expect(t.count(s.rd)).toBe(0);
  });
});

describe("RemoteDmaArena", () => {
  it("carves the arena, moves bytes only through the mapping, never offers memory in place", async () => {
    const s = await setup();
    const spec = { phys: BASE, size: SIZE, pager: s.pager };
    expect(isRemoteDmaArenaSpec(spec)).toBe(true);
    expect(isRemoteDmaArenaSpec({ phys: BASE, size: 0, pager: 1 })).toBe(false);
    expect(isRemoteDmaArenaSpec({ ram: new SharedArrayBuffer(8), phys: 0, size: 8 })).toBe(false);
    const arena = await RemoteDmaArena.map(s.rd, spec);
    const a = await arena.dmaAlloc(10_000, 4096);
    const b = await arena.dmaAlloc(4096, 4096);
    expect(a.shared).toBeUndefined();
    expect(a.phys % 4096).toBe(0);
    expect(a.phys).toBeGreaterThanOrEqual(BASE);
    expect(b.phys).toBeGreaterThanOrEqual(a.phys + 10_000);
    // Fresh memory is the zeroes the arena was set aside with: nothing to write.
    expect(s.writes.length).toBe(0);
    const data = new Uint8Array(10_000).fill(0xab);
    await arena.dmaWrite(a.phys, data);
    expect(s.ram.subarray(a.phys, a.phys + 10_000).every((x) => x === 0xab)).toBe(true);
    expect((await arena.dmaRead(a.phys + 5, 10)).every((x) => x === 0xab)).toBe(true);
    expect(arena.physOf(data)).toBeUndefined();
    // Outside the arena: an error, not a stray access.
    await expect(arena.dmaRead(BASE + SIZE - 4, 8)).rejects.toThrow(/outside/);
    await expect(arena.dmaWrite(BASE - 1, new Uint8Array(1))).rejects.toThrow(/outside/);
    // Handed out again after a free: zeroed first.
    await arena.dmaFree(a);
    const c = await arena.dmaAlloc(10_000, 4096);
    expect(c.phys).toBe(a.phys);
    expect(s.ram.subarray(c.phys, c.phys + 10_000).every((x) => x === 0)).toBe(true);
    // Too big: a clear error.
    await expect(arena.dmaAlloc(SIZE, 4096)).rejects.toThrow(/no \d+ contiguous bytes/);
  });

  it("a pager the task does not hold: vm_map fails with the kernel's code", async () => {
    const s = await setup();
    await expect(
      RemoteDmaArena.map(s.rd, { phys: BASE, size: SIZE, pager: s.pager + 1000 }),
    ).rejects.toThrow(/vm_map of the DMA arena: KERN_INVALID_ARGUMENT/);
  });
});
