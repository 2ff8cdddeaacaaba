// The simulated PC's ACPI tables, built in binary with correct checksums and loaded into the
// BIOS area: RSDP, RSDT, XSDT, FADT, FACS, MADT, MCFG and a DSDT whose _PRT routes PCI INTx.
import * as aml from "./aml-builder.js";
import { PM1A_CNT_BLK, PM1A_EVT_BLK, PM_TMR_BLK, SLP_TYP_S5 } from "./acpi-pm.js";

export const ACPI_OEM_ID = "TSMACH";
export const ACPI_OEM_TABLE_ID = "TSMACHPC";
export const ACPI_TABLES_BASE = 0xe0000;
export const RSDP_ADDRESS = 0xf0000;
export const LOCAL_APIC_BASE = 0xfee0_0000;
export const SCI_IRQ = 9;

export interface AcpiLayout {
  ioapicBase: number;
  ecamBase: number;
  ecamEndBus: number;
  /** The GSI a PCI device's INTx pin (1..4) is wired to. */
  route(dev: number, pin: number): number;
  /** PCI functions to name in the DSDT: [name, dev, fn]. */
  devices: readonly (readonly [string, number, number])[];
}

export interface AcpiTable {
  signature: string;
  address: number;
  bytes: Uint8Array;
}

export interface AcpiTableSet {
  rsdpAddress: number;
  rsdp: Uint8Array;
  /** Every table but the RSDP, in the order they are laid out. */
  tables: AcpiTable[];
}

/** The standard GSI wiring of this machine: INTA..INTD of slot d rotate over GSI 16..23. */
export function defaultRoute(dev: number, pin: number): number {
  return 16 + ((dev + pin - 1) & 7);
}

/** Sum of all bytes mod 256: zero for a table with a correct checksum. */
export function checksum(data: Uint8Array, start = 0, end = data.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + data[i]!) & 0xff;
  return s;
}

class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(o: number, v: number) {
    this.view.setUint8(o, v);
  }
  u16(o: number, v: number) {
    this.view.setUint16(o, v, true);
  }
  u32(o: number, v: number) {
    this.view.setUint32(o, v >>> 0, true);
  }
  u64(o: number, v: number) {
    this.view.setUint32(o, v % 0x1_0000_0000, true);
    this.view.setUint32(o + 4, Math.floor(v / 0x1_0000_0000), true);
  }
  ascii(o: number, s: string, len: number) {
    for (let i = 0; i < len; i++) this.bytes[o + i] = i < s.length ? s.charCodeAt(i) : 0x20;
  }
  /** Generic Address Structure: system I/O space. */
  gasIo(o: number, port: number, bitWidth: number) {
    this.u8(o, 1);
    this.u8(o + 1, bitWidth);
    this.u8(o + 2, 0);
    this.u8(o + 3, bitWidth === 32 ? 3 : bitWidth === 16 ? 2 : 1);
    this.u64(o + 4, port);
  }
}

/** A table with its 36-byte header; the checksum is set by `seal`. */
function table(signature: string, length: number, revision: number): Writer {
  const w = new Writer(length);
  w.ascii(0, signature, 4);
  w.u32(4, length);
  w.u8(8, revision);
  w.ascii(10, ACPI_OEM_ID, 6);
  w.ascii(16, ACPI_OEM_TABLE_ID, 8);
  w.u32(24, 1);
  w.ascii(28, "TSMC", 4);
  w.u32(32, 1);
  return w;
}

function seal(w: Writer, at = 9): Uint8Array {
  w.bytes[at] = 0;
  w.bytes[at] = -checksum(w.bytes) & 0xff;
  return w.bytes;
}

export function buildDsdt(layout: AcpiLayout): Uint8Array {
  const prt: aml.Aml[] = [];
  for (let dev = 0; dev < 32; dev++) {
    for (let pin = 1; pin <= 4; pin++) {
      prt.push(
        aml.packageOf([
          aml.integer(dev * 0x10000 + 0xffff),
          aml.integer(pin - 1),
          aml.integer(0),
          aml.integer(layout.route(dev, pin)),
        ]),
      );
    }
  }
  const ecamLength = (layout.ecamEndBus + 1) << 20;
  const pci0 = aml.device("PCI0", [
    aml.name("_HID", aml.eisaId("PNP0A08")),
    aml.name("_CID", aml.eisaId("PNP0A03")),
    aml.name("_ADR", aml.integer(0)),
    aml.name("_UID", aml.integer(0)),
    aml.name("_SEG", aml.integer(0)),
    aml.name("_BBN", aml.integer(0)),
    aml.name(
      "_CRS",
      aml.resourceTemplate([
        aml.wordAddress("bus", 0, layout.ecamEndBus),
        aml.ioPort(0xcf8, 0xcf8, 1, 8),
        aml.wordAddress("io", 0x0000, 0x0cf7),
        aml.wordAddress("io", 0x0d00, 0xffff),
        aml.dwordMemory(0x000a0000, 0x000bffff),
        aml.dwordMemory(0xc0000000, 0xfebfffff),
      ]),
    ),
    aml.name("PRTA", aml.packageOf(prt.slice(0, 128))),
    aml.method("_PRT", 0, false, [aml.returnOf(aml.ref("PRTA"))]),
    ...layout.devices.map(([n, dev, fn]) =>
      aml.device(n, [aml.name("_ADR", aml.integer(dev * 0x10000 + fn))]),
    ),
  ]);
  const mres = aml.device("MRES", [
    aml.name("_HID", aml.eisaId("PNP0C02")),
    aml.name("_UID", aml.integer(1)),
    aml.name(
      "_CRS",
      aml.resourceTemplate([
        aml.memory32Fixed(layout.ecamBase, ecamLength),
        aml.ioPort(PM1A_EVT_BLK, PM1A_EVT_BLK, 1, 0x0c),
      ]),
    ),
  ]);
  const body = aml.concat([
    aml.name("PICF", aml.integer(0)),
    aml.method("_PIC", 1, false, [aml.store(aml.arg(0), aml.ref("PICF"))]),
    aml.scope("\\_SB", [pci0, mres]),
    aml.name(
      "\\_S5",
      aml.packageOf([
        aml.integer(SLP_TYP_S5),
        aml.integer(SLP_TYP_S5),
        aml.integer(0),
        aml.integer(0),
      ]),
    ),
  ]);
  const w = table("DSDT", 36 + body.length, 2);
  w.bytes.set(body, 36);
  return seal(w);
}

export function buildFacs(): Uint8Array {
  const w = new Writer(64);
  w.ascii(0, "FACS", 4);
  w.u32(4, 64);
  w.u8(32, 2); // version
  return w.bytes;
}

export function buildFadt(dsdt: number, facs: number): Uint8Array {
  const w = table("FACP", 276, 6);
  w.u32(36, facs);
  w.u32(40, dsdt);
  w.u8(45, 0); // unspecified PM profile
  w.u16(46, SCI_IRQ);
  w.u32(48, 0); // no SMI command port: ACPI mode is always on
  w.u32(56, PM1A_EVT_BLK);
  w.u32(64, PM1A_CNT_BLK);
  w.u32(76, PM_TMR_BLK);
  w.u8(88, 4); // PM1_EVT_LEN
  w.u8(89, 2); // PM1_CNT_LEN
  w.u8(91, 4); // PM_TMR_LEN
  w.u16(96, 101); // C2 not supported
  w.u16(98, 1001); // C3 not supported
  w.u16(109, 0x0002); // IAPC_BOOT_ARCH: 8042 present
  w.u32(112, (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5)); // WBINVD, PROC_C1, PWR_BUTTON, SLP_BUTTON (control methods / absent)
  w.u8(131, 5); // FADT minor version (6.5)
  w.u64(132, facs);
  w.u64(140, dsdt);
  w.gasIo(148, PM1A_EVT_BLK, 32);
  w.gasIo(172, PM1A_CNT_BLK, 16);
  w.gasIo(208, PM_TMR_BLK, 32);
  return seal(w);
}

const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

export function buildMadt(ioapicBase: number): Uint8Array {
  const entries: number[][] = [
    // Processor local APIC: UID 0, APIC id 0, enabled.
    [0, 8, 0, 0, ...le32(1)],
    // I/O APIC id 0 at ioapicBase, GSI base 0.
    [1, 12, 0, 0, ...le32(ioapicBase), ...le32(0)],
    // Interrupt source overrides: ISA IRQ 0 (timer) on GSI 2; IRQ 9 (SCI) level, active high.
    [2, 10, 0, 0, ...le32(2), ...le16(0)],
    [2, 10, 0, SCI_IRQ, ...le32(SCI_IRQ), ...le16(0x000d)],
    // Local APIC NMI on LINT1 of every processor.
    [4, 6, 0xff, ...le16(0), 1],
  ];
  const body = entries.flat();
  const w = table("APIC", 44 + body.length, 5);
  w.u32(36, LOCAL_APIC_BASE);
  w.u32(40, 1); // PCAT_COMPAT: there are 8259s too
  w.bytes.set(body, 44);
  return seal(w);
}

export function buildMcfg(ecamBase: number, endBus: number): Uint8Array {
  const w = table("MCFG", 44 + 16, 1);
  w.u64(44, ecamBase);
  w.u16(52, 0); // segment group 0
  w.u8(54, 0);
  w.u8(55, endBus);
  return seal(w);
}

function buildSdt(signature: "RSDT" | "XSDT", pointers: readonly number[]): Uint8Array {
  const size = signature === "RSDT" ? 4 : 8;
  const w = table(signature, 36 + size * pointers.length, 1);
  pointers.forEach((p, i) => (size === 4 ? w.u32(36 + 4 * i, p) : w.u64(36 + 8 * i, p)));
  return seal(w);
}

export function buildRsdp(rsdt: number, xsdt: number): Uint8Array {
  const w = new Writer(36);
  w.ascii(0, "RSD PTR ", 8);
  w.ascii(9, ACPI_OEM_ID, 6);
  w.u8(15, 2);
  w.u32(16, rsdt);
  w.u32(20, 36);
  w.u64(24, xsdt);
  w.bytes[8] = -checksum(w.bytes, 0, 20) & 0xff;
  w.bytes[32] = -checksum(w.bytes, 0, 36) & 0xff;
  return w.bytes;
}

/** Lays the tables out from ACPI_TABLES_BASE (FACS first, 64-byte aligned) and the RSDP. */
export function buildAcpiTables(layout: AcpiLayout): AcpiTableSet {
  const tables: AcpiTable[] = [];
  let at = ACPI_TABLES_BASE;
  const place = (signature: string, bytes: Uint8Array): number => {
    const address = at;
    tables.push({ signature, address, bytes });
    at = Math.ceil((at + bytes.length) / 16) * 16;
    return address;
  };
  const facs = place("FACS", buildFacs());
  const dsdt = place("DSDT", buildDsdt(layout));
  const fadt = place("FACP", buildFadt(dsdt, facs));
  const madt = place("APIC", buildMadt(layout.ioapicBase));
  const mcfg = place("MCFG", buildMcfg(layout.ecamBase, layout.ecamEndBus));
  const xsdt = place("XSDT", buildSdt("XSDT", [fadt, madt, mcfg]));
  const rsdt = place("RSDT", buildSdt("RSDT", [fadt, madt, mcfg]));
  if (at > RSDP_ADDRESS) throw new RangeError("ACPI tables overflow the BIOS area");
  return { rsdpAddress: RSDP_ADDRESS, rsdp: buildRsdp(rsdt, xsdt), tables };
}
