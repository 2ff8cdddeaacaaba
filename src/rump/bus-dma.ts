// NetBSD's bus_dma discipline over the PCI glue: DMA memory with a local view and a device
// address, and explicit syncs (free where memory is shared, copies where it is remote).
import type { PhysAddr } from "../machine/backend.js";
import { EINVAL, ENOMEM, describeThrown, fail, ok, type RumpResult } from "./errno.js";
import type { DmaRegion, RumpPciUser } from "./pci-user.js";

/** bus_dmamap_sync operations (NetBSD sys/bus.h values). */
export const BUS_DMASYNC_PREREAD = 0x01;
export const BUS_DMASYNC_POSTREAD = 0x02;
export const BUS_DMASYNC_PREWRITE = 0x04;
export const BUS_DMASYNC_POSTWRITE = 0x08;

/** One physically contiguous piece of a DMA map (bus_dma_segment_t). */
export interface BusDmaSegment {
  readonly addr: PhysAddr;
  readonly len: number;
}

/** bus_dmamem_alloc + bus_dmamem_map: device memory and the CPU's view of it. */
export interface BusDmaMemory {
  readonly phys: PhysAddr;
  readonly size: number;
  /** What the CPU reads and writes. On a shared backend, the device memory itself. */
  readonly view: Uint8Array;
  /** True when `view` is the device-visible memory (syncs are free). */
  readonly coherent: boolean;
  readonly region: DmaRegion;
}

export class BusDmaTag {
  constructor(private readonly pci: RumpPciUser) {}

  /** Allocates and maps `size` bytes of DMA-safe memory, zeroed. */
  async dmamemAlloc(size: number, align = 4096): Promise<RumpResult<BusDmaMemory>> {
    if (!Number.isSafeInteger(size) || size <= 0)
      return fail(EINVAL, `bus_dmamem_alloc: bad size ${size}`);
    let region: DmaRegion;
    try {
      region = await this.pci.dmaAlloc(size, align);
    } catch (e) {
      return fail(ENOMEM, `bus_dmamem_alloc of ${size} bytes: ${describeThrown(e)}`);
    }
    const coherent = region.shared !== undefined;
    return ok({
      phys: region.phys,
      size,
      view: region.shared ?? new Uint8Array(size),
      coherent,
      region,
    });
  }

  async dmamemFree(mem: BusDmaMemory): Promise<void> {
    await this.pci.dmaFree(mem.region).catch(() => undefined);
  }

  /**
   * bus_dmamap_sync over [offset, offset+length) of `mem`. PREWRITE pushes the CPU's view to the
   * device, POSTREAD pulls what the device wrote; PREREAD and POSTWRITE need nothing here.
   */
  async sync(mem: BusDmaMemory, offset: number, length: number, ops: number): Promise<void> {
    if (mem.coherent || length <= 0) return;
    if (offset < 0 || offset + length > mem.size)
      throw new RangeError(`bus_dmamap_sync: [${offset}, +${length}) outside ${mem.size} bytes`);
    if (ops & BUS_DMASYNC_PREWRITE)
      await this.pci.dmaWrite(mem.phys + offset, mem.view.subarray(offset, offset + length));
    if (ops & BUS_DMASYNC_POSTREAD)
      mem.view.set(await this.pci.dmaRead(mem.phys + offset, length), offset);
  }

  /**
   * bus_dmamap_load of a caller's buffer without a bounce: possible only when the buffer already
   * lies in device-visible shared memory. Undefined means "use a bounce buffer".
   */
  loadDirect(buf: Uint8Array): BusDmaSegment | undefined {
    const addr = this.pci.physOf(buf);
    return addr === undefined ? undefined : { addr, len: buf.byteLength };
  }
}
