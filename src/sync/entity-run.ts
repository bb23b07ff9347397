import PQueue from 'p-queue';
import { isUnreadable, type Entity, type SummaryContext } from '../entities/entity.ts';
import { logEntityName, type Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import type { EntityProgress, PassObserver, SummaryRow, UnreadableRow } from '../types.ts';
import type { LocalQueueGate } from './backpressure.ts';
import type { TieMemo } from './content-tie.ts';
import type { PullAction } from './diff.ts';
import { transferRecord, type TransferContext, type TransferOutcome } from './transfer.ts';

export interface EntityRunOptions {
  readonly remote: PuppetDbClient;
  readonly local: PuppetDbClient;
  readonly log: Logger;
  readonly summary: SummaryContext;
  readonly excludedCertnames: ReadonlySet<string>;
  readonly gate: LocalQueueGate;
  /** The sidecar stopping, or the entity time limit. */
  readonly signal: AbortSignal;
  /** Rest between the parts of a reconciliation (`run`), instead of reading them back to back (`once`). */
  readonly spread: boolean;
  /** The verdicts of content ties already decided, kept across passes. */
  readonly tieMemo: TieMemo;
  readonly observer?: PassObserver;
  readonly progress?: EntityProgress;
}

/**
 * One entity's transfers in one pass, whichever way it is compared: records in
 * flight bounded by sync.concurrency, held back while the local queue is deep, and
 * counted, with the rows read on either side, those skipped as unreadable and the
 * rows whose transfer failed.
 */
export class EntityRun<Row extends SummaryRow> {
  readonly entity: Entity<Row>;
  readonly options: EntityRunOptions;
  transferred = 0;
  failed = 0;
  skipped = 0;
  remoteRows = 0;
  localRows = 0;
  readonly failedRows = new Map<string, Row>();
  private readonly queue: PQueue;
  private readonly transfer: TransferContext;

  constructor(entity: Entity<Row>, options: EntityRunOptions) {
    this.entity = entity;
    this.options = options;
    const { settings } = options.summary;
    this.queue = new PQueue({ concurrency: settings.concurrency });
    this.transfer = {
      remote: options.remote,
      local: options.local,
      log: options.log,
      commandWaitSeconds: commandWaitSeconds(settings.requestTimeoutMs),
      maxRecordBytes: settings.maxRecordBytes,
      tieMemo: options.tieMemo,
      signal: options.signal,
      ...(options.observer && { observer: options.observer }),
    };
  }

  get stopped(): boolean {
    return this.options.signal.aborted;
  }

  /**
   * The rows of `rows` as they are read, counted as read from `side`; one that could
   * not be read is logged (one line, with its code) and counted as skipped, and passed
   * on, so that the diff leaves its key alone.
   */
  async *counted<T extends object>(rows: AsyncIterable<T>, side: 'remote' | 'local'): AsyncGenerator<T> {
    for await (const row of rows) {
      if (side === 'remote') this.remoteRows++;
      else this.localRows++;
      this.options.progress?.rowRead(side);
      if (isUnreadable(row)) this.skip(row, side);
      yield row;
    }
  }

  private skip(row: UnreadableRow, side: 'remote' | 'local'): void {
    this.skipped++;
    const { key, certname } = row;
    const identity = { ...(certname !== undefined && { certname }), ...(key !== undefined && key !== certname && { key }) };
    this.options.log.warn(
      { remote: this.options.remote.url, entity: logEntityName(this.entity.name), side, ...identity, err: row.unreadable },
      `${side} summary row skipped: ${row.unreadable.message}`,
    );
  }

  /**
   * Queues one record's transfer once fewer than sync.concurrency are in flight and
   * the local queue allows: the summaries are read no faster than records move.
   * False when the entity is stopped; `done` is told how the transfer ended.
   */
  async pull(action: PullAction<Row>, done?: (outcome: TransferOutcome) => void): Promise<boolean> {
    const { signal } = this.options;
    await this.queue.onSizeLessThan(this.options.summary.settings.concurrency);
    await this.options.gate.wait(signal);
    if (signal.aborted) return false;
    void this.queue.add(async () => {
      // Queued before the stop but not started: left for the next pass.
      if (signal.aborted) return;
      const outcome = await transferRecord(this.entity, action, this.transfer);
      if (outcome === 'transferred') this.transferred++;
      else if (outcome === 'failed') {
        this.failed++;
        this.failedRows.set(action.row.key, action.row);
      }
      this.options.progress?.pullEnded(outcome);
      done?.(outcome);
    });
    return true;
  }

  /** Resolves once every record queued has finished. */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }
}

/** PuppetDB must answer a blocking submission before the request itself times out. */
export function commandWaitSeconds(requestTimeoutMs: number): number {
  return Math.max(1, Math.floor((requestTimeoutMs * 0.8) / 1000));
}
