// A spool killed (SIGKILL) in the middle of its deliveries loses nothing and stores no
// report twice: every command it answered 200 is in its journal on disk, and the
// spool started again on that journal delivers the rest, after looking up what the
// server already holds. The commands are sent as the terminus sends them (gzip, the
// query parameters), to the spool only, so the server gets them from the spool alone.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { factset, uniquePrefix } from './convergence.ts';
import { eventually, freePort, plainReport, query, startCli, type Sidecar } from './pdb.ts';

const server = inject('pdbServers')[1]!;
const prefix = uniquePrefix('spool-kill');
/** Enough that the delivery is still going when the test first sees it has begun: 400 commands, at 2 at a time. */
const NODES = 200;
let spoolUrl: string;
let config: string;
let spool: Sidecar | undefined;

interface Sent {
  readonly command: string;
  readonly version: number;
  readonly payload: { certname: string; producer_timestamp: string; transaction_uuid?: string };
}

/** POSTs a command as the terminus does: query parameters, a gzip body, its uncompressed length. */
async function sendToSpool({ command, version, payload }: Sent): Promise<void> {
  const params = new URLSearchParams({ checksum: '0'.repeat(40), version: String(version), certname: payload.certname, command, 'producer-timestamp': payload.producer_timestamp });
  const json = Buffer.from(JSON.stringify(payload));
  const response = await fetch(`${spoolUrl}/pdb/cmd/v1?${params}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', 'x-uncompressed-length': String(json.length), accept: 'application/json' },
    body: gzipSync(json),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.json()).toEqual({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
}

async function metric(name: string, label?: string): Promise<number> {
  const text = await (await fetch(`${spoolUrl}/metrics`)).text();
  const lines = text.split('\n').filter((line) => line.startsWith(name) && (label === undefined || line.includes(label)));
  return lines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

function startSpool(): Sidecar {
  spool = startCli(['spool', '--config', config]);
  return spool;
}

const sent: Sent[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-kill-'));
  const port = await freePort();
  spoolUrl = `http://127.0.0.1:${port}`;
  config = join(dir, 'spool.conf');
  writeFileSync(config, [
    `spool: { servers: ["${server}"], journal-dir: "${join(dir, 'journal')}", grace: 1s, report-settle: 0s, concurrency: 2 }`,
    `http: { host: "127.0.0.1", port: ${port} }`,
    '',
  ].join('\n'));
  startSpool();
  await eventually(() => fetch(`${spoolUrl}/health`).then((r) => r.ok, () => false), 60_000, 'the spool answers');
  const at = Date.now() - 60_000;
  for (let i = 0; i < NODES; i++) {
    const certname = `${prefix}-${i}.example.net`;
    sent.push({ command: 'store_report', version: 8, payload: plainReport(certname, at, prefix) });
    sent.push({ command: 'replace_facts', version: 5, payload: factset(certname, at, prefix) });
  }
  for (const command of sent) await sendToSpool(command);
});

afterAll(() => {
  spool?.signal('SIGKILL');
});

describe('a spool killed mid-delivery', () => {
  let deliveredBeforeKill: number;

  beforeAll(async () => {
    // Polled closely rather than by `eventually`'s second: the kill must land mid-delivery.
    const deadline = Date.now() + 300_000;
    while ((await metric('pdbsync_spool_settled_total', 'reason="delivered"')) < 10) {
      if (Date.now() > deadline) throw new Error('the spool delivered nothing within 300 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    spool!.signal('SIGKILL');
    await spool!.exited;
    deliveredBeforeKill = (await query(server, ['from', 'reports', ['extract', [['function', 'count']], ['~', 'certname', `^${prefix}-`]]]))[0]!.count as number;
    startSpool();
    await eventually(() => fetch(`${spoolUrl}/health`).then((r) => r.ok, () => false), 60_000, 'the spool answers again');
    await eventually(async () => (await metric('pdbsync_spool_pending_commands')) === 0, 300_000, 'the restarted spool delivers the rest');
    await waitForQueueDrained(server);
  });

  it('was killed with deliveries still to do', () => {
    expect(deliveredBeforeKill).toBeLessThan(NODES);
  });

  it('lost nothing: the server holds every report and factset the spool answered 200', async () => {
    const reports = await query(server, ['from', 'reports', ['extract', ['transaction_uuid'], ['~', 'certname', `^${prefix}-`]]]);
    const factsets = await query(server, ['from', 'factsets', ['extract', ['certname'], ['~', 'certname', `^${prefix}-`]]]);
    const expected = sent.filter((command) => command.command === 'store_report').map((command) => command.payload.transaction_uuid).sort();
    expect(reports.map((row) => row.transaction_uuid).sort()).toEqual(expected);
    expect(factsets).toHaveLength(NODES);
  });

  it('stored no report twice, even those delivered just before the kill', async () => {
    const perUuid = await query(server, ['from', 'reports', ['extract', [['function', 'count'], 'transaction_uuid'], ['~', 'certname', `^${prefix}-`], ['group_by', 'transaction_uuid']]]);
    expect(perUuid.filter((row) => row.count !== 1)).toEqual([]);
  });
});
