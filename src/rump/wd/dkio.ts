// Disk ioctls with NetBSD's numbers (sys/dkio.h, encoded per sys/ioccom.h): sector size, media
// size, cache sync; and the decoding of an ioctl number's direction and argument size.

const IOC_OUT = 0x4000_0000;
const IOC_IN = 0x8000_0000;
const IOCPARM_SHIFT = 16;
const IOCPARM_MASK = 0x1fff;

function ioc(dir: number, group: string, num: number, len: number): number {
  return (dir | ((len & IOCPARM_MASK) << IOCPARM_SHIFT) | (group.charCodeAt(0) << 8) | num) >>> 0;
}

/** _IOR('d', 133, u_int): the sector size in bytes. */
export const DIOCGSECTORSIZE = ioc(IOC_OUT, "d", 133, 4);
/** _IOR('d', 132, off_t): the size of the device (partition) in bytes. */
export const DIOCGMEDIASIZE = ioc(IOC_OUT, "d", 132, 8);
/** _IOW('d', 118, int): flush the drive's write cache (the int "force" is ignored). */
export const DIOCCACHESYNC = ioc(IOC_IN, "d", 118, 4);

/** The argument length an ioctl number encodes (IOCPARM_LEN). */
export function ioctlParamLength(cmd: number): number {
  return (cmd >>> IOCPARM_SHIFT) & IOCPARM_MASK;
}
export function ioctlCopiesOut(cmd: number): boolean {
  return ((cmd >>> 0) & IOC_OUT) !== 0;
}
