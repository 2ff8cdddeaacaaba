// A minimal QEMU qtest client for the acpi tests: starts qemu-system-x86_64 with its CPUs
// stopped (-S, so SeaBIOS does not race us on fw_cfg), pipelines qtest commands, and reads
// fw_cfg files and PCI configuration space.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

export class QtestClient {
  private buffered = "";
  private waiting: ((line: string) => void)[] = [];
  private next = 0;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    proc.stdout.setEncoding("utf8");
    proc.stdin.on("error", () => undefined);
    proc.on("exit", () => {
      for (let w = this.take(); w; w = this.take()) w("ERR qemu exited");
    });
    proc.stdout.on("data", (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (/^(OK|FAIL|ERR)/.test(line)) this.take()?.(line);
      }
    });
  }

  private take(): ((line: string) => void) | undefined {
    const w = this.waiting[this.next];
    if (!w) return undefined;
    this.next++;
    if (this.next > 4096 && this.next * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.next);
      this.next = 0;
    }
    return w;
  }

  static start(machine = "q35"): QtestClient {
    const proc = spawn(
      "qemu-system-x86_64",
      [
        "-machine",
        machine,
        "-qtest",
        "stdio",
        "-qtest-log",
        "/dev/null",
        "-display",
        "none",
        "-nodefaults",
        "-m",
        "128",
        "-S",
      ],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    return new QtestClient(proc);
  }

  /** Sends all commands at once and resolves with their replies, in order. */
  batch(commands: string[]): Promise<string[]> {
    // Promise executors run at once, so the resolvers queue up in command order.
    const replies = commands.map(
      () => new Promise<string>((resolve) => this.waiting.push(resolve)),
    );
    this.proc.stdin.write(commands.map((c) => c + "\n").join(""));
    return Promise.all(replies);
  }

  async command(c: string): Promise<number> {
    const [reply] = await this.batch([c]);
    if (!reply!.startsWith("OK")) throw new Error(`qtest "${c}": ${reply}`);
    const value = reply!.split(" ")[1];
    return value === undefined ? 0 : Number(BigInt(value));
  }

  private async readFwCfg(length: number): Promise<Uint8Array> {
    const replies = await this.batch(Array.from({ length }, () => "inb 0x511"));
    return Uint8Array.from(replies.map((r) => Number(BigInt(r.split(" ")[1]!))));
  }

  /**
   * Selects a fw_cfg file, e.g. "etc/acpi/tables"; returns its size and a reader for its
   * bytes in order.
   */
  async openFwCfgFile(
    name: string,
  ): Promise<{ size: number; read: (n: number) => Promise<Uint8Array> }> {
    // Make sure the device answers before trusting what it returns.
    for (let tries = 0; ; tries++) {
      await this.command("outw 0x510 0x0");
      const sig = String.fromCharCode(...(await this.readFwCfg(4)));
      if (sig === "QEMU") break;
      if (tries > 100) throw new Error("fw_cfg signature never read back as QEMU");
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.command("outw 0x510 0x19");
    const head = await this.readFwCfg(4);
    const count = new DataView(head.buffer).getUint32(0, false);
    const dir = await this.readFwCfg(count * 64);
    const dv = new DataView(dir.buffer);
    for (let i = 0; i < count; i++) {
      const e = dir.subarray(i * 64, i * 64 + 64);
      const end = e.indexOf(0, 8);
      const fname = String.fromCharCode(...e.subarray(8, end < 0 ? 64 : end));
      if (fname === name) {
        await this.command(`outw 0x510 0x${dv.getUint16(i * 64 + 4, false).toString(16)}`);
        return { size: dv.getUint32(i * 64, false), read: (n) => this.readFwCfg(n) };
      }
    }
    throw new Error(`fw_cfg has no file ${name}`);
  }

  private static cf8(bus: number, dev: number, fn: number, offset: number): string {
    return `outl 0xcf8 0x${((0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | (offset & 0xfc)) >>> 0).toString(16)}`;
  }

  async pciRead(
    bus: number,
    dev: number,
    fn: number,
    offset: number,
    width: 8 | 16 | 32,
  ): Promise<number> {
    await this.command(QtestClient.cf8(bus, dev, fn, offset));
    const op = width === 8 ? "inb" : width === 16 ? "inw" : "inl";
    return this.command(`${op} 0x${(0xcfc + (offset & 3)).toString(16)}`);
  }

  async pciWrite(
    bus: number,
    dev: number,
    fn: number,
    offset: number,
    width: 8 | 16 | 32,
    value: number,
  ): Promise<void> {
    await this.command(QtestClient.cf8(bus, dev, fn, offset));
    const op = width === 8 ? "outb" : width === 16 ? "outw" : "outl";
    await this.command(`${op} 0x${(0xcfc + (offset & 3)).toString(16)} 0x${value.toString(16)}`);
  }

  close(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}
