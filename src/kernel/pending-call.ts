// A task's blocked calls (sends waiting on a full queue, receives waiting for a message), kept
// in an intrusive list so that blocking and waking allocate nothing; the task's death cancels them.

/** A blocked call: linked into its task's PendingCalls while it waits. */
export abstract class PendingCall {
  /** The list holding this call, or null once it has left it. */
  pendingList: PendingCalls | null = null;
  prevPending: PendingCall | null = null;
  nextPending: PendingCall | null = null;
  /** Fails the call (the task died). */
  abstract cancel(): void;
}

/** The blocked calls of one task, in no particular order. */
export class PendingCalls {
  private head: PendingCall | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(call: PendingCall): void {
    if (call.pendingList) call.pendingList.delete(call);
    call.pendingList = this;
    call.prevPending = null;
    call.nextPending = this.head;
    if (this.head) this.head.prevPending = call;
    this.head = call;
    this.count++;
  }

  /** Unlinks `call`; nothing happens if it is not in this list. */
  delete(call: PendingCall): void {
    if (call.pendingList !== this) return;
    const { prevPending: prev, nextPending: next } = call;
    if (prev) prev.nextPending = next;
    else this.head = next;
    if (next) next.prevPending = prev;
    call.pendingList = null;
    call.prevPending = null;
    call.nextPending = null;
    this.count--;
  }

  has(call: PendingCall): boolean {
    return call.pendingList === this;
  }

  /** Cancels every call, each after it has left the list. */
  cancelAll(): void {
    for (let c = this.head; c; c = this.head) {
      this.delete(c);
      c.cancel();
    }
  }
}
