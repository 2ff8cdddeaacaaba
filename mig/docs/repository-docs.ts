// The protocol docs of the repository: docs/protocols/ from every defs/*.defs, as the files
// `tsmig gen` writes and `tsmig check` compares (paths relative to the repository).
import type { DiagnosticSink } from "../diagnostics.js";
import type { FrontendOptions } from "../frontend.js";
import { docsInputs, repositoryDefs, repositoryOptions } from "./docs-inputs.js";
import { docsFiles, type DocsOptions } from "./render-docs.js";

/**
 * docs/protocols/* for the repository at `root` (sorted by path), or undefined when a .defs has
 * errors or subsystems' ids overlap (reported in the sink). `opts`: the preprocessor options.
 */
export function repositoryDocs(
  root: string,
  opts: FrontendOptions,
  sink: DiagnosticSink,
  options: DocsOptions = {},
): { path: string; content: string }[] | undefined {
  const { inputs } = docsInputs(repositoryDefs(root), repositoryOptions(root, opts), sink);
  if (sink.hasErrors()) return undefined;
  return docsFiles(inputs, sink, options);
}
