import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncError } from '../../../src/errors.ts';
import { JOURNAL_FILE, Journal, type JournalBounds, type NewCommand } from '../../../src/spool/journal.ts';
import { ROW_OVERHEAD_BYTES } from '../../../src/spool/journal-schema.ts';

const A = 'https://a.example.net:8081';
const B = 'https://b.example.net:8081';
const UNBOUNDED: JournalBounds = { maxBytes: 1e12, maxAgeMs: 14 * 86_400_000 };

const dirs: string[] = [];
const journals: Journal[] = [];
afterEach(() => {
  for (const journal of journals.splice(0)) journal.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spool-journal-'));
  dirs.push(dir);
  return dir;
}

interface Opened {
  journal: Journal;
  dropped: [string, number][];
  clock: { now: number };
}

function open(dir: string, options: { servers?: string[]; bounds?: Partial<JournalBounds>; now?: number } = {}): Opened {
  const dropped: [string, number][] = [];
  const clock = { now: options.now ?? Date.parse('2026-05-01T00:00:00Z') };
  const journal = Journal.open(dir, options.servers ?? [A, B], { ...UNBOUNDED, ...options.bounds }, { dropped: (reason, count) => dropped.push([reason, count]) }, () => clock.now);
  journals.push(journal);
  return { journal, dropped, clock };
}

function command(certname: string, size = 100, producerTimestamp = '2026-05-01T00:00:00.000Z'): NewCommand {
  return { command: 'replace_facts', version: 5, certname, producerTimestamp, body: Buffer.alloc(size, certname), encoding: 'identity' };
}

const closeAndForget = (journal: Journal) => {
  journal.close();
  journals.splice(journals.indexOf(journal), 1);
};

describe('Journal', () => {
  it('resolves an append only after its transaction committed, and a copy of the files taken then holds it', async () => {
    const dir = tempDir();
    const { journal } = open(dir);
    let resolved = false;
    const appended = journal.append(command('n1')).then((uuid) => ((resolved = true), uuid));
    expect(resolved).toBe(false);
    expect(journal.stats().commands).toBe(0);
    const uuid = await appended;
    // What a crash right now would leave: the database file and its write-ahead log, not closed.
    const crashed = tempDir();
    copyFileSync(join(dir, JOURNAL_FILE), join(crashed, JOURNAL_FILE));
    if (existsSync(join(dir, `${JOURNAL_FILE}-wal`))) copyFileSync(join(dir, `${JOURNAL_FILE}-wal`), join(crashed, `${JOURNAL_FILE}-wal`));
    const { journal: recovered } = open(crashed);
    expect(recovered.since(0, 0, 10).map((c) => c.uuid)).toEqual([uuid]);
  });

  it('commits the appends made together in one group, each with its own uuid', async () => {
    const { journal } = open(tempDir());
    const uuids = await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append(command(`n${i}`))));
    expect(new Set(uuids).size).toBe(50);
    expect(journal.stats()).toMatchObject({ commands: 50, bytes: 50 * (100 + ROW_OVERHEAD_BYTES) });
    expect(journal.due(A, Number.MAX_SAFE_INTEGER, 100).map((c) => c.certname)).toEqual(uuids.map((_, i) => `n${i}`));
  });

  it('journals a command sent again byte for byte once, answering its first uuid; any difference is another command', async () => {
    const { journal } = open(tempDir());
    const first = await journal.append(command('n1'));
    const [again, sameBatch] = await Promise.all([journal.append(command('n1')), journal.append(command('n1'))]);
    expect([again, sameBatch]).toEqual([first, first]);
    const others = await Promise.all([
      journal.append(command('n1', 101)),
      journal.append(command('n1', 100, '2026-05-01T00:00:01.000Z')),
      journal.append({ ...command('n1'), version: 4 }),
      journal.append({ ...command('n1'), encoding: 'gzip' }),
    ]);
    expect(new Set([first, ...others]).size).toBe(5);
    expect(journal.stats().commands).toBe(5);
  });

  it('gives due commands per server, oldest first, journaled before the time asked; settled ones are no longer due', async () => {
    const { journal, clock } = open(tempDir());
    await journal.append(command('early'));
    clock.now += 60_000;
    await journal.append(command('late'));
    const [early] = journal.due(A, clock.now, 10);
    expect(early!.certname).toBe('early');
    expect(journal.due(A, clock.now + 1, 10).map((c) => c.certname)).toEqual(['early', 'late']);
    journal.settle(early!.id, A, 'delivered');
    journal.settle(early!.id, A, 'delivered');
    expect(journal.due(A, clock.now + 1, 10).map((c) => c.certname)).toEqual(['late']);
    expect(journal.due(B, clock.now + 1, 10).map((c) => c.certname)).toEqual(['early', 'late']);
    expect(journal.stats().pending).toEqual(
      new Map([
        [A, { commands: 1, oldestReceivedAt: clock.now }],
        [B, { commands: 2, oldestReceivedAt: clock.now - 60_000 }],
      ]),
    );
    expect(journal.since(0, 0, 10)).toHaveLength(2);
    expect(journal.since(clock.now, 0, 10).map((c) => c.certname)).toEqual(['late']);
    expect(journal.since(0, early!.id, 10).map((c) => c.certname)).toEqual(['late']);
  });

  it('keeps the body and its encoding exactly', async () => {
    const { journal } = open(tempDir());
    const body = Buffer.from([0x1f, 0x8b, 0, 255, 7]);
    await journal.append({ ...command('gz'), body, encoding: 'gzip' });
    const [stored] = journal.since(0, 0, 1);
    expect(stored).toMatchObject({ encoding: 'gzip', certname: 'gz', command: 'replace_facts', version: 5 });
    expect(Buffer.compare(stored!.body, body)).toBe(0);
  });

  it('refuses a new command with PDBSYNC_ERR_SPOOL_FULL when pending commands fill max-size, and journals it once there is room', async () => {
    const rowBytes = 1000 + ROW_OVERHEAD_BYTES;
    const { journal } = open(tempDir(), { bounds: { maxBytes: rowBytes * 3 } });
    await Promise.all(['n1', 'n2', 'n3'].map((name) => journal.append(command(name, 1000))));
    const refused = await journal.append(command('n4', 1000)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SyncError);
    expect((refused as SyncError).code).toBe('PDBSYNC_ERR_SPOOL_FULL');
    expect(journal.failure).toBeUndefined();
    const [oldest] = journal.due(A, Number.MAX_SAFE_INTEGER, 1);
    journal.settle(oldest!.id, A, 'delivered');
    await expect(journal.append(command('n4', 1000))).rejects.toThrow(/PDBSYNC_ERR_SPOOL_FULL/);
    journal.settle(oldest!.id, B, 'held');
    await journal.append(command('n4', 1000));
    // The settled command made room: it was evicted, oldest first, and nothing pending was.
    expect(journal.since(0, 0, 10).map((c) => c.certname)).toEqual(['n2', 'n3', 'n4']);
    expect(journal.stats()).toMatchObject({ commands: 3, bytes: rowBytes * 3 });
  });

  it('evicts settled commands oldest first to make room, keeping the newer settled ones', async () => {
    const rowBytes = 1000 + ROW_OVERHEAD_BYTES;
    const { journal } = open(tempDir(), { bounds: { maxBytes: rowBytes * 4 } });
    for (const name of ['s1', 's2', 's3']) {
      await journal.append(command(name, 1000));
      const [row] = journal.due(A, Number.MAX_SAFE_INTEGER, 1);
      journal.settle(row!.id, A, 'delivered');
      journal.settle(row!.id, B, 'delivered');
    }
    await journal.append(command('p1', 1000));
    await journal.append(command('p2', 1000));
    expect(journal.since(0, 0, 10).map((c) => c.certname)).toEqual(['s2', 's3', 'p1', 'p2']);
  });

  it('removes commands past max-age at prune, pending or not, counting the pending ones dropped', async () => {
    const { journal, dropped, clock } = open(tempDir(), { bounds: { maxAgeMs: 3_600_000 } });
    await journal.append(command('settled'));
    journal.settle(1, A, 'delivered');
    journal.settle(1, B, 'delivered');
    await journal.append(command('pending'));
    clock.now += 1_800_000;
    await journal.append(command('young'));
    clock.now += 1_800_001;
    journal.prune();
    expect(dropped).toEqual([['max-age', 1]]);
    expect(journal.since(0, 0, 10).map((c) => c.certname)).toEqual(['young']);
    expect(journal.stats()).toMatchObject({ commands: 1, pending: new Map([[A, { commands: 1, oldestReceivedAt: clock.now - 1_800_001 }], [B, { commands: 1, oldestReceivedAt: clock.now - 1_800_001 }]]) });
  });

  it('drops the oldest pending commands at prune when max-size was lowered below them, counted', async () => {
    const dir = tempDir();
    const first = open(dir);
    await Promise.all(['n1', 'n2', 'n3'].map((name) => first.journal.append(command(name, 1000))));
    closeAndForget(first.journal);
    const { journal, dropped } = open(dir, { bounds: { maxBytes: 2 * (1000 + ROW_OVERHEAD_BYTES) } });
    journal.prune();
    expect(dropped).toEqual([['max-size', 1]]);
    expect(journal.since(0, 0, 10).map((c) => c.certname)).toEqual(['n2', 'n3']);
  });

  it('keeps everything across a reopen: commands, pending rows and sizes', async () => {
    const dir = tempDir();
    const first = open(dir);
    const uuids = await Promise.all(['n1', 'n2'].map((name) => first.journal.append(command(name))));
    first.journal.settle(1, A, 'held');
    const before = first.journal.stats();
    closeAndForget(first.journal);
    const { journal } = open(dir);
    expect(journal.stats()).toEqual(before);
    expect(journal.since(0, 0, 10).map((c) => c.uuid)).toEqual(uuids);
    expect(journal.due(A, Number.MAX_SAFE_INTEGER, 10).map((c) => c.certname)).toEqual(['n2']);
    expect(await journal.append(command('n1'))).toBe(uuids[0]);
  });

  it('removes the pending rows of a server no longer configured, and makes new commands pending for the servers configured now', async () => {
    const dir = tempDir();
    const first = open(dir);
    await first.journal.append(command('n1'));
    closeAndForget(first.journal);
    const C = 'https://c.example.net:8081';
    const { journal } = open(dir, { servers: [A, C] });
    await journal.append(command('n2'));
    expect(journal.due(B, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    expect(journal.due(C, Number.MAX_SAFE_INTEGER, 10).map((c) => c.certname)).toEqual(['n2']);
    expect([...journal.stats().pending.keys()]).toEqual([A, C]);
    expect(journal.stats().pending.get(A)!.commands).toBe(2);
    // Settled for A, it is pending nowhere: evictable, and counted so.
    journal.settle(1, A, 'delivered');
    expect(journal.stats().pending.get(A)!.commands).toBe(1);
  });

  it('refuses to open a damaged file with PDBSYNC_ERR_SPOOL_JOURNAL', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOURNAL_FILE), Buffer.alloc(16_384, 'garbage '));
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'PDBSYNC_ERR_SPOOL_JOURNAL' }));
  });

  it('commits appends still waiting when closed', async () => {
    const dir = tempDir();
    const first = open(dir);
    const appended = first.journal.append(command('n1'));
    closeAndForget(first.journal);
    const uuid = await appended;
    expect(open(dir).journal.since(0, 0, 10).map((c) => c.uuid)).toEqual([uuid]);
  });
});
