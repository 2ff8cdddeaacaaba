// The program from the talk, in TypeScript: boot a rump kernel on a PC, open the raw disk
// /dev/rwd0d read-only, read from it, print what it read, close, reboot.
//   npx tsx examples/read-disk.ts [--machine sim|qemu] IMAGE [OFFSET [LENGTH]]
import { pathToFileURL } from "node:url";
import type { MachineBackend } from "../src/machine/backend.js";
import { SimBackend } from "../src/machine/sim-backend.js";
import {
  O_RDONLY,
  RB_POWERDOWN,
  rump_init,
  rump_sys_close,
  rump_sys_open,
  rump_sys_pread,
  rump_sys_reboot,
} from "../src/rump/rump-sys.js";

/** Classic hexdump -C lines. */
export function hexdump(data: Uint8Array, base = 0): string[] {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 16) {
    const row = data.subarray(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0"));
    const left = hex.slice(0, 8).join(" ").padEnd(23);
    const right = hex.slice(8).join(" ").padEnd(23);
    const text = [...row]
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."))
      .join("");
    lines.push(`${(base + i).toString(16).padStart(8, "0")}  ${left}  ${right}  |${text}|`);
  }
  return lines;
}

async function startMachine(kind: string, image: string): Promise<MachineBackend | string> {
  if (kind === "qemu") {
    const { QemuBackend } = await import("../src/machine/qemu/qemu-backend.js");
    // QEMU's ide-hd refuses a read-only drive, so the image is attached writable; this program
    // opens /dev/rwd0d O_RDONLY and never writes.
    return QemuBackend.start({ disk: { path: image } });
  }
  const r = SimBackend.create({
    memory: "64M",
    devices: [{ type: "ahci", disks: [{ port: 0, image, readOnly: true }] }],
  });
  return r.ok ? r.value : r.errors.map((e) => e.message).join("\n");
}

/** Runs the program; returns the exit status. */
export async function main(argv: string[], print: (line: string) => void): Promise<number> {
  let machine = "sim";
  const args = [...argv];
  if (args[0] === "--machine") {
    args.shift();
    machine = args.shift() ?? "";
  }
  const [image, offsetText = "0", lengthText = "512"] = args;
  const offset = Number(offsetText);
  const length = Number(lengthText);
  if (!image || (machine !== "sim" && machine !== "qemu") || !(offset >= 0) || !(length > 0)) {
    print("usage: read-disk [--machine sim|qemu] IMAGE [OFFSET [LENGTH]]");
    return 2;
  }
  const m = await startMachine(machine, image).catch((e: unknown) => String(e));
  if (typeof m === "string") {
    print(`read-disk: cannot start the machine: ${m}`);
    return 1;
  }
  try {
    const init = await rump_init({ backend: m, console: print });
    if (!init.ok) {
      print(`rump_init: ${init.message}`);
      return 1;
    }
    const fd = rump_sys_open("/dev/rwd0d", O_RDONLY);
    if (!fd.ok) {
      print(`open /dev/rwd0d: ${fd.message}`);
      await rump_sys_reboot(0);
      return 1;
    }
    const buf = new Uint8Array(length);
    const n = await rump_sys_pread(fd.value, buf, offset);
    if (!n.ok) print(`pread: ${n.message}`);
    else {
      print(`read ${n.value} bytes at offset ${offset} of /dev/rwd0d:`);
      for (const line of hexdump(buf.subarray(0, n.value), offset)) print(line);
    }
    rump_sys_close(fd.value);
    const r = await rump_sys_reboot(RB_POWERDOWN);
    if (!r.ok) print(`reboot: ${r.message}`);
    return n.ok && r.ok ? 0 : 1;
  } finally {
    await m.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), (l) => console.log(l)).then((code) => (process.exitCode = code));
}
