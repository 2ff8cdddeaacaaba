// The benchmark harness's arithmetic: medians, ratios in the right direction, the table.
import { describe, expect, it } from "vitest";
import { benchResult, formatTable, summarize } from "../../bench/harness.js";

describe("bench harness", () => {
  it("summarises odd and even sample counts", () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, runs: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
    expect(() => summarize([])).toThrow(RangeError);
  });

  it("puts the ratio above 1 when we are ahead, for times and for rates", () => {
    const time = benchResult("t", "us", [2, 2, 2], "lower", { name: "p", samples: [8, 8, 8] });
    expect(time.ratio).toBe(4);
    const rate = benchResult("r", "MB/s", [100, 100], "higher", { name: "p", samples: [50, 50] });
    expect(rate.ratio).toBe(2);
    expect(benchResult("n", "us", [1], "lower").peer).toBeUndefined();
  });

  it("prints a header and one row per result", () => {
    const t = formatTable([benchResult("a.b", "us", [1.5], "lower", { name: "x", samples: [3] })]);
    const lines = t.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^a\.b\s+1\.5\s+1\.5\s+1\.5\s+us\s+1\s+x\s+3\s+2x$/);
  });
});
