// Asynchronous answers for routines that take their reply port: the server loop goes on
// receiving while the I/O runs (so requests queue in the drive, up to NCQ's 32), and the reply
// is sent when the I/O completes.
import { KERN_SUCCESS, MIG_NO_REPLY, type kern_return_t } from "../../kernel/kern-return.js";
import type { MigReply } from "../../kernel/mig/index.js";
import { D_IO_ERROR } from "../../kernel/devices/device-codes.js";

/**
 * Runs `job` and answers through `reply` when it settles, returning MIG_NO_REPLY at once; with
 * no reply port the job is awaited (the dispatcher then has nobody to answer). A job that
 * throws is answered with D_IO_ERROR. KERN_SUCCESS from a job answers a routine without out
 * arguments. `done` runs once the reply has been encoded and sent (buffers the reply's data
 * came from may be reused from then on).
 */
export function replyLater<T extends object>(
  reply: MigReply<T> | undefined,
  job: () => Promise<T | kern_return_t>,
  done?: () => void,
): Promise<T | kern_return_t> | kern_return_t {
  const run = (): Promise<T | kern_return_t> => job().catch(() => D_IO_ERROR);
  if (!reply) return run().finally(done);
  void run()
    .then((r) => {
      if (typeof r !== "number") return reply.send(r);
      return r === KERN_SUCCESS ? reply.send({} as T) : reply.fail(r);
    })
    .catch(() => undefined)
    .finally(done);
  return MIG_NO_REPLY;
}

/** replyLater for a routine without out arguments: the job's code is the whole answer. */
export function replyLaterStatus(
  reply: MigReply<Record<never, never>> | undefined,
  job: () => Promise<kern_return_t>,
): Promise<kern_return_t> | kern_return_t {
  const r = replyLater<Record<never, never>>(reply, job);
  return typeof r === "number" ? r : r.then((v) => (typeof v === "number" ? v : KERN_SUCCESS));
}
