// Out-of-line memory for rumpdisk's replies: regions a drive reads into, left unzeroed and
// sealed (zeroed past the data) before they are sent, and a small reserve of vm_allocate'd
// regions, refilled in the background, for the replies the MIG server encodes itself.
import { KERN_SUCCESS, type kern_return_t } from "../../kernel/kern-return.js";
import type { TaskApi } from "../../kernel/mig/index.js";
import { zeroFill } from "../../kernel/zero-fill.js";

/** A region taken for a device to fill (ReplyRegionReserve.take). */
export interface FillRegion {
  /** The first `size` bytes: where the device writes. */
  readonly view: Uint8Array;
  /** The region's address (vm_deallocate it if it is not sent). */
  readonly address: number;
  /**
   * Zeroes the region past its first `n` bytes (what the device did not write: a short
   * transfer, the rest of the last page) and returns a view of those `n` bytes, to be sent.
   */
  seal(n: number): Uint8Array;
}

/** Regions kept per size class; classes are powers of two from 4 KiB. */
const MIN_CLASS = 12;
const MAX_CLASS = 21; // 2 MiB: bigger replies allocate on demand
/** Reserve depth per class: more for small reads (deep queues), fewer for big ones. */
const depthOf = (cls: number) => (cls <= 16 ? 8 : 2);

const classOf = (size: number) => Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, size))));

/**
 * A reserve of zero-filled regions of `task`, handed out by vm_allocate (it stands in for the
 * task's own) and refilled after each one taken. A class fills only once it has been asked
 * for, so a server that sends no out-of-line data holds nothing.
 */
export class ReplyRegionReserve {
  private readonly kept = new Map<number, number[]>();
  private readonly filling = new Set<number>();
  private closed = false;

  constructor(private readonly task: TaskApi) {}

  /** vm_allocate from the reserve when it has a region of the size's class, else the kernel's. */
  async allocate(size: number): Promise<{ kr: kern_return_t; address: number }> {
    if (this.closed || !Number.isSafeInteger(size) || size <= 0 || classOf(size) > MAX_CLASS)
      return this.task.vm_allocate(size);
    const cls = classOf(size);
    const address = this.kept.get(cls)?.pop();
    this.refill(cls);
    if (address !== undefined) return { kr: KERN_SUCCESS, address };
    return this.task.vm_allocate(2 ** cls);
  }

  /**
   * A region of at least `size` bytes for a device to fill, as a view of its first `size` bytes
   * (give it back with vm_deallocate of `address`), or undefined when none can be had. Where
   * the task offers vm_allocate_nozero, the region is not zero-filled: the fill overwrites it,
   * and `seal(n)` zeroes the rest of the region past the n bytes written before it is sent.
   */
  async take(size: number): Promise<FillRegion | undefined> {
    const nozero = this.task.vm_allocate_nozero;
    const r =
      nozero && !this.closed && Number.isSafeInteger(size) && size > 0
        ? await nozero.call(this.task, size)
        : await this.allocate(size);
    if (r.kr !== KERN_SUCCESS) return undefined;
    const region = this.task.vm_region(r.address);
    if (region && region.length >= size)
      return {
        view: region.subarray(0, size),
        address: r.address,
        seal: (n) => {
          const written = Math.max(0, Math.min(n, size));
          zeroFill(region, written);
          return region.subarray(0, written);
        },
      };
    await this.task.vm_deallocate(r.address);
    return undefined;
  }

  /** Regions kept now (diagnostics, tests). */
  get size(): number {
    let n = 0;
    for (const l of this.kept.values()) n += l.length;
    return n;
  }

  private refill(cls: number): void {
    if (this.filling.has(cls) || this.closed) return;
    this.filling.add(cls);
    void (async () => {
      try {
        // Not now: the caller's I/O goes first, the refill (zero-filling a region) after it.
        await new Promise((r) => setImmediate(r));
        const list = this.kept.get(cls) ?? [];
        this.kept.set(cls, list);
        while (!this.closed && list.length < depthOf(cls)) {
          const r = await this.task.vm_allocate(2 ** cls);
          if (r.kr !== KERN_SUCCESS) return;
          if (this.closed) {
            await this.task.vm_deallocate(r.address);
            return;
          }
          list.push(r.address);
        }
      } finally {
        this.filling.delete(cls);
      }
    })();
  }

  /** Gives every kept region back. */
  async close(): Promise<void> {
    this.closed = true;
    for (const l of this.kept.values())
      for (const a of l.splice(0)) await this.task.vm_deallocate(a);
  }

  /**
   * `task` as the MIG server should see it: the same task, whose vm_allocate is this reserve's.
   * Every other call goes to `task` itself.
   */
  serverTask(): TaskApi {
    const task = this.task;
    const allocate = (size: number) => this.allocate(size);
    return new Proxy(task, {
      get(target, key) {
        if (key === "vm_allocate") return allocate;
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}
