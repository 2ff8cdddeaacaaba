// EISA ids as AML stores them in _HID/_CID integers (EisaId("PNP0A08") = 0x080AD041):
// three 5-bit letters and four hex digits, byte-swapped. Decoding and encoding.

export function eisaIdToString(id: number): string {
  const v =
    ((id & 0xff) << 24) | ((id & 0xff00) << 8) | ((id >>> 8) & 0xff00) | ((id >>> 24) & 0xff);
  const letter = (shift: number): string => String.fromCharCode(0x40 + ((v >>> shift) & 0x1f));
  const digits = (v & 0xffff).toString(16).toUpperCase().padStart(4, "0");
  return letter(26) + letter(21) + letter(16) + digits;
}

/** The integer form of an id like "PNP0A08"; undefined when `s` is not one. */
export function eisaIdFromString(s: string): number | undefined {
  if (!/^[A-Z@-_]{3}[0-9A-F]{4}$/.test(s)) return undefined;
  const c = (i: number): number => (s.charCodeAt(i) - 0x40) & 0x1f;
  const v = ((c(0) << 26) | (c(1) << 21) | (c(2) << 16) | parseInt(s.slice(3), 16)) >>> 0;
  return (
    (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0
  );
}
