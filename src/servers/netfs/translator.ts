// A translator's file-system semantics without the ports: protids (a user's open node), name
// lookup, and io_read/io_write on nodes, with an access check the server supplies.
import { EACCES, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOTDIR, EROFS } from "./errno.js";
import {
  dirListing,
  ioFail,
  ioOk,
  nodePath,
  type FsDir,
  type FsNode,
  type IoResult,
} from "./node.js";
import type { kern_return_t } from "../../kernel/kern-return.js";

/** What a user wants to do with a node. */
export type AccessMode = "read" | "write";

/**
 * A user's handle on a node (the Hurd's protid): every port a translator hands out denotes one.
 * `user` is the credential the boot configuration gave the task the root port was made for.
 */
export interface Protid {
  readonly user: string;
  readonly node: FsNode;
}

/** Returns KERN_SUCCESS (0) when `user` may use `node` that way, else the error to return. */
export type AccessCheck = (user: string, node: FsNode, mode: AccessMode) => kern_return_t;

/** dir_lookup open flags (the Hurd's O_READ and O_WRITE). */
export const O_READ = 1;
export const O_WRITE = 2;

/** The longest name dir_lookup accepts (string_t is c_string[1024]). */
export const MAX_LOOKUP_NAME = 1023;

export class Translator {
  /** One protid per (user, node), so repeated lookups hand out the same object. */
  private readonly protids = new Map<string, Map<FsNode, Protid>>();

  constructor(
    readonly root: FsDir,
    private readonly check: AccessCheck,
  ) {}

  /** The protid of `user` on `node` (created on first use). */
  protid(user: string, node: FsNode = this.root): Protid {
    let byNode = this.protids.get(user);
    if (!byNode) this.protids.set(user, (byNode = new Map()));
    let p = byNode.get(node);
    if (!p) byNode.set(node, (p = { user, node }));
    return p;
  }

  /**
   * dir_lookup: resolves `name` (components separated by "/", "." and ".." allowed, never above
   * the root) from `from`. An empty name reopens `from`. Opening a file needs read access, and
   * write access too when `flags` has O_WRITE.
   */
  lookup(from: Protid, name: string, flags = O_READ): IoResult<Protid> {
    if (name.length > MAX_LOOKUP_NAME) return ioFail(ENAMETOOLONG);
    let node: FsNode = from.node;
    const parts = name.split("/").filter((p) => p !== "" && p !== ".");
    if (name.startsWith("/")) node = this.root;
    for (const part of parts) {
      if (node.kind !== "dir") return ioFail(ENOTDIR);
      if (part === "..") {
        node = node.parent ?? node;
        continue;
      }
      const next = node.children.get(part);
      if (!next) return ioFail(ENOENT);
      node = next;
    }
    if (node.kind === "file") {
      const code = this.check(from.user, node, "read");
      if (code !== 0) return ioFail(code);
      if (flags & O_WRITE) {
        const w = this.check(from.user, node, "write");
        if (w !== 0) return ioFail(w);
      }
    }
    return ioOk(this.protid(from.user, node));
  }

  /** io_read: a file's bytes, or a directory's listing (one name per line). */
  async read(p: Protid, offset: bigint, amount: bigint): Promise<IoResult<Uint8Array>> {
    if (offset < 0n || amount < 0n) return ioFail(EINVAL);
    const off = offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(offset);
    const len = Number(amount > 1n << 24n ? 1n << 24n : amount);
    if (p.node.kind === "dir") {
      const list = dirListing(p.node);
      return ioOk(off >= list.length ? new Uint8Array(0) : list.slice(off, off + len));
    }
    const code = this.check(p.user, p.node, "read");
    if (code !== 0) return ioFail(code);
    return p.node.ops.read(off, len);
  }

  /** io_write: writes to a file the user may write; directories and read-only files refuse. */
  async write(p: Protid, offset: bigint, data: Uint8Array): Promise<IoResult<number>> {
    if (p.node.kind === "dir") return ioFail(EISDIR);
    if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) return ioFail(EINVAL);
    const code = this.check(p.user, p.node, "write");
    if (code !== 0) return ioFail(code);
    if (!p.node.ops.write) return ioFail(EROFS);
    return p.node.ops.write(Number(offset), data);
  }

  /** For diagnostics: "user:path". */
  describe(p: Protid): string {
    return `${p.user}:/${nodePath(p.node)}`;
  }
}

/** An AccessCheck that lets everyone read and nobody write (the acpi server's tables). */
export const readOnlyForAll: AccessCheck = (_user, _node, mode) => (mode === "read" ? 0 : EACCES);
