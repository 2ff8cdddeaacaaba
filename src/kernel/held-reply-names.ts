// The lane reply names a server task holds: virtual send-once rights to a client's reply port,
// one per request taken from a lane, each gone when its reply is sent or it is made real.
//
// A name comes from a 24-bit counter in the lane name range, so a name is not soon reused. The
// table is open, indexed by the name's low bits and doubled before it is half full: taking and
// answering a request touch one slot and allocate nothing (a Map churned by a new key per
// request rebuilt its table every few requests: about 0.5 us of a null round trip).
import { LANE_NAME_BASE } from "./fast-lane.js";

const COUNTER_MASK = 0xffffff;
/** At most this many held at once (half the counter's range, so add() always finds one). */
const MAX_HELD = 1 << 23;

export class HeldReplyNames<T> {
  private names = new Int32Array(64);
  private values: (T | undefined)[] = new Array<T | undefined>(64).fill(undefined);
  private mask = 63;
  private counter = 0;
  private count = 0;

  /** How many names are held. */
  get size(): number {
    return this.count;
  }

  /** A new name, held for `value` until delete(). */
  add(value: T): number {
    if (this.count >= MAX_HELD) throw new RangeError(`more than ${MAX_HELD} lane reply names held`);
    if (2 * (this.count + 1) > this.names.length) this.grow();
    for (;;) {
      this.counter = (this.counter + 1) & COUNTER_MASK;
      if (this.counter === 0) continue;
      const name = (LANE_NAME_BASE | this.counter) >>> 0;
      const i = name & this.mask;
      if (this.names[i] !== 0) continue;
      this.names[i] = name | 0;
      this.values[i] = value;
      this.count++;
      return name;
    }
  }

  /** What `name` is held for, or undefined when it is not held. */
  get(name: number): T | undefined {
    const i = name & this.mask;
    return this.names[i] === (name | 0) && name !== 0 ? this.values[i] : undefined;
  }

  has(name: number): boolean {
    return this.get(name) !== undefined;
  }

  /** Gives `name` up; false when it was not held. */
  delete(name: number): boolean {
    const i = name & this.mask;
    if (name === 0 || this.names[i] !== (name | 0)) return false;
    this.names[i] = 0;
    this.values[i] = undefined;
    this.count--;
    return true;
  }

  /** The names held (a copy). */
  keys(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.names.length; i++)
      if (this.names[i] !== 0) out.push(this.names[i]! >>> 0);
    return out;
  }

  /** Twice the slots; a name's slot is its low bits, so names that were apart stay apart. */
  private grow(): void {
    const names = this.names;
    const values = this.values;
    const size = names.length * 2;
    this.names = new Int32Array(size);
    this.values = new Array<T | undefined>(size).fill(undefined);
    this.mask = size - 1;
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      if (n === 0) continue;
      this.names[n & this.mask] = n;
      this.values[n & this.mask] = values[i];
    }
  }
}
