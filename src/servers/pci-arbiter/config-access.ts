// PCI configuration mechanism #1 over a MachineBackend's port I/O: CONFIG_ADDRESS at 0xCF8 and
// CONFIG_DATA at 0xCFC. The address/data pair is one shared register, so accesses are serialised.
import {
  BackendAccessError,
  type AccessWidth,
  type HardwareAccess,
} from "../../machine/backend.js";
import { EINVAL, EIO, EROFS } from "../netfs/errno.js";
import { ioFail, ioOk, type IoResult } from "../netfs/node.js";

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
/** Mechanism #1 reaches the first 256 bytes of each function's configuration space. */
export const PCI_CONFIG_SIZE = 256;

/** A function's address: domain (segment) 0 only through mechanism #1. */
export interface PciBdf {
  readonly bus: number;
  readonly dev: number;
  readonly func: number;
}

function validBdf(a: PciBdf): boolean {
  return (
    Number.isInteger(a.bus) &&
    a.bus >= 0 &&
    a.bus <= 255 &&
    Number.isInteger(a.dev) &&
    a.dev >= 0 &&
    a.dev <= 31 &&
    Number.isInteger(a.func) &&
    a.func >= 0 &&
    a.func <= 7
  );
}

/** The backend failure as a Hurd error value: read-only backends refuse writes with EROFS. */
export function backendError(e: unknown): number {
  if (e instanceof BackendAccessError) return e.reason === "read-only" ? EROFS : EIO;
  return EIO;
}

/** Serialised configuration reads and writes of any length, split into aligned accesses. */
export class ConfigAccess {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly backend: HardwareAccess) {}

  /** Runs `body` when every earlier access has finished (one CONFIG_ADDRESS user at a time). */
  private exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.tail.then(body, body);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private address(a: PciBdf, offset: number): number {
    return (0x80000000 | (a.bus << 16) | (a.dev << 11) | (a.func << 8) | (offset & 0xfc)) >>> 0;
  }

  private static pieces(offset: number, length: number): [number, AccessWidth][] {
    const out: [number, AccessWidth][] = [];
    let o = offset;
    const end = offset + length;
    while (o < end) {
      const w: AccessWidth = o % 4 === 0 && end - o >= 4 ? 4 : o % 2 === 0 && end - o >= 2 ? 2 : 1;
      out.push([o, w]);
      o += w;
    }
    return out;
  }

  private checkRange(a: PciBdf, offset: number, length: number): boolean {
    return (
      validBdf(a) &&
      Number.isInteger(offset) &&
      Number.isInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= PCI_CONFIG_SIZE
    );
  }

  /** Reads `length` bytes at `offset`; EINVAL outside the 256 bytes, EIO when the backend fails. */
  read(a: PciBdf, offset: number, length: number): Promise<IoResult<Uint8Array>> {
    return this.exclusive(() => this.rawRead(a, offset, length));
  }

  /** Writes `data` at `offset`; returns the bytes written. EROFS on a read-only backend. */
  write(a: PciBdf, offset: number, data: Uint8Array): Promise<IoResult<number>> {
    return this.exclusive(() => this.rawWrite(a, offset, data));
  }

  /**
   * Runs a sequence of accesses (BAR sizing: write all-ones, read back, restore) with no other
   * access in between.
   */
  transaction<T>(body: (raw: RawConfig) => Promise<T>): Promise<T> {
    return this.exclusive(() =>
      body({
        read: (a, o, l) => this.rawRead(a, o, l),
        write: (a, o, d) => this.rawWrite(a, o, d),
      }),
    );
  }

  private async rawRead(a: PciBdf, offset: number, length: number): Promise<IoResult<Uint8Array>> {
    if (!this.checkRange(a, offset, length)) return ioFail(EINVAL);
    const out = new Uint8Array(length);
    try {
      for (const [o, w] of ConfigAccess.pieces(offset, length)) {
        await this.backend.portWrite(PCI_CONFIG_ADDRESS, 4, this.address(a, o));
        const v = await this.backend.portRead(PCI_CONFIG_DATA + (o & 3), w);
        for (let i = 0; i < w; i++) out[o - offset + i] = (v >>> (8 * i)) & 0xff;
      }
    } catch (e) {
      return ioFail(backendError(e));
    }
    return ioOk(out);
  }

  private async rawWrite(a: PciBdf, offset: number, data: Uint8Array): Promise<IoResult<number>> {
    if (!this.checkRange(a, offset, data.length)) return ioFail(EINVAL);
    if (!this.backend.writable) return ioFail(EROFS);
    try {
      for (const [o, w] of ConfigAccess.pieces(offset, data.length)) {
        let v = 0;
        for (let i = w - 1; i >= 0; i--) v = v * 256 + data[o - offset + i]!;
        await this.backend.portWrite(PCI_CONFIG_ADDRESS, 4, this.address(a, o));
        await this.backend.portWrite(PCI_CONFIG_DATA + (o & 3), w, v >>> 0);
      }
    } catch (e) {
      return ioFail(backendError(e));
    }
    return ioOk(data.length);
  }

  /** Little-endian value of 1, 2 or 4 bytes, or undefined when the read fails. */
  async readValue(a: PciBdf, offset: number, width: AccessWidth): Promise<number | undefined> {
    return valueOf(await this.read(a, offset, width));
  }
}

/** Unserialised accesses, valid only inside ConfigAccess.transaction. */
export interface RawConfig {
  read(a: PciBdf, offset: number, length: number): Promise<IoResult<Uint8Array>>;
  write(a: PciBdf, offset: number, data: Uint8Array): Promise<IoResult<number>>;
}

/** The little-endian number in a successful read of 1..4 bytes. */
export function valueOf(r: IoResult<Uint8Array>): number | undefined {
  if (!r.ok) return undefined;
  let v = 0;
  for (let i = r.value.length - 1; i >= 0; i--) v = v * 256 + r.value[i]!;
  return v;
}

/** `value` as `width` little-endian bytes. */
export function leBytes(value: number, width: number): Uint8Array {
  const b = new Uint8Array(width);
  for (let i = 0; i < width; i++) b[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  return b;
}
