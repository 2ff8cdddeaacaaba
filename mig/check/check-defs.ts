// The semantic checks of a parsed .defs file: walks its statements in order as GNU MIG 1.8 does
// (types, subsystem, prefixes, skips, routines) and builds the CheckedInterface.
import type { DefsFile, Statement, SubsystemStatement } from "../ast.js";
import type { DiagnosticSink } from "../diagnostics.js";
import type { Span } from "../source.js";
import type {
  CheckedImport,
  CheckedInterface,
  CheckedRoutine,
  IpcTypeInfo,
} from "./checked-model.js";
import { namedBuiltinTypes } from "./builtin-types.js";
import { freezeType, type TypeState } from "./ipc-type.js";
import { checkRoutine } from "./routine-check.js";
import { evalTypeDefinition, type TypeScope } from "./type-spec.js";

function spanText(s: Span | undefined): string {
  return s === undefined ? "" : ` (first defined at ${s.file}:${s.line}:${s.col})`;
}

/**
 * Checks a parsed file. Returns the checked interface, or undefined when the file has no usable
 * subsystem statement (errors are in the sink either way; a caller must not emit code when
 * `sink.hasErrors()`).
 */
export interface CheckOptions {
  /**
   * Default true: a file without a subsystem statement is an error (E0200). False for
   * include-only files of types: their types are checked with the built-in types in scope.
   */
  readonly requireSubsystem?: boolean;
}

export function checkDefs(
  file: DefsFile,
  sink: DiagnosticSink,
  opts: CheckOptions = {},
): CheckedInterface | undefined {
  const types = new Map<string, TypeState>();
  let subsystem: SubsystemStatement | undefined;
  let kernelServer = false;
  let kernelUser = false;
  let beforeSubsystemReported = false;
  const reportedUndefined = new Set<string>();

  const scope: TypeScope = {
    sink,
    get kernelServer() {
      return kernelServer;
    },
    get kernelUser() {
      return kernelUser;
    },
    lookup: (name) => types.get(name),
    undefinedType: (name, span) => {
      const key = `${name}@${span.file}:${span.line}:${span.col}`;
      if (reportedUndefined.has(key)) return;
      reportedUndefined.add(key);
      sink.error("E0201", `type '${name}' not defined`, span);
    },
  };

  const hasSubsystem = file.statements.some((s) => s.kind === "subsystem");
  if (!hasSubsystem && opts.requireSubsystem === false) {
    for (const t of namedBuiltinTypes(file.span)) types.set(t.name, t);
  }
  const needSubsystem = (st: Statement): void => {
    if (subsystem !== undefined || !hasSubsystem || beforeSubsystemReported) return;
    beforeSubsystemReported = true;
    sink.error("E0216", "the subsystem statement must come before any type or routine", st.span);
  };

  const routines: CheckedRoutine[] = [];
  const routineNames = new Map<string, Span>();
  const imports: CheckedImport[] = [];
  let number = 0;
  let userPrefix = "";
  let serverPrefix = "";
  let waitTime: string | undefined;
  let msgOption: string | undefined;
  let serverDemux: string | undefined;
  let rcsId: string | undefined;

  for (const st of file.statements) {
    switch (st.kind) {
      case "subsystem":
        if (subsystem !== undefined) break; // the parser reports a second subsystem (E0105)
        subsystem = st;
        kernelServer = st.modifiers.some((m) => m.modifier === "KernelServer");
        kernelUser = st.modifiers.some((m) => m.modifier === "KernelUser");
        for (const t of namedBuiltinTypes(st.name.span))
          if (!types.has(t.name)) types.set(t.name, t);
        break;
      case "type": {
        needSubsystem(st);
        const def = st.definition;
        const t = evalTypeDefinition(def, scope);
        t.span = def.name.span;
        const old = types.get(def.name.name);
        if (old !== undefined) {
          sink.error(
            "E0202",
            `type ${def.name.name} is already defined${spanText(old.span)}`,
            def.name.span,
          );
        }
        types.set(def.name.name, t);
        break;
      }
      case "routine": {
        needSubsystem(st);
        const prev = routineNames.get(st.name.name);
        if (prev !== undefined) {
          sink.error(
            "E0217",
            `routine ${st.name.name} is already defined at ${prev.file}:${prev.line}:${prev.col}`,
            st.name.span,
          );
        } else routineNames.set(st.name.name, st.name.span);
        routines.push(
          checkRoutine(st, {
            scope,
            sink,
            kernelServer,
            kernelUser,
            base: subsystem?.base.value ?? 0,
            number,
            userPrefix,
            serverPrefix,
            ...(waitTime !== undefined ? { waitTime } : {}),
            ...(msgOption !== undefined ? { msgOption } : {}),
          }),
        );
        number++;
        break;
      }
      case "skip":
        number += st.count?.value ?? 1;
        break;
      case "import":
        imports.push({ which: st.which, file: st.file });
        break;
      case "serverPrefix":
        serverPrefix = st.prefix.name;
        break;
      case "userPrefix":
        userPrefix = st.prefix.name;
        break;
      case "serverDemux":
        serverDemux = st.name.name;
        break;
      case "waitTime":
        waitTime = st.value;
        break;
      case "noWaitTime":
        waitTime = undefined;
        break;
      case "msgOption":
        msgOption = st.value === "MACH_MSG_OPTION_NONE" ? undefined : st.value;
        break;
      case "rcsId":
        rcsId = st.value;
        break;
      case "broken":
        if (st.keyword === "routine" || st.keyword === "simpleroutine") number++;
        break;
      case "empty":
        break;
    }
  }

  if (subsystem === undefined) {
    const parserSaidSo = sink.items.some(
      (d) => d.code === "E0106" && d.span?.file === file.span.file,
    );
    if (!parserSaidSo && !file.syntaxErrors && opts.requireSubsystem !== false) {
      sink.error(
        "E0200",
        "no subsystem statement: a .defs file needs `subsystem NAME BASE;`",
        file.span,
      );
    }
    return undefined;
  }

  const frozen = new Map<string, IpcTypeInfo>();
  for (const [name, t] of types) frozen.set(name, freezeType(t));
  return {
    file: file.path,
    subsystem: {
      name: subsystem.name.name,
      base: subsystem.base.value,
      kernelUser,
      kernelServer,
      span: subsystem.span,
      doc: subsystem.doc,
    },
    routines,
    types: frozen,
    imports,
    ...(serverDemux !== undefined ? { serverDemux } : {}),
    ...(rcsId !== undefined ? { rcsId } : {}),
  };
}
