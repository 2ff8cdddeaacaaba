// How a rump call's errno reads as a Mach device return code (D_*), for servers that serve the
// device interface on top of rump_sys_* (rumpdisk): EROFS is D_READ_ONLY, ENXIO D_NO_SUCH_DEVICE.
import {
  D_ALREADY_OPEN,
  D_INVALID_OPERATION,
  D_INVALID_RECNUM,
  D_IO_ERROR,
  D_NO_MEMORY,
  D_NO_SUCH_DEVICE,
  D_READ_ONLY,
  D_SUCCESS,
  D_WOULD_BLOCK,
  type io_return_t,
} from "../kernel/devices/device-codes.js";
import {
  EAGAIN,
  EBADF,
  EBUSY,
  EINVAL,
  EIO,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOTTY,
  ENXIO,
  EOPNOTSUPP,
  EROFS,
  ETIMEDOUT,
  type Errno,
} from "./errno.js";

const MAP: ReadonlyMap<Errno, io_return_t> = new Map([
  [0, D_SUCCESS],
  [EROFS, D_READ_ONLY],
  [ENXIO, D_NO_SUCH_DEVICE],
  [ENOENT, D_NO_SUCH_DEVICE],
  [ENODEV, D_NO_SUCH_DEVICE],
  [ENOSPC, D_INVALID_RECNUM],
  [EINVAL, D_INVALID_OPERATION],
  [EBADF, D_INVALID_OPERATION],
  [ENOTTY, D_INVALID_OPERATION],
  [EOPNOTSUPP, D_INVALID_OPERATION],
  [ENOMEM, D_NO_MEMORY],
  [EBUSY, D_ALREADY_OPEN],
  [EAGAIN, D_WOULD_BLOCK],
  [EIO, D_IO_ERROR],
  [ETIMEDOUT, D_IO_ERROR],
]);

/** The D_* code for an errno; anything unknown is a hardware I/O error. */
export function errnoToDeviceReturn(errno: Errno): io_return_t {
  return MAP.get(errno) ?? D_IO_ERROR;
}
