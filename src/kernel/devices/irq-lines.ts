// The bookkeeping of the "irq" device, as gnumach's device/intr.c keeps it: handlers per interrupt
// line, a per-line disable depth (masked until every notified handler acknowledges) and pending counts.
import { KERN_INVALID_ARGUMENT } from "../kern-return.js";
import {
  D_ALREADY_OPEN,
  D_INVALID_OPERATION,
  D_SUCCESS,
  type io_return_t,
} from "./device-codes.js";

/** What the irq bookkeeping needs from the kernel around it. */
export interface IrqHost<K> {
  /**
   * Sends device_intr_notify(line) to the handler; false when its port is dead (the handler is
   * then dropped, as gnumach's user_irq_handler drops a handler it cannot deliver to).
   */
  notify(handler: K, line: number): boolean;
  /**
   * The line is unmasked again (every notification acknowledged): end of interrupt. Returns true
   * when the machine itself delivers again an interrupt still asserted (an IOAPIC's level lines
   * after EOI); false when it cannot, and an interrupt that came while masked is replayed here.
   */
  unmasked(line: number): boolean;
}

interface Handler<K> {
  readonly key: K;
  readonly line: number;
  /** Notifications sent and not acknowledged yet (gnumach's n_unacked). */
  pending: number;
  /** Notifications sent in all (for portinfo-style listings). */
  delivered: number;
}

interface Line<K> {
  readonly handlers: Handler<K>[];
  /** How many unacknowledged notifications hold the line masked (gnumach's disable depth). */
  depth: number;
  /** The line fired while masked; replayed on unmasking unless the machine re-delivers itself. */
  missed: boolean;
  /** The line fired with no handler; a handler registered later gets an end of interrupt first. */
  stale: boolean;
  notified: number;
}

/** A snapshot of one line, for tests and listings. */
export interface IrqLineState {
  readonly line: number;
  readonly masked: boolean;
  readonly depth: number;
  readonly handlers: number;
  /** Notifications sent on this line so far. */
  readonly notified: number;
}

export class IrqLines<K> {
  private readonly lines: Line<K>[] = [];
  private readonly byKey = new Map<K, Handler<K>>();

  constructor(
    readonly lineCount: number,
    private readonly host: IrqHost<K>,
  ) {
    for (let i = 0; i < lineCount; i++)
      this.lines.push({ handlers: [], depth: 0, missed: false, stale: false, notified: 0 });
  }

  private lineOf(line: number): Line<K> | undefined {
    return Number.isInteger(line) && line >= 0 ? this.lines[line] : undefined;
  }

  /**
   * device_intr_register: `key` wants a notification each time `line` fires. Lines are shared:
   * any number of handlers may register for one line. A key serves one line only (gnumach finds
   * a handler by its port); registering it again is D_ALREADY_OPEN.
   */
  register(line: number, key: K): io_return_t {
    const l = this.lineOf(line);
    if (!l) return D_INVALID_OPERATION;
    if (this.byKey.has(key)) return D_ALREADY_OPEN;
    const h: Handler<K> = { key, line, pending: 0, delivered: 0 };
    l.handlers.push(h);
    this.byKey.set(key, h);
    if (l.stale && l.depth === 0) {
      // An interrupt came in before anyone listened: let a line still asserted come again.
      l.stale = false;
      this.host.unmasked(line);
    }
    return D_SUCCESS;
  }

  /**
   * The line fired. Each handler gets a notification and the line stays masked until each has
   * acknowledged it. Returns how many handlers were notified.
   */
  fire(line: number): number {
    const l = this.lineOf(line);
    if (!l) return 0;
    if (l.depth > 0) {
      l.missed = true;
      return 0;
    }
    let sent = 0;
    for (const h of [...l.handlers]) {
      l.depth++;
      h.pending++;
      if (this.host.notify(h.key, line)) {
        h.delivered++;
        l.notified++;
        sent++;
      } else {
        l.depth--;
        h.pending--;
        this.drop(h);
      }
    }
    if (l.handlers.length === 0) l.stale = true;
    else if (sent === 0 && l.depth === 0) this.host.unmasked(line);
    return sent;
  }

  /**
   * device_intr_ack: the handler has dealt with one notification. KERN_INVALID_ARGUMENT for a
   * port that registered nothing, D_INVALID_OPERATION when it has nothing pending.
   */
  ack(key: K): io_return_t {
    const h = this.byKey.get(key);
    if (!h) return KERN_INVALID_ARGUMENT;
    if (h.pending === 0) return D_INVALID_OPERATION;
    h.pending--;
    this.enable(h.line);
    return D_SUCCESS;
  }

  /** The handler's port died (or it unregistered): its pending notifications count as acknowledged. */
  remove(key: K): boolean {
    const h = this.byKey.get(key);
    if (!h) return false;
    this.drop(h);
    return true;
  }

  private drop(h: Handler<K>): void {
    const l = this.lines[h.line]!;
    this.byKey.delete(h.key);
    const i = l.handlers.indexOf(h);
    if (i >= 0) l.handlers.splice(i, 1);
    while (h.pending > 0) {
      h.pending--;
      this.enable(h.line);
    }
  }

  /** One notification of `line` is settled; the last one unmasks the line. */
  private enable(line: number): void {
    const l = this.lines[line]!;
    if (l.depth === 0) return;
    l.depth--;
    if (l.depth > 0) return;
    const redelivers = this.host.unmasked(line);
    if (l.missed) {
      l.missed = false;
      if (!redelivers) this.fire(line);
    }
  }

  has(key: K): boolean {
    return this.byKey.has(key);
  }

  /** Unacknowledged notifications of one handler (0 when unknown). */
  pending(key: K): number {
    return this.byKey.get(key)?.pending ?? 0;
  }

  /** The line a handler listens on. */
  lineOfHandler(key: K): number | undefined {
    return this.byKey.get(key)?.line;
  }

  isMasked(line: number): boolean {
    return (this.lineOf(line)?.depth ?? 0) > 0;
  }

  state(line: number): IrqLineState | undefined {
    const l = this.lineOf(line);
    return (
      l && {
        line,
        masked: l.depth > 0,
        depth: l.depth,
        handlers: l.handlers.length,
        notified: l.notified,
      }
    );
  }

  /** Every handler key, for cleanup. */
  keys(): K[] {
    return [...this.byKey.keys()];
  }
}
