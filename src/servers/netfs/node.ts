// The nodes of a translator's tree (the Hurd's libnetfs nodes): directories holding named
// children, and files whose reads and writes the server implements. Errors are values.
import type { kern_return_t } from "../../kernel/kern-return.js";

export type IoResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: kern_return_t };

export function ioOk<T>(value: T): IoResult<T> {
  return { ok: true, value };
}
export function ioFail<T = never>(code: kern_return_t): IoResult<T> {
  return { ok: false, code };
}

export interface FileOps {
  /** Reads up to `amount` bytes at `offset`; fewer (or none) past the end. */
  read(offset: number, amount: number): Promise<IoResult<Uint8Array>>;
  /** Writes `data` at `offset`; returns how many bytes were written. Absent: read-only file. */
  write?(offset: number, data: Uint8Array): Promise<IoResult<number>>;
}

export interface FsDir {
  readonly kind: "dir";
  readonly name: string;
  parent: FsDir | undefined;
  readonly children: Map<string, FsNode>;
  /** What the server attaches (a PCI function, nothing, ...). */
  readonly tag?: unknown;
}

export interface FsFile {
  readonly kind: "file";
  readonly name: string;
  parent: FsDir | undefined;
  readonly ops: FileOps;
  readonly tag?: unknown;
}

export type FsNode = FsDir | FsFile;

export function makeDir(name: string, tag?: unknown): FsDir {
  return { kind: "dir", name, parent: undefined, children: new Map(), tag };
}

export function makeFile(name: string, ops: FileOps, tag?: unknown): FsFile {
  return { kind: "file", name, parent: undefined, ops, tag };
}

/** Adds `child` under `dir` (replacing a same-named child) and returns it. */
export function addChild<N extends FsNode>(dir: FsDir, child: N): N {
  child.parent = dir;
  dir.children.set(child.name, child);
  return child;
}

/** The path of `node` from the root, components joined with "/" ("" for the root). */
export function nodePath(node: FsNode): string {
  const parts: string[] = [];
  for (let n: FsNode | undefined = node; n?.parent; n = n.parent) parts.unshift(n.name);
  return parts.join("/");
}

/**
 * The listing io_read returns on a directory: one child name per line, sorted. tsmach's
 * translators answer io_read on directories this way, as they serve no dir_readdir.
 */
export function dirListing(dir: FsDir): Uint8Array {
  const names = [...dir.children.keys()].sort();
  return new TextEncoder().encode(names.map((n) => `${n}\n`).join(""));
}

/** Reads a window of a byte array the way io_read does: clamp to the end, nothing past it. */
export function readWindow(bytes: Uint8Array, offset: number, amount: number): Uint8Array {
  if (offset >= bytes.length) return new Uint8Array(0);
  return bytes.slice(offset, Math.min(bytes.length, offset + amount));
}
