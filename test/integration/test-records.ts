// Records the integration tests write, in a module without vitest: scripts use them too.
import { randomUUID } from 'node:crypto';

const iso = (ms: number): string => new Date(ms).toISOString();

/** What differs between reports beyond their node, time and run; random by default, seeded by the randomized run. */
export interface ReportVariety {
  readonly transactionUuid: string;
  readonly catalogUuid: string;
  readonly status: string;
  /** The time/total metric, seconds. */
  readonly totalTime: number;
}

/** A store_report v8 payload with one log line and no events; `run` makes it differ from the node's other reports. */
export function plainReport(certname: string, at: number, run: string, variety: ReportVariety = { transactionUuid: randomUUID(), catalogUuid: randomUUID(), status: 'unchanged', totalTime: 1.5 }) {
  return {
    certname,
    puppet_version: '7.30.0',
    report_format: 12,
    configuration_version: `cv-${run}`,
    start_time: iso(at - 60_000),
    end_time: iso(at - 10_000),
    producer_timestamp: iso(at),
    producer: 'puppet-a.example.net',
    corrective_change: false,
    noop: false,
    noop_pending: false,
    transaction_uuid: variety.transactionUuid,
    catalog_uuid: variety.catalogUuid,
    code_id: null,
    job_id: null,
    cached_catalog_status: 'not_used',
    environment: 'production',
    status: variety.status,
    type: 'agent',
    metrics: [{ category: 'time', name: 'total', value: variety.totalTime }],
    logs: [{ file: null, line: null, level: 'notice', message: `Applied catalog ${run}`, source: 'Puppet', tags: ['notice'], time: iso(at - 20_000) }],
    resources: [],
  };
}
