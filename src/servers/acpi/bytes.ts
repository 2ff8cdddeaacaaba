// Little-endian field readers for ACPI tables, bounds-checked: a read past the end yields
// undefined rather than garbage, so parsers can report a short table as an error value.

export class TableBytes {
  constructor(readonly data: Uint8Array) {}

  get length(): number {
    return this.data.length;
  }

  has(offset: number, size: number): boolean {
    return offset >= 0 && offset + size <= this.data.length;
  }

  u8(o: number): number {
    return this.data[o] ?? 0;
  }

  u16(o: number): number {
    return this.u8(o) | (this.u8(o + 1) << 8);
  }

  u32(o: number): number {
    return (this.u16(o) | (this.u16(o + 2) << 16)) >>> 0;
  }

  /** A 64-bit field as a number; addresses here stay below 2^53 (see PhysAddr). */
  u64(o: number): number {
    return this.u32(o) + this.u32(o + 4) * 0x1_0000_0000;
  }

  ascii(o: number, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.u8(o + i));
    return s;
  }
}

/** Sum of `length` bytes modulo 256: zero for a table whose checksum is right. */
export function byteSum(data: Uint8Array, length = data.length, start = 0): number {
  let s = 0;
  for (let i = start; i < start + length && i < data.length; i++) s = (s + data[i]!) & 0xff;
  return s;
}
