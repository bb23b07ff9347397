/**
 * pg_dump and pg_restore as child processes: found in seed.pg-bin-dir or on PATH, each
 * run with a deadline (its whole process group stopped when it passes), its standard
 * error kept (the last 8 KiB) for the coded error that reports a failure.
 */

import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { toolMajor } from './pg-args.ts';

export type ToolName = 'pg_dump' | 'pg_restore';

export interface Tool {
  readonly name: ToolName;
  readonly file: string;
  /** Its PostgreSQL major version (15, or 9.6). */
  readonly major: number;
}

export interface ToolResult {
  /** The exit status; null when it was stopped (by the deadline or a signal). */
  readonly status: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  /** The last 8 KiB of its standard error (and of its standard output above). */
  readonly stderr: string;
}

const OUTPUT_KEPT = 8 * 1024;
/** After SIGTERM at the deadline, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 10_000;
/** `--version` answers at once; anything slower is not a working tool. */
const VERSION_DEADLINE_MS = 10_000;

/** The executable `name` in `binDir`, else on PATH; undefined when neither has it. */
async function locate(name: ToolName, binDir: string | undefined): Promise<string | undefined> {
  const dirs = binDir !== undefined ? [binDir] : (process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of dirs) {
    const file = join(dir, name);
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  return undefined;
}

/** The tool and its major version; undefined when it is not there or does not say its version. */
export async function findTool(name: ToolName, binDir: string | undefined): Promise<Tool | undefined> {
  const file = await locate(name, binDir);
  if (file === undefined) return undefined;
  const result = await runTool(file, ['--version'], { env: {}, timeoutMs: VERSION_DEADLINE_MS });
  const major = result.status === 0 ? toolMajor(result.stdout) : undefined;
  return major === undefined ? undefined : { name, file, major };
}

/**
 * Runs `file` with `args` and only `env` (plus PATH and LANG=C, so its messages are
 * English for the logs); never throws for the child's own failure.
 */
export function runTool(file: string, args: readonly string[], { env, timeoutMs }: { env: Record<string, string>; timeoutMs: number }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: pg_dump -j's workers are stopped with it.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-OUTPUT_KEPT);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-OUTPUT_KEPT);
    });
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    let killer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    // The seed stopped (SIGINT, SIGTERM) or ending must not leave a dump running on the
    // peer: the child is in a group of its own, which a terminal's Ctrl-C does not reach.
    // Either signal stops the group with SIGTERM (what a shell's background jobs, like
    // pg_dump's workers, do not ignore); the child's end then fails the seed.
    const stopChild = () => signalGroup('SIGTERM');
    process.once('exit', stopChild);
    process.on('SIGINT', stopChild);
    process.on('SIGTERM', stopChild);
    const settle = () => {
      clearTimeout(deadline);
      clearTimeout(killer);
      process.off('exit', stopChild);
      process.off('SIGINT', stopChild);
      process.off('SIGTERM', stopChild);
    };
    child.once('error', (error) => {
      settle();
      reject(error);
    });
    child.once('close', (status) => {
      settle();
      resolve({ status, timedOut, stdout, stderr });
    });
  });
}

/** A child's standard error as one line of an error message: its last lines, joined. */
export function stderrSummary(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.slice(-3).join(' / ') || '(no message)';
}
