// The irq device's bookkeeping alone: masking until acknowledged, shared lines, acknowledgements
// with nothing pending, dead handlers, interrupts that arrive while masked or before any handler.
import { describe, expect, test } from "vitest";
import { KERN_INVALID_ARGUMENT } from "../../../src/kernel/kern-return.js";
import {
  D_ALREADY_OPEN,
  D_INVALID_OPERATION,
  D_SUCCESS,
} from "../../../src/kernel/devices/device-codes.js";
import { IrqLines } from "../../../src/kernel/devices/irq-lines.js";

function setup(lines = 24, redelivers = false) {
  const sent: [string, number][] = [];
  const eoi: number[] = [];
  const dead = new Set<string>();
  const irq = new IrqLines<string>(lines, {
    notify: (h, line) => {
      if (dead.has(h)) return false;
      sent.push([h, line]);
      return true;
    },
    unmasked: (line) => {
      eoi.push(line);
      return redelivers;
    },
  });
  return { irq, sent, eoi, dead };
}

describe("IrqLines", () => {
  test("a line is masked from the notification until the handler acknowledges it", () => {
    const { irq, sent, eoi } = setup();
    expect(irq.register(11, "ahci")).toBe(D_SUCCESS);
    expect(irq.fire(11)).toBe(1);
    expect(sent).toEqual([["ahci", 11]]);
    expect(irq.isMasked(11)).toBe(true);
    expect(irq.pending("ahci")).toBe(1);
    // Fires again while masked: nothing is sent now.
    expect(irq.fire(11)).toBe(0);
    expect(sent).toHaveLength(1);
    expect(irq.ack("ahci")).toBe(D_SUCCESS);
    expect(eoi).toEqual([11]);
    // The interrupt that came while masked is delivered once the line is unmasked.
    expect(sent).toEqual([
      ["ahci", 11],
      ["ahci", 11],
    ]);
    expect(irq.isMasked(11)).toBe(true);
    expect(irq.ack("ahci")).toBe(D_SUCCESS);
    expect(irq.isMasked(11)).toBe(false);
    expect(eoi).toEqual([11, 11]);
  });

  test("a machine that re-delivers asserted lines itself gets no replay of a masked interrupt", () => {
    const { irq, sent, eoi } = setup(24, true);
    irq.register(16, "h");
    irq.fire(16);
    irq.fire(16);
    expect(irq.ack("h")).toBe(D_SUCCESS);
    expect(eoi).toEqual([16]);
    expect(sent).toEqual([["h", 16]]);
    expect(irq.isMasked(16)).toBe(false);
  });

  test("an acknowledgement with nothing pending is D_INVALID_OPERATION; an unknown port KERN_INVALID_ARGUMENT", () => {
    const { irq, eoi } = setup();
    irq.register(5, "h");
    expect(irq.ack("h")).toBe(D_INVALID_OPERATION);
    irq.fire(5);
    expect(irq.ack("h")).toBe(D_SUCCESS);
    expect(irq.ack("h")).toBe(D_INVALID_OPERATION);
    expect(irq.ack("nobody")).toBe(KERN_INVALID_ARGUMENT);
    expect(eoi).toEqual([5]);
  });

  test("a shared line unmasks only when every handler has acknowledged", () => {
    const { irq, sent, eoi } = setup();
    irq.register(16, "a");
    irq.register(16, "b");
    irq.register(16, "c");
    expect(irq.fire(16)).toBe(3);
    expect(sent.map(([h]) => h).sort()).toEqual(["a", "b", "c"]);
    expect(irq.state(16)).toEqual({ line: 16, masked: true, depth: 3, handlers: 3, notified: 3 });
    expect(irq.ack("b")).toBe(D_SUCCESS);
    expect(irq.ack("a")).toBe(D_SUCCESS);
    expect(irq.isMasked(16)).toBe(true);
    expect(eoi).toEqual([]);
    // b has nothing left to acknowledge: it cannot unmask the line for c.
    expect(irq.ack("b")).toBe(D_INVALID_OPERATION);
    expect(irq.isMasked(16)).toBe(true);
    expect(irq.ack("c")).toBe(D_SUCCESS);
    expect(irq.isMasked(16)).toBe(false);
    expect(eoi).toEqual([16]);
  });

  test("a handler that goes away unmasks the line it held masked", () => {
    const { irq, eoi } = setup();
    irq.register(16, "alive");
    irq.register(16, "dying");
    irq.fire(16);
    irq.ack("alive");
    expect(irq.isMasked(16)).toBe(true);
    expect(irq.remove("dying")).toBe(true);
    expect(irq.isMasked(16)).toBe(false);
    expect(eoi).toEqual([16]);
    expect(irq.has("dying")).toBe(false);
    expect(irq.remove("dying")).toBe(false);
  });

  test("a handler whose port is dead at delivery is dropped and does not hold the line", () => {
    const { irq, sent, dead, eoi } = setup();
    irq.register(3, "gone");
    irq.register(3, "here");
    dead.add("gone");
    expect(irq.fire(3)).toBe(1);
    expect(sent).toEqual([["here", 3]]);
    expect(irq.has("gone")).toBe(false);
    expect(irq.state(3)).toMatchObject({ depth: 1, handlers: 1 });
    irq.ack("here");
    expect(eoi).toEqual([3]);
    // Only dead handlers: nothing is sent and the line is not left masked.
    irq.register(4, "gone2");
    dead.add("gone2");
    expect(irq.fire(4)).toBe(0);
    expect(irq.isMasked(4)).toBe(false);
  });

  test("a port registers once; lines outside the controller are refused", () => {
    const { irq } = setup(24);
    expect(irq.register(1, "p")).toBe(D_SUCCESS);
    expect(irq.register(2, "p")).toBe(D_ALREADY_OPEN);
    expect(irq.register(24, "q")).toBe(D_INVALID_OPERATION);
    expect(irq.register(-1, "q")).toBe(D_INVALID_OPERATION);
    expect(irq.register(1.5, "q")).toBe(D_INVALID_OPERATION);
    expect(irq.fire(99)).toBe(0);
    expect(irq.lineOfHandler("p")).toBe(1);
  });

  test("an interrupt with no handler gets its end of interrupt when a handler registers", () => {
    const { irq, eoi, sent } = setup();
    expect(irq.fire(9)).toBe(0);
    expect(eoi).toEqual([]);
    irq.register(9, "late");
    expect(eoi).toEqual([9]);
    expect(sent).toEqual([]);
  });
});
