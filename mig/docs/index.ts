// The protocol docs generator's public face: renderDocs (checked interfaces in, Markdown and
// HTML files out) and the helpers `tsmig docs`, `tsmig gen` and `tsmig check` use.
export {
  DOCS_DIR,
  DOCS_MARK,
  docsFiles,
  docsModel,
  isGeneratedDoc,
  renderDocs,
  type DocsInput,
  type DocsOptions,
} from "./render-docs.js";
export type {
  SubsystemDoc,
  RoutineDoc,
  ArgumentDoc,
  WirePlace,
  TypeDoc,
  MessageDoc,
} from "./docs-model.js";
export { checkIdOverlaps, requestRange, type IdRange } from "./id-ranges.js";
export { escapeHtml } from "./html-escape.js";
export { ownedDocs, writeDocs, type DocsWriteResult } from "./write-docs.js";
export {
  docsInputs,
  repositoryDefs,
  repositoryOptions,
  type DefsToDocument,
} from "./docs-inputs.js";
export { repositoryDocs } from "./repository-docs.js";
