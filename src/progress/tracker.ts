import type { EntityName, EntityProgress, EntityProgressView, PassKind, ProgressObserver } from '../types.ts';
import { RateWindow } from './rate.ts';

/**
 * What is to do, from the parts compared so far: the pulls they found, and for the
 * parts not compared yet (the rest of the current one included) their expected remote
 * rows at the share of rows pulled so far. Exact once every part is compared; null
 * before any row is, as there is no share yet.
 */
export function estimateToDo(parts: readonly (number | undefined)[], partsCompared: number, rowsInPart: number, rowsCompared: number, pulls: number): { toDo: number | null; complete: boolean } {
  if (partsCompared >= parts.length && parts.length > 0) return { toDo: pulls, complete: true };
  if (rowsCompared === 0) return { toDo: null, complete: false };
  // A part of unknown size counts as empty: the estimate is then a lower bound.
  const rowsLeft = parts.slice(partsCompared).reduce<number>((total, rows) => total + (rows ?? 0), 0) - rowsInPart;
  return { toDo: pulls + Math.round((Math.max(0, rowsLeft) * pulls) / rowsCompared), complete: false };
}

/** Seconds until `toDo` records are done at `perSecond`: 0 when none is left, null when unknown or nothing moves. */
export function etaSeconds(toDo: number | null, done: number, perSecond: number): number | null {
  if (toDo === null) return null;
  const left = Math.max(0, toDo - done);
  if (left === 0) return 0;
  return perSecond > 0 ? Math.ceil(left / perSecond) : null;
}

/** One entity of a pass while it runs: what the engine tells, counted. */
class EntityTracker implements EntityProgress {
  readonly remote: string;
  readonly entity: EntityName;
  readonly kind: PassKind;
  readonly startedAt: number;
  private readonly now: () => number;
  private readonly end: (tracker: EntityTracker) => void;
  private readonly rate: RateWindow;
  private parts: readonly (number | undefined)[] = [];
  private partsCompared = 0;
  private rowsInPart = 0;
  private rowsCompared = 0;
  private pulls = 0;
  private done = 0;
  private transferred = 0;
  private failed = 0;
  private remoteRows = 0;
  private localRows = 0;

  constructor(remote: string, entity: EntityName, kind: PassKind, now: () => number, end: (tracker: EntityTracker) => void) {
    this.remote = remote;
    this.entity = entity;
    this.kind = kind;
    this.now = now;
    this.end = end;
    this.startedAt = now();
    this.rate = new RateWindow(this.startedAt);
  }

  expectParts(rows: readonly (number | undefined)[]): void {
    this.parts = rows;
  }

  compared(rows: number, pulls: number, partEnd: boolean): void {
    this.rowsCompared += rows;
    this.pulls += pulls;
    this.rowsInPart = partEnd ? 0 : this.rowsInPart + rows;
    if (partEnd) this.partsCompared++;
  }

  rowRead(side: 'remote' | 'local'): void {
    if (side === 'remote') this.remoteRows++;
    else this.localRows++;
  }

  pullEnded(outcome: 'transferred' | 'failed' | 'in-step'): void {
    this.done++;
    if (outcome === 'transferred') this.transferred++;
    else if (outcome === 'failed') this.failed++;
    this.rate.add(this.now(), this.done);
  }

  finished(): void {
    this.end(this);
  }

  view(): EntityProgressView {
    const now = this.now();
    const { toDo, complete } = estimateToDo(this.parts, this.partsCompared, this.rowsInPart, this.rowsCompared, this.pulls);
    const perSecond = this.rate.perSecond(now, this.done);
    return {
      remote: this.remote,
      entity: this.entity,
      kind: this.kind,
      startedAt: this.startedAt,
      elapsedMs: now - this.startedAt,
      done: this.done,
      toDo,
      toDoComplete: complete,
      transferred: this.transferred,
      failed: this.failed,
      parts: this.parts.length,
      partsCompared: this.partsCompared,
      remoteRows: this.remoteRows,
      localRows: this.localRows,
      recordsPerSecond: perSecond,
      etaSeconds: etaSeconds(toDo, this.done, perSecond),
    };
  }
}

/**
 * The entities of every pass in progress, fed by the engine (the ProgressObserver of
 * `run` and `once`), read by the progress lines, /status and the metrics.
 */
export class ProgressTracker implements ProgressObserver {
  /**
   * sync.progress-interval: how long an entity runs before it is long work (logged,
   * and in the metrics), and how often it is logged then. Set again on a reload.
   */
  intervalMs: number;
  private readonly now: () => number;
  private readonly running = new Set<EntityTracker>();

  constructor(intervalMs: number, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  entityStarted(remote: string, entity: EntityName, kind: PassKind): EntityProgress {
    const tracker = new EntityTracker(remote, entity, kind, this.now, (ended) => this.running.delete(ended));
    this.running.add(tracker);
    return tracker;
  }

  /** Every entity in progress, in the order they started. */
  snapshot(): EntityProgressView[] {
    return [...this.running].map((tracker) => tracker.view());
  }

  /** The entities in progress for at least one interval: a pass of seconds never shows. */
  longRunning(): EntityProgressView[] {
    return this.snapshot().filter((view) => view.elapsedMs >= this.intervalMs);
  }
}
