import { describe, expect, it } from 'vitest';
import { runTool, stderrSummary } from '../../../src/seed/pg-tools.ts';

describe('a tool of the seed as a child process', () => {
  it('keeps its standard error and exit status', async () => {
    const result = await runTool('/bin/sh', ['-c', 'echo "pg_dump: error: connection failed" >&2; exit 1'], { env: {}, timeoutMs: 10_000 });
    expect(result).toMatchObject({ status: 1, timedOut: false });
    expect(stderrSummary(result.stderr)).toBe('pg_dump: error: connection failed');
  });

  it('is stopped with its whole process group at its deadline', async () => {
    const started = Date.now();
    // The grandchild stands for pg_dump -j's workers.
    const result = await runTool('/bin/sh', ['-c', 'sleep 30 & wait'], { env: {}, timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.status).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('is stopped when the seed is told to stop: a terminal\'s Ctrl-C does not reach its process group', async () => {
    const running = runTool('/bin/sh', ['-c', 'sleep 30 & wait'], { env: {}, timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const listeners = process.listenerCount('SIGINT');
    process.emit('SIGINT', 'SIGINT');
    const result = await running;
    expect(result).toMatchObject({ status: null, timedOut: false });
    expect(process.listenerCount('SIGINT')).toBe(listeners - 1);
  });

  it('gets only the environment it is given, with no password of the parent\'s', async () => {
    process.env['PGPASSWORD'] = 'parent-secret';
    try {
      const result = await runTool('/bin/sh', ['-c', 'env'], { env: { PGUSER: 'seed' }, timeoutMs: 10_000 });
      expect(result.stdout).toContain('PGUSER=seed');
      expect(result.stdout).not.toContain('parent-secret');
    } finally {
      delete process.env['PGPASSWORD'];
    }
  });

  it('summarises standard error as its last three lines on one line', () => {
    expect(stderrSummary('a\n\nb\nc\nd\n')).toBe('b / c / d');
    expect(stderrSummary('')).toBe('(no message)');
  });
});
