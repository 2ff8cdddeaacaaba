// Fixtures of the protocol docs tests: small .defs texts checked in memory, and the CLI runner.
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { parseDefsText } from "../../mig/frontend.js";
import { checkDefs } from "../../mig/check/index.js";
import { main } from "../../mig/cli/main.js";
import type { DocsInput } from "../../mig/docs/index.js";

/** Checks `text` as the file `path`; throws when it has errors (a fixture bug). */
export function inputFromText(path: string, text: string): DocsInput {
  const sink = new DiagnosticSink();
  const ast = parseDefsText(
    text,
    path,
    { includeDirs: [], defines: [], undefines: [], target: "x86_64" },
    sink,
  );
  const checked = checkDefs(ast, sink);
  if (checked === undefined || sink.hasErrors())
    throw new Error(
      `fixture ${path}: ${sink.items.map((d) => `${d.code} ${d.message}`).join("; ")}`,
    );
  return { path, checked, ast };
}

/** A subsystem whose comments are full of characters HTML and Markdown treat specially. */
export const TRICKY_DEFS = `/* Blocks <script>alert("x")</script> & friends: a|b *not emphasis* [not a link](x). */
subsystem tricky 5000;

type byte_t = MACH_MSG_TYPE_BYTE;
/* A send right; "quoted" & <angled>. */
type port_t = MACH_MSG_TYPE_COPY_SEND;
type bytes_t = array[*:128] of byte_t;

/* Compares a < b && b > c; returns \`x<y>\` in code. */
routine tricky_compare(
		target	: port_t;
	/* The left side: </td> must not end a cell. */
	in	a	: int;
	inout	b	: int;
	out	data	: bytes_t);

skip;

/* One-way. */
simpleroutine tricky_poke(
		target	: port_t;
		value	: int);

skip 3;
`;

export async function runTsmig(
  ...argv: string[]
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  return { status, stdout, stderr };
}
