// Decodes ACPI resource templates (the Buffers _CRS/_PRS return, ACPI 6.5 §6.4): IRQ and
// Extended Interrupt descriptors fully, I/O and memory ranges, the rest by tag.
import { fail, ok, type AcpiResult } from "../status.js";

export interface InterruptFlags {
  /** Edge triggered (true) or level triggered (false). */
  readonly edge: boolean;
  readonly activeLow: boolean;
  readonly shared: boolean;
  readonly wake: boolean;
}

export type ResourceDescriptor =
  | ({ readonly type: "irq"; readonly irqs: readonly number[] } & InterruptFlags)
  | ({
      readonly type: "extended-irq";
      readonly consumer: boolean;
      readonly interrupts: readonly number[];
    } & InterruptFlags)
  | {
      readonly type: "io";
      readonly decode16: boolean;
      readonly min: number;
      readonly max: number;
      readonly alignment: number;
      readonly length: number;
    }
  | { readonly type: "fixed-io"; readonly base: number; readonly length: number }
  | { readonly type: "dma"; readonly channels: readonly number[] }
  | {
      readonly type: "memory32-fixed";
      readonly writable: boolean;
      readonly base: number;
      readonly length: number;
    }
  | {
      readonly type: "other";
      readonly tag: number;
      readonly large: boolean;
      readonly data: Uint8Array;
    };

function bitsOf(mask: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (mask & (1 << i)) out.push(i);
  return out;
}

/** Decodes a resource template up to its End Tag (or the end of the buffer). */
export function decodeResources(data: Uint8Array): AcpiResult<ResourceDescriptor[]> {
  const out: ResourceDescriptor[] = [];
  let p = 0;
  const u16 = (o: number): number => data[o]! | (data[o + 1]! << 8);
  const u32 = (o: number): number => (u16(o) | (u16(o + 2) << 16)) >>> 0;
  while (p < data.length) {
    const b = data[p]!;
    if ((b & 0x80) === 0) {
      const tag = (b >> 3) & 0x0f;
      const len = b & 7;
      const body = p + 1;
      if (body + len > data.length)
        return fail(
          "AE_AML_BAD_RESOURCE",
          `small descriptor 0x${tag.toString(16)} at ${p} runs past the buffer`,
          p,
        );
      if (tag === 0x0f) return ok(out);
      switch (tag) {
        case 0x04: {
          if (len < 2)
            return fail("AE_AML_BAD_RESOURCE", `IRQ descriptor at ${p} is ${len} bytes long`, p);
          const flags = len >= 3 ? data[body + 2]! : 0x01;
          out.push({
            type: "irq",
            irqs: bitsOf(u16(body), 16),
            edge: (flags & 0x01) !== 0,
            activeLow: (flags & 0x08) !== 0,
            shared: (flags & 0x10) !== 0,
            wake: (flags & 0x20) !== 0,
          });
          break;
        }
        case 0x05:
          if (len < 2)
            return fail("AE_AML_BAD_RESOURCE", `DMA descriptor at ${p} is ${len} bytes long`, p);
          out.push({ type: "dma", channels: bitsOf(data[body]!, 8) });
          break;
        case 0x08:
          if (len < 7)
            return fail("AE_AML_BAD_RESOURCE", `I/O descriptor at ${p} is ${len} bytes long`, p);
          out.push({
            type: "io",
            decode16: (data[body]! & 1) !== 0,
            min: u16(body + 1),
            max: u16(body + 3),
            alignment: data[body + 5]!,
            length: data[body + 6]!,
          });
          break;
        case 0x09:
          if (len < 3)
            return fail(
              "AE_AML_BAD_RESOURCE",
              `fixed I/O descriptor at ${p} is ${len} bytes long`,
              p,
            );
          out.push({ type: "fixed-io", base: u16(body) & 0x3ff, length: data[body + 2]! });
          break;
        default:
          out.push({ type: "other", tag, large: false, data: data.slice(body, body + len) });
      }
      p = body + len;
    } else {
      if (p + 3 > data.length)
        return fail(
          "AE_AML_BAD_RESOURCE",
          `large descriptor header at ${p} runs past the buffer`,
          p,
        );
      const tag = b & 0x7f;
      const len = u16(p + 1);
      const body = p + 3;
      if (body + len > data.length)
        return fail(
          "AE_AML_BAD_RESOURCE",
          `large descriptor 0x${tag.toString(16)} at ${p} runs past the buffer`,
          p,
        );
      switch (tag) {
        case 0x06:
          if (len < 9)
            return fail(
              "AE_AML_BAD_RESOURCE",
              `Memory32Fixed descriptor at ${p} is ${len} bytes long`,
              p,
            );
          out.push({
            type: "memory32-fixed",
            writable: (data[body]! & 1) !== 0,
            base: u32(body + 1),
            length: u32(body + 5),
          });
          break;
        case 0x09: {
          if (len < 2)
            return fail(
              "AE_AML_BAD_RESOURCE",
              `Extended Interrupt descriptor at ${p} is ${len} bytes long`,
              p,
            );
          const flags = data[body]!;
          const count = data[body + 1]!;
          if (2 + count * 4 > len)
            return fail(
              "AE_AML_BAD_RESOURCE",
              `Extended Interrupt descriptor at ${p} lists ${count} interrupts in ${len} bytes`,
              p,
            );
          const interrupts: number[] = [];
          for (let i = 0; i < count; i++) interrupts.push(u32(body + 2 + i * 4));
          out.push({
            type: "extended-irq",
            consumer: (flags & 0x01) !== 0,
            edge: (flags & 0x02) !== 0,
            activeLow: (flags & 0x04) !== 0,
            shared: (flags & 0x08) !== 0,
            wake: (flags & 0x10) !== 0,
            interrupts,
          });
          break;
        }
        default:
          out.push({ type: "other", tag, large: true, data: data.slice(body, body + len) });
      }
      p = body + len;
    }
  }
  return ok(out);
}
