// Outcomes of the acpi server's table parsers and AML interpreter as values: a status code
// named after ACPICA's AE_* exceptions, a message, and where in the AML or table it happened.

export type AcpiStatusCode =
  | "AE_NOT_FOUND"
  | "AE_ALREADY_EXISTS"
  | "AE_BAD_SIGNATURE"
  | "AE_BAD_HEADER"
  | "AE_BAD_CHECKSUM"
  | "AE_BAD_VALUE"
  | "AE_BAD_PARAMETER"
  | "AE_TYPE"
  | "AE_NO_HANDLER"
  | "AE_NOT_IMPLEMENTED"
  | "AE_AML_PARSE"
  | "AE_AML_BAD_OPCODE"
  | "AE_AML_BAD_NAME"
  | "AE_AML_OPERAND_TYPE"
  | "AE_AML_UNINITIALIZED"
  | "AE_AML_DIVIDE_BY_ZERO"
  | "AE_AML_PACKAGE_LIMIT"
  | "AE_AML_BUFFER_LIMIT"
  | "AE_AML_REGION_LIMIT"
  | "AE_AML_INFINITE_LOOP"
  | "AE_AML_NESTING"
  | "AE_AML_FATAL"
  | "AE_AML_BAD_RESOURCE"
  | "AE_AML_INTERNAL";

export interface AcpiError {
  readonly code: AcpiStatusCode;
  readonly message: string;
  /** Byte offset in the table (AML or ACPI table) where the problem was found, when known. */
  readonly offset?: number;
}

export type AcpiResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AcpiError };

export function ok<T>(value: T): AcpiResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(
  code: AcpiStatusCode,
  message: string,
  offset?: number,
): AcpiResult<T> {
  return { ok: false, error: offset === undefined ? { code, message } : { code, message, offset } };
}

/**
 * Thrown inside the interpreter and parsers only; every exported entry point catches it and
 * returns the AcpiError it carries, so callers never see an exception.
 */
export class AcpiFault extends Error {
  constructor(
    readonly code: AcpiStatusCode,
    message: string,
    readonly offset?: number,
  ) {
    super(message);
    this.name = "AcpiFault";
  }

  toError(): AcpiError {
    return this.offset === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, offset: this.offset };
  }
}

export function fault(code: AcpiStatusCode, message: string, offset?: number): never {
  throw new AcpiFault(code, message, offset);
}

/** Converts anything caught at an API boundary into an AcpiError value. */
export function errorFromCaught(e: unknown): AcpiError {
  if (e instanceof AcpiFault) return e.toError();
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return { code: "AE_AML_NESTING", message: "AML nests too deeply" };
  }
  const text = e instanceof Error ? e.message : String(e);
  return { code: "AE_AML_INTERNAL", message: `internal error: ${text}` };
}
