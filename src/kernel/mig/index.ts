// The MIG runtime generated stubs import: message specs, branded rights, the client call
// (migCall/migSend), the server demux (MigDemux, mach_msg_server) and the MIG_* return codes.
export type {
  MigComplex,
  MigElement,
  MigField,
  MigMessageSpec,
  MigRoutineSpec,
  MigShape,
  MigSubsystemSpec,
} from "./spec.js";
export { migField, migMessage } from "./spec.js";
export type { MigValues } from "./codec.js";
export { mig_deallocate, oolDelivery, setOolDelivery, type OolDelivery } from "./ool-delivery.js";
export {
  asReceiveRight,
  asSendOnceRight,
  asSendRight,
  NULL_RIGHT,
  polyRight,
  type mach_port_name_t,
  type PolyRight,
  type PortDisposition,
  type PortRight,
  type ReceiveRight,
  type RightKind,
  type SendOnceRight,
  type SendRight,
} from "./rights.js";
export {
  MIG_REPLY_HEADER_SIZE,
  migCall,
  migSend,
  mig_dealloc_reply_port,
  mig_get_reply_port,
  mig_put_reply_port,
  mig_release_reply_ports,
  type MigCallOptions,
  type MigResult,
} from "./client.js";
export {
  mach_msg_server,
  mach_msg_server_once,
  MigDemux,
  type MaybePromise,
  type MigReply,
  type MigRequestInfo,
  type MigServerRoutine,
  type MigSubsystemServer,
} from "./server.js";
export { destroyMessage } from "./destroy.js";
export {
  KERN_SUCCESS,
  MIG_ARRAY_TOO_LARGE,
  MIG_BAD_ARGUMENTS,
  MIG_BAD_ID,
  MIG_DESTROY_REQUEST,
  MIG_EXCEPTION,
  MIG_NO_REPLY,
  MIG_REMOTE_ERROR,
  MIG_REPLY_MISMATCH,
  MIG_SERVER_DIED,
  MIG_TYPE_ERROR,
  kernReturnName,
  type kern_return_t,
} from "../kern-return.js";
export type { TaskApi } from "../task-api.js";
