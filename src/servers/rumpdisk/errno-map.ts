// How rump_sys_* errors become device return codes: the NetBSD errno a rump call failed with,
// mapped to the D_* code a Mach device client expects.
import {
  D_INVALID_OPERATION,
  D_INVALID_RECNUM,
  D_INVALID_SIZE,
  D_IO_ERROR,
  D_NO_MEMORY,
  D_NO_SUCH_DEVICE,
  D_READ_ONLY,
  type io_return_t,
} from "../../kernel/devices/device-codes.js";
import {
  EBADF,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOTTY,
  ENXIO,
  EROFS,
  type RumpError,
} from "../../rump/errno.js";

/** The D_* code for a failed rump call. */
export function deviceCodeOf(e: RumpError): io_return_t {
  switch (e.errno) {
    case ENOENT:
    case ENXIO:
      return D_NO_SUCH_DEVICE;
    case EROFS:
      return D_READ_ONLY;
    case ENOSPC:
      return D_INVALID_RECNUM;
    case EINVAL:
    case EFAULT:
      return D_INVALID_SIZE;
    case ENOMEM:
      return D_NO_MEMORY;
    case EBADF:
    case ENOTTY:
      return D_INVALID_OPERATION;
    default:
      return D_IO_ERROR;
  }
}
