// `tsmach devread` and `tsmach devwrite` through the whole booted stack (client → rumpdisk →
// ahcisata → the machine's AHCI → the image): bytes out equal the image, bytes in land exactly
// where asked and nowhere else; bad arguments are refused. The QEMU variants need qemu.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/boot/cli.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";
import { need } from "../helpers/tools.js";

interface Run {
  code: number;
  out: Uint8Array;
  err: string;
}

async function tsmach(args: string[], stdin = new Uint8Array(0)): Promise<Run> {
  const parts: Uint8Array[] = [];
  let err = "";
  const code = await main(args, {
    stdout: (t: string) => parts.push(new TextEncoder().encode(t)),
    stderr: (t: string) => (err += t),
    stdoutBytes: (b: Uint8Array) => parts.push(b.slice()),
    stdinBytes: async () => stdin,
  } as Parameters<typeof main>[1]);
  return { code, out: new Uint8Array(Buffer.concat(parts)), err };
}

function suite(machine: "sim" | "qemu", sectors: number) {
  let img: PartitionedImage;
  beforeAll(() => {
    img = mbrImage(sectors);
  });
  afterAll(() => img.cleanup());

  it("devread writes the bytes of a partition range to stdout", async () => {
    const [start] = img.parts.get(2)!;
    const r = await tsmach([
      "devread",
      "--machine",
      machine,
      "--disk",
      img.path,
      "wd0s2",
      "1000",
      "5000",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(
      Buffer.from(r.out).equals(img.bytes().subarray(start * 512 + 1000, start * 512 + 6000)),
    ).toBe(true);
  }, 60_000);

  it("devwrite puts stdin at the offset, flushes, and touches nothing else", async () => {
    const [start] = img.parts.get(1)!;
    const before = img.bytes();
    const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) & 0xff);
    const w = await tsmach(
      ["devwrite", "--machine", machine, "--disk", img.path, "wd0s1", "777"],
      data,
    );
    expect(w.code).toBe(0);
    expect(w.err).toContain("3000 bytes written to wd0s1 at 777, flushed");
    Buffer.from(data).copy(before, start * 512 + 777);
    expect(img.bytes().equals(before)).toBe(true);
    // And it reads back through the stack.
    const r = await tsmach([
      "devread",
      "--machine",
      machine,
      "--disk",
      img.path,
      "wd0",
      String(start * 512 + 777),
      "3000",
    ]);
    expect(Buffer.from(r.out).equals(Buffer.from(data))).toBe(true);
  }, 60_000);

  it("refuses a partition the disk does not have, with D_NO_SUCH_DEVICE", async () => {
    const r = await tsmach([
      "devread",
      "--machine",
      machine,
      "--disk",
      img.path,
      "wd0s9",
      "0",
      "16",
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('device_open("wd0s9"): D_NO_SUCH_DEVICE');
    expect(r.out.length).toBe(0);
  }, 60_000);
}

describe("tsmach devread/devwrite on the simulated PC", () => {
  suite("sim", 16384);

  it("refuses bad arguments with a message, never touching the image", async () => {
    const img = mbrImage(4096);
    try {
      const before = fs.readFileSync(img.path);
      const cases: [string[], number, string][] = [
        [["devread", "--disk", img.path, "wd7", "0", "10"], 1, "D_NO_SUCH_DEVICE"],
        [
          ["devread", "--disk", img.path, "wd0", "-5", "10"],
          2,
          "OFFSET must be a non-negative integer",
        ],
        [
          ["devread", "--disk", img.path, "wd0", "0", "ten"],
          2,
          "LENGTH must be a non-negative integer",
        ],
        [["devread", "wd0", "0", "10"], 2, "--disk IMG is required"],
        [
          ["devread", "--machine", "pdp11", "--disk", img.path, "wd0", "0", "1"],
          2,
          "unknown machine",
        ],
        [["devread", "--disk", img.path, "wd0", String(4096 * 512 + 1), "10"], 1, "past the end"],
        [["devread", "--disk", img.path + ".nope", "wd0", "0", "10"], 1, ".nope"],
        [["devwrite", "--disk", img.path, "wd0", String(4096 * 512 - 2)], 1, "do not fit"],
      ];
      for (const [args, code, msg] of cases) {
        const r = await tsmach(args, Uint8Array.of(1, 2, 3, 4));
        expect(r.code, args.join(" ")).toBe(code);
        expect(r.err, args.join(" ")).toContain(msg);
      }
      expect(fs.readFileSync(img.path).equals(before)).toBe(true);
    } finally {
      img.cleanup();
    }
  });

  it("a read running past the end gives the bytes up to it and says how many, whatever the length", async () => {
    const img = mbrImage(4096);
    try {
      const size = 4096 * 512;
      const tail = img.bytes().subarray(size - 3000);
      // 99999999999 bytes could not even be allocated at once: devread streams piece by piece.
      for (const length of ["5000", "99999999999"]) {
        const r = await tsmach(["devread", "--disk", img.path, "wd0", String(size - 3000), length]);
        expect(r.code, length).toBe(1);
        expect(r.err, length).toBe("tsmach devread: only 3000 bytes before the end of wd0\n");
        expect(Buffer.from(r.out).equals(tail), length).toBe(true);
      }
      // Several pieces: a read of 1.5 MiB from the start equals the image.
      const r = await tsmach(["devread", "--disk", img.path, "wd0", "0", String(3 << 19)]);
      expect(r.code).toBe(0);
      expect(Buffer.from(r.out).equals(img.bytes().subarray(0, 3 << 19))).toBe(true);
    } finally {
      img.cleanup();
    }
  }, 60_000);
});

describe.skipIf(!need("qemu"))("tsmach devread/devwrite on QEMU", () => {
  suite("qemu", 4096);
});

const BIN = path.join(__dirname, "..", "..", "bin", "tsmach.js");
const BUILT = fs.existsSync(
  path.join(__dirname, "..", "..", "dist", "src", "boot", "disk-commands.js"),
);
if (!BUILT) console.warn("SKIPPED: the built tsmach (dist/) is missing; `npm run build` first");

describe.skipIf(!BUILT)("the built tsmach command, bytes through real stdin and stdout", () => {
  it("devwrite from a pipe, then devread to a pipe, through the whole stack", () => {
    const img = mbrImage(8192);
    try {
      const data = Buffer.from(Uint8Array.from({ length: 70_000 }, (_, i) => (i * 29 + 11) & 0xff));
      const w = spawnSync(
        process.execPath,
        [BIN, "devwrite", "--disk", img.path, "wd0s2", "4097"],
        { input: data },
      );
      expect(w.stderr.toString()).toContain("70000 bytes written to wd0s2 at 4097, flushed");
      expect(w.status).toBe(0);
      const [start] = img.parts.get(2)!;
      expect(
        img
          .bytes()
          .subarray(start * 512 + 4097, start * 512 + 4097 + data.length)
          .equals(data),
      ).toBe(true);
      const r = spawnSync(
        process.execPath,
        [BIN, "devread", "--disk", img.path, "wd0s2", "4097", "70000"],
        {
          maxBuffer: 1 << 24,
        },
      );
      expect(r.status).toBe(0);
      expect(r.stdout.equals(data)).toBe(true);
    } finally {
      img.cleanup();
    }
  }, 60_000);
});
