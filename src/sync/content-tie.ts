import { createHash } from 'node:crypto';
import type { Entity } from '../entities/entity.ts';
import type { EntityName, SummaryRow } from '../types.ts';
import { contentDigest } from './content-digest.ts';
import { commandOf, fetchRecord, type FetchedRecord, type RecordSource } from './record-fetch.ts';
import { versionSignature } from './sync-state.ts';

/**
 * How a tie ends: two records of one key at the same time whose summary rows differ,
 * for an entity whose summary row is not the whole record. Their content decides, the
 * same way on every sidecar: equal content is in step (the servers only hashed it
 * differently); otherwise the greater digest wins.
 */
export type TieVerdict = 'equal' | 'local-wins' | 'remote-wins';

/** The servers of a tie. */
export interface TieSides {
  readonly remote: RecordSource;
  readonly local: RecordSource;
  readonly maxRecordBytes: number;
}

export interface ResolvedTie<Row extends SummaryRow> {
  readonly verdict: TieVerdict;
  /** The remote record, when it wins and was read to decide (not when the verdict was remembered). */
  readonly remote?: FetchedRecord<Row>;
}

/** Verdicts a TieMemo keeps: every tied record of a large fleet, each under a 44-character key. */
export const TIE_MEMO_LIMIT = 100_000;

/**
 * The verdicts of ties already decided, by entity, remote, key and both rows' versions,
 * so that a reconciliation does not read both records of every tied pair again: between
 * two PuppetDB versions that hash alike content otherwise, that may be every record.
 * Past its limit, the oldest verdict is dropped. Made where passes are wired, one for
 * all the passes of a process.
 */
export class TieMemo {
  private readonly verdicts = new Map<string, TieVerdict>();
  private readonly limit: number;

  constructor(limit = TIE_MEMO_LIMIT) {
    this.limit = limit;
  }

  get size(): number {
    return this.verdicts.size;
  }

  verdict(entity: EntityName, remote: string, remoteRow: SummaryRow, localRow: SummaryRow): TieVerdict | undefined {
    return this.verdicts.get(memoKey(entity, remote, remoteRow, localRow));
  }

  remember(entity: EntityName, remote: string, remoteRow: SummaryRow, localRow: SummaryRow, verdict: TieVerdict): void {
    const key = memoKey(entity, remote, remoteRow, localRow);
    this.verdicts.delete(key);
    this.verdicts.set(key, verdict);
    if (this.verdicts.size > this.limit) this.verdicts.delete(this.verdicts.keys().next().value!);
  }
}

/** A digest of the parts rather than the parts: a catalog's version alone is some 200 characters. */
function memoKey(entity: EntityName, remote: string, remoteRow: SummaryRow, localRow: SummaryRow): string {
  const parts = JSON.stringify([entity, remote, remoteRow.key, versionSignature(remoteRow.version), versionSignature(localRow.version)]);
  return createHash('sha256').update(parts).digest('base64');
}

/**
 * Decides a tie by content: reads the local record and the remote one, converts each
 * to its command and compares the digests of their content (the entity's tieContent).
 * The verdict is remembered in `memo`, and a remembered one read from it.
 */
export async function resolveContentTie<Row extends SummaryRow>(
  entity: Entity<Row>,
  remoteRow: Row,
  localRow: Row,
  sides: TieSides,
  memo?: TieMemo,
): Promise<ResolvedTie<Row>> {
  const known = memo?.verdict(entity.name, sides.remote.url, remoteRow, localRow);
  if (known) return { verdict: known };
  // The local record first, and only its digest kept: one record's objects in memory at a time, but the winner's.
  const localDigest = digestOf(entity, await fetchRecord(entity, localRow, sides.local, sides.maxRecordBytes));
  const remote = await fetchRecord(entity, remoteRow, sides.remote, sides.maxRecordBytes);
  const remoteDigest = digestOf(entity, remote);
  const verdict: TieVerdict = remoteDigest === localDigest ? 'equal' : remoteDigest > localDigest ? 'remote-wins' : 'local-wins';
  memo?.remember(entity.name, sides.remote.url, remoteRow, localRow, verdict);
  return verdict === 'remote-wins' ? { verdict, remote } : { verdict };
}

function digestOf<Row extends SummaryRow>(entity: Entity<Row>, fetched: FetchedRecord<Row>): string {
  // Converted as `newer`, not `tie`: the winner of a tie may be submitted 1 ms later
  // (submittedTimestamp), which is no part of its content.
  const command = commandOf(entity, fetched, 'newer');
  return contentDigest(entity.tieContent?.(command) ?? command.payload);
}
