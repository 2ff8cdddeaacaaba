// Sector-range locks for writes: a read-modify-write of a partial sector must not interleave
// with another write to that sector; writes to disjoint ranges run in parallel.

interface Held {
  start: number;
  end: number;
}

export class RangeLock {
  private held: Held[] = [];
  private waiters: { r: Held; go: () => void }[] = [];

  private free(r: Held): boolean {
    return !this.held.some((h) => h.start < r.end && r.start < h.end);
  }

  /** Locks sectors [start, end); resolves to the release function. */
  async lock(start: number, end: number): Promise<() => void> {
    const r = { start, end };
    if (this.free(r) && !this.waiters.length) this.held.push(r);
    else await new Promise<void>((go) => this.waiters.push({ r, go }));
    return () => {
      this.held = this.held.filter((h) => h !== r);
      this.wake();
    };
  }

  /** Grants waiting ranges in arrival order, stopping at the first that still overlaps. */
  private wake(): void {
    while (this.waiters.length && this.free(this.waiters[0]!.r)) {
      const w = this.waiters.shift()!;
      this.held.push(w.r);
      w.go();
    }
  }
}
