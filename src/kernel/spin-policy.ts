// Adaptive spin-then-park for a thread waiting on another thread: it spins while spinning pays
// and stops when it does not (on a busy machine a spinner takes the core its peer needs).

/** A spin that stopped paying is retried at full length once every this many waits. */
const PROBE_EVERY = 16;

/**
 * How long the next wait spins before it parks. Each spin that catches what it waited for
 * doubles the budget (up to the maximum); each that does not halves it, down to nothing below
 * an eighth of the maximum. At nothing, one wait in PROBE_EVERY spins fully again, so the
 * policy finds its way back when cores free up.
 */
export class SpinPolicy {
  private budget: number;
  private idle = 0;

  constructor(private readonly maxMs: number) {
    this.budget = Math.max(0, maxMs);
  }

  /** Milliseconds to spin on the coming wait (0: park at once). */
  next(): number {
    if (this.budget > 0) return this.budget;
    if (this.maxMs <= 0) return 0;
    return ++this.idle % PROBE_EVERY === 0 ? this.maxMs : 0;
  }

  /** Records how a spin of `ms` milliseconds ended: with what it waited for, or empty. */
  record(ms: number, paid: boolean): void {
    if (ms <= 0) return;
    if (paid) {
      this.budget = Math.min(this.maxMs, Math.max(ms, this.maxMs / 8) * 2);
      return;
    }
    const half = this.budget / 2;
    this.budget = half < this.maxMs / 8 ? 0 : half;
  }
}
