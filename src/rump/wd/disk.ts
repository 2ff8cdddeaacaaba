// wd: an ATA disk attached as wdN with its partitions, and byte-granular reads and writes on
// the whole disk or a partition (read-modify-write for partial sectors), with bounds checks.
import type { AtaDrive } from "../ahcisata/drive.js";
import { EINVAL, ENOSPC, fail, ok, type RumpResult } from "../errno.js";
import { readPartitions, type Partition, type PartitionTable } from "./partitions.js";
import { RangeLock } from "./range-lock.js";

/** A place I/O goes to: the whole disk (wdNd) or one partition (wdNsM). */
export interface WdDevice {
  /** "wd0", "wd0s1". */
  readonly name: string;
  readonly disk: WdDisk;
  /** First sector on the disk and size in sectors. */
  readonly start: number;
  readonly sectors: number;
  readonly partition: Partition | undefined;
}

export class WdDisk {
  readonly whole: WdDevice;
  private readonly writes = new RangeLock();

  private constructor(
    readonly unit: number,
    readonly drive: AtaDrive,
    readonly label: PartitionTable,
  ) {
    this.whole = {
      name: `wd${unit}`,
      disk: this,
      start: 0,
      sectors: drive.sectors,
      partition: undefined,
    };
  }

  get name(): string {
    return `wd${this.unit}`;
  }
  get sectorSize(): number {
    return this.drive.sectorSize;
  }

  /** Attaches a drive as wd`unit`, reading its MBR or GPT. */
  static async attach(unit: number, drive: AtaDrive): Promise<WdDisk> {
    const ss = drive.sectorSize;
    const label = await readPartitions(
      async (lba, count) => {
        if (lba < 0 || lba + count > drive.sectors) return undefined;
        const buf = new Uint8Array(count * ss);
        const r = await drive.read(lba, count, buf);
        return r.ok ? buf : undefined;
      },
      drive.sectors,
      ss,
    );
    return new WdDisk(unit, drive, label);
  }

  /** wdNsM. */
  partition(m: number): WdDevice | undefined {
    const p = this.label.partitions.find((x) => x.index === m);
    return (
      p && {
        name: `wd${this.unit}s${m}`,
        disk: this,
        start: p.start,
        sectors: p.sectors,
        partition: p,
      }
    );
  }

  devices(): WdDevice[] {
    return [this.whole, ...this.label.partitions.map((p) => this.partition(p.index)!)];
  }

  /** Reads up to buf.length bytes at byte `offset` of `dev`; 0 at or past its end. */
  async pread(dev: WdDevice, buf: Uint8Array, offset: number): Promise<RumpResult<number>> {
    const ss = this.sectorSize;
    const size = dev.sectors * ss;
    if (!Number.isSafeInteger(offset) || offset < 0) return fail(EINVAL, `bad offset ${offset}`);
    if (offset >= size || buf.length === 0) return ok(0);
    const n = Math.min(buf.length, size - offset);
    const end = offset + n;
    const first = Math.floor(offset / ss);
    const last = Math.ceil(end / ss); // exclusive
    const midStart = Math.ceil(offset / ss);
    const midEnd = Math.floor(end / ss);
    const jobs: Promise<RumpResult<void>>[] = [];
    const partial = async (sector: number) => {
      const tmp = new Uint8Array(ss);
      const r = await this.drive.read(dev.start + sector, 1, tmp);
      if (!r.ok) return r;
      const from = Math.max(offset, sector * ss);
      const to = Math.min(end, (sector + 1) * ss);
      buf.set(tmp.subarray(from - sector * ss, to - sector * ss), from - offset);
      return ok(undefined);
    };
    if (midStart < midEnd) {
      const dst = buf.subarray(midStart * ss - offset, midEnd * ss - offset);
      jobs.push(this.drive.read(dev.start + midStart, midEnd - midStart, dst));
    }
    if (first < midStart) jobs.push(partial(first));
    if (midEnd < last && !(last - 1 === first && first < midStart)) jobs.push(partial(last - 1));
    const results = await Promise.all(jobs);
    const bad = results.find((r) => !r.ok);
    return bad && !bad.ok ? bad : ok(n);
  }

  /** Writes buf at byte `offset` of `dev`; ENOSPC when it would run past the end. */
  async pwrite(dev: WdDevice, buf: Uint8Array, offset: number): Promise<RumpResult<number>> {
    const ss = this.sectorSize;
    const size = dev.sectors * ss;
    if (!Number.isSafeInteger(offset) || offset < 0) return fail(EINVAL, `bad offset ${offset}`);
    if (buf.length === 0) return ok(0);
    if (offset + buf.length > size)
      return fail(
        ENOSPC,
        `${buf.length} bytes at ${offset} run past the end of ${dev.name} (${size} bytes)`,
      );
    const end = offset + buf.length;
    const first = Math.floor(offset / ss);
    const last = Math.ceil(end / ss);
    const release = await this.writes.lock(dev.start + first, dev.start + last);
    try {
      const midStart = Math.ceil(offset / ss);
      const midEnd = Math.floor(end / ss);
      const rmw = async (sector: number): Promise<RumpResult<void>> => {
        const tmp = new Uint8Array(ss);
        const r = await this.drive.read(dev.start + sector, 1, tmp);
        if (!r.ok) return r;
        const from = Math.max(offset, sector * ss);
        const to = Math.min(end, (sector + 1) * ss);
        tmp.set(buf.subarray(from - offset, to - offset), from - sector * ss);
        return this.drive.write(dev.start + sector, 1, tmp);
      };
      const jobs: Promise<RumpResult<void>>[] = [];
      if (midStart < midEnd)
        jobs.push(
          this.drive.write(
            dev.start + midStart,
            midEnd - midStart,
            buf.subarray(midStart * ss - offset, midEnd * ss - offset),
          ),
        );
      if (first < midStart) jobs.push(rmw(first));
      if (midEnd < last && !(last - 1 === first && first < midStart)) jobs.push(rmw(last - 1));
      const results = await Promise.all(jobs);
      const bad = results.find((r) => !r.ok);
      return bad && !bad.ok ? bad : ok(buf.length);
    } finally {
      release();
    }
  }

  flush(): Promise<RumpResult<void>> {
    return this.drive.flush();
  }
}
