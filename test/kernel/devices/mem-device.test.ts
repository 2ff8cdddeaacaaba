// The "mem" device alone: which physical ranges device_map accepts (never RAM, never a write on a
// read-only machine), and how accesses of a mapping reach the backend and fail as values.
import { describe, expect, test } from "vitest";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_IO_ERROR,
  D_READ_ONLY,
  D_SUCCESS,
  VM_PROT_READ,
  VM_PROT_WRITE,
} from "../../../src/kernel/devices/device-codes.js";
import { MemDevice } from "../../../src/kernel/devices/mem-device.js";
import { KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE } from "../../../src/kernel/kern-return.js";
import { RSDP_ADDRESS } from "../../../src/machine/acpi-tables.js";
import {
  BackendAccessError,
  type AccessWidth,
  type MachineBackend,
} from "../../../src/machine/backend.js";
import { SimBackend } from "../../../src/machine/sim-backend.js";

/** A machine whose accesses are recorded; RAM below 640 KiB and from 1 MiB to 256 MiB. */
function recordingBackend(writable: boolean) {
  const log: string[] = [];
  const fail = (what: string): never => {
    throw new BackendAccessError("unsupported", what);
  };
  const m: MachineBackend = {
    kind: "host",
    writable,
    portRead: async () => fail("port"),
    portWrite: async () => fail("port"),
    mmioRead: async (addr: number, width: AccessWidth) => {
      log.push(`mmioRead ${addr.toString(16)}/${width}`);
      if (addr === 0xdead0000) throw new Error("bus error");
      return 0x1234;
    },
    mmioWrite: async (addr: number, width: AccessWidth, value: number) => {
      log.push(`mmioWrite ${addr.toString(16)}/${width}=${value.toString(16)}`);
      if (!writable) throw new BackendAccessError("read-only", "read-only machine");
    },
    memRead: async (addr: number, length: number) => {
      log.push(`memRead ${addr.toString(16)}+${length}`);
      return new Uint8Array(length).fill(0xab);
    },
    memWrite: async (addr: number, data: Uint8Array) => {
      log.push(`memWrite ${addr.toString(16)}+${data.length}`);
      if (!writable) throw new BackendAccessError("read-only", "read-only machine");
    },
    ramRanges: () => [
      [0, 0xa0000],
      [0x100000, 0x1000_0000],
    ],
    onInterrupt: () => () => undefined,
    allocDma: async () => fail("dma"),
    freeDma: async () => fail("dma"),
    powerOff: async () => undefined,
    close: async () => undefined,
  };
  return { m, log };
}

describe("the mem device", () => {
  test("refuses every range that touches a page of RAM", () => {
    const mem = new MemDevice(recordingBackend(true).m);
    const R = VM_PROT_READ;
    expect(mem.checkMap(R, 0n, 1n)).toBe(D_INVALID_OPERATION);
    expect(mem.checkMap(R, 0x9ffffn, 1n)).toBe(D_INVALID_OPERATION);
    expect(mem.checkMap(R, 0xa0000n, 0x60000n)).toBe(D_SUCCESS); // the legacy hole and the BIOS area
    expect(mem.checkMap(R, 0xa0000n, 0x60001n)).toBe(D_INVALID_OPERATION); // one byte into RAM
    expect(mem.checkMap(R, 0xfffffn, 2n)).toBe(D_INVALID_OPERATION);
    expect(mem.checkMap(R, 0x0fff_ffffn, 1n)).toBe(D_INVALID_OPERATION);
    expect(mem.checkMap(R, 0x1000_0000n, 0x1000n)).toBe(D_SUCCESS); // above RAM: MMIO
    expect(mem.checkMap(R, 0xfec0_0000n, 0x1000n)).toBe(D_SUCCESS);
  });

  test("bad sizes, offsets and protections", () => {
    const mem = new MemDevice(recordingBackend(true).m);
    expect(mem.checkMap(VM_PROT_READ, 0xe0000n, 0n)).toBe(D_INVALID_SIZE);
    expect(mem.checkMap(VM_PROT_READ, -4096n, 4096n)).toBe(D_INVALID_SIZE);
    expect(mem.checkMap(VM_PROT_READ, 1n << 52n, 4096n)).toBe(D_INVALID_SIZE);
    expect(mem.checkMap(0, 0xe0000n, 4096n)).toBe(D_INVALID_OPERATION);
    expect(mem.checkMap(0x10, 0xe0000n, 4096n)).toBe(D_INVALID_OPERATION);
  });

  test("a read-only machine (the host) maps for reading only", () => {
    const mem = new MemDevice(recordingBackend(false).m);
    expect(mem.checkMap(VM_PROT_READ, 0xe0000n, 4096n)).toBe(D_SUCCESS);
    expect(mem.checkMap(VM_PROT_READ | VM_PROT_WRITE, 0xe0000n, 4096n)).toBe(D_READ_ONLY);
  });

  test("accesses reach the backend at base + offset; errors come back as codes", async () => {
    const { m, log } = recordingBackend(true);
    const mapping = new MemDevice(m).map(VM_PROT_READ | VM_PROT_WRITE, 0xfebf_0000n, 0x1000n);
    expect(await mapping.read(0x10, 4)).toEqual({ ok: true, value: new Uint8Array(4).fill(0xab) });
    expect(await mapping.readRegister(0x24, 4)).toEqual({ ok: true, value: 0x1234 });
    expect(await mapping.writeRegister(0x04, 2, 0x8000)).toEqual({ ok: true, value: 2 });
    expect(await mapping.write(0x100, new Uint8Array(3))).toEqual({ ok: true, value: 3 });
    expect(log).toEqual([
      "memRead febf0010+4",
      "mmioRead febf0024/4",
      "mmioWrite febf0004/2=8000",
      "memWrite febf0100+3",
    ]);
    expect(await mapping.read(0xffc, 8)).toEqual({ ok: false, code: KERN_INVALID_ADDRESS });
    expect(await mapping.readRegister(-4, 4)).toEqual({ ok: false, code: KERN_INVALID_ADDRESS });
    expect(await mapping.readRegister(0x1000, 4)).toEqual({
      ok: false,
      code: KERN_INVALID_ADDRESS,
    });
    expect(await mapping.writeRegister(0x3, 4, 0)).toEqual({
      ok: false,
      code: KERN_INVALID_ADDRESS,
    });
    expect(log).toHaveLength(4);
    const bus = new MemDevice(m).map(VM_PROT_READ, 0xdead0000n, 0x1000n);
    expect(await bus.readRegister(0, 4)).toEqual({ ok: false, code: D_IO_ERROR });
    expect(await bus.writeRegister(0, 4, 1)).toEqual({ ok: false, code: KERN_PROTECTION_FAILURE });
  });

  test("a write the backend refuses as read-only is D_READ_ONLY", async () => {
    const { m } = recordingBackend(false);
    const mapping = new MemDevice(m).map(VM_PROT_READ | VM_PROT_WRITE, 0xe0000n, 0x1000n);
    expect(await mapping.write(0, new Uint8Array(1))).toEqual({ ok: false, code: D_READ_ONLY });
    expect(await mapping.writeRegister(0, 4, 1)).toEqual({ ok: false, code: D_READ_ONLY });
  });

  test("on the simulated PC the BIOS area is also shared memory, where the RSDP is", async () => {
    const r = SimBackend.create({ memory: "16M" });
    if (!r.ok) throw new Error(r.errors[0]!.message);
    const sim = r.value;
    try {
      const mem = new MemDevice(sim);
      expect(mem.checkMap(VM_PROT_READ, 0xe0000n, 0x20000n)).toBe(D_SUCCESS);
      expect(mem.checkMap(VM_PROT_READ, 0x100000n, 0x1000n)).toBe(D_INVALID_OPERATION);
      const bios = mem.map(VM_PROT_READ, 0xe0000n, 0x20000n);
      const view = bios.sharedView()!;
      const at = RSDP_ADDRESS - 0xe0000;
      expect(String.fromCharCode(...view.subarray(at, at + 8))).toBe("RSD PTR ");
      const read = await bios.read(at, 20);
      expect(read.ok && [...read.value]).toEqual([...view.subarray(at, at + 20)]);
      // MMIO far above memory has no shared view.
      expect(mem.map(VM_PROT_READ, 0xfec0_0000n, 0x1000n).sharedView()).toBeUndefined();
    } finally {
      await sim.close();
    }
  });
});
