// The status flavors rumpdisk answers on device_get_status/device_set_status: gnumach's
// DEV_GET_SIZE and DEV_GET_RECORDS (<device/device_types.h>), and tsmach's DEV_FLUSH_CACHE.

/** device_get_status: the device's size in bytes and its record (sector) size. */
export const DEV_GET_SIZE = 0;
export const DEV_GET_SIZE_DEVICE_SIZE = 0;
export const DEV_GET_SIZE_RECORD_SIZE = 1;
export const DEV_GET_SIZE_COUNT = 2;

/** device_get_status: the number of records and the record size (for disks above 2 GiB). */
export const DEV_GET_RECORDS = 1;
export const DEV_GET_RECORDS_DEVICE_RECORDS = 0;
export const DEV_GET_RECORDS_RECORD_SIZE = 1;
export const DEV_GET_RECORDS_COUNT = 2;

/**
 * device_set_status: write the drive's cache back (FLUSH CACHE EXT, then fsync of the image).
 * Not a gnumach flavor: tsmach's, numbered above the ones gnumach and the Hurd define.
 */
export const DEV_FLUSH_CACHE = 0x100;
