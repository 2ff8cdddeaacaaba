// A fast-check generator of structurally valid AML method bodies (expressions, Store,
// Increment, If/Else, While, Break, Return, calls), so property tests reach the interpreter.
import fc from "fast-check";

const GBUF = [0x47, 0x42, 0x55, 0x46];
const TEST = [0x54, 0x45, 0x53, 0x54];

/** PkgLength covering `body` plus itself, always in the two-byte form. */
function pkg(body: number[]): number[] {
  const len = body.length + 2;
  return [0x40 | (len & 0x0f), (len >> 4) & 0xff, ...body];
}

const local = fc.integer({ min: 0, max: 7 }).map((i) => 0x60 + i);
const target = fc.oneof(
  fc.constant([0x00]),
  local.map((l) => [l]),
);
const binop = fc.constantFrom(0x72, 0x74, 0x77, 0x79, 0x7a, 0x7b, 0x7d, 0x7f, 0x85, 0x73);
const compare = fc.constantFrom(0x93, 0x94, 0x95, 0x90, 0x91);

const { arg, stmt } = fc.letrec<{ arg: number[]; stmt: number[] }>((tie) => ({
  arg: fc.oneof(
    { maxDepth: 3, depthIdentifier: "aml" },
    fc.constantFrom<number[]>([0x00], [0x01], [0xff]),
    fc.integer({ min: 0, max: 255 }).map((b) => [0x0a, b]),
    fc.integer({ min: 0, max: 0xffff }).map((w) => [0x0b, w & 0xff, w >> 8]),
    local.map((l) => [l]),
    fc.constantFrom<number[]>([0x68], [0x69]),
    fc.tuple(binop, tie("arg"), tie("arg"), target).map(([op, a, b, t]) => [op, ...a, ...b, ...t]),
    fc.tuple(compare, tie("arg"), tie("arg")).map(([op, a, b]) => [op, ...a, ...b]),
    tie("arg").map((a) => [0x92, ...a]),
    tie("arg").map((a) => [0x83, 0x88, ...GBUF, ...a, 0x00]),
    fc.constant<number[]>([0x87, ...GBUF]),
    fc.tuple(tie("arg"), tie("arg")).map(([a, b]) => [...TEST, ...a, ...b]),
  ),
  stmt: fc.oneof(
    { maxDepth: 3, depthIdentifier: "aml" },
    fc.tuple(tie("arg"), local).map(([a, l]) => [0x70, ...a, l]),
    fc.tuple(tie("arg"), tie("arg")).map(([i, v]) => [0x70, ...v, 0x88, ...GBUF, ...i, 0x00]),
    local.map((l) => [0x75, l]),
    fc
      .tuple(
        tie("arg"),
        fc.array(tie("stmt"), { maxLength: 3 }),
        fc.option(fc.array(tie("stmt"), { maxLength: 2 })),
      )
      .map(([p, body, otherwise]) => [
        0xa0,
        ...pkg([...p, ...body.flat()]),
        ...(otherwise ? [0xa1, ...pkg(otherwise.flat())] : []),
      ]),
    fc
      .tuple(tie("arg"), fc.array(tie("stmt"), { maxLength: 3 }))
      .map(([p, body]) => [0xa2, ...pkg([...p, ...body.flat()])]),
    fc.constantFrom<number[]>([0xa5], [0x9f], [0xa3]),
    tie("arg").map((a) => [0xa4, ...a]),
  ),
}));

/** A DSDT body: Name (GBUF, Buffer (4) {}) and Method (TEST, 2) { <statements> }. */
export const amlProgram = fc.array(stmt, { minLength: 1, maxLength: 6 }).map((stmts) => {
  const body = stmts.flat();
  const len = body.length + 7;
  return [
    0x08,
    ...GBUF,
    0x11,
    0x03,
    0x0a,
    0x04,
    0x14,
    0x40 | (len & 0x0f),
    len >> 4,
    ...TEST,
    0x02,
    ...body,
  ];
});

export { arg as amlExpression };
