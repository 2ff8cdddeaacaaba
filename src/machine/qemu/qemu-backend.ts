// MachineBackend over a real QEMU q35 PC: port I/O, MMIO and guest memory through qtest, DMA
// buffers carved from guest RAM, and interrupts intercepted at the IOAPIC.
import {
  BackendAccessError,
  type AccessWidth,
  type BackendKind,
  type MachineBackend,
  type PhysAddr,
} from "../backend.js";
import { DmaPool } from "./dma-pool.js";
import { readMemoryMap, ramRangesOf, type MemoryMapEntry } from "./memory-map.js";
import { readParkedState } from "./park-kernel.js";
import {
  DEFAULT_START_TIMEOUT_MS,
  launchQemu,
  type QemuExit,
  type QemuLaunchOptions,
  type QemuProcess,
} from "./qemu-launcher.js";
import type { QtestClient } from "./qtest-client.js";

/** DMA buffers come from RAM above this address, clear of the parking kernel and its data. */
export const DMA_POOL_FLOOR = 16 << 20;
/** How often the firmware's progress is checked while starting. */
const PARK_POLL_MS = 10;
/** QOM path of the q35's IOAPIC; its 24 inputs are the GSIs. */
const IOAPIC_QOM_PATH = "ioapic";
const IOAPIC_PINS = 24;
/** ICH9 LPC bridge (00:1f.0) register PMBASE, and PM1_CNT's offset in that I/O block. */
const ICH9_LPC_PMBASE = 0x8000_f840;
const PM1_CNT_OFFSET = 4;
/** PM1_CNT.SLP_EN; QEMU's ICH9 powers off for SLP_TYP 0, the value its DSDT gives \_S5. */
const PM1_SLP_EN = 1 << 13;
const POWER_OFF_WAIT_MS = 5_000;

function checkWidth(width: number): asserts width is AccessWidth {
  if (width !== 1 && width !== 2 && width !== 4) {
    throw new BackendAccessError("out-of-range", `access width ${String(width)} is not 1, 2 or 4`);
  }
}

function checkTarget(addr: number, width: AccessWidth, what: string): void {
  if (!Number.isSafeInteger(addr) || addr < 0) {
    throw new BackendAccessError("out-of-range", `bad ${what} ${String(addr)}`);
  }
  if (what === "port" && addr + width > 0x10000) {
    throw new BackendAccessError(
      "out-of-range",
      `port 0x${addr.toString(16)} + ${width} is past 0xffff`,
    );
  }
}

export class QemuBackend implements MachineBackend {
  readonly kind: BackendKind = "qemu";
  readonly writable = true;

  private readonly listeners = new Set<(line: number) => void>();
  private readonly asserted = new Set<number>();
  private readonly dma: DmaPool;
  private readonly ram: [PhysAddr, PhysAddr][];
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly proc: QemuProcess,
    /** The firmware's E820 memory map. */
    readonly memoryMap: readonly MemoryMapEntry[],
  ) {
    this.ram = ramRangesOf(memoryMap);
    // The pool is the largest stretch of RAM above the floor (SeaBIOS keeps its tables in
    // reserved memory, so no RAM range overlaps them).
    const candidates = this.ram
      .map(([s, e]): [number, number] => [Math.max(s, DMA_POOL_FLOOR), e])
      .filter(([s, e]) => e - s >= 1 << 20)
      .sort((a, b) => b[1] - b[0] - (a[1] - a[0]));
    const best = candidates[0];
    if (!best) throw new BackendAccessError("unsupported", "no RAM above 16 MiB for DMA buffers");
    this.dma = new DmaPool(Math.ceil(best[0] / 4096) * 4096, Math.floor(best[1] / 4096) * 4096);
    proc.client.onIrq(({ line, raised }) => {
      if (raised) {
        this.asserted.add(line);
        this.deliver(line);
      } else {
        this.asserted.delete(line);
      }
    });
  }

  /**
   * Start QEMU, let SeaBIOS assign PCI resources and build the ACPI tables, wait for the parking
   * kernel, and take over the IOAPIC's inputs. Rejects with BackendAccessError on any failure,
   * leaving no process behind.
   */
  static async start(options: QemuLaunchOptions = {}): Promise<QemuBackend> {
    const started = Date.now();
    const proc = await launchQemu(options);
    try {
      const timeout = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
      let parked = await readParkedState(proc.client);
      while (!parked) {
        if (Date.now() - started > timeout) {
          throw new BackendAccessError(
            "unsupported",
            `QEMU's firmware did not finish in ${timeout} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, PARK_POLL_MS));
        parked = await readParkedState(proc.client);
      }
      const map = await readMemoryMap(proc.client, parked.multibootInfo);
      await proc.client.irqInterceptIn(IOAPIC_QOM_PATH);
      return new QemuBackend(proc, map);
    } catch (err) {
      await proc.stop();
      if (err instanceof BackendAccessError && err.reason === "closed") {
        throw new BackendAccessError(
          "closed",
          `QEMU stopped while starting: ${proc.diagnostics.trim()}`,
        );
      }
      throw err;
    }
  }

  /** The qtest connection, for callers that need a command this interface does not cover. */
  get qtest(): QtestClient {
    return this.proc.client;
  }

  /** Process id of QEMU (for diagnostics). */
  get pid(): number {
    return this.proc.pid;
  }

  /** The private directory holding the qtest socket; removed by close(). */
  get tempDir(): string {
    return this.proc.tempDir;
  }

  /** Resolves when QEMU has exited, for whatever reason. */
  get exited(): Promise<QemuExit> {
    return this.proc.exited;
  }

  /** Is the interrupt line currently raised (level-triggered lines stay up until serviced)? */
  interruptAsserted(line: number): boolean {
    return this.asserted.has(line);
  }

  async portRead(port: number, width: AccessWidth): Promise<number> {
    checkWidth(width);
    checkTarget(port, width, "port");
    const c = this.proc.client;
    return width === 1 ? c.inb(port) : width === 2 ? c.inw(port) : c.inl(port);
  }

  async portWrite(port: number, width: AccessWidth, value: number): Promise<void> {
    checkWidth(width);
    checkTarget(port, width, "port");
    const c = this.proc.client;
    return width === 1
      ? c.outb(port, value)
      : width === 2
        ? c.outw(port, value)
        : c.outl(port, value);
  }

  async mmioRead(addr: PhysAddr, width: AccessWidth): Promise<number> {
    checkWidth(width);
    checkTarget(addr, width, "address");
    const c = this.proc.client;
    return width === 1 ? c.readb(addr) : width === 2 ? c.readw(addr) : c.readl(addr);
  }

  async mmioWrite(addr: PhysAddr, width: AccessWidth, value: number): Promise<void> {
    checkWidth(width);
    checkTarget(addr, width, "address");
    const c = this.proc.client;
    return width === 1
      ? c.writeb(addr, value)
      : width === 2
        ? c.writew(addr, value)
        : c.writel(addr, value);
  }

  async memRead(addr: PhysAddr, length: number): Promise<Uint8Array> {
    return this.proc.client.memread(addr, length);
  }

  async memWrite(addr: PhysAddr, data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) {
      throw new BackendAccessError("out-of-range", "memWrite takes a Uint8Array");
    }
    return this.proc.client.memwrite(addr, data);
  }

  ramRanges(): readonly (readonly [PhysAddr, PhysAddr])[] {
    return this.ram;
  }

  /** Listeners get the IOAPIC input pin, i.e. the GSI (except the PIT, which arrives as 0). */
  onInterrupt(listener: (line: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * End of interrupt (the kernel's device_intr_ack): a line that is still raised is delivered to
   * the listeners again, as an IOAPIC redelivers a level-triggered line. A qtest round trip first
   * makes sure every "IRQ lower" QEMU sent before now has been seen.
   */
  async endOfInterrupt(line: number): Promise<void> {
    if (!Number.isInteger(line) || line < 0 || line >= IOAPIC_PINS) {
      throw new BackendAccessError("out-of-range", `no interrupt line ${String(line)}`);
    }
    await this.proc.client.command("endianness");
    if (this.asserted.has(line)) this.deliver(line);
  }

  /** Zeroed guest RAM, page-aligned unless told otherwise. */
  async allocDma(length: number, align = 4096): Promise<PhysAddr> {
    if (this.proc.client.closed) throw new BackendAccessError("closed", "QEMU has stopped");
    const addr = this.dma.alloc(length, align);
    try {
      await this.proc.client.memset(addr, length, 0);
    } catch (err) {
      this.dma.release(addr);
      throw err;
    }
    return addr;
  }

  async freeDma(addr: PhysAddr): Promise<void> {
    this.dma.release(addr);
  }

  /**
   * ACPI S5 the way the hardware does it: SLP_EN into the ICH9's PM1_CNT at the PMBASE SeaBIOS
   * programmed. QEMU then exits; the backend is closed afterwards.
   */
  async powerOff(): Promise<void> {
    const c = this.proc.client;
    if (!c.closed) {
      await c.outl(0xcf8, ICH9_LPC_PMBASE);
      const pmbase = (await c.inl(0xcfc)) & 0xff80;
      if (pmbase === 0)
        throw new BackendAccessError("unsupported", "the firmware set no ICH9 PMBASE");
      // QEMU may exit before it answers; the write is what matters.
      await c.outw(pmbase + PM1_CNT_OFFSET, PM1_SLP_EN).catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.proc.exited,
        new Promise((r) => (timer = setTimeout(r, POWER_OFF_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    await this.close();
  }

  /** Call every listener; one that throws is reported as a warning and does not stop the rest. */
  private deliver(line: number): void {
    for (const l of [...this.listeners]) {
      try {
        l(line);
      } catch (err) {
        process.emitWarning(`interrupt listener for line ${line} threw: ${String(err)}`);
      }
    }
  }

  /** Stop QEMU and remove its socket and temporary files; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      await this.proc.stop();
    })();
    return this.closing;
  }
}
