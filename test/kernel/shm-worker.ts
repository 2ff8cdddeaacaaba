// Test helper: runs the shared-memory fixture worker on one job and collects its report.
import { spawnWorker } from "../../src/kernel/worker-spawn.js";
import type { FixtureJob, FixtureReport } from "./shm-fixture-worker.js";

export interface RunningJob {
  report: Promise<FixtureReport>;
  terminate(): Promise<number>;
}

export function startJob(job: FixtureJob): RunningJob {
  const s = spawnWorker(new URL("./shm-fixture-worker.js", import.meta.url), { workerData: job });
  if (!s.ok) throw new Error(s.error);
  const w = s.worker;
  const report = new Promise<FixtureReport>((resolve, reject) => {
    w.once("message", (m: FixtureReport) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`fixture worker exited (${code}) without a report`)));
  });
  return { report, terminate: () => w.terminate() };
}

export async function runJob(job: FixtureJob): Promise<FixtureReport> {
  const j = startJob(job);
  try {
    return await j.report;
  } finally {
    await j.terminate();
  }
}
