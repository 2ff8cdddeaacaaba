// Boot servers as tasks: the same main in a worker (behind its start gate) or in this thread,
// and the boot's wait for a server to serve, which ends with an error value, never a hang.
import { describe, expect, it } from "vitest";
import { loadServerTask, whenServing } from "../../src/boot/server-task.js";
import { Kernel } from "../../src/kernel/kernel.js";

const ACPI_TASK = new URL("../../src/servers/acpi/acpi-task.js", import.meta.url);

describe("boot server tasks", () => {
  it("reports a server that ends before serving, or never serves, as an error value", async () => {
    const kernel = new Kernel();
    const boot = kernel.createTask("bootstrap");
    const quits = await loadServerTask(kernel, boot, {
      name: "quitter",
      module: ACPI_TASK,
      main: async () => undefined,
      isolate: false,
      prepare: () => ({}),
    });
    if (!quits.ok) throw new Error(quits.error);
    await quits.value.start();
    const never = new Promise<boolean>(() => undefined);
    expect(await whenServing(quits.value.server, () => never)).toEqual({
      ok: false,
      error: "quitter: ended (exited) before serving",
    });
    const sleeps = await loadServerTask(kernel, boot, {
      name: "sleeper",
      module: ACPI_TASK,
      main: () => new Promise<void>(() => undefined),
      isolate: false,
      prepare: () => ({}),
    });
    if (!sleeps.ok) throw new Error(sleeps.error);
    await sleeps.value.start();
    expect(await whenServing(sleeps.value.server, () => never, 50)).toEqual({
      ok: false,
      error: "sleeper: not serving after 50 ms",
    });
    await sleeps.value.server.kill();
    expect(await sleeps.value.server.ended).toBe("killed");
    // In-thread servers need their main.
    const none = await loadServerTask(kernel, boot, {
      name: "x",
      module: ACPI_TASK,
      isolate: false,
      prepare: () => ({}),
    });
    expect(none.ok).toBe(false);
  });

  it("holds an isolated server at its gate until started; bad arguments end it there", async () => {
    const kernel = new Kernel();
    const boot = kernel.createTask("bootstrap");
    const t = await loadServerTask(kernel, boot, {
      name: "acpi",
      module: ACPI_TASK,
      isolate: true,
      prepare: () => ({ master: "not a port" }),
    });
    if (!t.ok) throw new Error(t.error);
    expect(t.value.server.mode).toBe("isolated");
    // Loaded, waiting at the gate: alive until started.
    const early = await Promise.race([
      t.value.server.ended,
      new Promise<string>((r) => setTimeout(() => r("waiting"), 1500)),
    ]);
    expect(early).toBe("waiting");
    expect(t.value.server.task.alive).toBe(true);
    await t.value.start();
    expect(await t.value.server.ended).toMatch(/^(threw|crashed)/);
    expect(t.value.server.task.alive).toBe(false);
  }, 30_000);
});
