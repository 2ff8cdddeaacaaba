// The acpi server on the simulated PC, over RPC: tables/ published from the RSDP in the BIOS
// area with good checksums, acpi_get_pci_irq from _PRT (through the pci-arbiter's config
// space), acpi_sleep(5) powering the machine off, and error values for bad requests.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acpi_get_pci_irq, acpi_sleep } from "../../generated/acpi.js";
import type { SendRight } from "../../src/kernel/mig/index.js";
import type { Task } from "../../src/kernel/task.js";
import { defaultRoute } from "../../src/machine/index.js";
import type { MachineBackend } from "../../src/machine/backend.js";
import type { SimBackend } from "../../src/machine/sim-backend.js";
import { acpiTablesOverRpc } from "../../src/boot/acpi-command.js";
import { startDriverStack, type DriverStack } from "../../src/boot/driver-stack.js";
import { lookup, readAll } from "../../src/servers/netfs/client.js";
import { EINVAL, EOPNOTSUPP, EPERM, ENOENT } from "../../src/servers/netfs/errno.js";
import { AcpiTranslator, ENODEV } from "../../src/servers/acpi/acpi-translator.js";
import { tableNames, tablesFromMemory } from "../../src/servers/acpi/firmware-source.js";
import { simMachine } from "./pci-fixtures.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { DeviceMaster } from "../../src/kernel/devices/index.js";
import { asSendRight } from "../../src/kernel/mig/index.js";
import { memDeviceReader } from "../../src/servers/acpi/mem-device-reader.js";

const codeOf = (r: { ok: boolean; code?: number }): number => (r.ok ? 0 : r.code!);

describe("acpi server on the simulated PC (over RPC)", () => {
  let sim: SimBackend;
  let stack: DriverStack;
  let client: Task;
  let root: SendRight;

  beforeEach(async () => {
    sim = simMachine();
    const s = await startDriverStack(sim);
    if (!s.ok) throw new Error(s.error);
    stack = s.value;
    client = stack.kernel.createTask("boot");
    const roots = await stack.connect(client);
    root = roots.acpi!;
  });

  afterEach(async () => {
    client.terminate();
    await stack.stop();
    await sim.close();
  });

  it("finds the RSDP in the BIOS area and publishes every table, checksummed, under tables/", async () => {
    expect(stack.acpi!.acpi.firmware.rsdp!.address).toBe(sim.acpi.rsdpAddress);
    expect(stack.acpi!.acpi.firmware.problems).toEqual([]);
    const r = await acpiTablesOverRpc(client, root);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const names = r.value.map((t) => t.name);
    for (const sig of ["XSDT", "FACP", "APIC", "MCFG", "DSDT"]) expect(names).toContain(sig);
    for (const t of r.value) {
      expect(t.sum, t.name).toBe(0);
      expect(t.length).toBe(t.bytes.length);
      expect(t.oemId).toBe("TSMACH");
      const sim_ = sim.acpi.tables.find((x) => x.signature === t.signature);
      expect(sim_ && [...sim_.bytes]).toEqual([...t.bytes]);
    }
    expect(codeOf(await lookup(client, root, "tables/NOPE"))).toBe(ENOENT);
  });

  it("answers acpi_get_pci_irq for the AHCI (00:1f.2) with the machine's wiring, GSI 23", async () => {
    const irq = await acpi_get_pci_irq(client, root, 0, 31, 2);
    expect(irq.ok && irq.value.irq).toBe(23);
    expect(defaultRoute(31, 1)).toBe(23);
  });

  it("refuses bad acpi_get_pci_irq requests with error values", async () => {
    expect(codeOf(await acpi_get_pci_irq(client, root, 0, 32, 0))).toBe(EINVAL);
    expect(codeOf(await acpi_get_pci_irq(client, root, -1, 0, 0))).toBe(EINVAL);
    expect(codeOf(await acpi_get_pci_irq(client, root, 0, 7, 0))).toBe(ENODEV); // no such function
    expect(codeOf(await acpi_get_pci_irq(client, root, 0, 0, 0))).toBe(ENODEV); // host bridge: no pin
    const tables = await lookup(client, root, "tables");
    expect(tables.ok).toBe(true);
    if (tables.ok)
      expect(codeOf(await acpi_get_pci_irq(client, tables.value, 0, 31, 2))).toBe(EINVAL);
  });

  it("acpi_sleep(5) writes SLP_TYP|SLP_EN from \\_S5 and the FADT and the machine powers off", async () => {
    expect(codeOf(await acpi_sleep(client, root, 3))).toBe(EOPNOTSUPP);
    expect(codeOf(await acpi_sleep(client, root, 9))).toBe(EINVAL);
    expect(sim.poweredOff).toBe(false);
    const r = await acpi_sleep(client, root, 5);
    expect(r.ok).toBe(true);
    await sim.whenPoweredOff;
    expect(sim.poweredOff).toBe(true);
  });

  it("reads a table in pieces at any offset", async () => {
    const dsdt = await lookup(client, root, "tables/DSDT");
    if (!dsdt.ok) throw new Error("no DSDT");
    const whole = await readAll(client, dsdt.value);
    const tail = await readAll(client, dsdt.value, 1 << 20, 7, 100n);
    expect(whole.ok && tail.ok && [...tail.value]).toEqual(
      whole.ok ? [...whole.value.subarray(100)] : [],
    );
  });
});

describe("acpi's physical memory through the kernel's mem device", () => {
  it("reads the BIOS area through device_map of mem, and is refused RAM", async () => {
    const sim = simMachine();
    const kernel = new Kernel();
    const dm = await DeviceMaster.start(kernel, { backend: sim });
    if (!dm.ok) throw new Error("no device master");
    const task = kernel.createTask("acpi");
    const master = dm.value.giveMasterPort(task);
    const read = memDeviceReader(task, asSendRight(master.name), dm.value);
    const rsdp = await read(sim.acpi.rsdpAddress, 20);
    expect(new TextDecoder().decode(rsdp.subarray(0, 8))).toBe("RSD PTR ");
    expect([...(await read(0xe0000, 0x20000))]).toEqual([...(await sim.memRead(0xe0000, 0x20000))]);
    await expect(read(0x1000, 16)).rejects.toThrow(/device_map/);
    const tables = await tablesFromMemory(read);
    expect(tables.ok && tables.value.rsdp!.address).toBe(sim.acpi.rsdpAddress);
    task.terminate();
    await dm.value.close();
    await sim.close();
  });
});

describe("acpi tables and sleep outside the simulated PC's happy path", () => {
  it("reports an RSDP that is not there as an error value", async () => {
    const r = await tablesFromMemory(async (_a, len) => new Uint8Array(len));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("AE_NOT_FOUND");
    const t = await tablesFromMemory(async () => {
      throw new Error("no memory");
    });
    expect(t.ok).toBe(false);
  });

  it("names tables like Linux's sysfs: an instance number only where a signature repeats", () => {
    expect(tableNames(["DSDT", "SSDT", "FACP", "SSDT", "SSDT"])).toEqual([
      "DSDT",
      "SSDT1",
      "FACP",
      "SSDT2",
      "SSDT3",
    ]);
  });

  it("refuses acpi_sleep on a read-only machine", async () => {
    const sim = simMachine();
    const readOnly: MachineBackend = Object.assign(Object.create(sim) as SimBackend, {
      writable: false,
    });
    const a = await AcpiTranslator.start({ backend: readOnly });
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    const r = await a.value.sleep(5);
    expect(r.ok ? 0 : r.code).toBe(EPERM);
    expect(sim.poweredOff).toBe(false);
    await sim.close();
  });
});
