import { spawnSync } from 'node:child_process';

export interface PromtoolResult {
  readonly status: number | null;
  /** Standard output and error together: promtool splits its findings between them. */
  readonly output: string;
}

/**
 * Runs Prometheus' own checker. Not found is a failure, not a skip: these tests are
 * the proof that the metrics, rules and dashboard hold (apt-get install prometheus).
 */
export function promtool(args: readonly string[], options: { input?: string; cwd?: string } = {}): PromtoolResult {
  const run = spawnSync('promtool', args, { encoding: 'utf8', input: options.input ?? '', cwd: options.cwd, timeout: 60_000 });
  if (run.error) throw new Error(`promtool could not run (install it: apt-get install prometheus): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
