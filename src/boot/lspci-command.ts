// `tsmach lspci [--machine sim|qemu|host]`: one line per PCI function as `lspci -n` prints it
// (`BB:DD.F CCCC: VVVV:DDDD (rev RR)`), read over RPC from the pci-arbiter's tree.
import type { kern_return_t } from "../kernel/kern-return.js";
import type { MigResult, SendRight, TaskApi } from "../kernel/mig/index.js";
import { EXIT_OK, EXIT_USAGE, type CliIO } from "../../mig/cli/context.js";
import { listDir, lookup, readAll, release } from "../servers/netfs/client.js";
import { hurdErrorName } from "../servers/netfs/errno.js";
import { startDriverStack } from "./driver-stack.js";
import { openMachine, type MachineKind } from "./machine-option.js";

const hex = (v: number, w: number): string => v.toString(16).padStart(w, "0");

/** The `lspci -n` line of a function from the first bytes of its config space. */
export function lspciLine(
  domain: number,
  bus: number,
  dev: number,
  func: number,
  config: Uint8Array,
): string {
  const u16 = (o: number) => config[o]! | (config[o + 1]! << 8);
  const slot = `${domain !== 0 ? `${hex(domain, 4)}:` : ""}${hex(bus, 2)}:${hex(dev, 2)}.${func}`;
  const rev = config[8]!;
  return `${slot} ${hex(u16(0x0a), 4)}: ${hex(u16(0), 4)}:${hex(u16(2), 4)}${rev ? ` (rev ${hex(rev, 2)})` : ""}`;
}

/** Walks DOMAIN/BUS/DEV/FUNC from `root` and reads each function's config header. */
export async function lspciOverRpc(task: TaskApi, root: SendRight): Promise<MigResult<string[]>> {
  const lines: { key: number[]; line: string }[] = [];
  const walk = async (dir: SendRight, depth: number, path: number[]): Promise<kern_return_t> => {
    const names = await listDir(task, dir);
    if (!names.ok) return names.code;
    for (const name of names.value) {
      if (depth < 4 && !/^[0-9a-f]+$/.test(name)) continue;
      const child = await lookup(task, dir, name);
      if (!child.ok) return child.code;
      try {
        if (depth < 3) {
          const kr = await walk(child.value, depth + 1, [...path, parseInt(name, 16)]);
          if (kr !== 0) return kr;
        } else {
          const config = await lookup(task, child.value, "config");
          if (!config.ok) return config.code;
          const head = await readAll(task, config.value, 64, 64);
          await release(task, config.value);
          if (!head.ok) return head.code;
          if (head.value.length < 16) continue;
          const [dom, bus, dev] = path as [number, number, number];
          const func = Number(name);
          lines.push({
            key: [dom, bus, dev, func],
            line: lspciLine(dom, bus, dev, func, head.value),
          });
        }
      } finally {
        await release(task, child.value);
      }
    }
    return 0;
  };
  const kr = await walk(root, 0, []);
  if (kr !== 0) return { ok: false, code: kr };
  lines.sort((a, b) => a.key.reduce((d, v, i) => d || v - b.key[i]!, 0));
  return { ok: true, value: lines.map((l) => l.line) };
}

function describe(code: number): string {
  return hurdErrorName(code) ?? `0x${(code >>> 0).toString(16)}`;
}

/** Boots the machine and the pci-arbiter, lists the functions as task "lspci", shuts down. */
export async function runLspci(io: CliIO, kind: MachineKind): Promise<number> {
  const m = await openMachine(kind);
  if (!m.ok) {
    io.stderr(`tsmach lspci: ${m.error}\n`);
    return EXIT_USAGE;
  }
  try {
    const stack = await startDriverStack(m.value);
    if (!stack.ok) {
      io.stderr(`tsmach lspci: ${stack.error}\n`);
      return EXIT_USAGE;
    }
    const client = stack.value.kernel.createTask("lspci");
    const roots = await stack.value.connect(client);
    const r = await lspciOverRpc(client, roots.pci);
    client.terminate();
    await stack.value.stop();
    if (!r.ok) {
      io.stderr(`tsmach lspci: the pci-arbiter answered ${describe(r.code)}\n`);
      return EXIT_USAGE;
    }
    io.stdout(r.value.map((l) => `${l}\n`).join(""));
    return EXIT_OK;
  } finally {
    await m.value.close();
  }
}
