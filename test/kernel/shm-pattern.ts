// Deterministic message contents for the shared-memory tests: message k of a stream carries k in
// its first bytes and a k-dependent byte pattern after, so reordering or corruption shows.

export function patternByte(k: number, j: number): number {
  return (k * 131 + j * 7 + 1) & 0xff;
}

export function fillPattern(dst: Uint8Array, offset: number, size: number, k: number): void {
  for (let j = 0; j < size; j++) dst[offset + j] = patternByte(k, j);
}

export function makePattern(size: number, k: number): Uint8Array {
  const m = new Uint8Array(size);
  fillPattern(m, 0, size, k);
  return m;
}

export function checkPattern(msg: Uint8Array, k: number): boolean {
  for (let j = 0; j < msg.length; j++) if (msg[j] !== patternByte(k, j)) return false;
  return true;
}
