import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.ts';
import { factsets } from '../../../src/entities/factsets.ts';
import { SyncError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/log.ts';
import type { PuppetDbClient, QuerySpec } from '../../../src/puppetdb/client.ts';
import { divergenceExitCode, divergenceJson, formatDivergenceJson, formatDivergenceTable } from '../../../src/sync/divergence-report.ts';
import { measureDivergence, type DivergenceReport } from '../../../src/sync/divergence.ts';
import { ENTITIES } from '../../../src/wiring.ts';
import { summaryContext } from '../fixtures.ts';
import { certnameAsked, queryKind } from './fake-puppetdb.ts';

const A = 'http://pdb-a.example.net:8080';
const B = 'http://pdb-b.example.net:8080';
const C = 'http://pdb-c.example.net:8080';

const counts = (missing: number, older: number, tied: number) => ({ missing, older, tied });
const inStep = (remote: string) => ({ remote, entities: ENTITIES.map((entity) => ({ entity: entity.name, ...counts(0, 0, 0) })) });

function report(remotes: DivergenceReport['remotes']): DivergenceReport {
  return { local: B, measuredAt: '2026-11-22T00:00:00.000Z', elapsedMs: 42, remotes };
}

const differs = report([
  {
    remote: A,
    entities: ENTITIES.map((entity) => ({ entity: entity.name, ...(entity.name === 'factsets' ? counts(12, 3, 1) : entity.name === 'reports' ? counts(1234, 0, 0) : counts(0, 0, 0)) })),
  },
  inStep(C),
]);

const failed = report([
  inStep(A),
  {
    remote: C,
    entities: ENTITIES.map((entity) =>
      entity.name === 'reports'
        ? { entity: entity.name, error: { code: 'PDBSYNC_ERR_HTTP_TIMEOUT' as const, message: 'PDBSYNC_ERR_HTTP_TIMEOUT: the PuppetDB server did not answer in time: query reports' } }
        : { entity: entity.name, ...counts(0, 2, 0) },
    ),
  },
]);

describe('divergence: exit code', () => {
  it('is 0 when every entity of every remote is in step', () => {
    expect(divergenceExitCode(report([inStep(A), inStep(C)]))).toBe(0);
  });

  it('is 1 when any record differs', () => {
    expect(divergenceExitCode(differs)).toBe(1);
    expect(divergenceExitCode(report([inStep(A), { remote: C, entities: [{ entity: 'nodes', ...counts(0, 0, 1) }] }]))).toBe(1);
  });

  it('is 2 when any entity could not be measured, whatever differs elsewhere', () => {
    expect(divergenceExitCode(failed)).toBe(2);
    expect(divergenceExitCode(report([{ remote: A, entities: [{ entity: 'catalogs', error: { code: null, message: 'boom' } }] }]))).toBe(2);
  });
});

describe('divergence: table', () => {
  it('aligns remote, entity and the counts, and ends with the number of records that differ', () => {
    const lines = formatDivergenceTable(differs).split('\n');
    expect(lines[0]).toBe(`local ${B}, measured at 2026-11-22T00:00:00.000Z in 42 ms`);
    expect(lines.slice(2, 5)).toEqual([
      'REMOTE                         ENTITY           MISSING  OLDER  TIED',
      'http://pdb-a.example.net:8080  catalogs               0      0     0',
      'http://pdb-a.example.net:8080  catalog-inputs         0      0     0',
    ]);
    expect(lines).toContain('http://pdb-a.example.net:8080  factsets              12      3     1');
    expect(lines).toContain('http://pdb-a.example.net:8080  reports             1234      0     0');
    expect(lines).toContain('http://pdb-c.example.net:8080  nodes                  0      0     0');
    // Header, 12 rows, a blank line, the verdict, the final newline.
    expect(lines).toHaveLength(2 + 13 + 1 + 1 + 1);
    expect(lines.at(-2)).toBe('not in step: 1250 records differ (1246 missing, 3 older, 1 tied)');
    expect(lines.at(-1)).toBe('');
  });

  it('says in step when nothing differs', () => {
    expect(formatDivergenceTable(report([inStep(A)])).split('\n').at(-2)).toBe('in step: no record differs');
    expect(formatDivergenceTable(report([{ remote: A, entities: [{ entity: 'nodes', ...counts(0, 0, 1) }] }])).split('\n').at(-2)).toBe(
      'not in step: 1 record differs (0 missing, 0 older, 1 tied)',
    );
  });

  it('shows an entity that could not be measured with its code, then its message', () => {
    const lines = formatDivergenceTable(failed).split('\n');
    expect(lines).toContain('http://pdb-c.example.net:8080  reports          error PDBSYNC_ERR_HTTP_TIMEOUT');
    expect(lines).toContain(`error: ${C} reports: PDBSYNC_ERR_HTTP_TIMEOUT: the PuppetDB server did not answer in time: query reports`);
    expect(lines.at(-2)).toBe('error: 1 entity could not be measured; 10 records differ in the others (0 missing, 10 older, 0 tied)');
  });
});

describe('divergence: JSON', () => {
  it('keys entities by name, with totals and the exit code', () => {
    expect(divergenceJson(failed)).toEqual({
      local: B,
      measuredAt: '2026-11-22T00:00:00.000Z',
      elapsedMs: 42,
      inStep: false,
      differing: 10,
      errors: 1,
      exitCode: 2,
      remotes: [
        { remote: A, differing: 0, entities: Object.fromEntries(ENTITIES.map((entity) => [entity.name, counts(0, 0, 0)])) },
        {
          remote: C,
          differing: 10,
          entities: {
            catalogs: counts(0, 2, 0),
            'catalog-inputs': counts(0, 2, 0),
            factsets: counts(0, 2, 0),
            'fact-expiration': counts(0, 2, 0),
            reports: { error: { code: 'PDBSYNC_ERR_HTTP_TIMEOUT', message: expect.stringContaining('did not answer in time') } },
            nodes: counts(0, 2, 0),
          },
        },
      ],
    });
    expect(JSON.parse(formatDivergenceJson(report([inStep(A)])))).toMatchObject({ inStep: true, differing: 0, errors: 0, exitCode: 0 });
  });
});

// --- the counting, against fake servers -----------------------------------------

const NOW = Date.parse('2026-11-22T00:00:00.000Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface FakeServer {
  readonly rows: Record<string, Record<string, unknown>[]>;
  readonly fail?: Record<string, Error>;
  /** Certnames whose factset record is gone since the summary. */
  readonly gone?: readonly string[];
}

/**
 * A client that answers each query by the entity it is `from` (the facts-expiration
 * query of nodes by `fact-expiration`), each factset record query with the record of
 * its summary row (the fact `role` from its `role`, `web` by default), and remembers
 * being closed.
 */
function fakeClients(servers: Record<string, FakeServer>, closed: string[]): (url: string) => PuppetDbClient {
  return (url) => {
    const server = servers[url];
    if (!server) throw new Error(`no fake server ${url}`);
    const fake = {
      url,
      async *query(spec: QuerySpec) {
        const entity = spec.options?.include_facts_expiration ? 'fact-expiration' : ((spec.query as unknown[])[1] as string);
        const error = server.fail?.[entity];
        if (error) throw error;
        yield* server.rows[entity] ?? [];
      },
      async *queryRecord(spec: QuerySpec) {
        const { entity } = queryKind(spec.query as unknown[]);
        if (entity !== 'factsets' || server.gone?.includes(certnameAsked(spec.query) ?? '')) return;
        const { role = 'web', ...row } = (server.rows.factsets ?? []).find((candidate) => candidate.certname === certnameAsked(spec.query)) ?? {};
        if (row.certname !== undefined) yield { ...row, environment: 'production', facts: { data: [{ name: 'role', value: role }] } };
      },
      async close() {
        closed.push(url);
      },
    };
    return fake as unknown as PuppetDbClient;
  };
}

function config(remotes: string[]): Config {
  const settings = summaryContext().settings;
  return {
    file: '/etc/puppetdb-sync/sync.conf',
    local: { serverUrl: B },
    sync: { ...settings, remotes: remotes.map((serverUrl) => ({ serverUrl, intervalMs: 120_000 })) },
    tls: undefined,
    http: { host: '127.0.0.1', port: 0, startupGraceMs: 0, tls: undefined },
    state: undefined,
    seed: undefined,
    log: { level: 'fatal', format: 'pe' },
  };
}

const factset = (certname: string, at: number, hash: string, producer = 'puppet.example.net') => ({ certname, hash, producer_timestamp: iso(at), producer });
const log = createLogger('fatal');

describe('divergence: counting', () => {
  const t0 = NOW - DAY;
  const local: FakeServer = {
    rows: {
      factsets: [
        factset('same', t0, 'aaaa'),
        factset('older-here', t0, 'aaaa'),
        factset('newer-here', t0 + 60_000, 'aaaa'),
        factset('tie-remote-wins', t0, 'aaaa'),
        factset('tie-local-wins', t0, 'ffff'),
        factset('hashed-otherwise', t0, 'aaaa'),
        factset('only-here', t0, 'aaaa'),
      ],
    },
  };
  const remote: FakeServer = {
    rows: {
      factsets: [
        factset('same', t0, 'aaaa'),
        factset('older-here', t0 + 60_000, 'bbbb'),
        factset('newer-here', t0, 'bbbb'),
        // Another producer at the same time: other content, which wins on one of the servers. Both count.
        factset('tie-remote-wins', t0, 'bbbb', 'puppet-b.example.net'),
        factset('tie-local-wins', t0, 'bbbb', 'puppet-b.example.net'),
        // The same content at the same time, as another PuppetDB version hashed it: in step.
        factset('hashed-otherwise', t0, 'ffff'),
        factset('missing-1', t0, 'cccc'),
        factset('missing-2', t0, 'cccc'),
        // Listed twice: counted once, as a pass pulls it once.
        factset('missing-2', t0, 'cccc'),
        factset('purged', NOW - 30 * DAY, 'dddd'),
        factset('recently-deactivated', t0, 'eeee'),
      ],
      nodes: [
        { certname: 'purged', deactivated: iso(NOW - 20 * DAY), expired: null },
        { certname: 'recently-deactivated', deactivated: iso(NOW - DAY), expired: null },
      ],
    },
  };

  it('counts what a pass would pull, by reason, leaving out nodes gone past node-purge-ttl', async () => {
    const closed: string[] = [];
    const result = await measureDivergence(config([A]), log, { now: NOW, entities: [factsets], clientFor: fakeClients({ [A]: remote, [B]: local }, closed) });
    expect(result).toMatchObject({ local: B, measuredAt: iso(NOW), remotes: [{ remote: A, entities: [{ entity: 'factsets', missing: 3, older: 1, tied: 2 }] }] });
    expect(closed.sort()).toEqual([A, B]);
    expect(divergenceExitCode(result)).toBe(1);
  });

  it('counts only the certnames a filter accepts', async () => {
    const result = await measureDivergence(config([A]), log, {
      now: NOW,
      entities: [factsets],
      clientFor: fakeClients({ [A]: remote, [B]: local }, []),
      certnameFilter: (certname) => certname.startsWith('missing-'),
    });
    expect(result.remotes[0]!.entities).toEqual([{ entity: 'factsets', ...counts(2, 0, 0) }]);
  });

  it('is in step against itself', async () => {
    const result = await measureDivergence(config([A]), log, { now: NOW, entities: [factsets], clientFor: fakeClients({ [A]: local, [B]: local }, []) });
    expect(divergenceExitCode(result)).toBe(0);
  });

  it('measures every remote when one cannot be read, and reports that one as an error for every entity', async () => {
    const down: FakeServer = { rows: {}, fail: { nodes: new SyncError('PDBSYNC_ERR_HTTP_CONNECT', `${C}: connect ECONNREFUSED`) } };
    const closed: string[] = [];
    const result = await measureDivergence(config([C, A]), log, { now: NOW, clientFor: fakeClients({ [A]: remote, [B]: local, [C]: down }, closed) });
    const [first, second] = result.remotes;
    expect(first!.remote).toBe(C);
    expect(first!.entities.map((entity) => entity.entity)).toEqual(ENTITIES.map((entity) => entity.name));
    for (const entity of first!.entities) expect(entity).toMatchObject({ error: { code: 'PDBSYNC_ERR_HTTP_CONNECT', message: expect.stringContaining('ECONNREFUSED') } });
    expect(second!.entities.find((entity) => entity.entity === 'factsets')).toEqual({ entity: 'factsets', ...counts(3, 1, 2) });
    expect(second!.entities).toHaveLength(ENTITIES.length);
    expect(divergenceExitCode(result)).toBe(2);
    expect(closed.sort()).toEqual([A, B, C]);
  });

  it('reports a local summary that cannot be read for every remote, and goes on with the next entity', async () => {
    const broken: FakeServer = { rows: local.rows, fail: { catalogs: new Error('socket hang up') } };
    const result = await measureDivergence(config([A, C]), log, { now: NOW, clientFor: fakeClients({ [A]: remote, [B]: broken, [C]: remote }, []) });
    for (const { entities } of result.remotes) {
      expect(entities[0]).toEqual({ entity: 'catalogs', error: { code: null, message: 'socket hang up' } });
      expect(entities.find((entity) => entity.entity === 'factsets')).toEqual({ entity: 'factsets', ...counts(3, 1, 2) });
    }
    expect(divergenceExitCode(result)).toBe(2);
  });

  it('reports a row it cannot read as an error of its entity, where a pass would skip it: diff measures', async () => {
    const poisoned: FakeServer = { rows: { factsets: [...local.rows.factsets!, { certname: 'zz', hash: 'h', producer_timestamp: 'March 7, 2024' }] } };
    const result = await measureDivergence(config([A]), log, { now: NOW, entities: [factsets], clientFor: fakeClients({ [A]: remote, [B]: poisoned }, []) });
    expect(result.remotes[0]!.entities).toEqual([{ entity: 'factsets', error: { code: 'PDBSYNC_ERR_RESPONSE_MALFORMED', message: expect.stringContaining('March 7, 2024') } }]);
    expect(divergenceExitCode(result)).toBe(2);
  });

  it('reports a tied record that cannot be read as an error of its entity', async () => {
    const result = await measureDivergence(config([A]), log, { now: NOW, entities: [factsets], clientFor: fakeClients({ [A]: remote, [B]: { ...local, gone: ['hashed-otherwise'] } }, []) });
    expect(result.remotes[0]!.entities).toEqual([{ entity: 'factsets', error: { code: 'PDBSYNC_ERR_RECORD_MISSING', message: expect.stringContaining('hashed-otherwise') } }]);
  });

  it('reports a remote summary that fails mid-stream for that entity alone', async () => {
    const flaky = { rows: remote.rows, fail: { reports: new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', 'truncated') } };
    const result = await measureDivergence(config([A]), log, { now: NOW, clientFor: fakeClients({ [A]: flaky, [B]: local }, []) });
    const errors = result.remotes[0]!.entities.filter((entity) => 'error' in entity);
    expect(errors).toEqual([{ entity: 'reports', error: { code: 'PDBSYNC_ERR_RESPONSE_MALFORMED', message: expect.stringContaining('truncated') } }]);
  });
});

describe('divergence: a client that cannot be opened', () => {
  it('is an error for every entity of every remote, not an exception', async () => {
    const clientFor = () => {
      throw new Error("ENOENT: no such file or directory, open '/etc/puppetlabs/puppet/ssl/certs/ca.pem'");
    };
    const result = await measureDivergence(config([A, C]), log, { now: NOW, clientFor });
    for (const remote of result.remotes) {
      expect(remote.entities.map((entity) => entity.entity)).toEqual(ENTITIES.map((entity) => entity.name));
      for (const entity of remote.entities) expect(entity).toMatchObject({ error: { code: null, message: expect.stringContaining('ENOENT') } });
    }
    expect(divergenceExitCode(result)).toBe(2);
  });
});
