// NetBSD errno numbers (sys/errno.h) and the result type every rump call returns: a value, or
// an errno with a message saying what went wrong. Never a thrown string.

export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const EROFS = 30;
export const EAGAIN = 35;
export const EOPNOTSUPP = 45;
export const ETIMEDOUT = 60;
export const ENOSYS = 78;

export type Errno = number;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EIO]: "EIO",
  [ENXIO]: "ENXIO",
  [E2BIG]: "E2BIG",
  [EBADF]: "EBADF",
  [ENOMEM]: "ENOMEM",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [ENODEV]: "ENODEV",
  [EINVAL]: "EINVAL",
  [EMFILE]: "EMFILE",
  [ENOTTY]: "ENOTTY",
  [EFBIG]: "EFBIG",
  [ENOSPC]: "ENOSPC",
  [EROFS]: "EROFS",
  [EAGAIN]: "EAGAIN",
  [EOPNOTSUPP]: "EOPNOTSUPP",
  [ETIMEDOUT]: "ETIMEDOUT",
  [ENOSYS]: "ENOSYS",
};

/** The symbolic name of an errno ("EIO"), or "errno N" for one this table does not know. */
export function errnoName(e: Errno): string {
  return NAMES[e] ?? `errno ${e}`;
}

export interface RumpError {
  ok: false;
  errno: Errno;
  message: string;
}

export type RumpResult<T> = { ok: true; value: T } | RumpError;

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(errno: Errno, message: string): RumpError {
  return { ok: false, errno, message: `${errnoName(errno)}: ${message}` };
}

/** Describes a thrown value (a backend access error, say) for an error message. */
export function describeThrown(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
