// A raw disk image file behind the AHCI model: sector reads and writes go straight between the
// file and guest RAM (fs.readSync/writeSync on views of the shared buffer, no extra copy).
import * as fs from "node:fs";

export type DiskImageError =
  | { code: "D_NO_SUCH_DEVICE"; message: string }
  | { code: "D_INVALID_SIZE"; message: string }
  | { code: "D_READ_ONLY"; message: string }
  | { code: "D_IO_ERROR"; message: string };

export type DiskResult<T> = { ok: true; value: T } | { ok: false; error: DiskImageError };

export interface DiskImageOptions {
  readOnly?: boolean;
  sectorSize?: 512 | 4096;
}

function errno(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DiskImage {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    readonly readOnly: boolean,
    readonly sectorSize: number,
    /** Whole sectors in the image (a trailing partial sector is not addressable). */
    readonly sectors: number,
  ) {
    this.fd = fd;
  }

  static open(path: string, options: DiskImageOptions = {}): DiskResult<DiskImage> {
    const sectorSize = options.sectorSize ?? 512;
    const readOnly = options.readOnly ?? false;
    let fd: number;
    try {
      fd = fs.openSync(path, readOnly ? "r" : "r+");
    } catch (e) {
      return {
        ok: false,
        error: { code: "D_NO_SUCH_DEVICE", message: `cannot open disk image ${path}: ${errno(e)}` },
      };
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      fs.closeSync(fd);
      return {
        ok: false,
        error: { code: "D_NO_SUCH_DEVICE", message: `disk image ${path} is not a regular file` },
      };
    }
    const sectors = Math.floor(st.size / sectorSize);
    if (sectors < 1) {
      fs.closeSync(fd);
      return {
        ok: false,
        error: {
          code: "D_INVALID_SIZE",
          message: `disk image ${path} holds no whole ${sectorSize}-byte sector (${st.size} bytes)`,
        },
      };
    }
    return { ok: true, value: new DiskImage(path, fd, readOnly, sectorSize, sectors) };
  }

  get open(): boolean {
    return this.fd !== undefined;
  }

  private handle(): number {
    if (this.fd === undefined) throw new Error(`disk image ${this.path} is closed`);
    return this.fd;
  }

  /** Reads `dest.length` bytes at byte `offset` straight into `dest` (a view of guest RAM). */
  read(offset: number, dest: Uint8Array): DiskResult<number> {
    try {
      const fd = this.handle();
      let done = 0;
      while (done < dest.length) {
        const n = fs.readSync(fd, dest, done, dest.length - done, offset + done);
        if (n === 0) {
          dest.fill(0, done);
          break;
        }
        done += n;
      }
      return { ok: true, value: dest.length };
    } catch (e) {
      return {
        ok: false,
        error: { code: "D_IO_ERROR", message: `read of ${this.path} at ${offset}: ${errno(e)}` },
      };
    }
  }

  /** Writes `src` (a view of guest RAM) at byte `offset`. */
  write(offset: number, src: Uint8Array): DiskResult<number> {
    if (this.readOnly)
      return {
        ok: false,
        error: { code: "D_READ_ONLY", message: `disk image ${this.path} is read-only` },
      };
    try {
      const fd = this.handle();
      let done = 0;
      while (done < src.length)
        done += fs.writeSync(fd, src, done, src.length - done, offset + done);
      return { ok: true, value: src.length };
    } catch (e) {
      return {
        ok: false,
        error: { code: "D_IO_ERROR", message: `write of ${this.path} at ${offset}: ${errno(e)}` },
      };
    }
  }

  /** The volatile write cache is the host's page cache: flushing is fsync. */
  flush(): DiskResult<void> {
    try {
      if (!this.readOnly) fs.fsyncSync(this.handle());
      return { ok: true, value: undefined };
    } catch (e) {
      return {
        ok: false,
        error: { code: "D_IO_ERROR", message: `fsync of ${this.path}: ${errno(e)}` },
      };
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    if (!this.readOnly) {
      try {
        fs.fsyncSync(this.fd);
      } catch {
        /* closing anyway */
      }
    }
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
