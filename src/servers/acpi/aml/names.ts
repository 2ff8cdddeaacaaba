// AML name paths: NameSegs, the root (\) and parent (^) prefixes, and their text form
// ("\_SB_.PCI0._PRT"), parsed from and printed to the ASL spelling people type.
import { fault } from "../status.js";

export interface NamePath {
  /** Starts with the root character `\`. */
  readonly root: boolean;
  /** Number of `^` parent prefixes (0 when root). */
  readonly parents: number;
  /** Four-character NameSegs, padded with `_`; empty for the NullName or a bare `\`. */
  readonly segments: readonly string[];
}

export function isLeadNameChar(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || b === 0x5f;
}

export function isNameChar(b: number): boolean {
  return isLeadNameChar(b) || (b >= 0x30 && b <= 0x39);
}

/** Bytes that may begin a NameString in a term position. */
export function isNameStringStart(b: number): boolean {
  return isLeadNameChar(b) || b === 0x5c || b === 0x5e || b === 0x2e || b === 0x2f;
}

export function formatNamePath(p: NamePath): string {
  return (p.root ? "\\" : "^".repeat(p.parents)) + p.segments.join(".");
}

/** Pads a short segment ("SB" -> "SB__") the way ASL does. */
export function padSegment(seg: string): string {
  return (seg + "____").slice(0, 4);
}

/** Parses the ASL text form: "\\_SB.PCI0._PRT", "^^FOO", "PCI0.ISA". */
export function parseNamePath(text: string): NamePath {
  let i = 0;
  let root = false;
  let parents = 0;
  if (text.startsWith("\\")) {
    root = true;
    i = 1;
  } else {
    while (text[i] === "^") {
      parents++;
      i++;
    }
  }
  const rest = text.slice(i);
  const segments = rest === "" ? [] : rest.split(".").map((s) => s.toUpperCase());
  for (const s of segments) {
    if (s.length === 0 || s.length > 4 || !/^[A-Z_][A-Z0-9_]*$/.test(s)) {
      fault("AE_AML_BAD_NAME", `bad name segment "${s}" in "${text}"`);
    }
  }
  return { root, parents, segments: segments.map(padSegment) };
}
