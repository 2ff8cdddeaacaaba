// The wire format: header offsets and descriptor bit positions as gcc lays out gnumach-dev's
// <mach/message.h> for x86_64, and the body walk over short, long, inline and out-of-line items.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { need, GNUMACH_INCLUDE } from "../helpers/tools.js";
import {
  HDR_ID,
  HDR_LOCAL,
  HDR_REMOTE,
  HDR_SEQNO,
  MessageBuilder,
  packShortType,
  parseBody,
  readHeader,
  readPointer,
} from "../../src/kernel/message.js";
import { NOTIFICATION_SIZE } from "../../src/kernel/notify.js";

describe("message layout", () => {
  it("round-trips a header with zeroed padding", () => {
    const m = new MessageBuilder({ bits: 0x1513, remote: 7, local: 9, id: -5 }).int32(42).build();
    expect(m.length).toBe(40);
    expect(readHeader(m)).toEqual({
      bits: 0x1513,
      size: 40,
      remote: 7,
      local: 9,
      seqno: 0,
      id: -5,
    });
    expect([...m.subarray(12, 16)]).toEqual([0, 0, 0, 0]);
    expect(parseBody(m, 40)).toMatchObject({
      ok: true,
      items: [{ name: 2, size: 32, number: 1, inline: true, dataOffset: 36 }],
    });
  });

  it("walks long-form and out-of-line items with 4-byte padding and 8-byte pointers", () => {
    const m = new MessageBuilder({ bits: 0, remote: 1, local: 0, id: 1 })
      .inline(8, 8, 3, new Uint8Array([1, 2, 3]))
      .ool(9, 8, 100, 0x1_2345_6789)
      .build();
    // 32 + (4 + 4) + (12 + 8) = 60, as MIG's pack(4) structs have it
    expect(m.length).toBe(60);
    const p = parseBody(m, m.length);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.items[1]).toMatchObject({
      longform: true,
      inline: false,
      number: 100,
      dataOffset: 52,
      byteLength: 100,
    });
    expect(readPointer(m, 52)).toBe(0x1_2345_6789);
    expect(parseBody(m, 56)).toMatchObject({ ok: false, error: "truncated" });
  });

  it("rejects port descriptors whose element size is not 32 bits", () => {
    const m = new MessageBuilder({ bits: 0, remote: 1, local: 0, id: 1 })
      .inline(17, 64, 1, new Uint8Array(8))
      .build();
    expect(parseBody(m, m.length)).toMatchObject({ ok: false, error: "bad-type" });
  });

  describe.skipIf(!need("gcc", "gnumach"))("against gcc and gnumach-dev", () => {
    it("matches mach_msg_header_t, mach_msg_type_t bits and notification sizes", () => {
      const dir = mkdtempSync(join(tmpdir(), "tsmach-layout-"));
      writeFileSync(
        join(dir, "p.c"),
        `#include <mach/message.h>
#include <mach/notify.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
int main(void){ mach_msg_type_t t; unsigned u;
printf("%zu %zu %zu %zu %zu %zu\\n", sizeof(mach_msg_header_t), offsetof(mach_msg_header_t,msgh_remote_port), offsetof(mach_msg_header_t,msgh_local_port), offsetof(mach_msg_header_t,msgh_seqno), offsetof(mach_msg_header_t,msgh_id), sizeof(mach_msg_type_long_t));
memset(&t,0,4); t.msgt_name=17; t.msgt_size=32; t.msgt_number=3; t.msgt_inline=1; t.msgt_deallocate=1; memcpy(&u,&t,4); printf("%u\\n", u);
memset(&t,0,4); t.msgt_longform=1; memcpy(&u,&t,4); printf("%u\\n", u);
printf("%zu %zu\\n", sizeof(mach_dead_name_notification_t), sizeof(mach_send_once_notification_t));
return 0; }`,
      );
      execFileSync("gcc", ["-I", GNUMACH_INCLUDE, "-o", join(dir, "p"), join(dir, "p.c")]);
      const lines = execFileSync(join(dir, "p")).toString().trim().split("\n");
      expect(lines[0]).toBe(`32 ${HDR_REMOTE} ${HDR_LOCAL} ${HDR_SEQNO} ${HDR_ID} 12`);
      expect(Number(lines[1])).toBe(
        packShortType({ name: 17, size: 32, number: 3, inline: true, deallocate: true }),
      );
      expect(Number(lines[2])).toBe(
        packShortType({ name: 0, size: 0, number: 0, inline: false, deallocate: false }, true),
      );
      expect(lines[3]).toBe(`${NOTIFICATION_SIZE} 32`);
    });
  });
});
