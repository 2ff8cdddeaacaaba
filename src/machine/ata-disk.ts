// A SATA hard disk as an ATA device (ACS-3 subset) over a DiskImage: IDENTIFY DEVICE, DMA and
// NCQ reads and writes, FLUSH CACHE (EXT), SET FEATURES and the NCQ error log (READ LOG EXT 10h).
import type { DiskImage } from "./disk-image.js";

export const ATA_STATUS_BSY = 0x80;
export const ATA_STATUS_DRDY = 0x40;
export const ATA_STATUS_DF = 0x20;
export const ATA_STATUS_DSC = 0x10;
export const ATA_STATUS_DRQ = 0x08;
export const ATA_STATUS_ERR = 0x01;
export const ATA_ERROR_ABRT = 0x04;
export const ATA_ERROR_IDNF = 0x10;
export const ATA_ERROR_UNC = 0x40;

export const ATA_NOP = 0x00;
export const ATA_READ_LOG_EXT = 0x2f;
export const ATA_READ_DMA_EXT = 0x25;
export const ATA_WRITE_DMA_EXT = 0x35;
export const ATA_READ_FPDMA_QUEUED = 0x60;
export const ATA_WRITE_FPDMA_QUEUED = 0x61;
export const ATA_READ_DMA = 0xc8;
export const ATA_WRITE_DMA = 0xca;
export const ATA_SET_MULTIPLE_MODE = 0xc6;
export const ATA_STANDBY_IMMEDIATE = 0xe0;
export const ATA_IDLE_IMMEDIATE = 0xe1;
export const ATA_CHECK_POWER_MODE = 0xe5;
export const ATA_FLUSH_CACHE = 0xe7;
export const ATA_FLUSH_CACHE_EXT = 0xea;
export const ATA_IDENTIFY_DEVICE = 0xec;
export const ATA_SET_FEATURES = 0xef;

/** The registers of a Register Host-to-Device FIS, decoded. */
export interface AtaTaskFile {
  command: number;
  features: number; // 16 bits
  count: number; // 16 bits
  lba: number; // 48 bits
  device: number;
}

export interface AtaIdentity {
  model: string;
  serial: string;
  firmware: string;
}

/** What a command did: final status/error, bytes moved, and the registers a D2H FIS returns. */
export interface AtaOutcome {
  status: number;
  error: number;
  bytes: number;
  /** The data phase was PIO (IDENTIFY, READ LOG EXT): the HBA posts a PIO Setup FIS. */
  pio: boolean;
  /** The data needed more room than the PRD table gave (HBA overflow). */
  overflow: boolean;
  lba: number;
  count: number;
}

/** A data buffer: guest RAM views in PRD order (contiguous PRDs already merged). */
export type DmaSegments = readonly Uint8Array[];

function ok(bytes: number, pio = false): AtaOutcome {
  return {
    status: ATA_STATUS_DRDY | ATA_STATUS_DSC,
    error: 0,
    bytes,
    pio,
    overflow: false,
    lba: 0,
    count: 0,
  };
}
function fail(error: number, lba = 0, count = 0): AtaOutcome {
  return {
    status: ATA_STATUS_DRDY | ATA_STATUS_DSC | ATA_STATUS_ERR,
    error,
    bytes: 0,
    pio: false,
    overflow: false,
    lba,
    count,
  };
}

/** ATA strings: two characters per word, the first in the high byte. */
function putString(words: Uint16Array, first: number, nwords: number, text: string): void {
  const s = text.padEnd(nwords * 2, " ").slice(0, nwords * 2);
  for (let i = 0; i < nwords; i++)
    words[first + i] = ((s.charCodeAt(2 * i) & 0xff) << 8) | (s.charCodeAt(2 * i + 1) & 0xff);
}

export function isNcq(command: number): boolean {
  return command === ATA_READ_FPDMA_QUEUED || command === ATA_WRITE_FPDMA_QUEUED;
}

export class AtaDisk {
  private writeCache = true;
  /** The NCQ command error log (page 10h): set by a failed queued command, cleared by reading it. */
  private ncqError:
    { tag: number; status: number; error: number; lba: number; count: number } | undefined;

  constructor(
    readonly image: DiskImage,
    readonly identity: AtaIdentity,
  ) {}

  get sectorSize(): number {
    return this.image.sectorSize;
  }
  get sectors(): number {
    return this.image.sectors;
  }

  /** The 512-byte IDENTIFY DEVICE data. */
  identifyData(): Uint8Array {
    const w = new Uint16Array(256);
    const sectors = this.sectors;
    w[0] = 0x0040; // fixed ATA device
    w[1] = 16383;
    w[3] = 16;
    w[6] = 63;
    putString(w, 10, 10, this.identity.serial);
    putString(w, 23, 4, this.identity.firmware);
    putString(w, 27, 20, this.identity.model);
    w[47] = 0x8010; // up to 16 sectors per DRQ block
    w[49] = 0x0b00; // IORDY, LBA, DMA
    w[50] = 0x4000;
    w[53] = 0x0006; // words 64-70 and 88 valid
    w[59] = 0x0110;
    const lba28 = Math.min(sectors, 0x0fffffff);
    w[60] = lba28 & 0xffff;
    w[61] = lba28 >>> 16;
    w[63] = 0x0407;
    w[64] = 0x0003;
    w[65] = w[66] = w[67] = w[68] = 120;
    w[75] = 31; // queue depth 32
    w[76] = 0x010e; // NCQ; SATA Gen1, Gen2, Gen3
    w[80] = 0x07f0; // ATA/ATAPI-4 .. ACS-3
    w[82] = 0x4028; // NOP, write cache, power management
    w[83] = 0x7400; // FLUSH CACHE EXT, FLUSH CACHE, 48-bit addressing
    w[84] = 0x4000;
    w[85] = 0x4008 | (this.writeCache ? 0x0020 : 0);
    w[86] = 0x3400;
    w[87] = 0x4000;
    w[88] = 0x207f; // UDMA 0-6 supported, UDMA5 selected
    w[93] = 0;
    for (let i = 0; i < 4; i++) w[100 + i] = Math.floor(sectors / 2 ** (16 * i)) & 0xffff;
    if (this.sectorSize !== 512) {
      w[106] = 0x4000 | 0x1000; // logical sector longer than 256 words
      const lw = this.sectorSize / 2;
      w[117] = lw & 0xffff;
      w[118] = lw >>> 16;
    } else {
      w[106] = 0x4000;
    }
    w[217] = 0x0001; // non-rotating medium
    w[255] = 0x00a5;
    const bytes = new Uint8Array(w.buffer);
    let sum = 0;
    for (let i = 0; i < 511; i++) sum += bytes[i]!;
    bytes[511] = -sum & 0xff;
    return bytes;
  }

  /** Runs one command. `tag` is the NCQ tag (the command slot). */
  execute(tf: AtaTaskFile, data: DmaSegments, tag: number): AtaOutcome {
    switch (tf.command) {
      case ATA_IDENTIFY_DEVICE:
        return this.toHost(this.identifyData(), data);
      case ATA_READ_DMA_EXT:
      case ATA_READ_DMA:
      case ATA_WRITE_DMA_EXT:
      case ATA_WRITE_DMA: {
        const ext = tf.command === ATA_READ_DMA_EXT || tf.command === ATA_WRITE_DMA_EXT;
        const lba = ext ? tf.lba : (tf.lba & 0xffffff) + (tf.device & 0x0f) * 0x1000000;
        const count = ext ? tf.count || 0x10000 : tf.count & 0xff || 0x100;
        const write = tf.command === ATA_WRITE_DMA_EXT || tf.command === ATA_WRITE_DMA;
        return this.transfer(write, lba, count, data, false);
      }
      case ATA_READ_FPDMA_QUEUED:
      case ATA_WRITE_FPDMA_QUEUED: {
        const count = tf.features || 0x10000;
        const r = this.transfer(
          tf.command === ATA_WRITE_FPDMA_QUEUED,
          tf.lba,
          count,
          data,
          (tf.device & 0x80) !== 0,
        );
        if (r.status & ATA_STATUS_ERR)
          this.ncqError = { tag, status: r.status, error: r.error, lba: tf.lba, count };
        return r;
      }
      case ATA_FLUSH_CACHE:
      case ATA_FLUSH_CACHE_EXT: {
        const r = this.image.flush();
        return r.ok ? ok(0) : fail(ATA_ERROR_ABRT);
      }
      case ATA_SET_FEATURES:
        switch (tf.features & 0xff) {
          case 0x02:
            this.writeCache = true;
            return ok(0);
          case 0x82:
            this.writeCache = false;
            return this.image.flush().ok ? ok(0) : fail(ATA_ERROR_ABRT);
          case 0x03: // transfer mode
          case 0x10: // enable a SATA feature
          case 0x90: // disable a SATA feature
          case 0xaa: // read look-ahead on
          case 0x55: // read look-ahead off
            return ok(0);
          default:
            return fail(ATA_ERROR_ABRT);
        }
      case ATA_SET_MULTIPLE_MODE:
        return (tf.count & 0xff) <= 16 ? ok(0) : fail(ATA_ERROR_ABRT);
      case ATA_IDLE_IMMEDIATE:
      case ATA_STANDBY_IMMEDIATE:
        return ok(0);
      case ATA_CHECK_POWER_MODE:
        return { ...ok(0), count: 0xff };
      case ATA_READ_LOG_EXT:
        return this.readLog(tf, data);
      default:
        return fail(ATA_ERROR_ABRT);
    }
  }

  private readLog(tf: AtaTaskFile, data: DmaSegments): AtaOutcome {
    const page = tf.lba & 0xff;
    const pages = tf.count;
    if (pages === 0) return fail(ATA_ERROR_ABRT);
    const log = new Uint8Array(512 * pages);
    if (page === 0x00) {
      log[0] = 1; // log directory version
      log[0x10 * 2] = 1; // one page of log 10h
    } else if (page === 0x10) {
      const e = this.ncqError;
      if (e) {
        log[0] = e.tag & 0x1f;
        log[2] = e.status;
        log[3] = e.error;
        for (let i = 0; i < 3; i++) log[4 + i] = Math.floor(e.lba / 2 ** (8 * i)) & 0xff;
        for (let i = 0; i < 3; i++) log[8 + i] = Math.floor(e.lba / 2 ** (8 * (i + 3))) & 0xff;
        log[12] = e.count & 0xff;
        log[13] = (e.count >> 8) & 0xff;
      } else {
        log[0] = 0x80; // NQ: no queued command failed
      }
      let sum = 0;
      for (let i = 0; i < 511; i++) sum += log[i]!;
      log[511] = -sum & 0xff;
      this.ncqError = undefined;
    } else {
      return fail(ATA_ERROR_ABRT);
    }
    return this.toHost(log, data);
  }

  /** PIO data-in of a small buffer through the PRD segments. */
  private toHost(src: Uint8Array, data: DmaSegments): AtaOutcome {
    let done = 0;
    for (const seg of data) {
      if (done >= src.length) break;
      const n = Math.min(seg.length, src.length - done);
      seg.set(src.subarray(done, done + n));
      done += n;
    }
    if (done < src.length) return { ...fail(ATA_ERROR_ABRT), bytes: done, overflow: true };
    return ok(done, true);
  }

  private transfer(
    write: boolean,
    lba: number,
    count: number,
    data: DmaSegments,
    fua: boolean,
  ): AtaOutcome {
    if (lba + count > this.sectors) return fail(ATA_ERROR_IDNF, lba, count);
    const total = count * this.sectorSize;
    let room = 0;
    for (const seg of data) room += seg.length;
    if (room < total) return { ...fail(ATA_ERROR_ABRT, lba, count), overflow: true };
    let pos = lba * this.sectorSize;
    let left = total;
    for (const seg of data) {
      if (left === 0) break;
      const view = seg.length > left ? seg.subarray(0, left) : seg;
      const r = write ? this.image.write(pos, view) : this.image.read(pos, view);
      if (!r.ok)
        return fail(r.error.code === "D_READ_ONLY" ? ATA_ERROR_ABRT : ATA_ERROR_UNC, lba, count);
      pos += view.length;
      left -= view.length;
    }
    if (write && (fua || !this.writeCache) && !this.image.flush().ok)
      return fail(ATA_ERROR_ABRT, lba, count);
    return ok(total);
  }
}
