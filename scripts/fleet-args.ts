// The command line of the benchmarks that write the fleet of report-history.ts into
// PuppetDB's database: the fleet's size (--size, or its parts) and the PuppetDB version, and a script's own flags.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { isPdbVersion, type PdbVersion } from './pdb-runtime.ts';
import { FLEET_SIZE_ARGS, fleetSize } from './report-history.ts';

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

/** --size chooses the fleet (report-history.ts's FLEET_SIZES); --nodes, --reports-per-day, --days and --steps override its parts. */
export function parseFleetArgs(own: ParseArgsOptionsConfig): FleetArgs {
  const { values: parsed } = parseArgs({ options: { 'pdb-version': { type: 'string', default: '8.8.1' }, ...FLEET_SIZE_ARGS, ...own } });
  const values = parsed as Record<string, string | boolean | undefined>;
  const version = String(values['pdb-version']);
  if (!isPdbVersion(version)) throw new Error(`--pdb-version: not a version scripts/cluster.ts runs: ${version}`);
  const integer = (name: string, fallback?: number) => {
    const n = Number(values[name] ?? fallback);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const size = fleetSize(String(values.size));
  return {
    version,
    nodes: integer('nodes', size.nodes),
    reportsPerDay: integer('reports-per-day', size.reportsPerDay),
    days: integer('days', size.days),
    steps: integer('steps', size.steps),
    integer: (name) => integer(name),
    values,
  };
}
