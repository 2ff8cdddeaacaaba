// The AML interpreter's public face for the acpi server: load definition blocks, evaluate
// objects, route PCI interrupts. Import from here rather than from the internal modules.
export { AmlInterpreter, Run, DEFAULT_MAX_STEPS, type InterpreterOptions } from "./interpreter.js";
export { loadDefinitionBlock, type LoadReport } from "./loader.js";
export { Namespace, NsNode, type NsObject } from "./namespace.js";
export { parseNamePath, formatNamePath, type NamePath } from "./names.js";
export {
  RegionSpace,
  regionSpaceName,
  type RegionAccess,
  type RegionHandler,
  type PciAddress,
} from "./regions.js";
export { decodeResources, type ResourceDescriptor } from "./resources.js";
export {
  evaluatePrt,
  linkDeviceIrq,
  routePciIrq,
  setInterruptModel,
  findPciRootBridges,
  type PrtEntry,
  type PciIrqRoute,
  type InterruptLine,
  type PciRootBridge,
} from "./prt.js";
export { eisaIdToString, eisaIdFromString } from "./eisa-id.js";
export type { AmlValue } from "./values.js";
