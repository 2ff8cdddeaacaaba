// Encoding and decoding of MIG message bodies from their field descriptions, with GNU MIG's
// TypeCheck on the receiving side: descriptors, counts, sizes and the complex bit.
import { KERN_INVALID_ARGUMENT, KERN_SUCCESS, MIG_ARRAY_TOO_LARGE } from "../kern-return.js";
import {
  MACH_MSG_HEADER_SIZE,
  MACH_MSG_TYPE_LONG_SIZE,
  MACH_MSG_TYPE_SIZE,
  OOL_POINTER_SIZE,
  packShortType,
  readPointer,
  readU32,
  writePointer,
  writeU32,
} from "../message.js";
import { MACH_MSG_TYPE_PORT_ANY, MACH_MSG_TYPE_PORT_NAME } from "../msg-type.js";
import type { PolyRight } from "./rights.js";
import type { MigField, MigMessageSpec } from "./spec.js";
import { copyBytes } from "../shared-copy.js";

/** Argument values by name, as stubs pass them to the codec and get them back. */
export type MigValues = Record<string, unknown>;

/** One field's data ready for the wire. */
export interface SerializedField {
  readonly field: MigField;
  /** msgt_name to write. */
  readonly name: number;
  /** msgt_number to write. */
  readonly number: number;
  readonly data: Uint8Array;
  readonly inline: boolean;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** Rounds up to 4 bytes; arithmetic, so that a hostile 2^32-element count cannot wrap around. */
const pad4 = (n: number): number => Math.ceil(n / 4) * 4;
const bytesFor = (f: MigField, number: number): number => Math.ceil((number * f.size) / 8);

function isPortType(name: number): boolean {
  return MACH_MSG_TYPE_PORT_ANY(name) || name === MACH_MSG_TYPE_PORT_NAME;
}

/** Bytes per element of a field's element kind (for arrays). */
function elemBytes(f: MigField): number {
  return f.size / 8;
}

// Integers go byte by byte (cheaper than a DataView per field); floats and 64-bit integers go
// through one scratch DataView.
const scratch = new DataView(new ArrayBuffer(8));

function copyScratch(dst: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) dst[off + i] = scratch.getUint8(i);
}

function fromScratch(src: Uint8Array, off: number, n: number): DataView {
  for (let i = 0; i < n; i++) scratch.setUint8(i, src[off + i]!);
  return scratch;
}

function writeElement(dst: Uint8Array, off: number, f: MigField, v: unknown): boolean {
  switch (f.elem) {
    case "u8":
      if (typeof v !== "number") return false;
      dst[off] = v & 0xff;
      return true;
    case "i16":
      if (typeof v !== "number") return false;
      dst[off] = v & 0xff;
      dst[off + 1] = (v >> 8) & 0xff;
      return true;
    case "i32":
    case "name":
    case "port":
      if (typeof v !== "number") return false;
      writeU32(dst, off, v >>> 0);
      return true;
    case "bool":
      if (typeof v !== "boolean") return false;
      writeU32(dst, off, v ? 1 : 0);
      return true;
    case "i64":
      if (typeof v !== "bigint") return false;
      scratch.setBigUint64(0, BigInt.asUintN(64, v), true);
      copyScratch(dst, off, 8);
      return true;
    case "f32":
      if (typeof v !== "number") return false;
      scratch.setFloat32(0, v, true);
      copyScratch(dst, off, 4);
      return true;
    case "f64":
      if (typeof v !== "number") return false;
      scratch.setFloat64(0, v, true);
      copyScratch(dst, off, 8);
      return true;
    case "poly": {
      if (f.sendName !== -1 && typeof v === "number") {
        writeU32(dst, off, v >>> 0);
        return true;
      }
      const p = v as PolyRight | undefined;
      if (!p || typeof p.name !== "number") return false;
      writeU32(dst, off, p.name >>> 0);
      return true;
    }
    default:
      return false;
  }
}

function readElement(src: Uint8Array, off: number, f: MigField, name: number): unknown {
  switch (f.elem) {
    case "u8":
      return src[off]!;
    case "i16":
      return ((src[off]! | (src[off + 1]! << 8)) << 16) >> 16;
    case "i32":
      return f.size === 32 ? readU32(src, off) | 0 : src[off]!;
    case "name":
    case "port":
      return readU32(src, off);
    case "bool":
      return readU32(src, off) !== 0;
    case "i64":
      return fromScratch(src, off, 8).getBigInt64(0, true);
    case "f32":
      return fromScratch(src, off, 4).getFloat32(0, true);
    case "f64":
      return fromScratch(src, off, 8).getFloat64(0, true);
    case "poly":
      if (f.checkName !== -1) return readU32(src, off);
      return { name: readU32(src, off), disposition: name } satisfies PolyRight;
    default:
      return undefined;
  }
}

/**
 * The data of one field for the wire, or an error code: MIG_ARRAY_TOO_LARGE for a variable
 * array above its in-line maximum, KERN_INVALID_ARGUMENT for a value of the wrong shape.
 */
export function serializeField(
  f: MigField,
  v: unknown,
  /** Byte arrays are copied (a snapshot at call time) unless this is false. */
  snapshot = true,
): SerializedField | number {
  let name = f.sendName;
  if (f.elem === "string") {
    const text = typeof v === "string" ? utf8.encode(v) : null;
    if (!text) return KERN_INVALID_ARGUMENT;
    if (f.shape === "variable") {
      const number = text.length + 1;
      if (f.inline === true && number > f.number) return MIG_ARRAY_TOO_LARGE;
      const data = new Uint8Array(number);
      data.set(text);
      return { field: f, name, number, data, inline: f.inline ?? number <= f.number };
    }
    const total = bytesFor(f, f.number);
    const data = new Uint8Array(total);
    data.set(text.subarray(0, Math.max(0, total - 1)));
    return { field: f, name, number: f.number, data, inline: f.inline ?? true };
  }
  if (f.elem === "bytes" || (f.elem === "u8" && f.shape !== "scalar" && f.shape !== "tuple")) {
    if (!(v instanceof Uint8Array)) return KERN_INVALID_ARGUMENT;
    const per = f.size / 8;
    if (f.elem === "bytes" && v.length % per !== 0) return KERN_INVALID_ARGUMENT;
    const number = f.elem === "bytes" ? v.length / per : v.length;
    const checked = checkCount(f, number);
    if (checked !== KERN_SUCCESS) return checked;
    const data = snapshot ? v.slice() : v;
    return { field: f, name, number, data, inline: f.inline ?? number <= f.number };
  }
  if (f.shape === "scalar") {
    const data = new Uint8Array(Math.max(1, bytesFor(f, 1)));
    if (f.elem === "poly" && f.sendName === -1) {
      const p = v as PolyRight | undefined;
      if (!p || typeof p.disposition !== "number") return KERN_INVALID_ARGUMENT;
      name = p.disposition;
    }
    if (!writeElement(data, 0, f, v)) return KERN_INVALID_ARGUMENT;
    return { field: f, name, number: 1, data, inline: f.inline ?? true };
  }
  const list = v as ArrayLike<unknown> | undefined;
  if (!list || typeof list.length !== "number") return KERN_INVALID_ARGUMENT;
  const number = list.length;
  const checked = checkCount(f, number);
  if (checked !== KERN_SUCCESS) return checked;
  const per = elemBytes(f);
  const data = new Uint8Array(number * per);
  if (f.elem === "poly" && f.sendName === -1) {
    const first = (list[0] as PolyRight | undefined) ?? undefined;
    name = first ? first.disposition : f.sendName === -1 ? 0 : f.sendName;
  }
  for (let i = 0; i < number; i++)
    if (!writeElement(data, i * per, f, list[i])) return KERN_INVALID_ARGUMENT;
  return { field: f, name, number, data, inline: f.inline ?? number <= f.number };
}

function checkCount(f: MigField, number: number): number {
  if (f.shape === "variable") {
    return f.inline === true && number > f.number ? MIG_ARRAY_TOO_LARGE : KERN_SUCCESS;
  }
  return number === f.number ? KERN_SUCCESS : KERN_INVALID_ARGUMENT;
}

/** Bytes a serialized field takes in the body. */
export function fieldWireSize(s: SerializedField): number {
  const d = s.field.longform ? MACH_MSG_TYPE_LONG_SIZE : MACH_MSG_TYPE_SIZE;
  return d + (s.inline ? pad4(s.data.length) : OOL_POINTER_SIZE);
}

/** Whether a serialized message needs MACH_MSGH_BITS_COMPLEX. */
export function needsComplex(spec: MigMessageSpec, fields: readonly SerializedField[]): boolean {
  if (spec.complex === "yes") return true;
  if (spec.complex === "no") return false;
  return fields.some((s) => !s.inline || MACH_MSG_TYPE_PORT_ANY(s.name));
}

/**
 * Writes the fields after the header, from offset 32 (or `start`); out-of-line data is written
 * as the address `ool` gives for it. Returns the offset past the last field.
 */
export function writeFields(
  buf: Uint8Array,
  fields: readonly SerializedField[],
  ool: ReadonlyMap<SerializedField, number>,
  start = MACH_MSG_HEADER_SIZE,
): number {
  let off = start;
  for (const s of fields) {
    const f = s.field;
    const t = {
      name: s.name,
      size: f.size,
      number: s.number,
      inline: s.inline,
      deallocate: !s.inline && f.dealloc,
    };
    if (f.longform) {
      writeU32(buf, off, packShortType({ ...t, name: 0, size: 0, number: 0 }, true));
      buf[off + 4] = s.name & 0xff;
      buf[off + 5] = (s.name >>> 8) & 0xff;
      buf[off + 6] = f.size & 0xff;
      buf[off + 7] = (f.size >>> 8) & 0xff;
      writeU32(buf, off + 8, s.number);
      off += MACH_MSG_TYPE_LONG_SIZE;
    } else {
      writeU32(buf, off, packShortType(t));
      off += MACH_MSG_TYPE_SIZE;
    }
    if (s.inline) {
      buf.set(s.data, off);
      const end = off + pad4(s.data.length);
      buf.fill(0, off + s.data.length, end);
      off = end;
    } else {
      writePointer(buf, off, ool.get(s) ?? 0);
      off += OOL_POINTER_SIZE;
    }
  }
  return off;
}

/** What TypeCheck found wrong, or the decoded values. */
export type DecodeResult =
  | {
      readonly ok: true;
      readonly values: MigValues;
      /** Regions received and copied out of: the receiver deallocates them. */
      readonly oolAddresses: readonly number[];
      /** With `map`: byte arrays delivered as views of their regions (address per view). */
      readonly mapped?: ReadonlyMap<Uint8Array, number>;
    }
  | { readonly ok: false; readonly tooLarge: boolean };

const MALFORMED: DecodeResult = Object.freeze({ ok: false, tooLarge: false });

/** A field whose value is a Uint8Array (bytes, or an array of 8-bit integers). */
function isByteArray(f: MigField): boolean {
  return f.elem === "bytes" || (f.elem === "u8" && f.shape !== "scalar" && f.shape !== "tuple");
}

/**
 * A copy of `data` in fresh memory. From shared memory, slice() copies element by element;
 * allocating and then copyBytes copies at memcpy speed.
 */
function freshCopy(data: Uint8Array): Uint8Array {
  if (!(data.buffer instanceof SharedArrayBuffer) || data.length < 4096) return data.slice();
  const out = new Uint8Array(data.length);
  copyBytes(out, data);
  return out;
}

/** Reads one field's value from its raw data. */
export function deserialize(f: MigField, data: Uint8Array, number: number, name: number): unknown {
  if (f.elem === "string") {
    const nul = data.indexOf(0);
    return utf8Decoder.decode(nul < 0 ? data : data.subarray(0, nul));
  }
  if (isByteArray(f)) return freshCopy(data);
  if (f.shape === "scalar") return readElement(data, 0, f, name);
  const per = elemBytes(f);
  if (
    f.shape === "tuple" ||
    f.elem === "bool" ||
    f.elem === "poly" ||
    f.elem === "port" ||
    f.elem === "name"
  ) {
    const out: unknown[] = [];
    for (let i = 0; i < number; i++) out.push(readElement(data, i * per, f, name));
    return out;
  }
  const copy = data.slice(0, number * per).buffer;
  switch (f.elem) {
    case "i16":
      return new Int16Array(copy);
    case "i32":
      return new Int32Array(copy);
    case "i64":
      return new BigInt64Array(copy);
    case "f32":
      return new Float32Array(copy);
    case "f64":
      return new Float64Array(copy);
    default:
      return new Uint8Array(copy);
  }
}

/**
 * TypeCheck and decode of `fields` starting at `start`, as GNU MIG's stubs check a message they
 * receive: each descriptor (name, size, in-line, long form; the count of a fixed field, the
 * maximum of a variable one), the data within msgh_size, and msgh_size exact at the end.
 * `region` gives the bytes of received out-of-line data.
 */
export function decodeFields(
  msg: Uint8Array,
  size: number,
  fields: readonly MigField[],
  region: (address: number, length: number) => Uint8Array | undefined,
  start = MACH_MSG_HEADER_SIZE,
  limits?: Readonly<Record<string, number>>,
  /** Out-of-line byte arrays stay views of their regions (not copied, not to be freed). */
  map = false,
): DecodeResult {
  const values: MigValues = {};
  // Made only when out-of-line data arrives: an in-line message allocates no list.
  let oolAddresses: number[] | null = null;
  let mapped: Map<Uint8Array, number> | null = null;
  let tooLarge = false;
  let off = start;
  const bad = MALFORMED;
  if (size > msg.length) return bad;
  for (const f of fields) {
    if (off + MACH_MSG_TYPE_SIZE > size) return bad;
    const word = readU32(msg, off);
    const inline = (word & (1 << 28)) !== 0;
    const longform = (word & (1 << 29)) !== 0;
    if (longform !== f.longform) return bad;
    let name = word & 0xff;
    let bits = (word >>> 8) & 0xff;
    let number = (word >>> 16) & 0xfff;
    let dataOff = off + MACH_MSG_TYPE_SIZE;
    if (longform) {
      if (off + MACH_MSG_TYPE_LONG_SIZE > size) return bad;
      name = msg[off + 4]! | (msg[off + 5]! << 8);
      bits = msg[off + 6]! | (msg[off + 7]! << 8);
      number = readU32(msg, off + 8);
      dataOff = off + MACH_MSG_TYPE_LONG_SIZE;
    }
    if (f.inline !== null && inline !== f.inline) return bad;
    if (f.checkName === -1 ? !isPortType(name) : name !== f.checkName) return bad;
    if (bits !== f.size) return bad;
    if (f.shape === "variable") {
      const max = limits?.[f.name];
      if (inline && f.number > 0 && number > f.number) tooLarge = true;
      if (max !== undefined && number > max) tooLarge = true;
    } else if (number !== f.number) {
      return bad;
    }
    const length = bytesFor(f, number);
    let data: Uint8Array;
    if (inline && length > size) return bad;
    if (inline) {
      const end = dataOff + pad4(length);
      if (end > size || end < dataOff) return bad;
      data = msg.subarray(dataOff, dataOff + length);
      off = end;
    } else {
      if (dataOff + OOL_POINTER_SIZE > size) return bad;
      const addr = readPointer(msg, dataOff);
      off = dataOff + OOL_POINTER_SIZE;
      if (length === 0) data = new Uint8Array(0);
      else {
        const r = region(addr, length);
        if (!r) return bad;
        data = r;
        if (map && isByteArray(f) && !tooLarge) {
          (mapped ??= new Map()).set(data, addr);
          values[f.name] = data;
          continue;
        }
        (oolAddresses ??= []).push(addr);
      }
    }
    if (!tooLarge) values[f.name] = deserialize(f, data, number, name);
  }
  if (off !== size) return bad;
  if (tooLarge) return { ok: false, tooLarge: true };
  const oolList = oolAddresses ?? NO_ADDRESSES;
  return mapped
    ? { ok: true, values, oolAddresses: oolList, mapped }
    : { ok: true, values, oolAddresses: oolList };
}

const NO_ADDRESSES: readonly number[] = Object.freeze([]);
