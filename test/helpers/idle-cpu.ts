// How busy this process is while it should be idle: the share of one core its threads (the
// kernel's and every worker's) use over a quiet stretch, after a pause to let spins run out.

/** Cores' worth of CPU the whole process used during `ms` milliseconds, after `settleMs`. */
export async function idleCpuShare(settleMs = 100, ms = 300): Promise<number> {
  await new Promise((r) => setTimeout(r, settleMs));
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const used = process.cpuUsage(u0);
  return (used.user + used.system) / 1000 / (performance.now() - t0);
}
