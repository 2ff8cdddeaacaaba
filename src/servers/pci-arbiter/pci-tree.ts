// The arbiter's file tree as the Hurd's pci-arbiter publishes it: DOMAIN/BUS/DEV/FUNC
// directories ("0000/00/1f/2") holding `config`, `region0`..`region5` (BARs with a size) and
// `rom` (when the function has an expansion ROM).
import type { AccessWidth, HardwareAccess } from "../../machine/backend.js";
import { EINVAL, EIO } from "../netfs/errno.js";
import {
  addChild,
  ioFail,
  ioOk,
  makeDir,
  makeFile,
  type FileOps,
  type FsDir,
  type IoResult,
} from "../netfs/node.js";
import type { PciRegion } from "./bars.js";
import { backendError, leBytes, PCI_CONFIG_SIZE, type ConfigAccess } from "./config-access.js";
import type { PciFunction } from "./enumerate.js";

export const FILE_CONFIG_NAME = "config";
export const FILE_ROM_NAME = "rom";
export const FILE_REGION_PREFIX = "region";

/** What a function directory and its files carry, for access checks and the pci_* routines. */
export interface PciNodeTag {
  readonly fn: PciFunction;
  readonly file: "dir" | "config" | "region" | "rom";
}

export function pciTagOf(tag: unknown): PciNodeTag | undefined {
  return typeof tag === "object" && tag !== null && "fn" in tag ? (tag as PciNodeTag) : undefined;
}

const hex = (v: number, width: number): string => v.toString(16).padStart(width, "0");

function configOps(config: ConfigAccess, f: PciFunction): FileOps {
  return {
    read: async (offset, amount) => {
      if (offset >= PCI_CONFIG_SIZE) return ioOk(new Uint8Array(0));
      return config.read(f, offset, Math.min(amount, PCI_CONFIG_SIZE - offset));
    },
    write: async (offset, data) => {
      if (offset + data.length > PCI_CONFIG_SIZE) return ioFail(EINVAL);
      return config.write(f, offset, data);
    },
  };
}

function widthAt(addr: number, remaining: number): AccessWidth {
  return addr % 4 === 0 && remaining >= 4 ? 4 : addr % 2 === 0 && remaining >= 2 ? 2 : 1;
}

/** Reads and writes of a BAR's registers: port I/O for I/O BARs, MMIO for memory BARs. */
function regionOps(backend: HardwareAccess, r: PciRegion): FileOps {
  const size = Number(r.size);
  const base = Number(r.baseAddr);
  return {
    read: async (offset, amount): Promise<IoResult<Uint8Array>> => {
      if (offset >= size) return ioOk(new Uint8Array(0));
      const n = Math.min(amount, size - offset);
      const out = new Uint8Array(n);
      try {
        for (let o = 0; o < n;) {
          const w = widthAt(base + offset + o, n - o);
          const v = r.isIO
            ? await backend.portRead(base + offset + o, w)
            : await backend.mmioRead(base + offset + o, w);
          out.set(leBytes(v, w), o);
          o += w;
        }
      } catch (e) {
        return ioFail(backendError(e));
      }
      return ioOk(out);
    },
    write: async (offset, data): Promise<IoResult<number>> => {
      if (offset + data.length > size) return ioFail(EINVAL);
      try {
        for (let o = 0; o < data.length;) {
          const w = widthAt(base + offset + o, data.length - o);
          let v = 0;
          for (let i = w - 1; i >= 0; i--) v = v * 256 + data[o + i]!;
          if (r.isIO) await backend.portWrite(base + offset + o, w, v >>> 0);
          else await backend.mmioWrite(base + offset + o, w, v >>> 0);
          o += w;
        }
      } catch (e) {
        return ioFail(backendError(e));
      }
      return ioOk(data.length);
    },
  };
}

/** The expansion ROM's contents: decoding is enabled for the read and restored after it. */
function romOps(config: ConfigAccess, f: PciFunction): FileOps {
  const size = Number(f.rom.size);
  const romReg = f.headerType === 1 ? 0x38 : 0x30;
  return {
    read: async (offset, amount) => {
      if (offset >= size) return ioOk(new Uint8Array(0));
      if (f.rom.baseAddr === 0n) return ioFail(EIO);
      const n = Math.min(amount, size - offset);
      const base = Number(f.rom.baseAddr);
      const enable = await config.write(f, romReg, leBytes(base | 1, 4));
      if (!enable.ok) return enable;
      try {
        const out = new Uint8Array(n);
        for (let o = 0; o < n; o++) out[o] = await config.backend.mmioRead(base + offset + o, 1);
        return ioOk(out);
      } catch (e) {
        return ioFail(backendError(e));
      } finally {
        await config.write(f, romReg, leBytes(base, 4));
      }
    },
  };
}

/** Builds the tree for `functions`; the root directory is returned. */
export function buildPciTree(config: ConfigAccess, functions: readonly PciFunction[]): FsDir {
  const root = makeDir("");
  const sub = (dir: FsDir, name: string): FsDir => {
    const have = dir.children.get(name);
    if (have && have.kind === "dir") return have;
    return addChild(dir, makeDir(name));
  };
  for (const f of functions) {
    const dom = sub(root, hex(f.domain, 4));
    const bus = sub(dom, hex(f.bus, 2));
    const dev = sub(bus, hex(f.dev, 2));
    const fnDir = addChild(
      dev,
      makeDir(String(f.func), { fn: f, file: "dir" } satisfies PciNodeTag),
    );
    addChild(
      fnDir,
      makeFile(FILE_CONFIG_NAME, configOps(config, f), {
        fn: f,
        file: "config",
      } satisfies PciNodeTag),
    );
    for (const r of f.regions) {
      if (r.size === 0n) continue;
      addChild(
        fnDir,
        makeFile(`${FILE_REGION_PREFIX}${r.index}`, regionOps(config.backend, r), {
          fn: f,
          file: "region",
        } satisfies PciNodeTag),
      );
    }
    if (f.rom.size > 0n) {
      addChild(
        fnDir,
        makeFile(FILE_ROM_NAME, romOps(config, f), { fn: f, file: "rom" } satisfies PciNodeTag),
      );
    }
  }
  return root;
}
