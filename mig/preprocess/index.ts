// The built-in C preprocessor's public API: what the MIG parser and the CLI call.
// preprocessFile/preprocessText turn a .defs file into PPTokens, reporting into a DiagnosticSink.
export {
  preprocessFile,
  preprocessText,
  MAX_INCLUDE_DEPTH,
  type PreprocessOptions,
} from "./preprocess.js";
export { commentText } from "./c-lexer.js";
