// The command line of the benchmarks that write the fleet of report-history.ts into
// PuppetDB's database: the fleet's size and the PuppetDB version, and a script's own flags.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { isPdbVersion, type PdbVersion } from './pdb-runtime.ts';

export interface FleetArgs {
  readonly version: PdbVersion;
  readonly nodes: number;
  readonly reportsPerDay: number;
  readonly days: number;
  readonly steps: number;
  /** The flag `name`, a positive integer. */
  integer(name: string): number;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

export function parseFleetArgs(own: ParseArgsOptionsConfig): FleetArgs {
  const { values: parsed } = parseArgs({
    options: {
      'pdb-version': { type: 'string', default: '8.8.1' },
      nodes: { type: 'string', default: '10000' },
      'reports-per-day': { type: 'string', default: '40' },
      days: { type: 'string', default: '3' },
      steps: { type: 'string', default: '3' },
      ...own,
    },
  });
  const values = parsed as Record<string, string | boolean | undefined>;
  const version = String(values['pdb-version']);
  if (!isPdbVersion(version)) throw new Error(`--pdb-version: not a version scripts/cluster.ts runs: ${version}`);
  const integer = (name: string) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return { version, nodes: integer('nodes'), reportsPerDay: integer('reports-per-day'), days: integer('days'), steps: integer('steps'), integer, values };
}
