import { gunzipSync } from 'node:zlib';
import type { SpoolSettings } from '../config/types.ts';
import { BATCH_SIZE, isUnreadable, type Entity, type QuerySource } from '../entities/entity.ts';
import { SyncError } from '../errors.ts';
import type { Command, SerializedCommand } from '../puppetdb/command.ts';
import type { SummaryRow } from '../types.ts';
import { ENTITIES } from '../wiring.ts';
import { decide, type Decision } from './decide.ts';
import { lookupSettings } from './servers.ts';
import type { JournaledCommand } from './spool-types.ts';

/** A journaled command checked against one server. */
export type Checked =
  | { readonly journaled: JournaledCommand; readonly decision: Exclude<Decision, 'submit'>; readonly entity: Entity; readonly row: SummaryRow }
  | { readonly journaled: JournaledCommand; readonly decision: 'submit'; readonly entity: Entity; readonly row: SummaryRow; readonly submission: SerializedCommand }
  /** Its body cannot be read, or no entity knows the command: nothing can ever check or send it. */
  | { readonly journaled: JournaledCommand; readonly decision: 'unreadable'; readonly error: SyncError };

/** The body as PuppetDB takes it (gzip undone) and the command it is. Throws PDBSYNC_ERR_RECORD_MALFORMED. */
export function readJournaled(journaled: JournaledCommand): { command: Command; body: Buffer } {
  const what = `journaled command ${journaled.id} (${journaled.command} v${journaled.version} for ${journaled.certname})`;
  let body: Buffer;
  let payload: unknown;
  try {
    body = journaled.encoding === 'gzip' ? gunzipSync(journaled.body) : journaled.body;
    payload = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SyncError('PDBSYNC_ERR_RECORD_MALFORMED', `${what}: its body is not ${journaled.encoding === 'gzip' ? 'gzip-compressed ' : ''}JSON`, { cause: error });
  }
  const { command: name, version, certname, producerTimestamp } = journaled;
  return { command: { command: name, version, certname, producerTimestamp, payload }, body };
}

interface Readable {
  readonly journaled: JournaledCommand;
  readonly entity: Entity;
  readonly row: SummaryRow;
  readonly body: Buffer;
}

function classify(journaled: JournaledCommand): Readable | Checked {
  try {
    const { command, body } = readJournaled(journaled);
    for (const entity of ENTITIES) {
      const row = entity.commandRow?.(command);
      if (row) return { journaled, entity, row, body };
    }
    throw new SyncError('PDBSYNC_ERR_RECORD_MALFORMED', `journaled command ${journaled.id}: no entity reads ${journaled.command} v${journaled.version}`);
  } catch (error) {
    if (!(error instanceof SyncError)) throw error;
    return { journaled, decision: 'unreadable', error };
  }
}

/**
 * Checks `commands` against `server`: each entity's commands looked up in batches of
 * BATCH_SIZE with its own `counterparts`, and decided (decide.ts). A failed lookup
 * throws: the server is down or failing, and nothing is decided for it.
 */
export async function checkCommands(commands: readonly JournaledCommand[], server: QuerySource, settings: SpoolSettings, now: number): Promise<Checked[]> {
  const checked: Checked[] = [];
  const byEntity = new Map<Entity, Readable[]>();
  for (const journaled of commands) {
    const item = classify(journaled);
    if ('decision' in item) checked.push(item);
    else if (byEntity.has(item.entity)) byEntity.get(item.entity)!.push(item);
    else byEntity.set(item.entity, [item]);
  }
  const context = { now, firstPass: false, settings: lookupSettings(settings) };
  for (const [entity, items] of byEntity) {
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      const batch = items.slice(start, start + BATCH_SIZE);
      const found = new Map<string, SummaryRow | 'unreadable'>();
      let unreadableWithoutKey = false;
      for await (const counterpart of entity.counterparts(server, batch.map((item) => item.row), context)) {
        if (!isUnreadable(counterpart)) found.set(counterpart.key, found.get(counterpart.key) ?? counterpart);
        else if (counterpart.key !== undefined) found.set(counterpart.key, 'unreadable');
        else unreadableWithoutKey = true;
      }
      for (const { journaled, row, body } of batch) {
        const counterpart = unreadableWithoutKey && !found.has(row.key) ? 'unreadable' : found.get(row.key);
        const rule = { pullWhenMissing: entity.pullWhenMissing, tiesByContent: entity.tiesByContent };
        const decision = decide({ row, counterpart, rule, keptByReportTtl: entity.keptByReportTtl === true, now, reportTtlMs: settings.reportTtlMs, nodePurgeTtlMs: settings.nodePurgeTtlMs });
        if (decision !== 'submit') checked.push({ journaled, decision, entity, row });
        else checked.push({ journaled, decision, entity, row, submission: { command: journaled.command, version: journaled.version, certname: journaled.certname, producerTimestamp: journaled.producerTimestamp, body: [body] } });
      }
    }
  }
  return checked.sort((a, b) => a.journaled.id - b.journaled.id);
}

/**
 * Of several submissions of one record key (a node's factsets of two runs, both
 * missing), only the newest is sent in a round: the older ones are left pending, and
 * the next round finds them held. Sending both would race them into PuppetDB's queue.
 */
export function newestPerKey(checked: readonly Checked[]): { send: Checked[]; later: Checked[] } {
  const newest = new Map<string, Checked>();
  for (const item of checked) {
    if (item.decision !== 'submit') continue;
    const key = `${item.entity.name}\u0000${item.row.key}`;
    const seen = newest.get(key);
    if (seen === undefined || seen.decision !== 'submit' || item.row.version.time >= seen.row.version.time) newest.set(key, item);
  }
  const chosen = new Set(newest.values());
  return { send: checked.filter((item) => item.decision === 'submit' && chosen.has(item)), later: checked.filter((item) => item.decision === 'submit' && !chosen.has(item)) };
}
