// A kernel with a server task and client tasks, and root ports handed from one to the other as
// the boot chain does (a send right made from the server's receive right).
import { Kernel } from "../../src/kernel/kernel.js";
import type { Task } from "../../src/kernel/task.js";
import { asSendRight, type SendRight } from "../../src/kernel/mig/index.js";
import { MACH_MSG_TYPE_MAKE_SEND } from "../../src/kernel/msg-type.js";

export function giveSend(kernel: Kernel, server: Task, name: number, client: Task): SendRight {
  const r = kernel.giveRight(server, name, MACH_MSG_TYPE_MAKE_SEND, client);
  if (r.kr !== 0) throw new Error(`giveRight failed: ${r.kr}`);
  return asSendRight(r.name);
}
