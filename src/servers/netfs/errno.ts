// The Hurd's error values (glibc's <bits/errno.h> on GNU: _HURD_ERRNO(n) = 0x40000000 | n),
// which translators return as an RPC's return code where no Mach or MIG code fits.

/** _HURD_ERRNO: the error subsystem bits GNU puts on POSIX error numbers. */
export function hurdErrno(n: number): number {
  return (0x40000000 | (n & 0x3fff)) >>> 0;
}

export const EPERM = hurdErrno(1);
export const ENOENT = hurdErrno(2);
export const EIO = hurdErrno(5);
export const ENXIO = hurdErrno(6);
export const ENOMEM = hurdErrno(12);
export const EACCES = hurdErrno(13);
export const EBUSY = hurdErrno(16);
export const ENODEV = hurdErrno(19);
export const ENOTDIR = hurdErrno(20);
export const EISDIR = hurdErrno(21);
export const EINVAL = hurdErrno(22);
export const ENOSPC = hurdErrno(28);
export const EROFS = hurdErrno(30);
export const EOPNOTSUPP = hurdErrno(45);
export const ENAMETOOLONG = hurdErrno(63);
export const ENOSYS = hurdErrno(78);

const NAMES = new Map<number, string>([
  [EPERM, "EPERM"],
  [ENOENT, "ENOENT"],
  [EIO, "EIO"],
  [ENXIO, "ENXIO"],
  [ENOMEM, "ENOMEM"],
  [EACCES, "EACCES"],
  [EBUSY, "EBUSY"],
  [ENODEV, "ENODEV"],
  [ENOTDIR, "ENOTDIR"],
  [EISDIR, "EISDIR"],
  [EINVAL, "EINVAL"],
  [ENOSPC, "ENOSPC"],
  [EROFS, "EROFS"],
  [EOPNOTSUPP, "EOPNOTSUPP"],
  [ENAMETOOLONG, "ENAMETOOLONG"],
  [ENOSYS, "ENOSYS"],
]);

/** The symbolic name of a Hurd error value, or undefined for other codes. */
export function hurdErrorName(code: number): string | undefined {
  return NAMES.get(code >>> 0);
}
