// The rump driver library's public surface: rump_init and the rump_sys_* calls, the hypercall
// interface and PCI glue a host provides, bus_dma, ahcisata and the wd disk layer.
export * from "./errno.js";
export * from "./rump-sys.js";
export {
  createRumpUser,
  RumpMutex,
  RumpCondvar,
  type RumpUser,
  type RumpThread,
  type RumpClock,
  type RumpTimespec,
  type NodeRumpUserOptions,
} from "./rumpuser.js";
export * from "./pci-user.js";
export { BackendPciUser, type BackendPciOptions } from "./pci-backend.js";
export * from "./bus-dma.js";
export { DIOCCACHESYNC, DIOCGMEDIASIZE, DIOCGSECTORSIZE } from "./wd/dkio.js";
export { WdDisk, type WdDevice } from "./wd/disk.js";
export { readPartitions, crc32, type Partition, type PartitionTable } from "./wd/partitions.js";
export { errnoToDeviceReturn } from "./device-errors.js";
