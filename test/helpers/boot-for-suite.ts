// The whole boot chain on an MBR test image for one test suite: booted in beforeAll, shut down
// and the image removed in afterAll, the boot log kept in `log`.
import { afterAll, beforeAll } from "vitest";
import { bootSystem, type BootedSystem } from "../../src/boot/boot-chain.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";

/**
 * Registers the suite's hooks; `got` receives the booted system and its image once up. QEMU
 * boots take longer, so their hook gets a longer timeout.
 */
export function bootForSuite(
  machine: "sim" | "qemu",
  log: string[],
  got: (sys: BootedSystem, img: PartitionedImage) => void,
  sectors = 16384,
): void {
  let sys: BootedSystem | undefined;
  let img: PartitionedImage | undefined;
  beforeAll(
    async () => {
      img = mbrImage(sectors);
      const r = await bootSystem({ machine, disk: img.path, log: (l) => log.push(l) });
      if (!r.ok) throw new Error(r.error);
      sys = r.value;
      got(sys, img);
    },
    machine === "qemu" ? 90_000 : undefined,
  );
  afterAll(async () => {
    await sys?.shutdown();
    img?.cleanup();
  });
}
