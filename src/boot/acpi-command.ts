// `tsmach acpi tables [--machine sim|qemu|host]`: every table the acpi server publishes under
// tables/, with its signature, length, OEM id and checksum state, read over RPC.
import type { MigResult, SendRight, TaskApi } from "../kernel/mig/index.js";
import { EXIT_OK, EXIT_USAGE, type CliIO } from "../../mig/cli/context.js";
import { listDir, lookup, readAll, release } from "../servers/netfs/client.js";
import { hurdErrorName } from "../servers/netfs/errno.js";
import { parseTableHeader } from "../servers/acpi/table-header.js";
import { startDriverStack } from "./driver-stack.js";
import { openMachine, type MachineKind } from "./machine-option.js";

export interface TableListing {
  readonly name: string;
  readonly signature: string;
  readonly length: number;
  readonly oemId: string;
  /** Byte sum of the table modulo 256: 0 when its checksum is right (FACS has none). */
  readonly sum: number;
  readonly bytes: Uint8Array;
}

/** Reads tables/ of the acpi server at `root`. */
export async function acpiTablesOverRpc(
  task: TaskApi,
  root: SendRight,
): Promise<MigResult<TableListing[]>> {
  const dir = await lookup(task, root, "tables");
  if (!dir.ok) return dir;
  const names = await listDir(task, dir.value);
  if (!names.ok) return names;
  const out: TableListing[] = [];
  for (const name of names.value) {
    const f = await lookup(task, dir.value, name);
    if (!f.ok) return f;
    const bytes = await readAll(task, f.value);
    await release(task, f.value);
    if (!bytes.ok) return bytes;
    const h = parseTableHeader(bytes.value);
    let sum = 0;
    for (const b of bytes.value) sum = (sum + b) & 0xff;
    out.push({
      name,
      signature: h.ok ? h.value.signature : "????",
      length: h.ok ? h.value.length : bytes.value.length,
      oemId: h.ok ? h.value.oemId : "",
      sum,
      bytes: bytes.value,
    });
  }
  await release(task, dir.value);
  return { ok: true, value: out };
}

export function formatTables(tables: readonly TableListing[]): string {
  const lines = tables.map((t) => {
    const check =
      t.signature === "FACS"
        ? "no checksum"
        : t.sum === 0
          ? "checksum ok"
          : `checksum BAD (sum 0x${t.sum.toString(16)})`;
    return `${t.name.padEnd(6)} ${t.signature} ${String(t.length).padStart(7)}  ${t.oemId.padEnd(6)}  ${check}`;
  });
  return `${"NAME".padEnd(6)} SIG  ${"LENGTH".padStart(7)}  OEMID   CHECKSUM\n${lines.map((l) => `${l}\n`).join("")}`;
}

/** Boots the machine with pci-arbiter and acpi, lists tables/ as task "acpi-tables". */
export async function runAcpiTables(io: CliIO, kind: MachineKind): Promise<number> {
  const m = await openMachine(kind);
  if (!m.ok) {
    io.stderr(`tsmach acpi tables: ${m.error}\n`);
    return EXIT_USAGE;
  }
  try {
    const stack = await startDriverStack(m.value);
    if (!stack.ok) {
      io.stderr(`tsmach acpi tables: ${stack.error}\n`);
      return EXIT_USAGE;
    }
    const client = stack.value.kernel.createTask("acpi-tables");
    const roots = await stack.value.connect(client);
    try {
      if (!roots.acpi) {
        io.stderr(`tsmach acpi tables: no ACPI: ${stack.value.acpiError?.message ?? "unknown"}\n`);
        return EXIT_USAGE;
      }
      const r = await acpiTablesOverRpc(client, roots.acpi);
      if (!r.ok) {
        io.stderr(
          `tsmach acpi tables: the acpi server answered ${hurdErrorName(r.code) ?? `0x${(r.code >>> 0).toString(16)}`}\n`,
        );
        return EXIT_USAGE;
      }
      io.stdout(formatTables(r.value));
      return EXIT_OK;
    } finally {
      client.terminate();
      await stack.value.stop();
    }
  } finally {
    await m.value.close();
  }
}
