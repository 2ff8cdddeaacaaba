// PCI interrupt routing through ACPI: evaluates a root bridge's _PRT, resolves interrupt link
// devices' current IRQ from their _CRS, and answers "which GSI does device/pin raise?".
import { fail, ok, type AcpiResult } from "../status.js";
import { Run, type AmlInterpreter } from "./interpreter.js";
import { parseNamePath } from "./names.js";
import { followAlias, type NsNode } from "./namespace.js";
import { decodeResources } from "./resources.js";
import { toInteger, type AmlValue } from "./values.js";

/** One _PRT row (ACPI 6.5 §6.2.13). */
export interface PrtEntry {
  /** The raw Address field: device in the high word, 0xFFFF (any function) in the low word. */
  readonly address: number;
  readonly device: number;
  readonly function: number;
  /** 0 = INTA# ... 3 = INTD#. */
  readonly pin: number;
  /** Absolute path of the interrupt link device, or null when sourceIndex is the GSI itself. */
  readonly source: string | null;
  readonly sourceIndex: number;
}

export interface InterruptLine {
  readonly irq: number;
  readonly edge: boolean;
  readonly activeLow: boolean;
  readonly shared: boolean;
}

export interface PciIrqRoute extends InterruptLine {
  /** The global system interrupt the function's pin raises. */
  readonly gsi: number;
  readonly entry: PrtEntry;
  /** Path of the root bridge whose _PRT answered. */
  readonly bridge: string;
}

export interface PciRootBridge {
  readonly node: NsNode;
  readonly segment: number;
  readonly bus: number;
}

function asNumber(v: AmlValue | undefined, what: string): AcpiResult<number> {
  if (!v || v.type !== "integer")
    return fail("AE_TYPE", `${what} is ${v ? v.type : "missing"}, not an Integer`);
  return ok(Number(v.value & 0xffffffffn));
}

function sourcePath(
  interp: AmlInterpreter,
  v: AmlValue | undefined,
  scope: NsNode,
): AcpiResult<string | null> {
  if (!v) return fail("AE_TYPE", "_PRT entry has no Source");
  switch (v.type) {
    case "integer":
      return ok(null);
    case "reference":
      if (v.ref.kind === "node") return ok(v.ref.node.path);
      return fail("AE_TYPE", "_PRT Source is a reference to something other than a device");
    case "nameref":
    case "string": {
      const text = v.type === "nameref" ? v.path : v.value;
      let node: NsNode | undefined;
      try {
        node = interp.namespace.resolve(
          v.type === "nameref" ? v.scope : scope,
          parseNamePath(text),
        );
      } catch {
        node = undefined;
      }
      if (!node) return fail("AE_NOT_FOUND", `_PRT Source ${text} does not exist`);
      return ok(followAlias(node).path);
    }
    default:
      return fail("AE_TYPE", `_PRT Source is ${v.type}`);
  }
}

/** Evaluates `<bridge>._PRT` and decodes its rows. */
export async function evaluatePrt(
  interp: AmlInterpreter,
  bridge: string | NsNode,
  run?: Run,
): Promise<AcpiResult<PrtEntry[]>> {
  const node = typeof bridge === "string" ? interp.namespace.lookup(bridge) : bridge;
  if (!node) return fail("AE_NOT_FOUND", `${String(bridge)} does not exist`);
  const prtNode = followAlias(node).children.get("_PRT");
  if (!prtNode) return fail("AE_NOT_FOUND", `${node.path} has no _PRT`);
  const r = await interp.evaluate(prtNode, [], run);
  if (!r.ok) return r;
  const v = r.value;
  if (v.type !== "package")
    return fail("AE_TYPE", `${prtNode.path} returned ${v.type}, not a Package`);
  const out: PrtEntry[] = [];
  for (const [i, row] of v.elements.entries()) {
    if (row.type !== "package" || row.elements.length < 4)
      return fail("AE_TYPE", `${prtNode.path}[${i}] is not a 4-element Package`);
    const [a, p, s, si] = row.elements;
    const address = asNumber(a, `${prtNode.path}[${i}].Address`);
    if (!address.ok) return address;
    const pin = asNumber(p, `${prtNode.path}[${i}].Pin`);
    if (!pin.ok) return pin;
    const source = sourcePath(interp, s, followAlias(node));
    if (!source.ok) return source;
    const sourceIndex = asNumber(si, `${prtNode.path}[${i}].SourceIndex`);
    if (!sourceIndex.ok) return sourceIndex;
    out.push({
      address: address.value,
      device: (address.value >>> 16) & 0xffff,
      function: address.value & 0xffff,
      pin: pin.value,
      source: source.value,
      sourceIndex: sourceIndex.value,
    });
  }
  return ok(out);
}

/** The interrupt an interrupt link device (PNP0C0F) is currently routed to, from its _CRS. */
export async function linkDeviceIrq(
  interp: AmlInterpreter,
  link: string | NsNode,
  sourceIndex = 0,
  run?: Run,
): Promise<AcpiResult<InterruptLine>> {
  const node = typeof link === "string" ? interp.namespace.lookup(link) : link;
  if (!node) return fail("AE_NOT_FOUND", `link device ${String(link)} does not exist`);
  const dev = followAlias(node);
  const sta = await interp.evaluateOptional(dev, "_STA", run);
  if (!sta.ok) return sta;
  if (sta.value !== undefined && sta.value.type === "integer" && (sta.value.value & 2n) === 0n) {
    return fail(
      "AE_BAD_VALUE",
      `link device ${dev.path} is disabled (_STA 0x${sta.value.value.toString(16)})`,
    );
  }
  const crs = await interp.evaluateOptional(dev, "_CRS", run);
  if (!crs.ok) return crs;
  if (crs.value === undefined) return fail("AE_NOT_FOUND", `link device ${dev.path} has no _CRS`);
  if (crs.value.type !== "buffer")
    return fail("AE_TYPE", `${dev.path}._CRS returned ${crs.value.type}, not a Buffer`);
  const res = decodeResources(crs.value.data);
  if (!res.ok) return res;
  const interrupts = res.value.filter((d) => d.type === "irq" || d.type === "extended-irq");
  const d = interrupts[sourceIndex] ?? interrupts[0];
  if (!d) return fail("AE_NOT_FOUND", `${dev.path}._CRS lists no interrupt`);
  const irq = d.type === "irq" ? d.irqs[0] : d.interrupts[0];
  if (irq === undefined || (d.type === "irq" && irq === 0)) {
    return fail("AE_BAD_VALUE", `${dev.path} is not routed to any interrupt`);
  }
  return ok({ irq, edge: d.edge, activeLow: d.activeLow, shared: d.shared });
}

/** Tells the firmware which interrupt model the OS uses (\_PIC: 0 PIC, 1 APIC, 2 SAPIC). */
export async function setInterruptModel(
  interp: AmlInterpreter,
  model: "pic" | "apic" | "sapic",
): Promise<AcpiResult<boolean>> {
  const pic = interp.namespace.lookup("\\_PIC");
  if (!pic) return ok(false);
  const arg = {
    type: "integer" as const,
    value: model === "pic" ? 0n : model === "apic" ? 1n : 2n,
  };
  const r = await interp.evaluate(pic, [arg]);
  return r.ok ? ok(true) : r;
}

/** Every PCI host bridge (_HID or _CID PNP0A03/PNP0A08) with its _SEG and _BBN. */
export async function findPciRootBridges(
  interp: AmlInterpreter,
): Promise<AcpiResult<PciRootBridge[]>> {
  const out: PciRootBridge[] = [];
  for (const node of interp.namespace.walk()) {
    if (node.object.kind !== "device") continue;
    if (!(await interp.isPciRootBridge(node))) continue;
    const num = async (name: string): Promise<number> => {
      const r = await interp.evaluateOptional(node, name);
      return r.ok &&
        r.value !== undefined &&
        (r.value.type === "integer" || r.value.type === "string" || r.value.type === "buffer")
        ? Number(toInteger(r.value, interp.integerWidth) & 0xffffn)
        : 0;
    };
    out.push({ node, segment: await num("_SEG"), bus: await num("_BBN") });
  }
  return ok(out);
}

export interface RouteOptions {
  readonly segment?: number;
  readonly bus?: number;
}

/**
 * The GSI that `pin` (0 = INTA# ... 3 = INTD#, i.e. the Interrupt Pin register minus one) of
 * PCI function bus:device.function raises, from the root bridge's _PRT. Functions behind
 * PCI-to-PCI bridges are not resolved here.
 */
export async function routePciIrq(
  interp: AmlInterpreter,
  device: number,
  fn: number,
  pin: number,
  options: RouteOptions = {},
): Promise<AcpiResult<PciIrqRoute>> {
  if (!Number.isInteger(device) || device < 0 || device > 31)
    return fail("AE_BAD_PARAMETER", `PCI device ${device} is not 0..31`);
  if (!Number.isInteger(fn) || fn < 0 || fn > 7)
    return fail("AE_BAD_PARAMETER", `PCI function ${fn} is not 0..7`);
  if (!Number.isInteger(pin) || pin < 0 || pin > 3)
    return fail("AE_BAD_PARAMETER", `interrupt pin ${pin} is not 0 (INTA#)..3 (INTD#)`);
  const segment = options.segment ?? 0;
  const bus = options.bus ?? 0;
  const bridges = await findPciRootBridges(interp);
  if (!bridges.ok) return bridges;
  const bridge = bridges.value.find((b) => b.segment === segment && b.bus === bus);
  if (!bridge) return fail("AE_NOT_FOUND", `no PCI root bridge for segment ${segment} bus ${bus}`);
  const run = new Run(interp.maxSteps);
  const prt = await evaluatePrt(interp, bridge.node, run);
  if (!prt.ok) return prt;
  const entry = prt.value.find(
    (e) => e.device === device && (e.function === 0xffff || e.function === fn) && e.pin === pin,
  );
  const bdf = `${bus.toString(16).padStart(2, "0")}:${device.toString(16).padStart(2, "0")}.${fn}`;
  if (!entry)
    return fail(
      "AE_NOT_FOUND",
      `${bridge.node.path}._PRT has no entry for ${bdf} INT${"ABCD"[pin]}#`,
    );
  if (entry.source === null) {
    // A hard-wired GSI: PCI interrupts are level triggered, active low.
    return ok({
      gsi: entry.sourceIndex,
      irq: entry.sourceIndex,
      edge: false,
      activeLow: true,
      shared: true,
      entry,
      bridge: bridge.node.path,
    });
  }
  const line = await linkDeviceIrq(interp, entry.source, entry.sourceIndex, run);
  if (!line.ok) return line;
  return ok({ ...line.value, gsi: line.value.irq, entry, bridge: bridge.node.path });
}
