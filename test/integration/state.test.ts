import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { serverDir, waitForQueueDrained } from '../../scripts/cluster.ts';
import { startPostgres, type StandalonePostgres } from '../../scripts/postgres.ts';
import { lockObject, SCHEMA_VERSION } from '../../src/state/database.ts';
import { eventually, freePort, iso, query, sql, startCli, submit, writeConfig, type Sidecar } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const postgres = inject('pdbPostgres');
const prefix = `st${Date.now().toString(36)}`;

const factset = (name: string) => ({
  certname: `${prefix}-${name}`,
  environment: 'production',
  producer_timestamp: iso(Date.now()),
  producer: 'puppet.example.net',
  values: { role: name },
});

interface Api {
  readonly port: number;
  readonly sidecar: Sidecar;
}

/** A `run` sidecar syncing B into A every second, with its HTTP API and this state block. */
async function startSidecar(state: string, sync = ''): Promise<Api> {
  const port = await freePort();
  const config = writeConfig(serverA, [serverB], `watermark-overlap: 0s\n${sync}`, { interval: '1s', outside: `http: { port: ${port}, startup-grace: 0s }\nstate: {\n${state}\n}` });
  return { port, sidecar: startCli(['run', '--config', config, '--log-level', 'debug']) };
}

async function get(api: Api, path: string): Promise<{ status: number; body: any; text: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${api.port}${path}`);
    const text = await response.text();
    return { status: response.status, text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
  } catch {
    return { status: 0, text: '', body: undefined };
  }
}

const role = async (api: Api): Promise<string | undefined> => (await get(api, '/status')).body?.role;

/** The sync lines of a sidecar: each pass's start, and its end (finished or error); a reconciliation and incremental passes run side by side. */
function passes(sidecar: Sidecar): Array<{ kind: string; start: number; end: number | undefined; remoteRows: number | undefined }> {
  const out: Array<{ kind: string; start: number; end: number | undefined; remoteRows: number | undefined }> = [];
  for (const line of sidecar.logs) {
    if (line.phase !== 'sync') continue;
    const at = Date.parse(String(line['@timestamp']));
    const kind = String(line.kind);
    const open = out.findLast((pass) => pass.kind === kind);
    if (line.sync_event === 'start') out.push({ kind, start: at, end: undefined, remoteRows: undefined });
    else if (open && open.end === undefined) Object.assign(open, { end: at, remoteRows: line.remoteRows as number | undefined });
  }
  return out;
}

const finishedPasses = (sidecar: Sidecar) => passes(sidecar).filter((pass) => pass.end !== undefined);

async function stop(api: Api): Promise<void> {
  api.sidecar.signal('SIGTERM');
  await api.sidecar.exited;
}

describe('two sidecars for one local server, one state database (PuppetDB\'s own)', () => {
  const schema = `sync_${prefix}_lead`;
  const state = () => `subname: "//127.0.0.1:${postgres!.port}/puppetdb1"\nusername: puppetdb1\npassword: pw-puppetdb1\nschema: ${schema}`;
  const apis: Api[] = [];
  let killedAt = 0;

  beforeAll(async () => {
    if (!postgres) throw new Error("PDBSYNC_TEST_PG is not set: this test uses the servers' PostgreSQL");
    apis.push(...(await Promise.all([startSidecar(state()), startSidecar(state())])));
  });

  afterAll(async () => {
    await Promise.all(apis.map((api) => stop(api)));
  });

  it('both come up against an empty schema, created and migrated once', async () => {
    await eventually(async () => (await Promise.all(apis.map(role))).sort().join() === 'leader,standby', 30_000, 'one sidecar leads and the other stands by');
    expect(await sql(postgres!, 0, `SELECT count(*), max(version) FROM ${schema}.migrations`)).toBe(`1\t${SCHEMA_VERSION}`);
    for (const api of apis) expect(api.sidecar.logs.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  });

  it('only the leader syncs; the standby says so in /status, /health and the metrics', async () => {
    const [leader, standby] = (await role(apis[0]!)) === 'leader' ? [apis[0]!, apis[1]!] : [apis[1]!, apis[0]!];
    await eventually(() => finishedPasses(leader.sidecar).length >= 2, 60_000, 'the leader finished two passes');
    expect(passes(standby.sidecar)).toEqual([]);
    const status = (await get(standby, '/status')).body;
    expect(status).toMatchObject({ role: 'standby', leaderPresent: true, stateDatabase: { database: `127.0.0.1:${postgres!.port}/puppetdb1`, available: true } });
    expect(status.remotes[0]).toMatchObject({ remote: serverB, state: 'standby' });
    // The pass history is the database's: the standby shows the leader's passes.
    expect(status.recentPasses.length).toBeGreaterThan(0);
    expect(status.recentPasses[0]).toMatchObject({ remote: serverB, ok: true });
    expect((await get(standby, '/health')).status).toBe(200);
    expect((await get(standby, '/metrics')).text).toMatch(/^pdbsync_leader 0$/m);
    expect((await get(leader, '/metrics')).text).toMatch(/^pdbsync_leader 1$/m);
    expect((await get(leader, '/metrics')).text).toMatch(/^pdbsync_state_database_up 1$/m);
  });

  it('a standby leads within 10 s of the leader being killed with SIGKILL', async () => {
    const index = (await role(apis[0]!)) === 'leader' ? 0 : 1;
    const [leader, standby] = [apis[index]!, apis[1 - index]!];
    leader.sidecar.signal('SIGKILL');
    killedAt = Date.now();
    await leader.sidecar.exited;
    await eventually(async () => (await role(standby)) === 'leader', 15_000, 'the standby leads');
    const tookMs = Date.now() - killedAt;
    console.log(`standby led ${tookMs} ms after the leader was killed`);
    expect(tookMs).toBeLessThan(10_000);
    await eventually(() => finishedPasses(standby.sidecar).length >= 1, 60_000, 'the new leader finished a pass');
  });

  it('a leader whose database session is ended stops at once, then leads again once it has a session', async () => {
    const leader = (await role(apis[0]!)) === 'leader' ? apis[0]! : apis[1]!;
    const terminated = Date.now();
    await sql(postgres!, 0, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = ${lockObject('leader', schema)} AND granted`);
    await eventually(() => leader.sidecar.logs.some((line) => line.message === 'no longer leading: passes stopped'), 5_000, 'the leader stood down');
    const line = leader.sidecar.logs.find((l) => l.message === 'no longer leading: passes stopped')!;
    expect(Date.parse(String(line['@timestamp'])) - terminated).toBeLessThan(1_000);
    expect(line).toMatchObject({ level: 'warn', err: { code: 'PDBSYNC_ERR_LEADERSHIP_LOST' } });
    await eventually(async () => (await role(leader)) === 'leader', 15_000, 'leading again');
  });

  it('never ran two passes of one kind at once: no two reconciliations, nor two incremental passes, of the two sidecars overlap', () => {
    // A pass the kill cut short ended when the process did.
    for (const kind of ['reconcile', 'incremental']) {
      const all = apis
        .flatMap((api) => passes(api.sidecar).filter((pass) => pass.kind === kind).map((pass) => ({ start: pass.start, end: pass.end ?? killedAt })))
        .sort((a, b) => a.start - b.start);
      // One reconciliation at start: a sidecar that takes the lead goes on from the stored one, not yet due again.
      expect(all.length).toBeGreaterThanOrEqual(kind === 'reconcile' ? 1 : 3);
      for (let i = 1; i < all.length; i++) expect(all[i]!.start, `${kind} ${i} starts before ${kind} ${i - 1} ends`).toBeGreaterThanOrEqual(all[i - 1]!.end);
    }
  });
});

describe('a restarted sidecar', () => {
  it('resumes from the stored watermarks: its first pass is incremental and reads only what arrived since', async () => {
    // PuppetDB's own config.ini, as an operator would name it.
    const ini = join(serverDir(join(postgres!.socketDir, '..', '..'), 'pdb1'), 'conf.d', 'config.ini');
    const state = `database-ini: "${ini}"\nschema: sync_${prefix}_resume\nleader-election: false`;
    // History on the remote, which a reconciliation reads and an incremental pass must not.
    for (let i = 0; i < 30; i++) await submit(serverB, 'replace_facts', 5, factset(`history-${i}`));
    await waitForQueueDrained(serverB);
    const first = await startSidecar(state);
    const reconciliation = () => finishedPasses(first.sidecar).find((pass) => pass.kind === 'reconcile');
    await eventually(() => finishedPasses(first.sidecar).some((pass) => pass.kind === 'incremental' && pass.start > (reconciliation()?.end ?? Infinity)), 90_000, 'a reconciliation, then an incremental pass');
    await stop(first);
    const reconciled = reconciliation()!;

    await submit(serverB, 'replace_facts', 5, factset('after-restart'));
    await waitForQueueDrained(serverB);
    const second = await startSidecar(state);
    try {
      await eventually(() => finishedPasses(second.sidecar).length >= 1, 60_000, 'the restarted sidecar finished a pass');
      const resumed = finishedPasses(second.sidecar)[0]!;
      expect(resumed.kind).toBe('incremental');
      console.log(`rows read: ${reconciled.remoteRows} by the first reconciliation, ${resumed.remoteRows} by the first pass after the restart`);
      // Factsets: the reconciliation read every one the remote holds; the pass after the
      // restart, with no overlap, the new one and the newest seen before (at the watermark).
      const factsetRows = (sidecar: Sidecar, kind: string) => sidecar.logs.find((line) => line.phase === 'entity' && line.sync_entity === 'facts' && line.kind === kind && line.sync_event === 'finished')?.remoteRows;
      expect(factsetRows(first.sidecar, 'reconcile')).toBeGreaterThanOrEqual(30);
      expect(factsetRows(second.sidecar, 'incremental')).toBeLessThanOrEqual(2);
      expect(factsetRows(second.sidecar, 'reconcile'), 'no reconciliation before one is due').toBeUndefined();
      expect(resumed.remoteRows).toBeLessThan(reconciled.remoteRows! / 5);
      const pulled = second.sidecar.logs.filter((line) => line.phase === 'record' && line.sync_event === 'finished' && line.certname === `${prefix}-after-restart`);
      expect(pulled).toHaveLength(1);
    } finally {
      await stop(second);
    }
  });
});

describe('the state database goes away and comes back', () => {
  let pg: StandalonePostgres;
  let passwordFile: string;
  const state = (election: boolean) => `subname: "//127.0.0.1:${pg.port}/${pg.database}"\nusername: ${pg.user}\npassword-file: "${passwordFile}"\nleader-election: ${election}`;

  beforeAll(async () => {
    pg = await startPostgres();
    passwordFile = join(tmpdir(), `${prefix}-password`);
    writeFileSync(passwordFile, `${pg.password}\n`);
  });

  afterAll(async () => {
    await pg.remove();
  });

  it('a single sidecar syncs on with its state in memory, shows it, and writes it once the database is back', async () => {
    const api = await startSidecar(state(false));
    try {
      await eventually(async () => (await get(api, '/status')).body?.stateDatabase?.available === true && finishedPasses(api.sidecar).length >= 1, 60_000, 'the state database in use');
      await pg.stop();
      const stoppedAt = new Date();
      await submit(serverB, 'replace_facts', 5, factset('while-down'));
      await eventually(async () => (await query(serverA, ['from', 'factsets', ['=', 'certname', `${prefix}-while-down`]])).length === 1, 30_000, 'a record pulled while the database is down');
      await eventually(async () => (await get(api, '/status')).body?.stateDatabase?.available === false, 15_000, 'the state database shown unavailable');
      const health = await get(api, '/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', role: 'single', stateDatabase: { available: false, error: expect.stringContaining('PDBSYNC_ERR_STATE_DATABASE') } });
      expect((await get(api, '/metrics')).text).toMatch(/^pdbsync_state_database_up 0$/m);

      await pg.start();
      await eventually(async () => (await get(api, '/status')).body?.stateDatabase?.available === true, 30_000, 'the state database in use again, without a restart');
      const written = await pg.sql(`SELECT count(*) FROM puppetdb_sync.entity_state WHERE updated_at > '${stoppedAt.toISOString()}'`);
      expect(Number(written)).toBeGreaterThan(0);
    } finally {
      await stop(api);
    }
  });

  it('a single sidecar syncs on the same way while the database is read-only', async () => {
    const api = await startSidecar(state(false));
    const readOnly = async (on: boolean) => {
      await pg.sql(`ALTER DATABASE ${pg.database} SET default_transaction_read_only = ${on ? 'on' : 'off'}`, 'postgres');
      // The setting applies to new sessions: end the sidecar's.
      await pg.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${pg.database}'`, 'postgres');
    };
    try {
      await eventually(async () => (await get(api, '/status')).body?.stateDatabase?.available === true && finishedPasses(api.sidecar).length >= 1, 60_000, 'the state database in use');
      await readOnly(true);
      await submit(serverB, 'replace_facts', 5, factset('while-read-only'));
      await eventually(async () => (await query(serverA, ['from', 'factsets', ['=', 'certname', `${prefix}-while-read-only`]])).length === 1, 30_000, 'a record pulled while the database is read-only');
      await eventually(async () => (await get(api, '/status')).body?.stateDatabase?.error?.includes('read-only') === true, 15_000, 'the state database shown read-only');
      await readOnly(false);
      await eventually(async () => (await get(api, '/status')).body?.stateDatabase?.available === true, 30_000, 'the state database in use again');
    } finally {
      await stop(api);
    }
  });

  it('a sidecar with leader election does not lead without the database, and leads once it is back', async () => {
    await pg.stop();
    const api = await startSidecar(state(true));
    try {
      await eventually(async () => (await get(api, '/health')).status === 503, 30_000, '/health failing');
      expect((await get(api, '/health')).body).toMatchObject({ role: 'standby', stateDatabase: { available: false } });
      expect((await get(api, '/metrics')).text).toMatch(/^pdbsync_leader 0$/m);
      expect(passes(api.sidecar)).toEqual([]);
      await pg.start();
      await eventually(async () => (await role(api)) === 'leader', 30_000, 'leading once the database is back');
      await eventually(() => finishedPasses(api.sidecar).length >= 1, 60_000, 'a pass');
    } finally {
      await stop(api);
    }
  });
});
