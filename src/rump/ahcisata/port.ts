// One AHCI port and the drive behind it: port start/stop, COMRESET, command issue (queued or
// not), interrupt-driven completion from PxCI/PxSACT, timeouts and task-file error recovery.
import {
  BUS_DMASYNC_POSTREAD,
  BUS_DMASYNC_PREREAD,
  BUS_DMASYNC_PREWRITE,
  type BusDmaMemory,
  type BusDmaSegment,
  type BusDmaTag,
} from "../bus-dma.js";
import {
  EINVAL,
  EIO,
  ENXIO,
  ETIMEDOUT,
  describeThrown,
  fail,
  ok,
  type RumpError,
  type RumpResult,
} from "../errno.js";
import type { MmioRegion } from "../pci-user.js";
import { monotonicMs, RumpMutex, type RumpUser } from "../rumpuser.js";
import {
  AHCI_CMDH_PRDTL_SHIFT,
  AHCI_CMDH_SIZE,
  AHCI_CMDH_W,
  AHCI_CMDTBL_PRDT,
  AHCI_IS,
  AHCI_P_CI,
  AHCI_P_CLB,
  AHCI_P_CLBU,
  AHCI_P_CMD,
  AHCI_P_CMD_CLO,
  AHCI_P_CMD_CR,
  AHCI_P_CMD_FR,
  AHCI_P_CMD_FRE,
  AHCI_P_CMD_ST,
  AHCI_P_FB,
  AHCI_P_FBU,
  AHCI_P_IE,
  AHCI_P_IE_DEFAULT,
  AHCI_P_IS,
  AHCI_P_IX_FATAL,
  AHCI_P_IX_TFES,
  AHCI_P_SACT,
  AHCI_P_SCTL,
  AHCI_P_SCTL_DET_INIT,
  AHCI_P_SCTL_IPM_NONE,
  AHCI_P_SERR,
  AHCI_P_SIG,
  AHCI_P_SSTS,
  AHCI_P_SSTS_DET,
  AHCI_P_SSTS_DET_PRESENT,
  AHCI_P_TFD,
  AHCI_PRD_SIZE,
  AHCI_RFIS_SIZE,
  portReg,
} from "./ahcireg.js";
import {
  ATA_CMD_READ_DMA_EXT,
  ATA_CMD_READ_FPDMA_QUEUED,
  ATA_CMD_READ_LOG_EXT,
  ATA_LOG_NCQ_ERROR,
  ATA_CMD_WRITE_DMA_EXT,
  ATA_CMD_WRITE_FPDMA_QUEUED,
  ATA_DEV_FUA,
  ATA_DEV_LBA,
  ATA_ST_BSY,
  ATA_ST_DRQ,
  ATA_ST_ERR,
} from "./atareg.js";
import { buildH2dFis, FIS_H2D_LENGTH, type AtaTaskFile } from "./fis.js";
import { buildPrdt, prdCount } from "./prdt.js";
import { SlotQueue } from "./slots.js";

/** PRDs per command table (a 1 KiB table: 0x80 bytes of FIS area, then 56 PRDs). */
export const AHCI_MAX_PRDS = 56;
export const AHCI_CMDTBL_SIZE = AHCI_CMDTBL_PRDT + AHCI_MAX_PRDS * AHCI_PRD_SIZE;
/** The bounce buffer of each slot (NetBSD's MAXPHYS is 64 KiB; we allow more per command). */
export const AHCI_BOUNCE_SIZE = 128 << 10;
/** Offsets inside the per-port control block. */
const CL_OFF = 0;
const RFIS_OFF = 1024;
const TBL_OFF = 2048;

/** Direction of a command's data. */
export type AtaDataDirection = "none" | "in" | "out";

/** A command for the drive: its registers, its data buffer, and how to run it. */
export interface AtaCommand {
  tf: AtaTaskFile;
  dir: AtaDataDirection;
  /** The caller's buffer (length = bytes the command moves). */
  data?: Uint8Array;
  /** May go out as a queued (FPDMA) command: only READ/WRITE DMA EXT. */
  queue?: boolean;
  /** Timeout for this command; default the port's. */
  timeoutMs?: number;
}

/** A failed ATA command: errno plus the device's status and error registers. */
export interface AtaCommandError extends RumpError {
  status: number;
  error: number;
}

type Outcome =
  | { kind: "done" }
  /** Aborted by recovery, not at fault: run it again (queued again when `queued`). */
  | { kind: "retry"; queued: boolean }
  | { kind: "error"; error: AtaCommandError };

/** What the NCQ command error log says: the failed tag and its status and error registers. */
interface NcqErrorLog {
  tag: number;
  status: number;
  error: number;
}

interface Active {
  ncq: boolean;
  started: number;
  timeoutMs: number;
  settle(o: Outcome): void;
}

export interface PortOptions {
  ru: RumpUser;
  dma: BusDmaTag;
  abar: MmioRegion;
  index: number;
  slots: number;
  s64a: boolean;
  sclo: boolean;
  timeoutMs: number;
  log(line: string): void;
}

function ataError(errno: number, status: number, error: number, what: string): AtaCommandError {
  return { ...fail(errno, what), status, error };
}

export class AhciPort {
  readonly index: number;
  readonly queue: SlotQueue;
  /** Commands completed since attach, and recoveries (diagnostics, tests). */
  completedCommands = 0;
  /** The most commands in flight at once, and queued (FPDMA) commands issued. */
  peakInFlight = 0;
  queuedCommands = 0;
  recoveries = 0;
  /** Times the NCQ error log named the failed queued command. */
  ncqLogLookups = 0;
  comresets = 0;
  /** Queued commands allowed (the drive supports NCQ and it is enabled). */
  ncqEnabled = false;
  signature = 0xffffffff;
  private readonly ru: RumpUser;
  private readonly dma: BusDmaTag;
  private readonly abar: MmioRegion;
  private readonly lock = new RumpMutex();
  private ctl: BusDmaMemory | undefined;
  private bounce: BusDmaMemory | undefined;
  private readonly active = new Map<number, Active>();
  /** Slots whose PxCI write has been done (and are not complete). */
  private issued = 0;
  private ncqIssued = 0;
  /** service() calls so far: a slot whose issue lands after one had began looks again. */
  private servicePasses = 0;
  private dead = false;

  constructor(private readonly o: PortOptions) {
    this.index = o.index;
    this.ru = o.ru;
    this.dma = o.dma;
    this.abar = o.abar;
    this.queue = new SlotQueue(o.slots, 1);
  }

  private r(reg: number): Promise<number> {
    return this.abar.read32(portReg(this.index, reg));
  }
  private w(reg: number, v: number): Promise<void> {
    return this.abar.write32(portReg(this.index, reg), v >>> 0);
  }
  /**
   * A posted register write: started now, in order with every other access, not awaited (what
   * PCI does with memory writes). `failed` hears of an access that could not be made.
   */
  private post(reg: number, v: number, failed?: (e: unknown) => void): void {
    try {
      this.w(reg, v).catch((e: unknown) => failed?.(e));
    } catch (e) {
      failed?.(e);
    }
  }

  /** Polls `cond` on a register until true or `ms` pass; true when it became true. */
  private async waitFor(reg: number, cond: (v: number) => boolean, ms: number): Promise<boolean> {
    const end = monotonicMs(this.ru) + ms;
    for (;;) {
      if (cond(await this.r(reg))) return true;
      if (monotonicMs(this.ru) > end) return false;
      await this.ru.clockSleep(1);
    }
  }

  /** Allocates the command list, received-FIS area, command tables and bounce buffers. */
  async allocate(): Promise<RumpResult<void>> {
    const ctl = await this.dma.dmamemAlloc(TBL_OFF + this.o.slots * AHCI_CMDTBL_SIZE, 4096);
    if (!ctl.ok) return ctl;
    const bounce = await this.dma.dmamemAlloc(this.o.slots * AHCI_BOUNCE_SIZE, 4096);
    if (!bounce.ok) {
      await this.dma.dmamemFree(ctl.value);
      return bounce;
    }
    if (!this.o.s64a && bounce.value.phys + bounce.value.size > 0x1_0000_0000) {
      return fail(ENXIO, "DMA memory above 4 GiB but the HBA has no 64-bit addressing");
    }
    this.ctl = ctl.value;
    this.bounce = bounce.value;
    return ok(undefined);
  }

  async free(): Promise<void> {
    if (this.ctl) await this.dma.dmamemFree(this.ctl);
    if (this.bounce) await this.dma.dmamemFree(this.bounce);
    this.ctl = this.bounce = undefined;
  }

  /** Clears ST and waits for CR; with `fis`, also FRE and FR. False when the port did not stop. */
  async stop(fis = false): Promise<boolean> {
    let cmd = await this.r(AHCI_P_CMD);
    if (cmd & AHCI_P_CMD_ST) await this.w(AHCI_P_CMD, cmd & ~AHCI_P_CMD_ST);
    if (!(await this.waitFor(AHCI_P_CMD, (v) => (v & AHCI_P_CMD_CR) === 0, 500))) return false;
    if (!fis) return true;
    cmd = await this.r(AHCI_P_CMD);
    if (cmd & AHCI_P_CMD_FRE) await this.w(AHCI_P_CMD, cmd & ~AHCI_P_CMD_FRE);
    return this.waitFor(AHCI_P_CMD, (v) => (v & AHCI_P_CMD_FR) === 0, 500);
  }

  /** Link up with a device present (SSTS.DET = 3)? */
  async linkUp(): Promise<boolean> {
    return ((await this.r(AHCI_P_SSTS)) & AHCI_P_SSTS_DET) === AHCI_P_SSTS_DET_PRESENT;
  }

  /** COMRESET through PxSCTL.DET (the port must be stopped); true when the link came back. */
  async comreset(): Promise<boolean> {
    this.comresets++;
    await this.w(AHCI_P_SCTL, AHCI_P_SCTL_IPM_NONE | AHCI_P_SCTL_DET_INIT);
    await this.ru.clockSleep(2); // at least 1 ms of COMRESET
    await this.w(AHCI_P_SCTL, AHCI_P_SCTL_IPM_NONE);
    const up = await this.waitFor(
      AHCI_P_SSTS,
      (v) => (v & AHCI_P_SSTS_DET) === AHCI_P_SSTS_DET_PRESENT,
      1000,
    );
    await this.w(AHCI_P_SERR, 0xffffffff);
    return up;
  }

  /** Programs CLB/FB, enables FIS receive and interrupts, waits for the device, sets ST. */
  async start(): Promise<RumpResult<void>> {
    const ctl = this.ctl;
    if (!ctl) return fail(ENXIO, `port ${this.index}: no command memory`);
    const cl = ctl.phys + CL_OFF;
    const fb = ctl.phys + RFIS_OFF;
    await this.w(AHCI_P_CLB, cl % 0x1_0000_0000);
    await this.w(AHCI_P_CLBU, Math.floor(cl / 0x1_0000_0000));
    await this.w(AHCI_P_FB, fb % 0x1_0000_0000);
    await this.w(AHCI_P_FBU, Math.floor(fb / 0x1_0000_0000));
    const cmd = await this.r(AHCI_P_CMD);
    if (!(cmd & AHCI_P_CMD_FRE)) await this.w(AHCI_P_CMD, cmd | AHCI_P_CMD_FRE);
    await this.w(AHCI_P_SERR, 0xffffffff);
    await this.w(AHCI_P_IS, 0xffffffff);
    const ready = await this.waitFor(
      AHCI_P_TFD,
      (v) => (v & (ATA_ST_BSY | ATA_ST_DRQ)) === 0,
      2000,
    );
    if (!ready) return fail(EIO, `port ${this.index}: the device stays busy`);
    this.signature = await this.r(AHCI_P_SIG);
    await this.w(AHCI_P_IE, AHCI_P_IE_DEFAULT);
    await this.w(AHCI_P_CMD, (await this.r(AHCI_P_CMD)) | AHCI_P_CMD_ST);
    return ok(undefined);
  }

  /** Brings a freshly reset port up: stop, COMRESET if the link is down, start. */
  async attach(): Promise<RumpResult<boolean>> {
    if (!(await this.stop(true))) return fail(EIO, `port ${this.index} does not stop`);
    // DET 0: nothing attached. DET 1 or 4 (device seen, no communication, or PHY offline):
    // a COMRESET may bring the link up.
    const det = (await this.r(AHCI_P_SSTS)) & AHCI_P_SSTS_DET;
    if (det === 0) return ok(false);
    if (det !== AHCI_P_SSTS_DET_PRESENT && !(await this.comreset())) return ok(false);
    const a = await this.allocate();
    if (!a.ok) return a;
    const s = await this.start();
    if (!s.ok) return s;
    return ok(true);
  }

  /** Stops the port for good: commands in flight fail with ENXIO. */
  async detach(): Promise<void> {
    this.dead = true;
    this.queue.kill();
    await this.lock.with(async () => {
      await this.w(AHCI_P_IE, 0).catch(() => undefined);
      await this.stop(true).catch(() => false);
      this.failAll({ kind: "error", error: ataError(ENXIO, 0, 0, `port ${this.index} detached`) });
    });
    await this.free();
  }

  /** Tags to send a command as. Exposed for tests: which slots are in flight right now. */
  get inFlight(): number {
    return this.issued;
  }

  /**
   * Runs one command. A queued command that fails while others were in flight is retried
   * once as a non-queued one (after recovery), so the one at fault is found.
   */
  async exec(c: AtaCommand): Promise<RumpResult<void> | AtaCommandError> {
    if (c.data && c.dir === "none") return fail(EINVAL, "a command without data got a buffer");
    if (!c.data && c.dir !== "none") return fail(EINVAL, "a data command without a buffer");
    if (c.data && (c.data.byteLength === 0 || c.data.byteLength % 2))
      return fail(EINVAL, `bad transfer length ${c.data?.byteLength}`);
    let ncq = (c.queue ?? false) && this.ncqEnabled;
    for (let attempt = 0; attempt < 3; attempt++) {
      const o = await this.attempt(c, ncq, attempt > 0);
      if (o.kind === "done") return ok(undefined);
      if (o.kind === "error") return o.error;
      ncq = ncq && o.queued;
    }
    return ataError(EIO, 0, 0, "the command kept being aborted by recovery");
  }

  /** The largest transfer one command can do with `buf` (direct, or through the bounce). */
  maxTransfer(buf: Uint8Array): number {
    return this.dma.loadDirect(buf) ? AHCI_MAX_PRDS * (4 << 20) : AHCI_BOUNCE_SIZE;
  }

  private queuedTaskFile(tf: AtaTaskFile, slot: number): AtaTaskFile {
    const write = tf.command === ATA_CMD_WRITE_DMA_EXT;
    const fua = ((tf.device ?? 0) & ATA_DEV_FUA) !== 0;
    return {
      command: write ? ATA_CMD_WRITE_FPDMA_QUEUED : ATA_CMD_READ_FPDMA_QUEUED,
      lba: tf.lba,
      features: tf.count ?? 0,
      count: slot << 3,
      device: ATA_DEV_LBA | (fua ? ATA_DEV_FUA : 0),
    };
  }

  private async attempt(c: AtaCommand, wantNcq: boolean, retry: boolean): Promise<Outcome> {
    const isRw = c.tf.command === ATA_CMD_READ_DMA_EXT || c.tf.command === ATA_CMD_WRITE_DMA_EXT;
    const ncq = wantNcq && isRw;
    const got = await this.queue.acquire(ncq, retry);
    if (typeof got !== "number") return { kind: "error", error: { ...got, status: 0, error: 0 } };
    const slot = got;
    const ctl = this.ctl!;
    const bounce = this.bounce!;
    const len = c.data?.byteLength ?? 0;
    try {
      // Data: straight from the caller's buffer when it is device-visible, else via the bounce.
      let segments: BusDmaSegment[] = [];
      let bounced = false;
      const bounceOff = slot * AHCI_BOUNCE_SIZE;
      if (c.data) {
        const direct = this.dma.loadDirect(c.data);
        if (direct) segments = [direct];
        else {
          if (len > AHCI_BOUNCE_SIZE)
            return { kind: "error", error: ataError(EINVAL, 0, 0, `${len} bytes exceed a bounce`) };
          bounced = true;
          segments = [{ addr: bounce.phys + bounceOff, len }];
          if (c.dir === "out") {
            bounce.view.set(c.data, bounceOff);
            await this.dma.sync(bounce, bounceOff, len, BUS_DMASYNC_PREWRITE);
          } else {
            await this.dma.sync(bounce, bounceOff, len, BUS_DMASYNC_PREREAD);
          }
        }
      }
      // Command table: the H2D FIS and the PRDT; then the command header.
      const tblOff = TBL_OFF + slot * AHCI_CMDTBL_SIZE;
      const tbl = ctl.view.subarray(tblOff, tblOff + AHCI_CMDTBL_SIZE);
      buildH2dFis(ncq ? this.queuedTaskFile(c.tf, slot) : c.tf, tbl, 0);
      const prds = segments.length
        ? buildPrdt(segments, tbl.subarray(AHCI_CMDTBL_PRDT), AHCI_MAX_PRDS)
        : 0;
      if (prds === undefined)
        return {
          kind: "error",
          error: ataError(EINVAL, 0, 0, `buffer needs ${prdCount(segments)} PRDs or is misaligned`),
        };
      const hOff = CL_OFF + slot * AHCI_CMDH_SIZE;
      const hv = new DataView(ctl.view.buffer, ctl.view.byteOffset + hOff, AHCI_CMDH_SIZE);
      const tblPhys = ctl.phys + tblOff;
      hv.setUint32(
        0,
        ((FIS_H2D_LENGTH / 4) |
          (c.dir === "out" ? AHCI_CMDH_W : 0) |
          (prds << AHCI_CMDH_PRDTL_SHIFT)) >>>
          0,
        true,
      );
      hv.setUint32(4, 0, true);
      hv.setUint32(8, tblPhys % 0x1_0000_0000, true);
      hv.setUint32(12, Math.floor(tblPhys / 0x1_0000_0000), true);
      await Promise.all([
        this.dma.sync(ctl, tblOff, AHCI_CMDTBL_PRDT + prds * AHCI_PRD_SIZE, BUS_DMASYNC_PREWRITE),
        this.dma.sync(ctl, hOff, AHCI_CMDH_SIZE, BUS_DMASYNC_PREWRITE),
      ]);
      const outcome = await this.issue(slot, ncq, c.timeoutMs ?? this.o.timeoutMs);
      if (outcome.kind === "done") {
        this.completedCommands++;
        if (bounced && c.dir === "in" && c.data) {
          await this.dma.sync(bounce, bounceOff, len, BUS_DMASYNC_POSTREAD);
          c.data.set(bounce.view.subarray(bounceOff, bounceOff + len));
        }
      }
      return outcome;
    } catch (e) {
      return {
        kind: "error",
        error: ataError(EIO, 0, 0, `port ${this.index}: ${describeThrown(e)}`),
      };
    } finally {
      this.queue.release(slot, ncq);
    }
  }

  /** Sets PxSACT (queued) and PxCI for `slot` and waits for its outcome. */
  private async issue(slot: number, ncq: boolean, timeoutMs: number): Promise<Outcome> {
    let settle!: (o: Outcome) => void;
    const done = new Promise<Outcome>((r) => (settle = r));
    await this.lock.with(async () => {
      if (this.dead) {
        settle({ kind: "error", error: ataError(ENXIO, 0, 0, `port ${this.index} is gone`) });
        return;
      }
      const a: Active = { ncq, started: monotonicMs(this.ru), timeoutMs, settle };
      this.active.set(slot, a);
      const bit = (1 << slot) >>> 0;
      // Posted: the writes are on their way to the HBA, in order, and not waited for here. The
      // slot counts as issued (service() may find it complete) only once its PxCI write has
      // landed: before that, PxCI cannot show it, and a clear bit would mean nothing.
      const lost = (e: unknown) =>
        this.settle(slot, {
          kind: "error",
          error: ataError(EIO, 0, 0, `port ${this.index}: issue: ${describeThrown(e)}`),
        });
      const passes = this.servicePasses;
      const landed = () => {
        if (this.active.get(slot) !== a) return; // settled meanwhile (recovery, detach)
        this.issued = (this.issued | bit) >>> 0;
        if (ncq) this.ncqIssued = (this.ncqIssued | bit) >>> 0;
        // An interrupt serviced before this ran could not complete the slot: look again.
        if (this.servicePasses !== passes) void this.service(true).catch(() => undefined);
      };
      try {
        if (ncq) this.w(AHCI_P_SACT, bit).catch(lost);
        this.w(AHCI_P_CI, bit).then(landed, lost);
      } catch (e) {
        lost(e);
        return;
      }
      if (ncq) this.queuedCommands++;
      this.peakInFlight = Math.max(this.peakInFlight, this.active.size);
    });
    return done;
  }

  private settle(slot: number, o: Outcome): void {
    const a = this.active.get(slot);
    if (!a) return;
    this.active.delete(slot);
    const bit = ~(1 << slot);
    this.issued = (this.issued & bit) >>> 0;
    this.ncqIssued = (this.ncqIssued & bit) >>> 0;
    a.settle(o);
  }

  private failAll(o: Outcome): void {
    for (const slot of [...this.active.keys()]) this.settle(slot, o);
  }

  /** True while commands are outstanding. */
  get busy(): boolean {
    return this.active.size > 0;
  }

  /**
   * The interrupt (or poll) service: acknowledge PxIS, complete what PxCI/PxSACT show done, and
   * recover from errors. Returns true when the port had something to report. `reapOnly` leaves
   * PxIS alone (completions only).
   */
  async service(reapOnly = false): Promise<boolean> {
    return this.lock.with(async () => {
      if (this.dead) return false;
      this.servicePasses++;
      const is = await this.r(AHCI_P_IS);
      if (is & AHCI_P_IX_FATAL) {
        await this.w(AHCI_P_IS, is);
        await this.recover(is);
        return true;
      }
      // A reap (a slot's issue landed after an interrupt was serviced) completes slots only:
      // the interrupt's status bits are that pass's to clear, and its write may be on its way.
      if (is && !reapOnly) this.post(AHCI_P_IS, is);
      const issued = this.issued;
      if (!issued) return is !== 0;
      const ci = await this.r(AHCI_P_CI);
      const sact = this.ncqIssued ? await this.r(AHCI_P_SACT) : 0;
      const done = (issued & ~(ci | sact)) >>> 0;
      if (done) {
        // A slot leaves PxCI when it fails too: make sure no error came with it.
        const later = await this.r(AHCI_P_IS);
        if (later & AHCI_P_IX_FATAL) {
          await this.w(AHCI_P_IS, later);
          await this.recover(later);
          return true;
        }
      }
      for (let m = done; m; m &= m - 1) this.settle(31 - Math.clz32(m & -m), { kind: "done" });
      return is !== 0 || done !== 0;
    });
  }

  /** Checks deadlines: a command past its timeout resets the port. Called by the watchdog. */
  async checkTimeouts(): Promise<void> {
    const now = monotonicMs(this.ru);
    let late = false;
    for (const a of this.active.values()) if (now - a.started > a.timeoutMs) late = true;
    if (!late) return;
    await this.service(); // a lost interrupt, maybe
    const now2 = monotonicMs(this.ru);
    const still = [...this.active.values()].some((a) => now2 - a.started > a.timeoutMs);
    if (!still) return;
    await this.lock.with(async () => {
      this.o.log(`ahcisata port ${this.index}: command timeout, resetting the port`);
      const e = ataError(ETIMEDOUT, 0, 0, `port ${this.index}: command timed out`);
      await this.restart(true, () => ({ kind: "error", error: e }), false);
    });
  }

  /**
   * Error recovery (AHCI 1.3.1 6.2.2, as NetBSD's ahcisata does it): decide the outcome of the
   * commands in flight, stop the port, clear BSY/DRQ with CLO or COMRESET, clear errors, restart.
   * After a queued command failed, the NCQ error log (READ LOG EXT page 10h) names its tag: that
   * command fails, the others are retried; without the log, all are retried one by one, unqueued.
   */
  private async recover(is: number): Promise<void> {
    this.recoveries++;
    const tfd = await this.r(AHCI_P_TFD);
    const status = tfd & 0xff;
    const error = (tfd >> 8) & 0xff;
    const hex = (n: number) => (n >>> 0).toString(16);
    const queued = (is & AHCI_P_IX_TFES) !== 0 && this.ncqIssued !== 0;
    this.o.log(
      `ahcisata port ${this.index}: error PxIS=0x${hex(is)} TFD=0x${hex(tfd)}${queued ? " (queued commands)" : ""}`,
    );
    if (!(is & AHCI_P_IX_TFES)) {
      const e = ataError(EIO, status, error, `port ${this.index}: HBA error PxIS=0x${hex(is)}`);
      await this.restart(false, () => ({ kind: "error", error: e }), false);
    } else if (!queued) {
      const e = ataError(
        EIO,
        status,
        error,
        `port ${this.index}: task file error (status 0x${hex(status)}, error 0x${hex(error)})`,
      );
      await this.restart(false, () => ({ kind: "error", error: e }), false);
    } else {
      await this.restart(
        false,
        (slot, log) =>
          log && log.tag === slot
            ? {
                kind: "error",
                error: ataError(
                  EIO,
                  log.status,
                  log.error,
                  `port ${this.index}: queued command (tag ${slot}) failed (status 0x${hex(log.status)}, error 0x${hex(log.error)})`,
                ),
              }
            : { kind: "retry", queued: log !== undefined },
        true,
      );
    }
  }

  /**
   * Stops the port, resets what needs it, restarts it, and then settles every command that was
   * in flight with `outcomeFor(slot)` (so a retry finds the port working again).
   */
  private async restart(
    forceComreset: boolean,
    outcomeFor: (slot: number, log: NcqErrorLog | undefined) => Outcome,
    readNcqLog: boolean,
  ): Promise<void> {
    this.queue.block();
    let log: NcqErrorLog | undefined;
    try {
      let up = await this.bringUp(forceComreset);
      const victims = [...this.active.keys()];
      if (up && readNcqLog && victims.length) {
        log = await this.readNcqErrorLog(Math.min(...victims));
        if (!log) up = await this.bringUp(false); // the device refused the log: start clean
      }
    } finally {
      for (const slot of [...this.active.keys()]) this.settle(slot, outcomeFor(slot, log));
      this.queue.unblock();
    }
  }

  /** Stop, CLO or COMRESET when the device stays busy, clear errors, start. False: port dead. */
  private async bringUp(forceComreset: boolean): Promise<boolean> {
    const stopped = await this.stop(false);
    const tfd = await this.r(AHCI_P_TFD);
    let reset = forceComreset || !stopped;
    if (!reset && tfd & (ATA_ST_BSY | ATA_ST_DRQ)) {
      if (this.o.sclo) {
        await this.w(AHCI_P_CMD, (await this.r(AHCI_P_CMD)) | AHCI_P_CMD_CLO);
        const cleared = await this.waitFor(AHCI_P_CMD, (v) => (v & AHCI_P_CMD_CLO) === 0, 500);
        const t = await this.r(AHCI_P_TFD);
        reset = !cleared || (t & (ATA_ST_BSY | ATA_ST_DRQ)) !== 0;
      } else reset = true;
    }
    if (reset) {
      await this.stop(true);
      if (!(await this.comreset())) {
        this.o.log(`ahcisata port ${this.index}: no link after COMRESET, port disabled`);
        this.dead = true;
        this.queue.kill(fail(ENXIO, `port ${this.index}: device lost`));
        return false;
      }
    }
    await this.w(AHCI_P_SERR, 0xffffffff);
    await this.w(AHCI_P_IS, 0xffffffff);
    await this.abar.write32(AHCI_IS, (1 << this.index) >>> 0);
    const s = await this.start();
    if (!s.ok) {
      this.o.log(`ahcisata port ${this.index}: restart failed: ${s.message}`);
      this.dead = true;
      this.queue.kill(fail(ENXIO, s.message));
      return false;
    }
    return true;
  }

  /**
   * READ LOG EXT of the NCQ command error log (page 10h) in `slot`, polled (recovery holds the
   * port). Undefined when the device refuses it, reports no queued error (NQ), or the checksum
   * is wrong.
   */
  private async readNcqErrorLog(slot: number): Promise<NcqErrorLog | undefined> {
    const ctl = this.ctl!;
    const bounce = this.bounce!;
    const dataOff = slot * AHCI_BOUNCE_SIZE;
    const tblOff = TBL_OFF + slot * AHCI_CMDTBL_SIZE;
    const tbl = ctl.view.subarray(tblOff, tblOff + AHCI_CMDTBL_SIZE);
    buildH2dFis(
      { command: ATA_CMD_READ_LOG_EXT, lba: ATA_LOG_NCQ_ERROR, count: 1, device: ATA_DEV_LBA },
      tbl,
      0,
    );
    buildPrdt([{ addr: bounce.phys + dataOff, len: 512 }], tbl.subarray(AHCI_CMDTBL_PRDT), 1);
    const hOff = CL_OFF + slot * AHCI_CMDH_SIZE;
    const hv = new DataView(ctl.view.buffer, ctl.view.byteOffset + hOff, AHCI_CMDH_SIZE);
    const tblPhys = ctl.phys + tblOff;
    hv.setUint32(0, (FIS_H2D_LENGTH / 4) | (1 << AHCI_CMDH_PRDTL_SHIFT), true);
    hv.setUint32(4, 0, true);
    hv.setUint32(8, tblPhys % 0x1_0000_0000, true);
    hv.setUint32(12, Math.floor(tblPhys / 0x1_0000_0000), true);
    await this.dma.sync(ctl, tblOff, AHCI_CMDTBL_PRDT + AHCI_PRD_SIZE, BUS_DMASYNC_PREWRITE);
    await this.dma.sync(ctl, hOff, AHCI_CMDH_SIZE, BUS_DMASYNC_PREWRITE);
    await this.dma.sync(bounce, dataOff, 512, BUS_DMASYNC_PREREAD);
    const bit = (1 << slot) >>> 0;
    await this.w(AHCI_P_CI, bit);
    const done = await this.waitFor(AHCI_P_CI, (v) => (v & bit) === 0, 1000);
    const is = await this.r(AHCI_P_IS);
    if (is) await this.w(AHCI_P_IS, is);
    if (!done || is & AHCI_P_IX_FATAL) return undefined;
    await this.dma.sync(bounce, dataOff, 512, BUS_DMASYNC_POSTREAD);
    const page = bounce.view.subarray(dataOff, dataOff + 512);
    let sum = 0;
    for (const b of page) sum = (sum + b) & 0xff;
    if (sum !== 0 || page[0]! & 0x80) return undefined;
    this.ncqLogLookups++;
    return { tag: page[0]! & 0x1f, status: page[2]!, error: page[3]! };
  }

  /** Reads the port's task file (status and error registers), for diagnostics. */
  async taskFile(): Promise<{ status: number; error: number; err: boolean }> {
    const tfd = await this.r(AHCI_P_TFD);
    return { status: tfd & 0xff, error: (tfd >> 8) & 0xff, err: (tfd & ATA_ST_ERR) !== 0 };
  }
}
