// I/O buffers for rumpdisk: DMA-visible memory from the rump kernel (so a transfer needs no
// bounce copy where memory is shared), kept in free lists by power-of-two size and reused.
import type { RumpIoBuffer, RumpKernel } from "../../rump/rump-sys.js";

const MIN_CLASS = 12; // 4 KiB
/** Buffers kept per size class once released. */
const KEEP = 40;
/** DMA memory the pool may hold in all (kept or lent out); beyond it buffers are plain memory. */
const DMA_BUDGET = 8 << 20;

/** A buffer borrowed from the pool: `view` is at least the size asked for. */
export interface IoBuffer {
  readonly view: Uint8Array;
  release(): void;
}

export class IoBufferPool {
  private readonly free = new Map<number, RumpIoBuffer[]>();
  private closed = false;
  /** Bytes of DMA memory allocated and not freed. */
  private held = 0;

  constructor(private readonly rump: RumpKernel) {}

  private static classOf(size: number): number {
    return Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, size))));
  }

  /** A buffer of at least `size` bytes (plain memory when no DMA memory can be had). */
  async get(size: number): Promise<IoBuffer> {
    const cls = IoBufferPool.classOf(size);
    const list = this.free.get(cls) ?? [];
    let b = list.pop();
    if (!b) {
      const plain = () => ({ view: new Uint8Array(size), release: () => undefined });
      if (this.closed || this.held + 2 ** cls > DMA_BUDGET) return plain();
      const r = await this.rump.allocIoBuffer(2 ** cls);
      if (!r.ok) return plain();
      this.held += 2 ** cls;
      b = r.value;
    }
    const got = b;
    let released = false;
    return {
      view: got.view,
      release: () => {
        if (released) return;
        released = true;
        const l = this.free.get(cls) ?? [];
        if (this.closed || l.length >= KEEP) {
          this.held -= 2 ** cls;
          void got.free();
        } else {
          l.push(got);
          this.free.set(cls, l);
        }
      },
    };
  }

  /** Frees every kept buffer; later releases free theirs at once. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [cls, l] of this.free)
      for (const b of l.splice(0)) {
        this.held -= 2 ** cls;
        await b.free();
      }
  }
}
