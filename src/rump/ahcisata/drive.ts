// An ATA disk on an AHCI port as the disk layer sees it: IDENTIFY, sector reads and writes
// (READ/WRITE DMA EXT, queued as FPDMA when NCQ is on), FLUSH CACHE EXT, raw commands.
import { EINVAL, EIO, ENXIO, fail, ok, type RumpResult } from "../errno.js";
import {
  ATA_CMD_FLUSH_CACHE_EXT,
  ATA_CMD_IDENTIFY_DEVICE,
  ATA_CMD_READ_DMA_EXT,
  ATA_CMD_WRITE_DMA_EXT,
  ATA_DEV_LBA,
  ATA_MAX_SECTORS_EXT,
} from "./atareg.js";
import type { AtaTaskFile } from "./fis.js";
import { parseIdentify, supportsLbaDma, type AtaIdentity } from "./identify.js";
import type { AhciPort, AtaCommandError, AtaDataDirection } from "./port.js";

/** The storage-device interface of a disk (what wd attaches to). */
export interface AtaDrive {
  /** "ahcisata0 port 0" style location. */
  readonly location: string;
  readonly identity: AtaIdentity;
  readonly sectorSize: number;
  readonly sectors: number;
  readonly ncq: boolean;
  /** Reads `count` sectors at `lba` into `buf` (exactly count * sectorSize bytes). */
  read(lba: number, count: number, buf: Uint8Array): Promise<RumpResult<void>>;
  write(lba: number, count: number, buf: Uint8Array): Promise<RumpResult<void>>;
  flush(): Promise<RumpResult<void>>;
  /** The most bytes one command moves for this buffer (direct DMA or through a bounce). */
  maxTransfer(buf: Uint8Array): number;
  /** A raw ATA command, unchecked (NetBSD's ATAIOCCOMMAND): for diagnostics and tests. */
  command(
    tf: AtaTaskFile,
    dir: AtaDataDirection,
    data?: Uint8Array,
  ): Promise<RumpResult<void> | AtaCommandError>;
}

export class AhciDrive implements AtaDrive {
  readonly sectorSize: number;
  readonly sectors: number;

  private constructor(
    readonly location: string,
    readonly port: AhciPort,
    readonly identity: AtaIdentity,
  ) {
    this.sectorSize = identity.sectorSize;
    this.sectors = identity.sectors;
  }

  get ncq(): boolean {
    return this.port.ncqEnabled;
  }

  /** IDENTIFY DEVICE, then the drive's parameters; NCQ on when both HBA and device have it. */
  static async identify(
    location: string,
    port: AhciPort,
    hbaNcq: boolean,
  ): Promise<RumpResult<AhciDrive>> {
    const id = new Uint8Array(512);
    const r = await port.exec({ tf: { command: ATA_CMD_IDENTIFY_DEVICE }, dir: "in", data: id });
    if (!r.ok) return fail(r.errno === EIO ? ENXIO : r.errno, `IDENTIFY DEVICE: ${r.message}`);
    const identity = parseIdentify(id);
    if (!identity || !supportsLbaDma(id))
      return fail(ENXIO, `${location}: device without LBA and DMA`);
    if (!identity.lba48) return fail(ENXIO, `${location}: device without 48-bit addressing`);
    if (identity.sectors < 1 || identity.sectorSize % 512)
      return fail(ENXIO, `${location}: bad capacity or sector size`);
    port.ncqEnabled = hbaNcq && identity.ncq;
    port.queue.setNcqDepth(port.ncqEnabled ? identity.queueDepth : 1);
    return ok(new AhciDrive(location, port, identity));
  }

  private check(lba: number, count: number, buf: Uint8Array): RumpResult<void> {
    if (!Number.isSafeInteger(lba) || !Number.isSafeInteger(count) || lba < 0 || count < 1)
      return fail(EINVAL, `bad sector range ${lba}+${count}`);
    if (lba + count > this.sectors)
      return fail(EINVAL, `sectors ${lba}+${count} past the end (${this.sectors})`);
    if (buf.byteLength !== count * this.sectorSize)
      return fail(EINVAL, `buffer of ${buf.byteLength} bytes for ${count} sectors`);
    return ok(undefined);
  }

  private async rw(write: boolean, lba: number, count: number, buf: Uint8Array) {
    const c = this.check(lba, count, buf);
    if (!c.ok) return c;
    const per = Math.max(
      1,
      Math.min(ATA_MAX_SECTORS_EXT, Math.floor(this.maxTransfer(buf) / this.sectorSize)),
    );
    const jobs: Promise<RumpResult<void>>[] = [];
    for (let done = 0; done < count; done += per) {
      const n = Math.min(per, count - done);
      const tf: AtaTaskFile = {
        command: write ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_READ_DMA_EXT,
        lba: lba + done,
        count: n === ATA_MAX_SECTORS_EXT ? 0 : n,
        device: ATA_DEV_LBA,
      };
      const data = buf.subarray(done * this.sectorSize, (done + n) * this.sectorSize);
      jobs.push(this.port.exec({ tf, dir: write ? "out" : "in", data, queue: true }));
    }
    const results = await Promise.all(jobs);
    return results.find((x) => !x.ok) ?? ok(undefined);
  }

  read(lba: number, count: number, buf: Uint8Array): Promise<RumpResult<void>> {
    return this.rw(false, lba, count, buf);
  }

  write(lba: number, count: number, buf: Uint8Array): Promise<RumpResult<void>> {
    return this.rw(true, lba, count, buf);
  }

  async flush(): Promise<RumpResult<void>> {
    const r = await this.port.exec({
      tf: { command: ATA_CMD_FLUSH_CACHE_EXT, device: ATA_DEV_LBA },
      dir: "none",
    });
    return r;
  }

  maxTransfer(buf: Uint8Array): number {
    return this.port.maxTransfer(buf);
  }

  command(tf: AtaTaskFile, dir: AtaDataDirection, data?: Uint8Array) {
    return this.port.exec({ tf, dir, ...(data ? { data } : {}) });
  }
}
