// The `rpc` benchmark group: null RPCs in-thread and across isolated tasks, out-of-line transfers,
// each with its peer (direct call, postMessage, comlink, memcpy) measured in the same run.
export { group } from "./rpc-kernel.js";
