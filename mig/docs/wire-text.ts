// The words the protocol docs use for wire facts: descriptors, message sizes, complex bits.
// Shared by the Markdown and the HTML renderers so that both say exactly the same.
import type { ComplexBit } from "../layout/index.js";
import type { MessageDoc, TypeDoc, WirePlace } from "./docs-model.js";
import { msgtNameText } from "./msgt-name.js";

export function msgtText(n: number, side: "received" | "sent", bits?: number): string {
  return `${msgtNameText(n, side, bits)} (${n})`;
}

/** One place of an argument: "request +36: MACH_MSG_TYPE_INTEGER_32 (2), 32 bits × 1, ...". */
export function placeText(p: WirePlace): string {
  const d = p.descriptor;
  if (d === undefined) return p.message === "header" ? `header: ${p.note ?? ""}` : (p.note ?? "");
  const side = p.message === "request" ? "received" : "sent";
  const count =
    d.msgt_number === null
      ? "unbounded"
      : p.variable
        ? `up to ${d.msgt_number}`
        : `${d.msgt_number}`;
  const inline =
    d.inline === null ? "in-line or out-of-line" : d.inline ? "in-line" : "out-of-line";
  let text =
    `${p.message} +${p.offset ?? 0}${p.afterVariable === true ? " or later" : ""}: ${msgtText(d.msgt_name, side, d.msgt_size)}, ` +
    `${d.msgt_size} bits × ${count}, ${inline}, ${d.longform ? "long form" : "short form"}`;
  if (p.clientName !== undefined) {
    const verb = p.message === "request" ? "client sends" : "client expects";
    text += `; ${verb} ${msgtText(p.clientName, p.message === "request" ? "sent" : "received")}`;
  }
  return text;
}

export function sizeText(m: MessageDoc): string {
  if (!m.variable) return `${m.size} bytes`;
  return `${m.size}–${m.maxSize} bytes (variable)`;
}

export function complexText(c: ComplexBit): string {
  return c === "dynamic" ? "decided at run time" : c;
}

export function typeWireText(t: TypeDoc): string {
  const names =
    t.inName === t.outName
      ? msgtText(t.inName, "received", t.size)
      : `sent as ${msgtText(t.inName, "sent", t.size)}, received as ${msgtText(t.outName, "received", t.size)}`;
  const count = t.varArray ? (t.inLine ? `up to ${t.number}` : "any number") : `${t.number}`;
  return (
    `${names}, ${t.size} bits × ${count}, ${t.inLine ? "in-line" : "out-of-line"}, ` +
    `${t.longForm ? "long form" : "short form"}`
  );
}
