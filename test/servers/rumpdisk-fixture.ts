// A booted rumpdisk for tests: a simulated PC with a partitioned patterned disk, rumpdisk in an
// in-thread task over it, and a client task holding a send right to rumpdisk's master port.
import * as fs from "node:fs";
import { Kernel } from "../../src/kernel/kernel.js";
import { asSendRight, type SendRight } from "../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";
import type { Task } from "../../src/kernel/task.js";
import { SimBackend } from "../../src/machine/sim-backend.js";
import { runRumpdisk, type RumpdiskServer } from "../../src/servers/rumpdisk/rumpdisk.js";
import { mbrImage, type PartitionedImage } from "../rump/fixtures.js";

export interface BootedRumpdisk {
  kernel: Kernel;
  sim: SimBackend;
  image: PartitionedImage;
  server: Task;
  rumpdisk: RumpdiskServer;
  client: Task;
  /** The client's send right to rumpdisk's master device port. */
  master: SendRight;
  log: string[];
  /** The image file's bytes [offset, offset+length) as they are now. */
  fileBytes(offset: number, length: number): Uint8Array;
  shutdown(): Promise<void>;
}

export async function bootRumpdisk(
  options: { sectors?: number; readOnly?: boolean; image?: PartitionedImage } = {},
): Promise<BootedRumpdisk> {
  const image = options.image ?? mbrImage(options.sectors ?? 16384);
  const made = SimBackend.create({
    memory: "128M",
    devices: [
      {
        type: "ahci",
        disks: [{ port: 0, image: image.path, readOnly: options.readOnly ?? false }],
      },
    ],
  });
  if (!made.ok) throw new Error(made.errors.map((e) => e.message).join("\n"));
  const sim = made.value;
  const kernel = new Kernel();
  const server = kernel.createTask("rumpdisk");
  const log: string[] = [];
  const started = await runRumpdisk(server, {
    rump: { backend: sim, console: (l) => log.push(l) },
  });
  if (!started.ok) throw new Error(started.error);
  const client = kernel.createTask("client");
  const given = kernel.giveRight(server, started.value.master, MACH_MSG_TYPE_MAKE_SEND, client);
  return {
    kernel,
    sim,
    image,
    server,
    rumpdisk: started.value,
    client,
    master: asSendRight(given.name),
    log,
    fileBytes(offset, length) {
      const fd = fs.openSync(image.path, "r");
      try {
        const out = new Uint8Array(length);
        fs.readSync(fd, out, 0, length, offset);
        return out;
      } finally {
        fs.closeSync(fd);
      }
    },
    async shutdown() {
      await started.value.shutdown();
      client.terminate();
      server.terminate();
      await sim.close();
      image.cleanup();
    },
  };
}
