// Conformance of the generated client stubs with GNU MIG: the request bytes a TypeScript stub
// sends equal those GNU MIG 1.8's C user stub sends for the same arguments (gcc-built, recorded).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import { MACH_PORT_RIGHT_RECEIVE, MACH_PORT_TYPE_RECEIVE } from "../../src/kernel/port-right.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import { MACH_SEND_INVALID_DEST } from "../../src/kernel/kern-return.js";
import { asSendRight, type SendRight } from "../../src/kernel/mig/index.js";
import type { Task } from "../../src/kernel/task.js";
import { GNUMACH_INCLUDE, need } from "../helpers/tools.js";
import { generateInto, importModule, recordingTask } from "./gen-support.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/gnu-user");
/** Port names the C run uses (calls.c, recorder.c). */
const C_NAMES = { device: 7, master: 5, task: 9, reply: 0x77 };

type Stub = (...args: unknown[]) => Promise<{ ok: boolean; code?: number }>;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

describe.skipIf(!need("mig", "gnumach", "gcc"))(
  "generated client stubs send GNU MIG's bytes",
  () => {
    let dir: string;
    let reference: Map<string, Uint8Array>;
    let device: Record<string, Stub>;
    let machPort: Record<string, Stub>;
    const kernel = new Kernel();
    let task: Task;
    let names: { device: SendRight; master: SendRight; task: SendRight };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "tsmig-stub-bytes-"));
      const mig = (defs: string, base: string) =>
        execFileSync("x86_64-gnu-mig", [
          "-D__x86_64__",
          "-D__LP64__",
          `-I${GNUMACH_INCLUDE}`,
          join(GNUMACH_INCLUDE, defs),
          "-user",
          join(dir, `${base}_User.c`),
          "-header",
          join(dir, `${base}.h`),
          "-server",
          "/dev/null",
          "-sheader",
          "/dev/null",
        ]);
      mig("device/device.defs", "device");
      mig("mach/mach_port.defs", "mach_port");
      const exe = join(dir, "calls");
      // Zero-initialised locals make the header's padding bytes deterministic, as the runtime's are.
      execFileSync("gcc", [
        "-ftrivial-auto-var-init=zero",
        "-w",
        `-I${dir}`,
        `-I${FIXTURES}`,
        "-o",
        exe,
        join(dir, "device_User.c"),
        join(dir, "mach_port_User.c"),
        join(FIXTURES, "calls.c"),
        join(FIXTURES, "recorder.c"),
      ]);
      reference = new Map();
      for (const line of execFileSync(exe, { encoding: "utf8" }).trim().split("\n")) {
        const [label, bytes] = line.split(" ");
        reference.set(label!, Buffer.from(bytes!, "hex"));
      }
      const gen = join(dir, "ts");
      device = await importModule(
        await generateInto(gen, join(GNUMACH_INCLUDE, "device/device.defs"), [GNUMACH_INCLUDE]),
      );
      machPort = await importModule(
        await generateInto(gen, join(GNUMACH_INCLUDE, "mach/mach_port.defs"), [GNUMACH_INCLUDE]),
      );
      task = kernel.createTask("stub-bytes");
      const send = async (): Promise<SendRight> => {
        const { name } = await task.mach_port_allocate(MACH_PORT_RIGHT_RECEIVE);
        await task.mach_port_insert_right(name, name, MACH_MSG_TYPE_MAKE_SEND);
        return asSendRight(name);
      };
      names = { device: await send(), master: await send(), task: await send() };
    }, 60_000);

    afterAll(() => {
      task?.terminate();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Runs one stub on a recording task; compares with the C stub's request under the name mapping. */
    async function compare(
      label: string,
      stub: Stub,
      cRequest: number,
      tsRequest: number,
      args: unknown[],
    ): Promise<void> {
      const replyTypes: number[] = [];
      const { api, sent } = recordingTask(task, async (buf) => {
        // While the call is in flight its reply port is a receive right of the task.
        replyTypes.push(
          (await task.mach_port_type(new DataView(buf.buffer).getUint32(16, true))).type,
        );
        return MACH_SEND_INVALID_DEST;
      });
      const result = await stub(api, ...args);
      expect(result).toEqual({ ok: false, code: MACH_SEND_INVALID_DEST });
      expect(sent).toHaveLength(1);
      const ts = sent[0]!;
      const c = reference.get(label)!;
      expect(c, `C run recorded ${label}`).toBeDefined();
      expect(ts.length).toBe(c.length);
      const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
      // Task-local names, through the mapping between the two runs.
      expect(dv(c).getUint32(8, true)).toBe(cRequest);
      expect(dv(ts).getUint32(8, true)).toBe(tsRequest);
      expect(dv(c).getUint32(16, true)).toBe(C_NAMES.reply);
      const tsReply = dv(ts).getUint32(16, true);
      expect(replyTypes).toEqual([MACH_PORT_TYPE_RECEIVE]);
      expect(tsReply).not.toBe(tsRequest);
      // Every other byte as is.
      const mask = (b: Uint8Array) => {
        const m = b.slice();
        m.fill(0, 8, 12);
        m.fill(0, 16, 20);
        return m;
      };
      expect(hex(mask(ts))).toBe(hex(mask(c)));
    }

    it("device_open", async () => {
      await compare("device_open", device["device_open"]!, C_NAMES.master, names.master, [
        names.master,
        3,
        "hd0s1",
      ]);
    });

    it("device_read_inband", async () => {
      await compare(
        "device_read_inband",
        device["device_read_inband"]!,
        C_NAMES.device,
        names.device,
        [names.device, 1, 0x123456789an, 77],
      );
    });

    it("device_write_inband, with data and empty", async () => {
      const data = new TextEncoder().encode("hello, world!");
      await compare(
        "device_write_inband",
        device["device_write_inband"]!,
        C_NAMES.device,
        names.device,
        [names.device, 2, 42n, data],
      );
      await compare(
        "device_write_inband_empty",
        device["device_write_inband"]!,
        C_NAMES.device,
        names.device,
        [names.device, 0, -1n, new Uint8Array(0)],
      );
    });

    it("device_get_status", async () => {
      await compare(
        "device_get_status",
        device["device_get_status"]!,
        C_NAMES.device,
        names.device,
        [names.device, 5, 10],
      );
    });

    it("mach_port_allocate", async () => {
      await compare(
        "mach_port_allocate",
        machPort["mach_port_allocate"]!,
        C_NAMES.task,
        names.task,
        [names.task, MACH_PORT_RIGHT_RECEIVE],
      );
    });
  },
);
