// Writes in flight on one disk, so that a flush is a barrier: it waits for every write that
// had begun when it arrived before it asks the drive to write its cache back.

export class WriteBarrier {
  private readonly inflight = new Set<Promise<unknown>>();

  /** Runs a write and remembers it until it settles. */
  track<T>(write: Promise<T>): Promise<T> {
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return write;
  }

  /** Resolves once every write begun before this call has settled. */
  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  get pending(): number {
    return this.inflight.size;
  }
}
