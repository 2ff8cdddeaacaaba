// Test-level AHCI command builder: finds the controller through configuration mechanism #1,
// resets the HBA, starts ports, builds command headers, H2D FISes and PRDTs in DMA memory.
import type { MachineBackend } from "../../src/machine/backend.js";

export const ABAR_PORT = (p: number, reg: number) => 0x100 + p * 0x80 + reg;

export interface Prd {
  addr: number;
  length: number;
  interrupt?: boolean;
}

export interface TaskFile {
  command: number;
  lba?: number;
  count?: number;
  features?: number;
  device?: number;
}

export function h2dFis(tf: TaskFile): Uint8Array {
  const f = new Uint8Array(20);
  const lba = tf.lba ?? 0;
  f[0] = 0x27;
  f[1] = 0x80;
  f[2] = tf.command;
  f[3] = (tf.features ?? 0) & 0xff;
  for (let i = 0; i < 3; i++) f[4 + i] = Math.floor(lba / 2 ** (8 * i)) & 0xff;
  f[7] = tf.device ?? 0x40;
  for (let i = 0; i < 3; i++) f[8 + i] = Math.floor(lba / 2 ** (8 * (i + 3))) & 0xff;
  f[11] = ((tf.features ?? 0) >> 8) & 0xff;
  f[12] = (tf.count ?? 0) & 0xff;
  f[13] = ((tf.count ?? 0) >> 8) & 0xff;
  return f;
}

export function configAddress(bus: number, dev: number, fn: number, reg: number): number {
  return (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}

export async function configRead32(
  m: MachineBackend,
  dev: number,
  fn: number,
  reg: number,
): Promise<number> {
  await m.portWrite(0xcf8, 4, configAddress(0, dev, fn, reg));
  return m.portRead(0xcfc, 4);
}

export async function configWrite32(
  m: MachineBackend,
  dev: number,
  fn: number,
  reg: number,
  v: number,
): Promise<void> {
  await m.portWrite(0xcf8, 4, configAddress(0, dev, fn, reg));
  await m.portWrite(0xcfc, 4, v);
}

export class AhciTestDriver {
  abar = 0;
  clb = new Map<number, number>();
  fb = new Map<number, number>();
  tables = new Map<number, number>();

  constructor(
    readonly m: MachineBackend,
    readonly dev = 31,
    readonly fn = 2,
  ) {}

  r(off: number) {
    return this.m.mmioRead(this.abar + off, 4);
  }
  w(off: number, v: number) {
    return this.m.mmioWrite(this.abar + off, 4, v >>> 0);
  }
  pr(p: number, reg: number) {
    return this.r(ABAR_PORT(p, reg));
  }
  pw(p: number, reg: number, v: number) {
    return this.w(ABAR_PORT(p, reg), v);
  }

  /** Bus master on, HBA reset, AHCI enable, interrupts on. */
  async init(): Promise<void> {
    this.abar = ((await configRead32(this.m, this.dev, this.fn, 0x24)) & ~0xf) >>> 0;
    const cmd = await configRead32(this.m, this.dev, this.fn, 0x04);
    await configWrite32(this.m, this.dev, this.fn, 0x04, (cmd & 0xffff) | 0x6);
    await this.w(0x04, 1);
    while ((await this.r(0x04)) & 1) await new Promise((r) => setImmediate(r));
    await this.w(0x04, 0x80000002);
  }

  /** Command list, FIS area and one 4 KiB command table per slot; FRE then ST. */
  async startPort(p: number): Promise<void> {
    const clb = await this.m.allocDma(1024, 1024);
    const fb = await this.m.allocDma(256, 256);
    await this.m.memWrite(clb, new Uint8Array(1024));
    await this.m.memWrite(fb, new Uint8Array(256));
    this.clb.set(p, clb);
    this.fb.set(p, fb);
    const tables = await this.m.allocDma(32 * 4096, 128);
    this.tables.set(p, tables);
    await this.pw(p, 0x00, clb);
    await this.pw(p, 0x04, 0);
    await this.pw(p, 0x08, fb);
    await this.pw(p, 0x0c, 0);
    await this.pw(p, 0x30, 0xffffffff);
    await this.pw(p, 0x10, 0xffffffff);
    await this.pw(p, 0x14, 0xfdc000ff);
    await this.pw(p, 0x18, (await this.pr(p, 0x18)) | 0x10);
    await this.pw(p, 0x18, (await this.pr(p, 0x18)) | 0x01);
  }

  /** Writes the command header and table of `slot`; does not issue it. */
  async build(p: number, slot: number, tf: TaskFile, prds: Prd[], write = false): Promise<void> {
    const clb = this.clb.get(p)!;
    const table = this.tables.get(p)! + slot * 4096;
    const t = new Uint8Array(0x80 + 16 * prds.length);
    t.set(h2dFis(tf), 0);
    const v = new DataView(t.buffer);
    prds.forEach((d, i) => {
      v.setUint32(0x80 + 16 * i, d.addr % 0x1_0000_0000, true);
      v.setUint32(0x84 + 16 * i, Math.floor(d.addr / 0x1_0000_0000), true);
      v.setUint32(0x8c + 16 * i, ((d.length - 1) | (d.interrupt ? 0x80000000 : 0)) >>> 0, true);
    });
    await this.m.memWrite(table, t);
    const h = new Uint8Array(32);
    const hv = new DataView(h.buffer);
    hv.setUint32(0, (prds.length << 16) | (write ? 1 << 6 : 0) | 5, true);
    hv.setUint32(8, table, true);
    await this.m.memWrite(clb + slot * 32, h);
  }

  async issue(p: number, mask: number, ncq = false): Promise<void> {
    if (ncq) await this.pw(p, 0x34, mask);
    await this.pw(p, 0x38, mask);
  }

  /** Polls until none of `mask` is in PxCI (and PxSACT), or an error shows in PxIS. */
  async wait(p: number, mask: number, ncq = false, timeoutMs = 5000): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const is = await this.pr(p, 0x10);
      if (is & 0x78000000 || is & (1 << 24)) return is;
      const busy = (await this.pr(p, 0x38)) | (ncq ? await this.pr(p, 0x34) : 0);
      // Read PxIS again: the command may have completed between the two reads above.
      if (!(busy & mask)) return this.pr(p, 0x10);
      if (Date.now() > end) throw new Error(`port ${p} commands 0x${mask.toString(16)} timed out`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Issues one command and waits for it. Returns PxIS at completion. */
  async run(p: number, slot: number, tf: TaskFile, prds: Prd[], write = false): Promise<number> {
    await this.build(p, slot, tf, prds, write);
    await this.issue(p, 1 << slot);
    return this.wait(p, 1 << slot);
  }

  /** Error recovery as AHCI 1.3.1 section 6.2.2 describes: stop, clear, COMRESET, restart. */
  async recover(p: number): Promise<void> {
    await this.pw(p, 0x18, (await this.pr(p, 0x18)) & ~1);
    while ((await this.pr(p, 0x18)) & 0x8000) await new Promise((r) => setImmediate(r));
    await this.pw(p, 0x2c, 1);
    await new Promise((r) => setTimeout(r, 1));
    await this.pw(p, 0x2c, 0);
    while (((await this.pr(p, 0x28)) & 0xf) !== 3) await new Promise((r) => setImmediate(r));
    await this.pw(p, 0x30, 0xffffffff);
    await this.pw(p, 0x10, 0xffffffff);
    await this.w(0x08, 0xffffffff);
    await this.pw(p, 0x18, (await this.pr(p, 0x18)) | 1);
  }
}
