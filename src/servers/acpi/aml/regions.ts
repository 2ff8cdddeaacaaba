// Operation regions and the field units over them: Field, BankField and IndexField reads and
// writes split into access-width units, routed to a RegionHandler the server provides.
import { fault } from "../status.js";
import type { BufferFieldObject, FieldUnitObject, NsNode, RegionObject } from "./namespace.js";
import { buf, bufferToInteger, int, ones, toBuffer, toInteger, type AmlValue } from "./values.js";

/** Address space ids of OperationRegion (ACPI 6.5 §19.6.100). */
export const RegionSpace = {
  SystemMemory: 0,
  SystemIO: 1,
  PciConfig: 2,
  EmbeddedControl: 3,
  SMBus: 4,
  SystemCMOS: 5,
  PciBarTarget: 6,
  IPMI: 7,
  GeneralPurposeIO: 8,
  GenericSerialBus: 9,
  PCC: 10,
} as const;

/** Space id used for DataTableRegion, whose contents this interpreter does not map. */
export const DATA_TABLE_SPACE = 0x100;

const SPACE_NAMES = [
  "SystemMemory",
  "SystemIO",
  "PCI_Config",
  "EmbeddedControl",
  "SMBus",
  "SystemCMOS",
  "PciBarTarget",
  "IPMI",
  "GeneralPurposeIO",
  "GenericSerialBus",
  "PCC",
];

export function regionSpaceName(space: number): string {
  if (space === DATA_TABLE_SPACE) return "DataTable";
  return (
    SPACE_NAMES[space] ??
    (space >= 0x80 ? `OEM(0x${space.toString(16)})` : `Reserved(0x${space.toString(16)})`)
  );
}

export interface PciAddress {
  readonly segment: number;
  readonly bus: number;
  readonly device: number;
  readonly function: number;
}

/** One naturally aligned access the interpreter asks the machine for. */
export interface RegionAccess {
  readonly space: number;
  readonly spaceName: string;
  /** SystemMemory/SystemIO: the absolute address. PCI_Config: the offset in the function's config space. */
  readonly address: bigint;
  readonly width: 8 | 16 | 32 | 64;
  /** For PCI_Config: the function, from the _ADR, _BBN and _SEG around the region. */
  readonly pci?: PciAddress;
  /** Path of the OperationRegion, for diagnostics. */
  readonly region: string;
}

/** What the server supplies to reach hardware. A thrown error or rejection fails the AML operation. */
export interface RegionHandler {
  read(access: RegionAccess): bigint | Promise<bigint>;
  write(access: RegionAccess, value: bigint): void | Promise<void>;
}

/** Services a field access needs from the interpreter. */
export interface FieldContext {
  readonly integerWidth: number;
  readonly handler: RegionHandler | undefined;
  step(): void;
  pciAddressOf(region: NsNode): Promise<PciAddress>;
  readNode(node: NsNode): Promise<AmlValue>;
  writeNode(node: NsNode, value: AmlValue): Promise<void>;
}

/** The largest field a single read or write may move (bits). */
export const MAX_FIELD_BITS = 4096 * 8;

function accessWidth(o: FieldUnitObject): 8 | 16 | 32 | 64 {
  switch (o.accessType) {
    case 1:
      return 8;
    case 2:
      return 16;
    case 3:
      return 32;
    case 4:
      return 64;
    default: {
      // AnyAcc and BufferAcc: the smallest aligned access that holds the whole field, else bytes.
      const last = o.bitOffset + Math.max(o.bitLength, 1) - 1;
      for (const w of [8, 16, 32] as const)
        if (Math.floor(o.bitOffset / w) === Math.floor(last / w)) return w;
      return 8;
    }
  }
}

async function regionAccess(
  regionNode: NsNode,
  byteOffset: number,
  width: 8 | 16 | 32 | 64,
  cx: FieldContext,
): Promise<RegionAccess> {
  const r = regionNode.object;
  if (r.kind !== "region")
    return fault("AE_AML_OPERAND_TYPE", `${regionNode.path} is not an OperationRegion`);
  const region = r as RegionObject;
  if (region.space === DATA_TABLE_SPACE)
    fault("AE_NOT_IMPLEMENTED", `DataTableRegion ${regionNode.path} is not mapped`);
  if (BigInt(byteOffset + width / 8) > region.length) {
    fault(
      "AE_AML_REGION_LIMIT",
      `access at offset ${byteOffset} (${width} bits) is outside ${regionNode.path} (length ${region.length})`,
    );
  }
  if (!cx.handler)
    fault(
      "AE_NO_HANDLER",
      `no handler for ${regionSpaceName(region.space)} region ${regionNode.path}`,
    );
  const pci =
    region.space === RegionSpace.PciConfig ? await cx.pciAddressOf(regionNode) : undefined;
  const base = {
    space: region.space,
    spaceName: regionSpaceName(region.space),
    address: region.offset + BigInt(byteOffset),
    width,
    region: regionNode.path,
  };
  return pci ? { ...base, pci } : base;
}

async function handlerRead(a: RegionAccess, cx: FieldContext): Promise<bigint> {
  let v: bigint;
  try {
    v = await cx.handler!.read(a);
  } catch (e) {
    return fault(
      "AE_NO_HANDLER",
      `${a.spaceName} read at 0x${a.address.toString(16)} failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (typeof v !== "bigint")
    return fault("AE_NO_HANDLER", `${a.spaceName} handler returned a non-bigint value`);
  return BigInt.asUintN(a.width, v);
}

async function handlerWrite(a: RegionAccess, value: bigint, cx: FieldContext): Promise<void> {
  try {
    await cx.handler!.write(a, BigInt.asUintN(a.width, value));
  } catch (e) {
    fault(
      "AE_NO_HANDLER",
      `${a.spaceName} write at 0x${a.address.toString(16)} failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

async function readUnit(
  o: FieldUnitObject,
  byteOffset: number,
  w: 8 | 16 | 32 | 64,
  cx: FieldContext,
): Promise<bigint> {
  cx.step();
  switch (o.flavor) {
    case "region":
      return handlerRead(await regionAccess(o.region, byteOffset, w, cx), cx);
    case "bank":
      await cx.writeNode(o.bank, int(o.bankValue));
      return handlerRead(await regionAccess(o.region, byteOffset, w, cx), cx);
    case "index":
      await cx.writeNode(o.index, int(byteOffset));
      return toInteger(await cx.readNode(o.data), cx.integerWidth) & ones(w);
  }
}

async function writeUnit(
  o: FieldUnitObject,
  byteOffset: number,
  w: 8 | 16 | 32 | 64,
  value: bigint,
  cx: FieldContext,
): Promise<void> {
  cx.step();
  switch (o.flavor) {
    case "region":
      return handlerWrite(await regionAccess(o.region, byteOffset, w, cx), value, cx);
    case "bank":
      await cx.writeNode(o.bank, int(o.bankValue));
      return handlerWrite(await regionAccess(o.region, byteOffset, w, cx), value, cx);
    case "index":
      await cx.writeNode(o.index, int(byteOffset));
      return cx.writeNode(o.data, int(value));
  }
}

function checkFieldSize(bits: number, what: string): void {
  if (bits > MAX_FIELD_BITS)
    fault(
      "AE_AML_BUFFER_LIMIT",
      `${what} of ${bits} bits is larger than the ${MAX_FIELD_BITS}-bit limit for one access`,
    );
}

function bitsToValue(bits: bigint, length: number, width: number): AmlValue {
  if (length <= width) return int(bits);
  const out = new Uint8Array(Math.ceil(length / 8));
  let v = bits;
  for (let i = 0; i < out.length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return buf(out);
}

function valueToBits(v: AmlValue, length: number, width: number): bigint {
  const bytes = v.type === "integer" ? null : toBuffer(v, width);
  const raw = bytes ? bufferToInteger(bytes, bytes.length * 8) : toInteger(v, width);
  return raw & ones(length);
}

export async function readFieldUnit(o: FieldUnitObject, cx: FieldContext): Promise<AmlValue> {
  checkFieldSize(o.bitLength, "field");
  if (o.bitLength === 0) return int(0n);
  const w = accessWidth(o);
  const first = Math.floor(o.bitOffset / w);
  const last = Math.floor((o.bitOffset + o.bitLength - 1) / w);
  let acc = 0n;
  for (let u = first; u <= last; u++) {
    acc |= (await readUnit(o, (u * w) / 8, w, cx)) << BigInt((u - first) * w);
  }
  const bits = (acc >> BigInt(o.bitOffset - first * w)) & ones(o.bitLength);
  return bitsToValue(bits, o.bitLength, cx.integerWidth);
}

export async function writeFieldUnit(
  o: FieldUnitObject,
  value: AmlValue,
  cx: FieldContext,
): Promise<void> {
  checkFieldSize(o.bitLength, "field");
  if (o.bitLength === 0) return;
  const bits = valueToBits(value, o.bitLength, cx.integerWidth);
  const w = accessWidth(o);
  const first = Math.floor(o.bitOffset / w);
  const last = Math.floor((o.bitOffset + o.bitLength - 1) / w);
  for (let u = first; u <= last; u++) {
    const unitStart = u * w;
    const lo = Math.max(o.bitOffset, unitStart) - unitStart;
    const hi = Math.min(o.bitOffset + o.bitLength, unitStart + w) - unitStart;
    const mask = ones(hi - lo) << BigInt(lo);
    const piece = ((bits >> BigInt(unitStart + lo - o.bitOffset)) & ones(hi - lo)) << BigInt(lo);
    let out: bigint;
    if (hi - lo === w) out = piece;
    else if (o.updateRule === 1) out = (ones(w) & ~mask) | piece;
    else if (o.updateRule === 2) out = piece;
    else out = ((await readUnit(o, unitStart / 8, w, cx)) & ~mask) | piece;
    await writeUnit(o, unitStart / 8, w, out, cx);
  }
}

function checkBufferField(o: BufferFieldObject): void {
  checkFieldSize(o.bitLength, "buffer field");
  if (o.bitOffset + o.bitLength > o.buffer.data.length * 8) {
    fault(
      "AE_AML_BUFFER_LIMIT",
      `buffer field [${o.bitOffset}, +${o.bitLength}) lies outside its ${o.buffer.data.length}-byte buffer`,
    );
  }
}

export function readBufferField(o: BufferFieldObject, width: number): AmlValue {
  checkBufferField(o);
  const data = o.buffer.data;
  const firstByte = Math.floor(o.bitOffset / 8);
  const lastByte = Math.floor((o.bitOffset + Math.max(o.bitLength, 1) - 1) / 8);
  let acc = 0n;
  for (let i = lastByte; i >= firstByte; i--) acc = (acc << 8n) | BigInt(data[i]!);
  const bits = (acc >> BigInt(o.bitOffset - firstByte * 8)) & ones(o.bitLength);
  return bitsToValue(bits, o.bitLength, width);
}

export function writeBufferField(o: BufferFieldObject, value: AmlValue, width: number): void {
  checkBufferField(o);
  const bits = valueToBits(value, o.bitLength, width);
  const data = o.buffer.data;
  for (let i = 0; i < o.bitLength; i++) {
    const bit = o.bitOffset + i;
    const byte = bit >> 3;
    const m = 1 << (bit & 7);
    data[byte] = (bits >> BigInt(i)) & 1n ? data[byte]! | m : data[byte]! & ~m;
  }
}
