// Boots a rump kernel for tests: a simulated PC with the given disks (optionally behind a
// faulty backend), rump_init over it, and a teardown that reboots and removes everything.
import { SimBackend } from "../../src/machine/sim-backend.js";
import type { MachineBackend } from "../../src/machine/backend.js";
import { rump_init, RumpKernel, type RumpInitOptions } from "../../src/rump/rump-sys.js";
import { faultyBackend, type Faults } from "./fixtures.js";

export interface SimDisk {
  port: number;
  image: string;
  readOnly?: boolean;
  sectorSize?: 512 | 4096;
  model?: string;
  serial?: string;
  firmware?: string;
}

export interface BootedSim {
  sim: SimBackend;
  backend: MachineBackend & { abar: number };
  faults: Faults;
  k: RumpKernel;
  log: string[];
  shutdown(): Promise<void>;
}

export async function bootSim(
  disks: SimDisk[],
  options: Partial<RumpInitOptions> & { faults?: Partial<Faults> } = {},
): Promise<BootedSim> {
  const r = SimBackend.create({ memory: "128M", devices: [{ type: "ahci", disks }] });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
  const sim = r.value;
  const faults: Faults = {
    dropInterrupts: false,
    dropCiWrites: 0,
    hideSharedMemory: false,
    ...options.faults,
  };
  const backend = faultyBackend(sim, faults);
  // ABAR as the firmware assigned it (00:1f.2 BAR5), for the fault injector.
  await sim.portWrite(0xcf8, 4, 0x8000_fa24);
  backend.abar = ((await sim.portRead(0xcfc, 4)) & ~0xf) >>> 0;
  const log: string[] = [];
  const { faults: _f, ...rest } = options;
  const k = await rump_init({ backend, console: (l) => log.push(l), ...rest });
  if (!k.ok) throw new Error(k.message);
  return {
    sim,
    backend,
    faults,
    k: k.value,
    log,
    async shutdown() {
      if (k.value.alive) await k.value.reboot(0);
      await sim.close();
    },
  };
}
