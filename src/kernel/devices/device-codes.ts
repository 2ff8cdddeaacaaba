// Return codes and flags of the Mach device interface (gnumach's <device/device_types.h> and
// <mach/vm_prot.h>): D_* results, open modes, and the protections device_map takes.
import type { kern_return_t } from "../kern-return.js";

export type io_return_t = kern_return_t;

export const D_SUCCESS = 0;
/** Hardware I/O error. */
export const D_IO_ERROR = 2500;
/** The operation would block and D_NOWAIT was given. */
export const D_WOULD_BLOCK = 2501;
/** No device by that name (device_open), or the device is gone. */
export const D_NO_SUCH_DEVICE = 2502;
/** An exclusive device is already open, or the resource is taken. */
export const D_ALREADY_OPEN = 2503;
export const D_DEVICE_DOWN = 2504;
/** The device does not do that (wrong device, bad flags, nothing to acknowledge, RAM). */
export const D_INVALID_OPERATION = 2505;
export const D_INVALID_RECNUM = 2506;
export const D_INVALID_SIZE = 2507;
export const D_NO_MEMORY = 2508;
export const D_READ_ONLY = 2509;

/** Open modes (dev_mode_t). */
export const D_READ = 0x1;
export const D_WRITE = 0x2;
export const D_NODELAY = 0x4;
export const D_NOWAIT = 0x8;

/** Protections (vm_prot_t). */
export const VM_PROT_NONE = 0x0;
export const VM_PROT_READ = 0x1;
export const VM_PROT_WRITE = 0x2;
export const VM_PROT_EXECUTE = 0x4;
export const VM_PROT_ALL = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE;

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries({
    D_SUCCESS,
    D_IO_ERROR,
    D_WOULD_BLOCK,
    D_NO_SUCH_DEVICE,
    D_ALREADY_OPEN,
    D_DEVICE_DOWN,
    D_INVALID_OPERATION,
    D_INVALID_RECNUM,
    D_INVALID_SIZE,
    D_NO_MEMORY,
    D_READ_ONLY,
  }).map(([k, v]) => [v, k] as const),
);

/** The D_* name of a device return code, or undefined for any other code. */
export function deviceReturnName(code: number): string | undefined {
  return NAMES.get(code);
}
