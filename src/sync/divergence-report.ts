/** What `diff` prints of a divergence report (divergence.ts measures it): the table, the JSON, the exit status. */
import type { EntityName } from '../types.ts';
import type { DivergenceCounts, DivergenceError, DivergenceReport, EntityDivergence } from './divergence.ts';

function isError(entity: EntityDivergence): entity is Extract<EntityDivergence, { error: DivergenceError }> {
  return 'error' in entity;
}

/** Records that differ (missing + older + tied) over the entities that could be measured. */
export function differingRecords(report: DivergenceReport): number {
  let total = 0;
  for (const remote of report.remotes) for (const entity of remote.entities) if (!isError(entity)) total += entity.missing + entity.older + entity.tied;
  return total;
}

/** Entities (of all remotes) whose summaries could not be read. */
export function divergenceErrors(report: DivergenceReport): number {
  return report.remotes.reduce((sum, remote) => sum + remote.entities.filter(isError).length, 0);
}

/** 0: in step; 1: some record differs; 2: something could not be measured (wins over 1). */
export function divergenceExitCode(report: DivergenceReport): 0 | 1 | 2 {
  if (divergenceErrors(report) > 0) return 2;
  return differingRecords(report) > 0 ? 1 : 0;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * An aligned plain-text table (remote, entity, missing, older, tied), the error
 * messages if any, and a final line: in step, how many records differ, or how many
 * entities could not be measured.
 */
export function formatDivergenceTable(report: DivergenceReport): string {
  const header = ['REMOTE', 'ENTITY', 'MISSING', 'OLDER', 'TIED'];
  const rows: string[][] = [];
  const errors: string[] = [];
  for (const remote of report.remotes) {
    for (const entity of remote.entities) {
      if (isError(entity)) {
        rows.push([remote.remote, entity.entity, 'error', entity.error.code ?? 'unexpected error']);
        errors.push(`error: ${remote.remote} ${entity.entity}: ${entity.error.message}`);
      } else {
        rows.push([remote.remote, entity.entity, String(entity.missing), String(entity.older), String(entity.tied)]);
      }
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.filter((row) => row.length === header.length).map((row) => row[column]!.length)));
  const line = (cells: string[]) => {
    if (cells.length < header.length) {
      // An error row: remote and entity aligned, then the code.
      return [cells[0]!.padEnd(widths[0]!), cells[1]!.padEnd(widths[1]!), cells.slice(2).join(' ')].join('  ');
    }
    return cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  };
  const lines = [`local ${report.local}, measured at ${report.measuredAt} in ${report.elapsedMs} ms`, '', line(header), ...rows.map(line), ''];
  lines.push(...errors);
  const differing = differingRecords(report);
  const failed = divergenceErrors(report);
  const totals = sumCounts(report);
  const detail = `${totals.missing} missing, ${totals.older} older, ${totals.tied} tied`;
  if (failed > 0) lines.push(`error: ${plural(failed, 'entity', 'entities')} could not be measured; ${plural(differing, 'record differs', 'records differ')} in the others (${detail})`);
  else if (differing > 0) lines.push(`not in step: ${plural(differing, 'record differs', 'records differ')} (${detail})`);
  else lines.push('in step: no record differs');
  return `${lines.join('\n')}\n`;
}

function sumCounts(report: DivergenceReport): DivergenceCounts {
  const totals = { missing: 0, older: 0, tied: 0 };
  for (const remote of report.remotes) {
    for (const entity of remote.entities) {
      if (isError(entity)) continue;
      totals.missing += entity.missing;
      totals.older += entity.older;
      totals.tied += entity.tied;
    }
  }
  return totals;
}

/** What `diff --json` prints: entities keyed by name, for jq (`.remotes[].entities.reports.missing`). */
export interface DivergenceJson {
  readonly local: string;
  readonly measuredAt: string;
  readonly elapsedMs: number;
  /** True when every entity was measured and no record differs (exit 0). */
  readonly inStep: boolean;
  /** Records that differ over all remotes and entities measured. */
  readonly differing: number;
  /** Entities that could not be measured. */
  readonly errors: number;
  readonly exitCode: 0 | 1 | 2;
  readonly remotes: readonly {
    readonly remote: string;
    readonly differing: number;
    readonly entities: Readonly<Partial<Record<EntityName, DivergenceCounts | { readonly error: DivergenceError }>>>;
  }[];
}

export function divergenceJson(report: DivergenceReport): DivergenceJson {
  const exitCode = divergenceExitCode(report);
  return {
    local: report.local,
    measuredAt: report.measuredAt,
    elapsedMs: report.elapsedMs,
    inStep: exitCode === 0,
    differing: differingRecords(report),
    errors: divergenceErrors(report),
    exitCode,
    remotes: report.remotes.map((remote) => ({
      remote: remote.remote,
      differing: differingRecords({ ...report, remotes: [remote] }),
      entities: Object.fromEntries(
        remote.entities.map((entity) =>
          isError(entity)
            ? [entity.entity, { error: entity.error }]
            : [entity.entity, { missing: entity.missing, older: entity.older, tied: entity.tied }],
        ),
      ),
    })),
  };
}

/** The text `diff --json` prints: divergenceJson, indented, with a final newline. */
export function formatDivergenceJson(report: DivergenceReport): string {
  return `${JSON.stringify(divergenceJson(report), null, 2)}\n`;
}
