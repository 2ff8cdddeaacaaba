// The Register Host-to-Device FIS (SATA 3.x, 10.3.4): what carries an ATA command to the device
// in the command table of an AHCI slot.

export const FIS_TYPE_REG_H2D = 0x27;
export const FIS_H2D_LENGTH = 20;
/** The C bit: this FIS updates the command register. */
export const FIS_H2D_C = 0x80;

/** An ATA command as its registers: 48-bit LBA, 16-bit count and features. */
export interface AtaTaskFile {
  command: number;
  features?: number;
  lba?: number;
  count?: number;
  device?: number;
  control?: number;
}

/** Writes the 20-byte H2D FIS for `tf` at `out[offset]` (the rest of the 64-byte area is left). */
export function buildH2dFis(tf: AtaTaskFile, out: Uint8Array, offset = 0): void {
  const lba = tf.lba ?? 0;
  const features = tf.features ?? 0;
  const count = tf.count ?? 0;
  const f = out.subarray(offset, offset + FIS_H2D_LENGTH);
  f.fill(0);
  f[0] = FIS_TYPE_REG_H2D;
  f[1] = FIS_H2D_C;
  f[2] = tf.command & 0xff;
  f[3] = features & 0xff;
  f[4] = lba & 0xff;
  f[5] = Math.floor(lba / 0x100) & 0xff;
  f[6] = Math.floor(lba / 0x10000) & 0xff;
  f[7] = (tf.device ?? 0) & 0xff;
  f[8] = Math.floor(lba / 0x1000000) & 0xff;
  f[9] = Math.floor(lba / 0x100000000) & 0xff;
  f[10] = Math.floor(lba / 0x10000000000) & 0xff;
  f[11] = (features >> 8) & 0xff;
  f[12] = count & 0xff;
  f[13] = (count >> 8) & 0xff;
  f[15] = (tf.control ?? 0) & 0xff;
}
