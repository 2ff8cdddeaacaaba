// The pci-arbiter: owns configuration space, enumerates the bus once at start, publishes the
// DOMAIN/BUS/DEV/FUNC tree and implements the Hurd's pci.defs routines on its nodes.
import type { HardwareAccess } from "../../machine/backend.js";
import { EINVAL } from "../netfs/errno.js";
import { ioFail, ioOk, type FsNode, type IoResult } from "../netfs/node.js";
import { Translator, type AccessMode, type Protid } from "../netfs/translator.js";
import type { PciGrants } from "./pci-grants.js";
import { encodePciBars, encodePciXromBar } from "./bars.js";
import { ConfigAccess, PCI_CONFIG_SIZE } from "./config-access.js";
import { enumeratePci, type PciFunction } from "./enumerate.js";
import { buildPciTree, pciTagOf } from "./pci-tree.js";

/** Largest pci_conf_read/pci_conf_write: the whole legacy configuration space. */
export const MAX_CONF_ACCESS = PCI_CONFIG_SIZE;

export class PciArbiter {
  readonly fs: Translator;

  private constructor(
    readonly config: ConfigAccess,
    readonly functions: readonly PciFunction[],
    private readonly policy: PciGrants,
  ) {
    const root = buildPciTree(config, functions);
    this.fs = new Translator(root, (user, node, mode) => this.checkNode(user, node, mode));
  }

  /** Enumerates the machine's PCI bus and builds the tree. */
  static async start(backend: HardwareAccess, policy: PciGrants): Promise<PciArbiter> {
    const config = new ConfigAccess(backend);
    const functions = await enumeratePci(config);
    return new PciArbiter(config, functions, policy);
  }

  private checkNode(user: string, node: FsNode, mode: AccessMode): number {
    const tag = pciTagOf(node.tag);
    if (!tag) return mode === "read" ? 0 : EINVAL;
    return this.policy.check(user, tag.fn, mode);
  }

  /** The function a pci_* request addresses: its config file (as the Hurd) or its directory. */
  private target(p: Protid, mode: AccessMode): IoResult<PciFunction> {
    const tag = pciTagOf(p.node.tag);
    if (!tag || (tag.file !== "config" && tag.file !== "dir")) return ioFail(EINVAL);
    const code = this.policy.check(p.user, tag.fn, mode);
    return code === 0 ? ioOk(tag.fn) : ioFail(code);
  }

  /** pci_conf_read: `amount` bytes from offset `reg` (clamped to the end of config space). */
  async confRead(p: Protid, reg: number, amount: bigint): Promise<IoResult<Uint8Array>> {
    const f = this.target(p, "read");
    if (!f.ok) return f;
    if (!Number.isInteger(reg) || reg < 0 || reg >= PCI_CONFIG_SIZE || amount < 0n)
      return ioFail(EINVAL);
    const n = Math.min(
      Number(amount > BigInt(MAX_CONF_ACCESS) ? BigInt(MAX_CONF_ACCESS) : amount),
      PCI_CONFIG_SIZE - reg,
    );
    return this.config.read(f.value, reg, n);
  }

  /** pci_conf_write: writes `data` at offset `reg`; returns the amount written. */
  async confWrite(p: Protid, reg: number, data: Uint8Array): Promise<IoResult<bigint>> {
    const f = this.target(p, "write");
    if (!f.ok) return f;
    if (!Number.isInteger(reg) || reg < 0 || reg + data.length > PCI_CONFIG_SIZE)
      return ioFail(EINVAL);
    const r = await this.config.write(f.value, reg, data);
    return r.ok ? ioOk(BigInt(r.value)) : r;
  }

  /** pci_get_ndevs: how many functions the caller may read; only on the root directory. */
  getNdevs(p: Protid): IoResult<bigint> {
    if (p.node !== this.fs.root) return ioFail(EINVAL);
    return ioOk(
      BigInt(this.functions.filter((f) => this.policy.check(p.user, f, "read") === 0).length),
    );
  }

  /** pci_get_dev_regions: `struct pci_bar regions[6]`. */
  getDevRegions(p: Protid): IoResult<Uint8Array> {
    const f = this.target(p, "read");
    return f.ok ? ioOk(encodePciBars(f.value.regions)) : f;
  }

  /** pci_get_dev_rom: `struct pci_xrom_bar`. */
  getDevRom(p: Protid): IoResult<Uint8Array> {
    const f = this.target(p, "read");
    return f.ok ? ioOk(encodePciXromBar(f.value.rom)) : f;
  }
}
