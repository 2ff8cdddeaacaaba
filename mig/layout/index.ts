// The message layout's public face: layoutInterface (the JSON of `tsmig layout`) and the detailed
// per-field placements (offsets, sizes, descriptors) the code generator and the runtime use.
export { interfaceMessages, layoutInterface, layoutRoutine } from "./message-layout.js";
export type { FieldPlacement, MessagePlacement, RoutineMessages } from "./message-layout.js";
export type * from "./layout-json.js";
