// Client of QEMU's qtest line protocol over a stream socket: pipelined commands answered in
// order ("OK ..."/"FAIL ..."/"ERR ..."), with asynchronous "IRQ raise N"/"IRQ lower N" lines.
import type { Socket } from "node:net";
import { BackendAccessError } from "../backend.js";

/** An interrupt line event as qtest reports it for an intercepted device's GPIO inputs. */
export interface QtestIrqEvent {
  readonly line: number;
  readonly raised: boolean;
}

/** QEMU answered a command with FAIL or ERR. */
export class QtestCommandError extends BackendAccessError {
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super("unsupported", `qtest: '${command.split(" ")[0]}' failed: ${reply}`);
    this.name = "QtestCommandError";
  }
}

interface Pending {
  readonly command: string;
  resolve(payload: string): void;
  reject(err: Error): void;
}

/**
 * Largest b64read or b64write sent as one command; longer transfers are split and pipelined.
 * Measured here, 64 KiB beats both smaller chunks (per-command cost) and larger ones: QEMU
 * rescans its whole input line for a newline after every 1 KiB it receives, and encodes or
 * decodes each line in one piece.
 */
export const QTEST_READ_CHUNK = 64 << 10;
export const QTEST_WRITE_CHUNK = 64 << 10;

const MAX_U64 = 2n ** 64n - 1n;

function checkAddress(addr: number | bigint, what = "address"): string {
  const big = typeof addr === "bigint" ? addr : Number.isSafeInteger(addr) ? BigInt(addr) : -1n;
  if (big < 0n || big > MAX_U64) {
    throw new BackendAccessError("out-of-range", `qtest: bad ${what} ${String(addr)}`);
  }
  return "0x" + big.toString(16);
}

function checkPort(port: number): string {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new BackendAccessError("out-of-range", `qtest: bad I/O port ${String(port)}`);
  }
  return "0x" + port.toString(16);
}

/**
 * A register value as a hex word. Negative numbers down to -2^(bits-1) are taken as the two's
 * complement (what `0x80000000 | x` gives in JavaScript); anything else out of range is refused.
 */
function checkValue(value: number | bigint, bits: 8 | 16 | 32 | 64): string {
  const limit = 1n << BigInt(bits);
  let big =
    typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -limit;
  if (big < 0n && big >= -(limit >> 1n)) big += limit;
  if (big < 0n || big >= limit) {
    throw new BackendAccessError(
      "out-of-range",
      `qtest: value ${String(value)} does not fit in ${bits} bits`,
    );
  }
  return "0x" + big.toString(16);
}

/** Largest single memRead/memset this client accepts (it buffers the whole transfer). */
export const QTEST_MAX_TRANSFER = 256 << 20;

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > QTEST_MAX_TRANSFER) {
    throw new BackendAccessError("out-of-range", `qtest: bad length ${String(length)}`);
  }
}

function parseHex(payload: string, command: string): bigint {
  if (!/^0x[0-9a-fA-F]+$/.test(payload)) {
    throw new BackendAccessError(
      "unsupported",
      `qtest: '${command}' gave a bad value '${payload}'`,
    );
  }
  return BigInt(payload);
}

export class QtestClient {
  private readonly pending: Pending[] = [];
  private readonly irqListeners = new Set<(event: QtestIrqEvent) => void>();
  private readonly closeListeners = new Set<() => void>();
  private partial: string[] = [];
  private closedReason: string | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.setNoDelay(true);
    socket.on("data", (chunk: string) => this.receive(chunk));
    socket.on("error", (err) => this.shutdown(`socket error: ${err.message}`));
    socket.on("close", () => this.shutdown("QEMU closed the qtest connection"));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Listen for "IRQ raise/lower N" lines; returns the function that stops listening. */
  onIrq(listener: (event: QtestIrqEvent) => void): () => void {
    this.irqListeners.add(listener);
    return () => this.irqListeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /**
   * Send one raw command line and resolve with what follows "OK" (possibly ""). The line must be a
   * single line of printable ASCII; QEMU aborts on malformed arguments, so callers should prefer
   * the typed methods below, which validate every argument first.
   */
  command(line: string): Promise<string> {
    if (!/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(line)) {
      return Promise.reject(
        new BackendAccessError("out-of-range", "qtest: a command is one line of printable words"),
      );
    }
    if (this.closedReason !== undefined) {
      return Promise.reject(new BackendAccessError("closed", `qtest: ${this.closedReason}`));
    }
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ command: line, resolve, reject });
      this.socket.write(line + "\n");
    });
  }

  async outb(port: number, value: number): Promise<void> {
    await this.command(`outb ${checkPort(port)} ${checkValue(value, 8)}`);
  }
  async outw(port: number, value: number): Promise<void> {
    await this.command(`outw ${checkPort(port)} ${checkValue(value, 16)}`);
  }
  async outl(port: number, value: number): Promise<void> {
    await this.command(`outl ${checkPort(port)} ${checkValue(value, 32)}`);
  }
  async inb(port: number): Promise<number> {
    return this.portIn("inb", port, 0xff);
  }
  async inw(port: number): Promise<number> {
    return this.portIn("inw", port, 0xffff);
  }
  async inl(port: number): Promise<number> {
    return this.portIn("inl", port, 0xffffffff);
  }

  async writeb(addr: number, value: number): Promise<void> {
    await this.command(`writeb ${checkAddress(addr)} ${checkValue(value, 8)}`);
  }
  async writew(addr: number, value: number): Promise<void> {
    await this.command(`writew ${checkAddress(addr)} ${checkValue(value, 16)}`);
  }
  async writel(addr: number, value: number): Promise<void> {
    await this.command(`writel ${checkAddress(addr)} ${checkValue(value, 32)}`);
  }
  async writeq(addr: number, value: bigint): Promise<void> {
    await this.command(`writeq ${checkAddress(addr)} ${checkValue(value, 64)}`);
  }
  async readb(addr: number): Promise<number> {
    return Number(await this.memIn("readb", addr));
  }
  async readw(addr: number): Promise<number> {
    return Number(await this.memIn("readw", addr));
  }
  async readl(addr: number): Promise<number> {
    return Number(await this.memIn("readl", addr));
  }
  async readq(addr: number): Promise<bigint> {
    return this.memIn("readq", addr);
  }

  /** Bulk read of guest physical memory (b64read, split into chunks). */
  async memread(addr: number, length: number): Promise<Uint8Array> {
    checkAddress(addr);
    checkLength(length);
    checkAddress(addr + length, "end address");
    const out = new Uint8Array(length);
    const parts: Promise<void>[] = [];
    for (let off = 0; off < length; off += QTEST_READ_CHUNK) {
      const n = Math.min(QTEST_READ_CHUNK, length - off);
      const at = off;
      const cmd = `b64read ${checkAddress(addr + off)} 0x${n.toString(16)}`;
      parts.push(
        this.command(cmd).then((payload) => {
          const bytes = Buffer.from(payload, "base64");
          if (bytes.length !== n) {
            throw new BackendAccessError(
              "unsupported",
              `qtest: b64read returned ${bytes.length} bytes, expected ${n}`,
            );
          }
          out.set(bytes, at);
        }),
      );
    }
    await Promise.all(parts);
    return out;
  }

  /** Bulk write of guest physical memory (b64write, split into chunks). */
  async memwrite(addr: number, data: Uint8Array): Promise<void> {
    checkAddress(addr);
    checkAddress(addr + data.length, "end address");
    const parts: Promise<string>[] = [];
    for (let off = 0; off < data.length; off += QTEST_WRITE_CHUNK) {
      const chunk = data.subarray(off, Math.min(data.length, off + QTEST_WRITE_CHUNK));
      const b64 = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("base64");
      parts.push(
        this.command(`b64write ${checkAddress(addr + off)} 0x${chunk.length.toString(16)} ${b64}`),
      );
    }
    await Promise.all(parts);
  }

  /** Fill guest memory with one byte value. */
  async memset(addr: number, length: number, value: number): Promise<void> {
    checkLength(length);
    if (length === 0) return;
    await this.command(
      `memset ${checkAddress(addr)} 0x${length.toString(16)} ${checkValue(value, 8)}`,
    );
  }

  /** Route the GPIO inputs of the device at a QOM path (e.g. "ioapic") to this client. */
  async irqInterceptIn(qomPath: string): Promise<void> {
    if (!/^[A-Za-z0-9/_.[\]-]+$/.test(qomPath)) {
      throw new BackendAccessError("out-of-range", `qtest: bad QOM path '${qomPath}'`);
    }
    await this.command(`irq_intercept_in ${qomPath}`);
  }

  /** Close the connection; every command still waiting fails with BackendAccessError("closed"). */
  close(): void {
    this.shutdown("the qtest client was closed");
    this.socket.destroy();
  }

  private async portIn(cmd: string, port: number, mask: number): Promise<number> {
    const c = `${cmd} ${checkPort(port)}`;
    return Number(parseHex(await this.command(c), cmd) & BigInt(mask));
  }

  private async memIn(cmd: string, addr: number): Promise<bigint> {
    const c = `${cmd} ${checkAddress(addr)}`;
    return parseHex(await this.command(c), cmd);
  }

  private receive(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf("\n", start);
      if (nl < 0) break;
      const piece = chunk.slice(start, nl);
      const line = this.partial.length > 0 ? this.partial.join("") + piece : piece;
      this.partial = [];
      this.line(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.partial.push(chunk.slice(start));
  }

  private line(raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const irq = /^IRQ (raise|lower) (\d+)$/.exec(line);
    if (irq) {
      const event: QtestIrqEvent = { line: Number(irq[2]), raised: irq[1] === "raise" };
      for (const l of [...this.irqListeners]) {
        try {
          l(event);
        } catch (err) {
          process.emitWarning(`qtest IRQ listener threw: ${String(err)}`);
        }
      }
      return;
    }
    const p = this.pending.shift();
    if (!p) return; // Nothing asked: not ours to interpret.
    if (line === "OK") p.resolve("");
    else if (line.startsWith("OK ")) p.resolve(line.slice(3));
    else p.reject(new QtestCommandError(p.command, line));
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const p of this.pending.splice(0)) {
      p.reject(new BackendAccessError("closed", `qtest: ${reason}`));
    }
    for (const l of [...this.closeListeners]) {
      try {
        l();
      } catch (err) {
        process.emitWarning(`qtest close listener threw: ${String(err)}`);
      }
    }
  }
}
