// A bounds-checked cursor over AML bytes: PkgLength, NameSeg, NameString and the integer
// encodings. Every read past the end or malformed encoding raises AE_AML_PARSE.
import { fault } from "../status.js";
import { isLeadNameChar, isNameChar, type NamePath } from "./names.js";

export class AmlReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    public end: number,
  ) {
    if (end > bytes.length) this.end = bytes.length;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  peek(ahead = 0): number | undefined {
    const p = this.pos + ahead;
    return p < this.end ? this.bytes[p] : undefined;
  }

  byte(): number {
    if (this.pos >= this.end) fault("AE_AML_PARSE", "unexpected end of AML", this.pos);
    return this.bytes[this.pos++]!;
  }

  word(): number {
    return this.byte() | (this.byte() << 8);
  }

  dword(): number {
    return (this.word() | (this.word() << 16)) >>> 0;
  }

  qword(): bigint {
    const lo = BigInt(this.dword());
    const hi = BigInt(this.dword());
    return (hi << 32n) | lo;
  }

  /** Decodes a PkgLength and returns its value (for field lengths, a bit count). */
  pkgLengthValue(): number {
    const lead = this.byte();
    const follow = lead >> 6;
    if (follow === 0) return lead & 0x3f;
    if (lead & 0x30)
      fault("AE_AML_PARSE", "PkgLength lead byte has reserved bits set", this.pos - 1);
    let len = lead & 0x0f;
    for (let i = 0; i < follow; i++) len |= this.byte() << (4 + 8 * i);
    return len >>> 0;
  }

  /** Decodes a PkgLength that covers itself and what follows; returns the end offset. */
  pkgEnd(): number {
    const start = this.pos;
    const len = this.pkgLengthValue();
    const end = start + len;
    if (len === 0 || end > this.end || end < this.pos) {
      fault("AE_AML_PARSE", `PkgLength ${len} runs outside its enclosing object`, start);
    }
    return end;
  }

  nameSeg(): string {
    const at = this.pos;
    let s = "";
    for (let i = 0; i < 4; i++) {
      const b = this.byte();
      if (i === 0 ? !isLeadNameChar(b) : !isNameChar(b)) {
        fault("AE_AML_BAD_NAME", `invalid character 0x${b.toString(16)} in NameSeg`, at + i);
      }
      s += String.fromCharCode(b);
    }
    return s;
  }

  nameString(): NamePath {
    let root = false;
    let parents = 0;
    if (this.peek() === 0x5c) {
      this.pos++;
      root = true;
    } else {
      while (this.peek() === 0x5e) {
        this.pos++;
        parents++;
      }
    }
    const b = this.byte();
    const segments: string[] = [];
    if (b === 0x00) {
      // NullName
    } else if (b === 0x2e) {
      segments.push(this.nameSeg(), this.nameSeg());
    } else if (b === 0x2f) {
      const count = this.byte();
      for (let i = 0; i < count; i++) segments.push(this.nameSeg());
    } else {
      this.pos--;
      segments.push(this.nameSeg());
    }
    return { root, parents, segments };
  }

  /** A zero-terminated ASCII string (StringPrefix data). */
  asciiz(): string {
    let s = "";
    for (;;) {
      const b = this.byte();
      if (b === 0) return s;
      s += String.fromCharCode(b);
    }
  }
}
