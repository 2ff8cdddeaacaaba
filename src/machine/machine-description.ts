// The machine description file (JSON): memory size, devices and their disk images, validated
// with zod into a typed description; every error names the bad field and the value found.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { MAX_MEMORY, MIN_MEMORY } from "./physical-memory.js";

export const DEFAULT_MEMORY = 256 * 1024 * 1024;

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "256M", "1G", "65536", 268435456 → bytes. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : undefined;
  const m = /^\s*(\d+)\s*([KMG]?)(?:i?B)?\s*$/i.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
}

const memorySize = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === undefined) {
    ctx.addIssue({ code: "custom", message: `is not a size (bytes, or a number with K, M or G)` });
    return z.NEVER;
  }
  if (n < MIN_MEMORY || n > MAX_MEMORY || n % 4096 !== 0) {
    ctx.addIssue({
      code: "custom",
      message: `must be a multiple of 4 KiB between 2M and ${MAX_MEMORY / 1024 ** 2}M`,
    });
    return z.NEVER;
  }
  return n;
});

const ataString = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[\x20-\x7e]*$/, "must be printable ASCII");

const slotPattern = /^(?:00:)?([0-1]?[0-9a-f])\.([0-7])$/i;

const diskSchema = z.strictObject({
  port: z.number().int().min(0).max(31),
  image: z.string().min(1, "must name a raw disk image file"),
  readOnly: z.boolean().default(false),
  sectorSize: z
    .union([z.literal(512), z.literal(4096)], { error: "must be 512 or 4096" })
    .default(512),
  model: ataString(40).default("TSMACH SIMULATED SATA DISK"),
  serial: ataString(20).optional(),
  firmware: ataString(8).default("1.0"),
});

const ahciSchema = z.strictObject({
  type: z.literal("ahci"),
  slot: z.string().regex(slotPattern, 'must be a PCI slot like "00:1f.2"').default("00:1f.2"),
  ports: z.number().int().min(1).max(32).default(6),
  disks: z.array(diskSchema).default([]),
});

const descriptionSchema = z.strictObject({
  memory: memorySize.default(DEFAULT_MEMORY),
  devices: z
    .array(
      z.discriminatedUnion("type", [ahciSchema], { error: 'must be a device with "type": "ahci"' }),
    )
    .default([]),
});

export type DiskDescription = z.output<typeof diskSchema>;
export type AhciDescription = z.output<typeof ahciSchema> & { dev: number; fn: number };
export interface MachineDescription {
  memory: number;
  devices: AhciDescription[];
}

export interface DescriptionError {
  code: "KERN_INVALID_ARGUMENT";
  /** Where: `devices[0].disks[1].port`. */
  field: string;
  /** What was found there (undefined when missing). */
  value: unknown;
  message: string;
}

export type DescriptionResult =
  { ok: true; value: MachineDescription } | { ok: false; errors: DescriptionError[] };

function fieldName(p: readonly PropertyKey[]): string {
  let s = "";
  for (const k of p) s += typeof k === "number" ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || "(top level)";
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function err(field: string, value: unknown, message: string): DescriptionError {
  const shown = value === undefined ? "missing" : JSON.stringify(value);
  return {
    code: "KERN_INVALID_ARGUMENT",
    field,
    value,
    message: `${field}: ${message} (found ${shown})`,
  };
}

/**
 * Validates a parsed description. Relative image paths are resolved against `baseDir`.
 */
export function validateMachineDescription(
  input: unknown,
  baseDir = process.cwd(),
): DescriptionResult {
  if (isValidatedDescription(input)) return { ok: true, value: input };
  const r = descriptionSchema.safeParse(input);
  if (!r.success) {
    const errors = r.error.issues.map((i) => {
      let p = i.path as PropertyKey[];
      let message = i.message;
      if (i.code === "unrecognized_keys") {
        p = [...p, i.keys[0]!];
        message = `unknown field (known: ${Object.keys(shapeAt(i.path as PropertyKey[])).join(", ")})`;
      }
      return err(fieldName(p), valueAt(input, p), message);
    });
    return { ok: false, errors };
  }
  const errors: DescriptionError[] = [];
  const slots = new Set<string>(["0.0", "31.0"]);
  const devices: AhciDescription[] = r.data.devices.map((d, i) => {
    const m = slotPattern.exec(d.slot)!;
    const dev = parseInt(m[1]!, 16);
    const fn = Number(m[2]);
    if (dev > 31) errors.push(err(`devices[${i}].slot`, d.slot, "device number must be 00..1f"));
    else if (slots.has(`${dev}.${fn}`))
      errors.push(
        err(
          `devices[${i}].slot`,
          d.slot,
          "is already taken (00:00.0 and 00:1f.0 are the chipset's)",
        ),
      );
    slots.add(`${dev}.${fn}`);
    const ports = new Set<number>();
    d.disks.forEach((disk, j) => {
      const field = `devices[${i}].disks[${j}]`;
      if (disk.port >= d.ports)
        errors.push(
          err(`${field}.port`, disk.port, `must be below the controller's ${d.ports} ports`),
        );
      if (ports.has(disk.port)) errors.push(err(`${field}.port`, disk.port, "already has a disk"));
      ports.add(disk.port);
    });
    return {
      ...d,
      dev,
      fn,
      disks: d.disks.map((disk, j) => ({
        ...disk,
        image: path.resolve(baseDir, disk.image),
        serial:
          disk.serial ??
          `TSM${String(i).padStart(2, "0")}${String(disk.port).padStart(2, "0")}${String(j).padStart(4, "0")}`,
      })),
    };
  });
  if (errors.length) return { ok: false, errors };
  const value: MachineDescription = { memory: r.data.memory, devices };
  validated.add(value);
  return { ok: true, value };
}

const validated = new WeakSet<object>();

/** True for a description this module produced (so it need not be validated again). */
export function isValidatedDescription(x: unknown): x is MachineDescription {
  return typeof x === "object" && x !== null && validated.has(x);
}

function shapeAt(p: readonly PropertyKey[]): Record<string, unknown> {
  if (p.length === 0) return descriptionSchema.shape;
  if (p[0] === "devices" && p.length === 2) return ahciSchema.shape;
  if (p[0] === "devices" && p[2] === "disks") return diskSchema.shape;
  return {};
}

/** Parses JSON text and validates it; `source` names the file in errors. */
export function parseMachineDescription(
  text: string,
  baseDir = process.cwd(),
  source = "machine description",
): DescriptionResult {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      errors: [
        err(
          "(top level)",
          undefined,
          `${source} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
        ),
      ],
    };
  }
  return validateMachineDescription(input, baseDir);
}

export function loadMachineDescription(file: string): DescriptionResult {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return {
      ok: false,
      errors: [err("(file)", file, `cannot read: ${e instanceof Error ? e.message : String(e)}`)],
    };
  }
  return parseMachineDescription(text, path.dirname(path.resolve(file)), file);
}

/** The built-in PC: 256 MiB and an AHCI controller at 00:1f.2 with `image` on port 0. */
export function defaultMachineDescription(image?: string): MachineDescription {
  const r = validateMachineDescription({
    devices: [{ type: "ahci", disks: image ? [{ port: 0, image }] : [] }],
  });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("; "));
  return r.value;
}
