// Command slot allocation for one AHCI port: up to 32 slots, queued commands (NCQ, tag = slot)
// share the port while a non-queued command runs alone, in arrival order; recovery blocks it.
import { ENXIO, fail, type RumpError } from "../errno.js";

interface Waiter {
  ncq: boolean;
  grant(slot: number): void;
  refuse(e: RumpError): void;
}

export class SlotQueue {
  private free: number;
  private ncqActive = 0;
  private exclusive = false;
  private blocked = false;
  private dead: RumpError | undefined;
  private waiters: Waiter[] = [];

  /**
   * @param slots command slots the HBA has (CAP.NCS + 1)
   * @param ncqDepth queued commands the device accepts (tags 0..depth-1)
   */
  constructor(
    readonly slots: number,
    private ncqDepth: number,
  ) {
    this.free = slots >= 32 ? 0xffffffff : (1 << slots) - 1;
  }

  setNcqDepth(depth: number): void {
    this.ncqDepth = Math.max(1, Math.min(depth, this.slots));
    this.pump();
  }

  /** Slots in use. */
  get busy(): number {
    const all = this.slots >= 32 ? 0xffffffff : (1 << this.slots) - 1;
    return (all & ~this.free) >>> 0;
  }

  /** Waits for a slot; `front` puts the request ahead of others (a retry after recovery). */
  acquire(ncq: boolean, front = false): Promise<number | RumpError> {
    if (this.dead) return Promise.resolve(this.dead);
    return new Promise((resolve) => {
      const w: Waiter = { ncq, grant: resolve, refuse: resolve };
      if (front) this.waiters.unshift(w);
      else this.waiters.push(w);
      this.pump();
    });
  }

  release(slot: number, ncq: boolean): void {
    this.free = (this.free | (1 << slot)) >>> 0;
    if (ncq) this.ncqActive--;
    else this.exclusive = false;
    this.pump();
  }

  block(): void {
    this.blocked = true;
  }

  unblock(): void {
    this.blocked = false;
    this.pump();
  }

  /** The port is gone: every waiter and every later request gets `e`. */
  kill(e: RumpError = fail(ENXIO, "the port is gone")): void {
    this.dead = e;
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.refuse(e);
  }

  private take(mask: number): number | undefined {
    const avail = (this.free & mask) >>> 0;
    if (!avail) return undefined;
    const slot = 31 - Math.clz32(avail & -avail);
    this.free = (this.free & ~(1 << slot)) >>> 0;
    return slot;
  }

  private pump(): void {
    while (this.waiters.length && !this.blocked && !this.dead) {
      const head = this.waiters[0]!;
      let slot: number | undefined;
      if (head.ncq) {
        if (this.exclusive) break;
        const tags = this.ncqDepth >= 32 ? 0xffffffff : (1 << this.ncqDepth) - 1;
        slot = this.take(tags);
        if (slot === undefined) break;
        this.ncqActive++;
      } else {
        if (this.exclusive || this.ncqActive > 0) break;
        slot = this.take(0xffffffff);
        if (slot === undefined) break;
        this.exclusive = true;
      }
      this.waiters.shift();
      head.grant(slot);
    }
  }
}
