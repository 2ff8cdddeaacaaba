// The client side of a tsmach translator: dir_lookup, io_read and io_write through the
// generated stubs, plus reading a whole node and listing a directory (io_read on it).
import { dir_lookup } from "../../../generated/fs.js";
import { io_read, io_write } from "../../../generated/io.js";
import type { MigResult, SendRight, TaskApi } from "../../kernel/mig/index.js";

import { O_READ } from "./translator.js";

export { O_READ, O_WRITE } from "./translator.js";

/** Looks `path` up from `dir`; the result is a send right in `task`'s space. */
export async function lookup(
  task: TaskApi,
  dir: SendRight,
  path: string,
  flags = O_READ,
): Promise<MigResult<SendRight>> {
  const r = await dir_lookup(task, dir, path, flags, 0);
  return r.ok ? { ok: true, value: r.value.result } : r;
}

/** Reads from `offset` until end of file or `limit` bytes, in io_read calls of `chunk` bytes. */
export async function readAll(
  task: TaskApi,
  port: SendRight,
  limit = 1 << 24,
  chunk = 8192,
  offset = 0n,
): Promise<MigResult<Uint8Array>> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const want = Math.min(chunk, limit - total);
    if (want <= 0) break;
    const r = await io_read(task, port, offset + BigInt(total), BigInt(want));
    if (!r.ok) return r;
    if (r.value.data.length === 0) break;
    parts.push(r.value.data);
    total += r.value.data.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { ok: true, value: out };
}

/** The names in a directory (io_read on a directory gives one name per line). */
export async function listDir(task: TaskApi, dir: SendRight): Promise<MigResult<string[]>> {
  const r = await readAll(task, dir, 1 << 20);
  if (!r.ok) return r;
  return {
    ok: true,
    value: new TextDecoder()
      .decode(r.value)
      .split("\n")
      .filter((n) => n.length > 0),
  };
}

/** Writes all of `data` at `offset`; the amount the server wrote. */
export async function writeAt(
  task: TaskApi,
  port: SendRight,
  offset: bigint,
  data: Uint8Array,
): Promise<MigResult<bigint>> {
  const r = await io_write(task, port, data, offset);
  return r.ok ? { ok: true, value: r.value.amount } : r;
}

/** Releases a send right obtained from lookup. */
export async function release(task: TaskApi, port: SendRight): Promise<void> {
  await task.mach_port_deallocate(port);
}
