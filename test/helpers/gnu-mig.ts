// Runs Debian's x86_64-gnu-mig on a .defs and reads the C it generates back into the layout
// shape of `tsmig layout` (mig/layout/layout-json.ts), for conformance tests against GNU MIG.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type {
  ComplexBit,
  FieldLayout,
  InterfaceLayout,
  MessageLayout,
  RoutineLayout,
} from "../../mig/layout/layout-json.js";
import { GNUMACH_INCLUDE } from "./tools.js";

/** msgt_name values of gnumach's mach/message.h, by the names GNU MIG writes into stubs. */
const TYPE_NAMES: Record<string, number> = {
  MACH_MSG_TYPE_UNSTRUCTURED: 0,
  MACH_MSG_TYPE_BIT: 0,
  MACH_MSG_TYPE_BOOLEAN: 0,
  MACH_MSG_TYPE_INTEGER_16: 1,
  MACH_MSG_TYPE_INTEGER_32: 2,
  MACH_MSG_TYPE_CHAR: 8,
  MACH_MSG_TYPE_BYTE: 9,
  MACH_MSG_TYPE_INTEGER_8: 9,
  MACH_MSG_TYPE_REAL: 10,
  MACH_MSG_TYPE_INTEGER_64: 11,
  MACH_MSG_TYPE_STRING: 12,
  MACH_MSG_TYPE_STRING_C: 12,
  MACH_MSG_TYPE_PORT_NAME: 15,
  MACH_MSG_TYPE_MOVE_RECEIVE: 16,
  MACH_MSG_TYPE_MOVE_SEND: 17,
  MACH_MSG_TYPE_MOVE_SEND_ONCE: 18,
  MACH_MSG_TYPE_COPY_SEND: 19,
  MACH_MSG_TYPE_MAKE_SEND: 20,
  MACH_MSG_TYPE_MAKE_SEND_ONCE: 21,
  MACH_MSG_TYPE_PORT_RECEIVE: 16,
  MACH_MSG_TYPE_PORT_SEND: 17,
  MACH_MSG_TYPE_PORT_SEND_ONCE: 18,
  MACH_MSG_TYPE_POLYMORPHIC: -1,
};

export interface GnuMigResult {
  /** Exit status of x86_64-gnu-mig. */
  readonly status: number;
  /** What it printed (errors and warnings, `"file", line N: message`). */
  readonly messages: string;
  /** The layout read from the generated stubs; null when GNU MIG failed. */
  readonly layout: InterfaceLayout | null;
}

export interface GnuMigOptions {
  readonly includeDirs?: readonly string[];
  readonly defines?: readonly string[];
}

const memo = new Map<string, GnuMigResult>();

/**
 * Runs GNU MIG as the Hurd's x86_64 build does, in a temporary directory, and reads its stubs.
 * Results are remembered per file and options within a test process.
 */
export function runGnuMig(file: string, opts: GnuMigOptions = {}): GnuMigResult {
  const key = JSON.stringify([resolve(file), opts.includeDirs ?? [], opts.defines ?? []]);
  let r = memo.get(key);
  if (r === undefined) {
    r = runGnuMigUncached(file, opts);
    memo.set(key, r);
  }
  return r;
}

function runGnuMigUncached(file: string, opts: GnuMigOptions): GnuMigResult {
  const dir = mkdtempSync(join(tmpdir(), "tsmig-gnu-mig-"));
  try {
    const args = [
      "-D__x86_64__",
      "-D__LP64__",
      ...(opts.defines ?? []).map((d) => `-D${d}`),
      ...(opts.includeDirs ?? []).map((d) => `-I${resolve(d)}`),
      `-I${GNUMACH_INCLUDE}`,
      "-user",
      "u.c",
      "-server",
      "s.c",
      "-header",
      "h.h",
      resolve(file),
    ];
    const run = spawnSync("x86_64-gnu-mig", args, { cwd: dir, encoding: "utf8" });
    const status = run.status ?? 1;
    const messages = `${run.stdout ?? ""}${run.stderr ?? ""}${run.error ? String(run.error) : ""}`;
    if (status !== 0) return { status, messages, layout: null };
    const server = readFileSync(join(dir, "s.c"), "utf8");
    const user = readFileSync(join(dir, "u.c"), "utf8");
    const header = readFileSync(join(dir, "h.h"), "utf8");
    return { status, messages, layout: readStubs(file, header, user, server) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the generated header, user and server stubs into an InterfaceLayout. */
export function readStubs(
  file: string,
  header: string,
  user: string,
  server: string,
): InterfaceLayout {
  const subsystem = /\/\* Module (\w+) \*\//.exec(header)?.[1];
  if (subsystem === undefined) throw new Error("no /* Module */ line in the generated header");
  const userSections = sections(user);
  const serverSections = new Map(sections(server).map((s) => [s.name, s]));
  const routines: RoutineLayout[] = [];
  for (const us of userSections) {
    const ss = serverSections.get(us.name);
    if (ss === undefined) throw new Error(`routine ${us.name} missing from the server stub`);
    const idMatch = /InP->Head\.msgh_id = (\d+);/.exec(us.text);
    if (idMatch === null) throw new Error(`no msgh_id for ${us.name}`);
    const kind = us.simple ? "simpleroutine" : "routine";
    routines.push({
      name: us.name,
      id: Number(idMatch[1]),
      kind,
      request: readRequest(ss.text, us.text),
      reply: us.simple ? null : readReply(ss.text),
    });
  }
  const baseMatch = /InP->msgh_id - (\d+)\]/.exec(server);
  const base =
    baseMatch !== null ? Number(baseMatch[1]) : routines.length > 0 ? routines[0]!.id : 0;
  return { file, subsystem, base, routines };
}

interface Section {
  readonly name: string;
  readonly simple: boolean;
  readonly text: string;
}

function sections(c: string): Section[] {
  const re = /^\/\* (Routine|SimpleRoutine) (\w+) \*\/$/gm;
  const heads: { name: string; simple: boolean; start: number }[] = [];
  for (let m = re.exec(c); m !== null; m = re.exec(c)) {
    heads.push({ name: m[2]!, simple: m[1] === "SimpleRoutine", start: m.index });
  }
  return heads.map((h, i) => {
    let text = c.slice(h.start, i + 1 < heads.length ? heads[i + 1]!.start : c.length);
    const dflt = text.indexOf("/* Default implementation");
    if (dflt >= 0) text = text.slice(0, dflt);
    return { name: h.name, simple: h.simple, text };
  });
}

/** The `XType` members of `typedef struct {...} Which;`, in order, with their descriptor form. */
function structFields(
  text: string,
  which: "Request" | "Reply",
): { name: string; longform: boolean }[] {
  const end = text.indexOf(`} ${which};`);
  if (end < 0) return [];
  const start = text.lastIndexOf("typedef struct {", end);
  const body = text.slice(start, end);
  const out: { name: string; longform: boolean }[] = [];
  const re = /^\s*mach_msg_type(_long)?_t (\w+)Type;/gm;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    if (m[2] === "RetCode" && which === "Reply") continue;
    out.push({ name: m[2]!, longform: m[1] !== undefined });
  }
  return out;
}

function typeValue(v: string): number {
  const s = v.replace(/\((unsigned (char|short))\)\s*/, "").trim();
  if (s in TYPE_NAMES) return TYPE_NAMES[s]!;
  if (/^-?\d+$/.test(s)) return Number(s);
  if (s === "TRUE") return 1;
  if (s === "FALSE") return 0;
  throw new Error(`unknown descriptor value ${v}`);
}

interface Descriptor {
  name?: number;
  size?: number;
  number?: number;
  inline?: boolean;
  longform?: boolean;
}

/** Parses `const mach_msg_type[_long]_t <var> = { ... };` when present. */
function initialiser(text: string, variable: string): Descriptor | undefined {
  const re = new RegExp(`const mach_msg_type(_long)?_t ${variable} = \\{([\\s\\S]*?)\\n\\t\\};`);
  const m = re.exec(text);
  if (m === null) return undefined;
  const kv = new Map<string, string>();
  const fre = /\/\*\s*(msgtl?_\w+) = \*\/\s*([^,\n]+)/g;
  for (let f = fre.exec(m[2]!); f !== null; f = fre.exec(m[2]!)) kv.set(f[1]!, f[2]!.trim());
  const long = m[1] !== undefined;
  const get = (k: string): number => typeValue(kv.get(k) ?? "0");
  return {
    name: get(long ? "msgtl_name" : "msgt_name"),
    size: get(long ? "msgtl_size" : "msgt_size"),
    number: get(long ? "msgtl_number" : "msgt_number"),
    inline: get("msgt_inline") === 1,
    longform: get("msgt_longform") === 1,
  };
}

/** Collects `InNP->XType.<field> != VALUE` conditions of the server's explicit type checks. */
function explicitChecks(text: string, field: string): Descriptor | undefined {
  const re = new RegExp(
    `In\\d+P->${field}Type\\.(?:msgtl_header\\.)?(msgtl?_\\w+) != ([^)]+)\\)`,
    "g",
  );
  const d: Descriptor = {};
  let any = false;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    any = true;
    const v = typeValue(m[2]!);
    switch (m[1]) {
      case "msgt_name":
      case "msgtl_name":
        d.name = v;
        break;
      case "msgt_size":
      case "msgtl_size":
        d.size = v;
        break;
      case "msgt_number":
      case "msgtl_number":
        d.number = v;
        break;
      case "msgt_inline":
        d.inline = v === 1;
        break;
      case "msgt_longform":
        d.longform = v === 1;
        break;
    }
  }
  return any ? d : undefined;
}

function readRequest(server: string, user: string): MessageLayout {
  const args: FieldLayout[] = structFields(server, "Request").map(({ name, longform }) => {
    const quick = initialiser(server, `${name}Check`);
    const sent = initialiser(user, `${name}Type`);
    if (quick !== undefined) {
      return field(name, quick.name!, quick.size!, quick.number!, quick.inline!, longform);
    }
    const checked = explicitChecks(server, name);
    if (checked === undefined || sent === undefined)
      throw new Error(`no type check for request field ${name}`);
    const overridden = new RegExp(`InP->${name}Type\\.msgtl?_number = `).test(user);
    const number = checked.number ?? (overridden && sent.number === 0 ? null : sent.number!);
    return field(
      name,
      checked.name ?? -1,
      checked.size ?? sent.size!,
      number,
      checked.inline ?? null,
      longform,
    );
  });
  const size = /msgh_size (<|!=) (\d+)\)/.exec(server);
  if (size === null) throw new Error("no request size check");
  // The size check also checks the complex bit when it is fixed; otherwise it is decided later.
  const bits =
    /msgh_size (?:<|!=) \d+\) \|\|\s*(!?)\(In0P->Head\.msgh_bits & MACH_MSGH_BITS_COMPLEX\)\)/.exec(
      server,
    );
  const complex: ComplexBit = bits === null ? "dynamic" : bits[1] === "!" ? "yes" : "no";
  return { size: Number(size[2]), variable: size[1] === "<", complex, args };
}

function readReply(server: string): MessageLayout {
  const args: FieldLayout[] = structFields(server, "Reply").map(({ name, longform }) => {
    const init = initialiser(server, `${name}Type`);
    if (init === undefined) throw new Error(`no reply initialiser for ${name}`);
    const polyRuntime = new RegExp(`OutP->${name}Type\\.msgtl?_name = `).test(server);
    const inlineRuntime = new RegExp(
      `OutP->${name}Type\\.(?:msgtl_header\\.)?msgt_inline = FALSE`,
    ).test(server);
    const numberRuntime = new RegExp(`OutP->${name}Type\\.msgtl?_number = `).test(server);
    return field(
      name,
      polyRuntime ? -1 : init.name!,
      init.size!,
      numberRuntime && init.number === 0 ? null : init.number!,
      inlineRuntime ? null : init.inline!,
      longform,
    );
  });
  let size = 40;
  let variable = false;
  const fixed = /OutP->Head\.msgh_size = (\d+);/.exec(server);
  const varying = /(?:OutP->Head\.msgh_size|\bmsgh_size) = (\d+) \+/.exec(server);
  if (varying !== null) {
    size = Number(varying[1]);
    variable = true;
  } else if (fixed !== null) {
    size = Number(fixed[1]);
  } else if (args.length > 0) {
    throw new Error("no reply size");
  }
  let complex: ComplexBit = "no";
  if (/msgh_simple = TRUE;/.test(server) || /if \(!msgh_simple\)/.test(server)) complex = "dynamic";
  else if (/OutP->Head\.msgh_bits \|= MACH_MSGH_BITS_COMPLEX;/.test(server)) complex = "yes";
  return { size, variable, complex, args };
}

function field(
  name: string,
  msgt_name: number,
  msgt_size: number,
  msgt_number: number | null,
  inline: boolean | null,
  longform: boolean,
): FieldLayout {
  return {
    name,
    msgt_name: msgt_name === 255 || msgt_name === 65535 ? -1 : msgt_name,
    msgt_size,
    msgt_number,
    inline,
    longform,
  };
}
