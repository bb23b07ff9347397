import { describe, expect, it } from 'vitest';
import { catalogInputs } from '../../../src/entities/catalog-inputs.ts';
import { catalogs } from '../../../src/entities/catalogs.ts';
import type { Entity } from '../../../src/entities/entity.ts';
import { factExpiration } from '../../../src/entities/fact-expiration.ts';
import { factsets } from '../../../src/entities/factsets.ts';
import { nodes } from '../../../src/entities/nodes.ts';
import { parseReportSummary, reports } from '../../../src/entities/reports.ts';
import type { Command } from '../../../src/puppetdb/command.ts';
import { readFileSync } from 'node:fs';

const fixture = (entity: string): { certname: string; producer_timestamp: string } & Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../fixtures/${entity}/command-payload.json`, import.meta.url), 'utf8')) as never;

const AT = '2026-05-01T10:00:00.000Z';
const MS = Date.parse(AT);
const ENTITIES: readonly Entity[] = [factsets, catalogs, catalogInputs, factExpiration, reports, nodes] as readonly Entity[];

const cmd = (command: string, version: number, payload: unknown, producerTimestamp = AT): Command => ({ command, version, certname: 'web1.example.net', producerTimestamp, payload });

// Payloads as the terminus (puppet-terminus-puppetdb 7.x) sends them, cut to what a row reads plus a little.
const cases: { name: string; entity: Entity; command: Command; row: Record<string, unknown> }[] = [
  {
    name: 'replace_facts v5',
    entity: factsets as Entity,
    command: cmd('replace_facts', 5, { certname: 'web1.example.net', environment: 'production', producer_timestamp: AT, producer: 'puppet.example.net', values: { a: 1 }, package_inventory: [] }),
    row: { key: 'web1.example.net', certname: 'web1.example.net', hash: '', producerTimestamp: AT, version: { time: MS, tieBreak: ['', 'puppet.example.net'] } },
  },
  {
    name: 'replace_facts v4 (no producer)',
    entity: factsets as Entity,
    command: cmd('replace_facts', 4, { certname: 'web1.example.net', environment: 'production', producer_timestamp: AT, values: {} }),
    row: { key: 'web1.example.net', version: { time: MS, tieBreak: ['', ''] } },
  },
  {
    name: 'replace_catalog v9',
    entity: catalogs as Entity,
    command: cmd('replace_catalog', 9, {
      certname: 'web1.example.net', version: '1714557600', environment: 'production', transaction_uuid: 't-1', catalog_uuid: 'c-1', code_id: null, job_id: null, producer: 'puppet.example.net', producer_timestamp: AT, resources: [], edges: [],
    }),
    row: { key: 'web1.example.net', hash: '', version: { time: MS, tieBreak: ['', 'c-1', 't-1', '1714557600', '', '', 'production', 'puppet.example.net'] } },
  },
  {
    name: 'replace_catalog v6 (no catalog_uuid, code_id, job_id, producer)',
    entity: catalogs as Entity,
    command: cmd('replace_catalog', 6, { certname: 'web1.example.net', version: '42', environment: 'production', transaction_uuid: 't-1', producer_timestamp: AT, resources: [], edges: [] }),
    row: { version: { time: MS, tieBreak: ['', '', 't-1', '42', '', '', 'production', ''] } },
  },
  {
    name: 'replace_catalog_inputs v1',
    entity: catalogInputs as Entity,
    command: cmd('replace_catalog_inputs', 1, { certname: 'web1.example.net', producer_timestamp: AT, catalog_uuid: 'c-1', inputs: [['hiera', 'a']] }),
    row: { key: 'web1.example.net', certname: 'web1.example.net', version: { time: MS, tieBreak: ['c-1'] } },
  },
  {
    name: 'configure_expiration v1',
    entity: factExpiration as Entity,
    command: cmd('configure_expiration', 1, { certname: 'web1.example.net', producer_timestamp: AT, expire: { facts: false } }),
    row: { key: 'web1.example.net', expiresFacts: false, updated: AT, version: { time: MS, tieBreak: ['false'] } },
  },
  {
    name: 'store_report v8',
    entity: reports as Entity,
    command: cmd('store_report', 8, { certname: 'web1.example.net', transaction_uuid: 'tx-1', producer_timestamp: AT, puppet_version: '7.23.0', report_format: 12, start_time: AT, end_time: AT, resources: [], logs: [], metrics: [] }),
    row: { certname: 'web1.example.net', transactionUuid: 'tx-1', version: { time: MS, tieBreak: [''], identity: 'tx-1' } },
  },
  {
    name: 'store_report v5',
    entity: reports as Entity,
    command: cmd('store_report', 5, { certname: 'web1.example.net', transaction_uuid: 'tx-5', producer_timestamp: AT }),
    row: { transactionUuid: 'tx-5', version: { time: MS, tieBreak: [''], identity: 'tx-5' } },
  },
  {
    name: 'store_report without transaction_uuid',
    entity: reports as Entity,
    command: cmd('store_report', 8, { certname: 'web1.example.net', producer_timestamp: AT }),
    row: { transactionUuid: null, version: { time: MS, tieBreak: [''] } },
  },
  {
    name: 'deactivate_node v3',
    entity: nodes as Entity,
    command: cmd('deactivate_node', 3, { certname: 'web1.example.net', producer_timestamp: AT }),
    row: { key: 'web1.example.net', deactivated: AT, version: { time: MS, tieBreak: ['deactivated'] } },
  },
  {
    name: 'a payload without producer_timestamp takes the request\'s',
    entity: nodes as Entity,
    command: cmd('deactivate_node', 3, { certname: 'web1.example.net' }, '2026-05-01T09:00:00.000Z'),
    row: { deactivated: '2026-05-01T09:00:00.000Z', version: { time: MS - 3_600_000, tieBreak: ['deactivated'] } },
  },
];

describe('Entity.commandRow', () => {
  it.each(cases)('$name: the row of the record it writes, and no other entity claims it', ({ entity, command, row }) => {
    expect(entity.commandRow!(command)).toMatchObject(row);
    for (const other of ENTITIES.filter((candidate) => candidate !== entity)) expect(other.commandRow!(command), other.name).toBeUndefined();
  });

  it.each([
    ['factsets', factsets as Entity, 'replace_facts', 5],
    ['catalogs', catalogs as Entity, 'replace_catalog', 9],
    ['reports', reports as Entity, 'store_report', 8],
  ] as const)('reads the %s fixture (a command as PuppetDB takes it)', (name, entity, command, version) => {
    const payload = fixture(name);
    const row = entity.commandRow!({ command, version, certname: payload.certname, producerTimestamp: payload.producer_timestamp, payload });
    expect(row).toMatchObject({ certname: payload.certname, version: { time: Date.parse(payload.producer_timestamp) } });
  });

  it('gives a report the key a server lists it under, whatever hash the server has', () => {
    const row = reports.commandRow!(cases.find((c) => c.name === 'store_report v8')!.command)!;
    const listed = parseReportSummary({ hash: 'abc123', certname: 'web1.example.net', producer_timestamp: AT, transaction_uuid: 'tx-1' });
    expect(row.key).toBe(listed.key);
  });

  it.each([
    ['a version it does not know', cmd('replace_facts', 3, { certname: 'a', producer_timestamp: AT }), undefined],
    ['another command', cmd('replace_facts_please', 5, {}), undefined],
  ])('gives nothing for %s', (_name, command, expected) => {
    for (const entity of ENTITIES) expect(entity.commandRow!(command)).toBe(expected);
  });

  it.each([
    ['a payload that is not an object', factsets as Entity, cmd('replace_facts', 5, [1, 2])],
    ['a producer_timestamp that is not a time', catalogs as Entity, cmd('replace_catalog', 9, { certname: 'a', producer_timestamp: 'yesterday' })],
    ['a certname that is not a string', reports as Entity, cmd('store_report', 8, { certname: 7, producer_timestamp: AT })],
    ['expire.facts missing', factExpiration as Entity, cmd('configure_expiration', 1, { certname: 'a', producer_timestamp: AT, expire: {} })],
    ['expire not an object', factExpiration as Entity, cmd('configure_expiration', 1, { certname: 'a', producer_timestamp: AT, expire: true })],
  ])('refuses %s with PDBSYNC_ERR_RECORD_MALFORMED', (_name, entity, command) => {
    expect(() => entity.commandRow!(command)).toThrow(expect.objectContaining({ code: 'PDBSYNC_ERR_RECORD_MALFORMED' }));
  });
});
