// The machine description file: defaults, sizes, and errors that name the bad field and value.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MEMORY,
  loadMachineDescription,
  parseMachineDescription,
  validateMachineDescription,
  type DescriptionResult,
} from "../../src/machine/machine-description.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { createTestDiskImage } from "../../src/machine/test-disk-image.js";

function errorsOf(r: DescriptionResult) {
  if (r.ok) throw new Error("expected a validation error");
  return r.errors.map((e) => ({ field: e.field, value: e.value, code: e.code }));
}

describe("machine description", () => {
  const img = createTestDiskImage({ sectors: 16 });
  afterAll(() => img.cleanup());

  it("fills in defaults: 256 MiB, AHCI at 00:1f.2 with 6 ports, 512-byte sectors", () => {
    const r = validateMachineDescription(
      { devices: [{ type: "ahci", disks: [{ port: 0, image: "disk.img" }] }] },
      "/data",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.memory).toBe(DEFAULT_MEMORY);
    const d = r.value.devices[0]!;
    expect([d.dev, d.fn, d.ports]).toEqual([31, 2, 6]);
    expect(d.disks[0]!.image).toBe("/data/disk.img");
    expect(d.disks[0]!.sectorSize).toBe(512);
    expect(d.disks[0]!.readOnly).toBe(false);
    expect(d.disks[0]!.serial).toMatch(/^[\x20-\x7e]{1,20}$/);
  });

  it("accepts sizes with units", () => {
    for (const [v, n] of [
      ["64M", 64 << 20],
      ["1G", 1 << 30],
      ["512MiB", 512 << 20],
      [8388608, 8 << 20],
    ] as const) {
      const r = validateMachineDescription({ memory: v });
      expect(r.ok && r.value.memory).toBe(n);
    }
  });

  it("names the field and the value of every bad entry", () => {
    expect(errorsOf(validateMachineDescription({ memory: "lots" }))).toEqual([
      { field: "memory", value: "lots", code: "KERN_INVALID_ARGUMENT" },
    ]);
    expect(errorsOf(validateMachineDescription({ memory: 1000 }))[0]).toMatchObject({
      field: "memory",
      value: 1000,
    });
    expect(errorsOf(validateMachineDescription({ memory: "16G" }))[0]).toMatchObject({
      field: "memory",
      value: "16G",
    });
    expect(errorsOf(validateMachineDescription({ devices: [{ type: "nvme" }] }))[0]).toMatchObject({
      field: "devices[0].type",
      value: "nvme",
    });
    expect(
      errorsOf(validateMachineDescription({ devices: [{ type: "ahci", ports: 40 }] }))[0],
    ).toMatchObject({ field: "devices[0].ports", value: 40 });
    expect(
      errorsOf(
        validateMachineDescription({
          devices: [{ type: "ahci", disks: [{ port: 0, image: "a", sectorSize: 1024 }] }],
        }),
      )[0],
    ).toMatchObject({ field: "devices[0].disks[0].sectorSize", value: 1024 });
    expect(
      errorsOf(
        validateMachineDescription({
          devices: [{ type: "ahci", disks: [{ port: 0, image: "a", model: "x".repeat(41) }] }],
        }),
      )[0],
    ).toMatchObject({ field: "devices[0].disks[0].model" });
    expect(
      errorsOf(
        validateMachineDescription({ devices: [{ type: "ahci", disks: [{ port: 0 }] }] }),
      )[0],
    ).toMatchObject({
      field: "devices[0].disks[0].image",
      value: undefined,
    });
    expect(
      errorsOf(
        validateMachineDescription({
          devices: [{ type: "ahci", disks: [{ port: 0, imag: "a", image: "b" }] }],
        }),
      )[0],
    ).toMatchObject({
      field: "devices[0].disks[0].imag",
      value: "a",
    });
    expect(
      errorsOf(validateMachineDescription({ devices: [{ type: "ahci", slot: "1f.0" }] }))[0],
    ).toMatchObject({ field: "devices[0].slot", value: "1f.0" });
  });

  it("checks disks against their controller: port range and one disk per port", () => {
    const e = errorsOf(
      validateMachineDescription({
        devices: [
          {
            type: "ahci",
            ports: 2,
            disks: [
              { port: 3, image: "a" },
              { port: 0, image: "b" },
              { port: 0, image: "c" },
            ],
          },
        ],
      }),
    );
    expect(e).toEqual([
      { field: "devices[0].disks[0].port", value: 3, code: "KERN_INVALID_ARGUMENT" },
      { field: "devices[0].disks[2].port", value: 0, code: "KERN_INVALID_ARGUMENT" },
    ]);
  });

  it("reports bad JSON and unreadable files as errors, not exceptions", () => {
    const r = parseMachineDescription("{ memory: ");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.message).toMatch(/not valid JSON/);
    const f = loadMachineDescription("/nonexistent/machine.json");
    expect(f.ok).toBe(false);
    if (!f.ok)
      expect(f.errors[0]).toMatchObject({ field: "(file)", value: "/nonexistent/machine.json" });
  });

  it("loads a file with image paths relative to it, and the machine boots from it", async () => {
    const file = path.join(img.dir, "machine.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        memory: "8M",
        devices: [{ type: "ahci", disks: [{ port: 1, image: "disk.img" }] }],
      }),
    );
    const r = loadMachineDescription(file);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.devices[0]!.disks[0]!.image).toBe(img.path);
    const sim = SimBackend.create(r.value);
    expect(sim.ok).toBe(true);
    if (sim.ok) await sim.value.close();
  });

  it("refuses to build a machine whose image is missing, naming the field", () => {
    const r = SimBackend.create({
      devices: [{ type: "ahci", disks: [{ port: 0, image: "/nonexistent/disk.img" }] }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors[0]).toMatchObject({
        field: "devices[0].disks[0].image",
        value: "/nonexistent/disk.img",
      });
  });
});
