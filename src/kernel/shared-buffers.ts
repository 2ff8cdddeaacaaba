// How the kernel hands shared memory (the time page, the simulated PC's memory) to an isolated
// task: each SharedArrayBuffer goes once over a message port beside the channels, under a number
// that system-call replies then name. The worker waits for a number it has not received yet.
import type { MessagePort } from "node:worker_threads";

/** A buffer on its way to a worker. */
interface SharedBufferMessage {
  readonly id: number;
  readonly buffer: SharedArrayBuffer;
}

function isSharedBufferMessage(m: unknown): m is SharedBufferMessage {
  return (
    typeof m === "object" &&
    m !== null &&
    typeof (m as { id?: unknown }).id === "number" &&
    (m as { buffer?: unknown }).buffer instanceof SharedArrayBuffer
  );
}

/** The kernel's end: numbers each buffer once per task and sends it the first time. */
export class SharedBufferOutbox {
  private readonly ids = new Map<SharedArrayBuffer, number>();
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.unref();
  }

  /** The buffer's number for this task (sending the buffer first if the task lacks it); 0 when closed. */
  share(buffer: SharedArrayBuffer): number {
    if (this.closed) return 0;
    let id = this.ids.get(buffer);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(buffer, id);
      const m: SharedBufferMessage = { id, buffer };
      this.port.postMessage(m);
    }
    return id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ids.clear();
    this.port.close();
  }
}

/** The worker's end: the buffers received so far, and waits for those still on their way. */
export class SharedBufferInbox {
  private readonly buffers = new Map<number, SharedArrayBuffer>();
  private readonly waiters = new Map<number, ((b: SharedArrayBuffer | undefined) => void)[]>();

  constructor(private readonly port: MessagePort) {
    port.on("message", (m: unknown) => {
      if (!isSharedBufferMessage(m)) return;
      this.buffers.set(m.id, m.buffer);
      const w = this.waiters.get(m.id);
      this.waiters.delete(m.id);
      for (const f of w ?? []) f(m.buffer);
      if (this.waiters.size === 0) port.unref();
    });
    port.unref();
  }

  /** Buffer `id`, waiting up to `timeoutMs` for it to arrive; undefined if it never does. */
  get(id: number, timeoutMs = 10_000): Promise<SharedArrayBuffer | undefined> {
    const have = this.buffers.get(id);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      this.waiters.set(id, list);
      // While a buffer is awaited the port keeps the worker alive.
      this.port.ref();
      const timer = setTimeout(() => {
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.waiters.delete(id);
        if (this.waiters.size === 0) this.port.unref();
        resolve(undefined);
      }, timeoutMs);
      const done = (b: SharedArrayBuffer | undefined): void => {
        clearTimeout(timer);
        resolve(b);
      };
      list.push(done);
    });
  }
}
