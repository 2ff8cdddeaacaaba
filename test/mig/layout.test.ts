// The message layout in detail: sizes, offsets, descriptors, message ids, prefixes and the
// checked model the code generator consumes (these run without GNU MIG installed).
import { describe, expect, test } from "vitest";
import { checkDefs, type CheckedInterface } from "../../mig/check/index.js";
import { DiagnosticSink } from "../../mig/diagnostics.js";
import { parseDefsText } from "../../mig/frontend.js";
import { interfaceMessages, layoutInterface, layoutRoutine } from "../../mig/layout/index.js";

const PRELUDE = `
type port_t = MACH_MSG_TYPE_COPY_SEND;
type send_t = MACH_MSG_TYPE_MAKE_SEND;
type once_t = MACH_MSG_TYPE_MAKE_SEND_ONCE;
type poly_t = polymorphic;
type int64 = MACH_MSG_TYPE_INTEGER_64;
type name_t = (MACH_MSG_TYPE_STRING_C, 8*128);
type inband_t = array[*:128] of char;
type ool_t = ^array[] of MACH_MSG_TYPE_BYTE;
type info_t = array[*:1024] of int;
type unbounded_t = array[] of int;
`;

function checked(body: string, subsystem = "subsystem test 2800;"): CheckedInterface {
  const sink = new DiagnosticSink();
  const ast = parseDefsText(
    `${subsystem}\n${PRELUDE}\n${body}`,
    "test.defs",
    { includeDirs: [] },
    sink,
  );
  const c = checkDefs(ast, sink);
  expect(sink.items.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return c!;
}

describe("layoutInterface: the spec's JSON", () => {
  test("device_open as layout-json.md describes it", () => {
    const c = checked(`
      routine device_open(
          master_port : port_t;
        sreplyport reply_port : once_t;
          mode : int;
          name : name_t;
        out device : device_t = MACH_MSG_TYPE_PORT_SEND ctype: mach_port_t);`);
    const l = layoutInterface(c, "defs/device.defs");
    expect(l).toEqual({
      file: "defs/device.defs",
      subsystem: "test",
      base: 2800,
      routines: [
        {
          name: "device_open",
          id: 2800,
          kind: "routine",
          request: {
            size: 180,
            variable: false,
            complex: "no",
            args: [
              {
                name: "mode",
                msgt_name: 2,
                msgt_size: 32,
                msgt_number: 1,
                inline: true,
                longform: false,
              },
              {
                name: "name",
                msgt_name: 12,
                msgt_size: 1024,
                msgt_number: 1,
                inline: true,
                longform: true,
              },
            ],
          },
          reply: {
            size: 48,
            variable: false,
            complex: "dynamic",
            args: [
              {
                name: "device",
                msgt_name: -1,
                msgt_size: 32,
                msgt_number: 1,
                inline: true,
                longform: false,
              },
            ],
          },
        },
      ],
    });
  });

  test("message ids: base + slot, skip and skip N consume slots, broken-free declaration order", () => {
    const c = checked(`
      routine a(p : port_t);
      skip;
      simpleroutine b(p : port_t);
      skip 3;
      routine c(p : port_t);`);
    const l = layoutInterface(c);
    expect(l.routines.map((r) => [r.name, r.id, r.kind])).toEqual([
      ["a", 2800, "routine"],
      ["b", 2802, "simpleroutine"],
      ["c", 2806, "routine"],
    ]);
    expect(c.routines.map((r) => r.replyId)).toEqual([2900, 2902, 2906]);
    expect(l.routines[1]!.reply).toBeNull();
  });

  test("a right is sent as MAKE_SEND and arrives as PORT_SEND; the reply carries the sender's name", () => {
    const c = checked(
      `routine r(p : port_t; right : send_t; out back : send_t; out once : once_t);`,
    );
    const [m] = interfaceMessages(c);
    expect(m!.request.fields[0]!.descriptor.msgt_name).toBe(17);
    expect(m!.request.fields[0]!.clientName).toBe(20);
    expect(m!.request.complex).toBe("yes");
    expect(m!.reply!.fields.map((f) => [f.name, f.descriptor.msgt_name])).toEqual([
      ["RetCode", 2],
      ["back", 20],
      ["once", 21],
    ]);
  });

  test("KernelServer: replies carry the received names and rights are 64-bit ipc_port_t", () => {
    const c = checked(
      `routine r(p : port_t; out back : send_t);`,
      "subsystem KernelServer test 2800;",
    );
    const l = layoutInterface(c);
    expect(l.routines[0]!.reply!.args[0]).toMatchObject({ msgt_name: 17, msgt_size: 64 });
    expect(l.routines[0]!.reply!.size).toBe(40 + 4 + 8);
  });
});

describe("placements: offsets and sizes for the code generator and the runtime", () => {
  test("RetCode first in the reply, right after the 32-byte header", () => {
    const c = checked(`routine r(p : port_t; out x : int);`);
    const m = layoutRoutine(c.routines[0]!, false);
    const [ret, x] = m.reply!.fields;
    expect(ret).toMatchObject({
      name: "RetCode",
      descriptorOffset: 32,
      dataOffset: 36,
      dataSize: 4,
    });
    expect(x).toMatchObject({
      name: "x",
      descriptorOffset: 40,
      dataOffset: 44,
      dataSize: 4,
      padSize: 0,
    });
    expect(m.reply!.size).toBe(48);
  });

  test("4-byte packing: a 64-bit value follows a 4-byte descriptor unaligned; odd data is padded", () => {
    const c = checked(`routine r(p : port_t; a : int64; b : chars_t = array[5] of char; c : int);`);
    const f = layoutRoutine(c.routines[0]!, false).request.fields;
    expect(f.map((x) => [x.name, x.descriptorOffset, x.dataOffset, x.dataSize, x.padSize])).toEqual(
      [
        ["a", 32, 36, 8, 0],
        ["b", 44, 48, 5, 3],
        ["c", 56, 60, 4, 0],
      ],
    );
  });

  test("in-line variable arrays: size with the array empty, maximum size, and the fields after it", () => {
    const c = checked(`routine r(p : port_t; mode : int; data : inband_t; after : int);`);
    const req = layoutRoutine(c.routines[0]!, false).request;
    expect(req.size).toBe(32 + 8 + 4 + 8);
    expect(req.maxSize).toBe(32 + 8 + 4 + 128 + 8);
    expect(req.variable).toBe(true);
    const [, data, after] = req.fields;
    expect(data).toMatchObject({
      variable: true,
      minDataSize: 0,
      dataSize: 128,
      afterVariable: false,
    });
    expect(data!.descriptor).toMatchObject({
      msgt_name: 8,
      msgt_size: 8,
      msgt_number: 128,
      inline: true,
    });
    expect(after).toMatchObject({ descriptorOffset: 44, afterVariable: true });
  });

  test("out-of-line data is an 8-byte pointer with a long descriptor, unbounded count, complex bit set", () => {
    const c = checked(`routine r(p : port_t; data : ool_t);`);
    const req = layoutRoutine(c.routines[0]!, false).request;
    expect(req.fields[0]).toMatchObject({ descriptorSize: 12, dataSize: 8, variable: false });
    expect(req.fields[0]!.descriptor).toEqual({
      name: "data",
      msgt_name: 9,
      msgt_size: 8,
      msgt_number: null,
      inline: false,
      longform: true,
    });
    expect(req).toMatchObject({ size: 32 + 12 + 8, variable: false, complex: "yes" });
  });

  test("unbounded arrays go in-line or out-of-line at run time, at most 2048 bytes in-line", () => {
    const c = checked(`routine r(p : port_t; out data : unbounded_t);`);
    const reply = layoutRoutine(c.routines[0]!, false).reply!;
    expect(reply.fields[1]!.descriptor).toMatchObject({
      msgt_number: 512,
      inline: null,
      longform: true,
    });
    expect(reply).toMatchObject({
      size: 40 + 12,
      variable: true,
      complex: "dynamic",
      maxSize: 40 + 12 + 2048,
    });
  });

  test("CountInOut puts the count of an out array in the request, where the argument stands", () => {
    const c = checked(
      `routine r(p : port_t; flavor : int; out info : info_t, CountInOut; after : int);`,
    );
    const m = layoutRoutine(c.routines[0]!, false);
    expect(m.request.fields.map((f) => [f.name, f.argument.role])).toEqual([
      ["flavor", "in"],
      ["infoCnt", "countInOut"],
      ["after", "in"],
    ]);
    expect(m.request.fields[1]!.descriptor).toMatchObject({
      msgt_name: 2,
      msgt_size: 32,
      msgt_number: 1,
    });
    expect(m.reply!.fields[1]!.descriptor).toMatchObject({
      name: "info",
      msgt_number: 1024,
      longform: false,
    });
  });
});

describe("the checked model", () => {
  test("implicit arguments in GNU MIG's order: poly, CountInOut, count, dealloc, servercopy", () => {
    const c = checked(`
      type poly_array_t = array[*:8] of poly_t;
      routine r(p : port_t; out x : poly_array_t, CountInOut; y : unbounded_t, ServerCopy; z : ool_t, Dealloc[]);`);
    expect(c.routines[0]!.args.map((a) => [a.name, a.role, a.explicit])).toEqual([
      ["RetCode", "retCode", false],
      ["p", "requestPort", true],
      ["x", "out", true],
      ["xPoly", "poly", false],
      ["xCnt", "countInOut", false],
      ["xCnt", "count", false],
      ["y", "in", true],
      ["yCnt", "count", false],
      ["ySCopy", "serverCopy", false],
      ["z", "in", true],
      ["zCnt", "count", false],
      ["zDealloc", "dealloc", false],
    ]);
    const y = c.routines[0]!.args.find((a) => a.name === "y")!;
    expect(y).toMatchObject({ serverCopy: true, count: "yCnt" });
    expect(c.routines[0]!.args.find((a) => a.name === "z")!.deallocate).toBe("maybe");
  });

  test("request port, reply ports, waittime, msgoption and msgseqno are not message fields", () => {
    const c = checked(
      `
      routine r(in value : int; requestport p : port_t; sreplyport rs : once_t; ureplyport ru : once_t;
                waittime w : natural_t; msgoption o : natural_t; msgseqno s : natural_t);`.replace(
        /natural_t/g,
        "int",
      ),
    );
    const r = c.routines[0]!;
    expect(r).toMatchObject({
      requestPort: "p",
      serverReplyPort: "rs",
      userReplyPort: "ru",
      waitTime: "w",
      msgOption: "o",
      msgSeqno: "s",
    });
    expect(layoutRoutine(r, false).request.fields.map((f) => f.name)).toEqual(["value"]);
  });

  test("serverprefix, userprefix, global waittime and msgoption apply to the routines after them", () => {
    const c = checked(`
      routine before(p : port_t);
      serverprefix S_;
      userprefix U_;
      waittime 100;
      msgoption MACH_SEND_INTERRUPT;
      routine after(p : port_t);
      nowaittime;
      msgoption MACH_MSG_OPTION_NONE;
      routine last(p : port_t);`);
    expect(
      c.routines.map((r) => [r.userName, r.serverName, r.globalWaitTime, r.globalMsgOption]),
    ).toEqual([
      ["before", "before", undefined, undefined],
      ["U_after", "S_after", "100", "MACH_SEND_INTERRUPT"],
      ["U_last", "S_last", undefined, undefined],
    ]);
  });

  test("typedefs: a derived name drops the annotations of the type it copies; C types and translations", () => {
    const c = checked(
      `
      type a_t = int ctype: my_int_t;
      type b_t = a_t;
      type obj_t = port_t intran: obj_t *to_obj(mach_port_t) outtran: mach_port_t to_port(obj_t) destructor: rel(obj_t);
      routine r(p : port_t; a : a_t; b : b_t);`.replace("*to_obj", "to_obj"),
    );
    expect(c.types.get("a_t")).toMatchObject({ userType: "my_int_t", serverType: "my_int_t" });
    expect(c.types.get("b_t")).toMatchObject({
      userType: "b_t",
      serverType: "b_t",
      inName: 2,
      size: 32,
    });
    expect(c.types.get("obj_t")).toMatchObject({
      serverType: "mach_port_t",
      transType: "obj_t",
      inTrans: "to_obj",
      outTrans: "to_port",
      destructor: "rel",
    });
    expect(c.types.get("int")).toMatchObject({ inName: 2, size: 32 });
    expect(c.types.get("intptr_t")).toMatchObject({ inName: 11, size: 64 });
  });

  test("inline structs are laid out like C (alignment at most 4) and sent as 32-, 16- or 8-bit units", () => {
    const c = checked(`
      type int16 = MACH_MSG_TYPE_INTEGER_16;
      type s1 = struct { char a; int64 b; };
      type s2 = struct { char a; int16 b; char c; };
      type s3 = struct { char a; char b; char c; };`);
    expect(c.types.get("s1")).toMatchObject({ inName: 2, size: 32, number: 3 });
    expect(c.types.get("s2")).toMatchObject({ inName: 1, size: 16, number: 3 });
    expect(c.types.get("s3")).toMatchObject({ inName: 9, size: 8, number: 3 });
  });
});
