// The simulated PC's interrupt controller, IOAPIC-like: 24 GSI input lines, level or edge,
// masking and remote IRR per line, the IOREGSEL/IOWIN register window, delivery to listeners.
import { dwordRegisters, type RegisterHandler } from "./io-bus.js";

export const IOAPIC_BASE = 0xfec0_0000;
export const IOAPIC_WINDOW = 0x20;
export const IOAPIC_LINES = 24;
/** Version register: 24 redirection entries, version 0x20 (as QEMU's and ICH9's). */
const IOAPIC_VERSION = ((IOAPIC_LINES - 1) << 16) | 0x20;

const RTE_MASKED = 1 << 16;
const RTE_LEVEL = 1 << 15;
const RTE_REMOTE_IRR = 1 << 14;
const RTE_ACTIVE_LOW = 1 << 13;
const RTE_DELIVERY_STATUS = 1 << 12;

export type TriggerMode = "edge" | "level";

interface Line {
  /** Redirection entry, low and high dwords. */
  low: number;
  high: number;
  /** Input asserted (logically; polarity is the wiring's business). */
  asserted: boolean;
  /** Once some listener signals end-of-interrupt on this line, remote IRR gates delivery. */
  eoiInUse: boolean;
}

export class InterruptController {
  private readonly lines: Line[] = [];
  private readonly listeners = new Set<(line: number) => void>();
  private ioregsel = 0;
  /** Deliveries so far per line (for diagnostics and tests). */
  readonly delivered: number[] = new Array<number>(IOAPIC_LINES).fill(0);

  constructor() {
    for (let i = 0; i < IOAPIC_LINES; i++) {
      // As the firmware leaves it: ISA lines edge/active-high, PCI lines 16-23 level/active-low,
      // all unmasked, vectors 0x20 + line.
      const low = i < 16 ? 0x20 + i : (0x20 + i) | RTE_LEVEL | RTE_ACTIVE_LOW;
      this.lines.push({ low, high: 0, asserted: false, eoiInUse: false });
    }
  }

  onInterrupt(listener: (line: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private check(line: number): Line {
    const l = this.lines[line];
    if (!Number.isInteger(line) || !l)
      throw new RangeError(`GSI ${line} does not exist (0..${IOAPIC_LINES - 1})`);
    return l;
  }

  trigger(line: number): TriggerMode {
    return this.check(line).low & RTE_LEVEL ? "level" : "edge";
  }
  setTrigger(line: number, mode: TriggerMode): void {
    const l = this.check(line);
    l.low = mode === "level" ? l.low | RTE_LEVEL : l.low & ~RTE_LEVEL;
  }
  isMasked(line: number): boolean {
    return (this.check(line).low & RTE_MASKED) !== 0;
  }
  isAsserted(line: number): boolean {
    return this.check(line).asserted;
  }

  mask(line: number): void {
    this.check(line).low |= RTE_MASKED;
  }
  /** Unmasking a level line that is still asserted delivers it, as on an IOAPIC. */
  unmask(line: number): void {
    const l = this.check(line);
    l.low &= ~RTE_MASKED;
    if (l.low & RTE_LEVEL && l.asserted && !(l.low & RTE_REMOTE_IRR)) this.deliver(line);
  }

  /** A device drives a line: level devices call this on every change of their output. */
  setLevel(line: number, asserted: boolean): void {
    const l = this.check(line);
    const rising = asserted && !l.asserted;
    l.asserted = asserted;
    if (!rising || l.low & RTE_MASKED) return;
    // Remote IRR only holds back a level line whose listeners do end-of-interrupt.
    if (l.low & RTE_LEVEL && l.eoiInUse && l.low & RTE_REMOTE_IRR) return;
    this.deliver(line);
  }

  /** An edge: a pulse on the line. */
  pulse(line: number): void {
    this.setLevel(line, true);
    this.setLevel(line, false);
  }

  /**
   * End of interrupt for a level-triggered line (the kernel's device_intr_ack): clears remote
   * IRR and delivers again when the line is still asserted, so no level interrupt is lost.
   */
  endOfInterrupt(line: number): void {
    const l = this.check(line);
    l.eoiInUse = true;
    l.low &= ~RTE_REMOTE_IRR;
    if (l.low & RTE_LEVEL && l.asserted && !(l.low & RTE_MASKED)) this.deliver(line);
  }

  private deliver(line: number): void {
    const l = this.lines[line]!;
    if (l.low & RTE_LEVEL) l.low |= RTE_REMOTE_IRR;
    this.delivered[line]!++;
    for (const f of [...this.listeners]) f(line);
  }

  /** The IOREGSEL (0x00) / IOWIN (0x10) window at IOAPIC_BASE. */
  registers(): RegisterHandler {
    return dwordRegisters(
      (off) => {
        if (off === 0x00) return this.ioregsel;
        if (off === 0x10) return this.readIndirect(this.ioregsel);
        return 0;
      },
      (off, value, mask) => {
        if (off === 0x00) this.ioregsel = ((this.ioregsel & ~mask) | (value & mask)) & 0xff;
        else if (off === 0x10) {
          const old = this.readIndirect(this.ioregsel);
          this.writeIndirect(this.ioregsel, ((old & ~mask) | (value & mask)) >>> 0);
        }
      },
    );
  }

  private readIndirect(index: number): number {
    if (index === 0x00) return 0; // IOAPIC id 0
    if (index === 0x01) return IOAPIC_VERSION;
    if (index === 0x02) return 0;
    const n = (index - 0x10) >> 1;
    const l = this.lines[n];
    if (index < 0x10 || !l) return 0;
    if (index & 1) return l.high >>> 0;
    const status = l.asserted && l.low & RTE_MASKED ? RTE_DELIVERY_STATUS : 0;
    return (l.low | status) >>> 0;
  }

  private writeIndirect(index: number, value: number): void {
    const n = (index - 0x10) >> 1;
    const l = this.lines[n];
    if (index < 0x10 || !l) return;
    if (index & 1) {
      l.high = value & 0xff000000;
      return;
    }
    const ro = RTE_REMOTE_IRR | RTE_DELIVERY_STATUS;
    const wasMasked = (l.low & RTE_MASKED) !== 0;
    l.low = ((l.low & ro) | (value & ~ro)) >>> 0;
    if (!(l.low & RTE_LEVEL)) l.low &= ~RTE_REMOTE_IRR;
    if (wasMasked && !(l.low & RTE_MASKED)) this.unmask(n);
  }
}
