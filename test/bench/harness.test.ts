// The benchmark harness's arithmetic: medians, ratios in the right direction, the table.
import { describe, expect, it } from "vitest";
import { benchResult, formatTable, measureMicros, summarize } from "../../bench/harness.js";

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

  it("times only the runs after the warm-up, which lasts at least warmupMs", async () => {
    let calls = 0;
    const t0 = performance.now();
    const samples = await measureMicros(
      () => {
        calls++;
      },
      { runs: 3, warmup: 1, iterations: 5, warmupMs: 30 },
    );
    expect(samples).toHaveLength(3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    // Whole warm-up runs of 5, then three timed runs of 5.
    expect(calls % 5).toBe(0);
    expect(calls).toBeGreaterThan(4 * 5);
    let plain = 0;
    await measureMicros(() => void plain++, { runs: 2, warmup: 3, iterations: 4 });
    expect(plain).toBe((3 + 2) * 4);
  });
});
