// The sidecar under measurement in the fleet benchmark: `once` passes and a `run`
// session, each with the CPU it costs the sidecar, both PuppetDBs and PostgreSQL.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CLI_ENV, CLI_FLAGS, runOnce } from './bench-cli.ts';
import type { Cluster } from './cluster.ts';
import { cpuSeconds, cpuSince, peakRssBytes, reapedChildrenCpuSeconds, resetPeakRss, serverCpu, type ServerCpu } from './proc-usage.ts';

/** CPU seconds of both PuppetDBs, PostgreSQL and the sidecar. */
export interface Cpu extends ServerCpu { sidecar: number }

/** rowsRead: the summary rows the pass read from both servers (remoteRows + localRows); null when not logged. */
export interface OnceFigures { elapsedMs: number; wallMs: number; maxRssBytes: number; transferred: number; rowsRead: number | null; cpu: Cpu }

type LogLine = Record<string, unknown>;
const parse = (line: string): LogLine | undefined => {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
};
const isPassEnd = (l: LogLine) => l.phase === 'sync' && (l.sync_event === 'finished' || l.sync_event === 'error');
const isEntityEnd = (l: LogLine) => l.phase === 'entity' && (l.sync_event === 'finished' || l.sync_event === 'error');

/** Records transferred, and summary rows read where the sidecar logs them, over a pass's entity end lines. */
function entityTotals(ends: LogLine[]): { transferred: number; rowsRead: number | null } {
  const logged = ends.filter((l) => typeof l.remoteRows === 'number' || typeof l.localRows === 'number');
  return {
    transferred: ends.reduce((s, l) => s + Number(l.transferred ?? 0), 0),
    rowsRead: logged.length === 0 ? null : logged.reduce((s, l) => s + Number(l.remoteRows ?? 0) + Number(l.localRows ?? 0), 0),
  };
}

/**
 * B pulls from A every `interval`. `reconcileInterval` (sync.reconcile-interval) is
 * written only when given: the sidecar rejects keys it does not know.
 */
export function writeSyncConfig(path: string, local: string, remote: string, options: { httpPort?: number; reconcileInterval?: string } = {}): void {
  const reconcile = options.reconcileInterval ? `, reconcile-interval: ${options.reconcileInterval}` : '';
  const http = options.httpPort ? `http: { port: ${options.httpPort} }\n` : '';
  writeFileSync(path, `local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}", interval: 5s } ]${reconcile} }\n${http}`);
}

/** One `once` pass; its elapsed is the pass's own (sync/finished line), its CPU from spawn to exit. */
export async function oncePass(cli: string, config: string, cluster: Cluster, saveLog?: string): Promise<OnceFigures> {
  const servers = serverCpu(cluster);
  const sidecar = reapedChildrenCpuSeconds();
  const t = Date.now();
  const { code, stdout, stderr } = await runOnce(config, cli);
  const wallMs = Date.now() - t;
  if (saveLog) writeFileSync(saveLog, stdout + stderr);
  const cpu = { ...cpuSince(servers, serverCpu(cluster)), sidecar: reapedChildrenCpuSeconds() - sidecar };
  if (code !== 0) throw new Error(`once exited ${code}: ${stderr}\n${stdout.slice(-4000)}`);
  const lines = stdout.split('\n').map(parse).filter((l) => l !== undefined);
  const pass = lines.find(isPassEnd);
  const last = lines.find((l) => l.message === 'once finished');
  if (!pass || !last) throw new Error(`once logged no sync/finished or once finished line:\n${stdout.slice(-4000)}`);
  return { elapsedMs: Number(pass.elapsed), wallMs, maxRssBytes: Number(last.maxRssBytes), ...entityTotals(lines.filter(isEntityEnd)), cpu };
}

/** The end of one pass under `run`, with the CPU spent so far (cumulative) when it was logged. */
export interface PassEnd {
  /** `kind` of the sync line; a sidecar that logs none does only full passes: reconcile. */
  kind: string;
  kindLogged: boolean;
  ok: boolean;
  elapsedMs: number;
  transferred: number;
  rowsRead: number | null;
  at: number;
  cpu: Cpu;
}

/** `puppetdb-sync run` in the background, its pass ends queued as they are logged. */
export class RunSession {
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly ended: PassEnd[] = [];
  private waiter: (() => void) | undefined;
  private exited = false;
  /** The entity ends of the pass running in each lane (kind): a reconciliation and incremental passes run side by side. */
  private readonly entityEnds = new Map<string, LogLine[]>();
  private stderr = '';
  private stoppedLine: LogLine | undefined;

  constructor(cli: string, config: string, cluster: Cluster) {
    this.child = spawn(process.execPath, [...CLI_FLAGS, cli, 'run', '--config', config], { stdio: ['pipe', 'pipe', 'pipe'], env: CLI_ENV });
    this.pid = this.child.pid!;
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
    createInterface({ input: this.child.stdout }).on('line', (text) => {
      const line = parse(text);
      if (!line) return;
      const lane = typeof line.kind === 'string' ? line.kind : 'reconcile';
      if (isEntityEnd(line)) this.entityEnds.set(lane, [...(this.entityEnds.get(lane) ?? []), line]);
      if (line.message === 'stopped') this.stoppedLine = line;
      if (!isPassEnd(line)) return;
      // Read at once: the next pass may start 5 s later.
      const cpu = { ...serverCpu(cluster), sidecar: cpuSeconds(this.pid) };
      const kindLogged = typeof line.kind === 'string';
      const kind = kindLogged ? String(line.kind) : 'reconcile';
      this.ended.push({ kind, kindLogged, ok: line.sync_event === 'finished', elapsedMs: Number(line.elapsed), ...entityTotals(this.entityEnds.get(lane) ?? []), at: Date.now(), cpu });
      this.entityEnds.delete(lane);
      this.waiter?.();
    });
  }

  /** The next pass end, waiting up to `timeoutMs` for it. */
  async nextPass(timeoutMs: number): Promise<PassEnd> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended.length === 0) {
      if (this.exited) throw new Error(`run exited before the next pass ended: ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`run: no pass ended within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 1_000).unref();
      });
    }
    return this.ended.shift()!;
  }

  /** The pass ends logged and not yet taken by nextPass, taken now. */
  drain(): PassEnd[] {
    return this.ended.splice(0);
  }

  /** SIGTERM, then the peak RSS the sidecar logs as it stops. */
  async stop(): Promise<number | undefined> {
    if (!this.exited) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    return this.stoppedLine ? Number(this.stoppedLine.maxRssBytes) : undefined;
  }
}

export function cpuBetween(before: Cpu, after: Cpu): Cpu {
  return { ...cpuSince(before, after), sidecar: after.sidecar - before.sidecar };
}

export interface IdlePass { elapsedMs: number; kind: string; ok: boolean; transferred: number; rowsRead: number | null; sinceLastEndMs: number; cpu: Cpu }
export interface IdleFigures {
  /** The pass `run` starts with: a full pass today, a reconcile pass after the change. */
  startPass: { elapsedMs: number; kind: string; kindLogged: boolean };
  /** VmHWM when the start pass ended. */
  startPeakRssBytes: number;
  /** Idle passes, each with the time and CPU since the previous pass ended (its wait included). */
  passes: IdlePass[];
  /** VmHWM over the idle passes (reset after the start pass); null when it could not be reset. */
  peakRssBytes: number | null;
}

// The start pass reconciles under `run` (resting between parts): about 7 minutes at 10 million reports.
const PASS_TIMEOUT_MS = 1_800_000;

/**
 * Idle passes under `run`: the start pass (the reconciliation; incremental passes that
 * ended beside it are not idle ones) is skipped, then reconcile passes (those that log
 * their kind); the rest are measured until there are `passes` of them and at least
 * `minMs` have gone by, so that the sidecar's idle CPU share is read over a fair window.
 */
export async function measureIdle(session: RunSession, passes: number, minMs: number): Promise<IdleFigures> {
  let start = await session.nextPass(PASS_TIMEOUT_MS);
  while (start.kindLogged && start.kind !== 'reconcile') start = await session.nextPass(PASS_TIMEOUT_MS);
  const startPeakRssBytes = peakRssBytes(session.pid);
  const reset = resetPeakRss(session.pid);
  const idle: IdlePass[] = [];
  let previous = start;
  while (idle.length < passes || previous.at - start.at < minMs) {
    const pass = await session.nextPass(PASS_TIMEOUT_MS);
    if (!(pass.kindLogged && pass.kind === 'reconcile')) {
      const { elapsedMs, kind, ok, transferred, rowsRead } = pass;
      idle.push({ elapsedMs, kind, ok, transferred, rowsRead, sinceLastEndMs: pass.at - previous.at, cpu: cpuBetween(previous.cpu, pass.cpu) });
    }
    previous = pass;
  }
  return {
    startPass: { elapsedMs: start.elapsedMs, kind: start.kind, kindLogged: start.kindLogged },
    startPeakRssBytes,
    passes: idle,
    peakRssBytes: reset ? peakRssBytes(session.pid) : null,
  };
}
