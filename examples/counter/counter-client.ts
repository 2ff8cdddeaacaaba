// The example driver's client: calls the generated stubs of defs/example_counter.defs and turns
// every result (out arguments or error code) into a line of its log.
import { kernReturnName, type SendRight, type TaskApi } from "../../src/kernel/mig/index.js";
import {
  counter_add,
  counter_get,
  counter_history,
  counter_reset,
  counter_set_name,
  counter_wait,
} from "../../generated/example_counter.js";

/** Adds, renames, waits (answered later by the server), resets and reads the history. */
export async function runCounterClient(task: TaskApi, counter: SendRight): Promise<string[]> {
  const log: string[] = [];
  const check = <T>(
    what: string,
    r: { ok: true; value: T } | { ok: false; code: number },
  ): T | undefined => {
    if (!r.ok) log.push(`${what}: ${kernReturnName(r.code)}`);
    return r.ok ? r.value : undefined;
  };
  const waiting = counter_wait(task, counter, 10n); // answered once the counter reaches 10
  for (const delta of [3n, 4n, 5n]) {
    const added = check("counter_add", await counter_add(task, counter, delta));
    if (added) log.push(`added ${delta}: ${added.value}`);
  }
  const waited = check("counter_wait", await waiting);
  if (waited) log.push(`waited for 10: ${waited.value}`);
  check("counter_set_name", await counter_set_name(task, counter, "apples"));
  const got = check("counter_get", await counter_get(task, counter));
  if (got) log.push(`${got.name} = ${got.value}`);
  log.push(`reset sent: ${kernReturnName(await counter_reset(task, counter))}`);
  const history = check("counter_history", await counter_history(task, counter));
  if (history)
    log.push(
      `history: ${Array.from(history.samples).join(" ")}${history.wrapped ? " (wrapped)" : ""}`,
    );
  return log;
}
