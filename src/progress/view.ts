import { logEntityName } from '../log.ts';
import type { EntityProgressView } from '../types.ts';

/** An entity in progress in GET /status, under its remote: its start as ISO 8601, the time since in seconds. */
export type EntityProgressStatus = Omit<EntityProgressView, 'remote' | 'startedAt' | 'elapsedMs'> & {
  readonly startedAt: string;
  readonly elapsedSeconds: number;
};

/** A rate as people read it: two decimals at most. */
function rounded(perSecond: number): number {
  return Math.round(perSecond * 100) / 100;
}

export function progressStatus(view: EntityProgressView): EntityProgressStatus {
  const { remote: _remote, startedAt, elapsedMs, recordsPerSecond, ...counts } = view;
  return { ...counts, startedAt: new Date(startedAt).toISOString(), elapsedSeconds: Math.round(elapsedMs / 1000), recordsPerSecond: rounded(recordsPerSecond) };
}

/**
 * The fields of a progress line: PE's entity phase with an event of its own, PE's
 * names where PE has the field (`remote`, `entity`, `transferred`, `failed`,
 * `elapsed` in ms), the sidecar's otherwise.
 */
export function progressLogFields(view: EntityProgressView): Record<string, unknown> {
  const { remote, entity, kind, elapsedMs, startedAt: _startedAt, recordsPerSecond, ...counts } = view;
  return { phase: 'entity', event: 'progress', remote, entity: logEntityName(entity), kind, elapsed: Math.round(elapsedMs), ...counts, recordsPerSecond: rounded(recordsPerSecond) };
}

/** `120 of ~400 records, 10.5/s, ETA 28s`: `~` marks an estimate, `?` what is not known yet. */
export function describeProgress(view: EntityProgressView): string {
  const toDo = view.toDo === null ? '?' : `${view.toDoComplete ? '' : '~'}${view.toDo}`;
  const eta = view.etaSeconds === null ? '?' : formatSeconds(view.etaSeconds);
  return `${view.done} of ${toDo} records, ${rounded(view.recordsPerSecond)}/s, ETA ${eta}`;
}

/** One line of plain text for a log that is not JSON (`once` on standard error, not a terminal). */
export function plainProgressLine(view: EntityProgressView): string {
  const failed = view.failed > 0 ? `, ${view.failed} failed` : '';
  return `progress ${view.remote} ${logEntityName(view.entity)} (${view.kind}): ${describeProgress(view)}${failed}; ${view.partsCompared} of ${view.parts} parts compared, summary rows read ${view.remoteRows} remote, ${view.localRows} local\n`;
}

/** `45s`, `12m05s`, `3h02m`. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
