import { pullReason, type PrecedenceRule } from '../sync/precedence.ts';
import type { SummaryRow } from '../types.ts';

/**
 * What the delivery does with a due command for one server:
 * - `submit`: the server lacks the record, or holds an older one;
 * - `held`: the server holds it or something newer (settled);
 * - `expired`: past the servers' report-ttl or node-purge-ttl (settled, never sent);
 * - `unknown`: the server's row could not be read: asked again next round.
 */
export type Decision = 'submit' | 'held' | 'expired' | 'unknown';

export interface DecisionInput {
  /** The command's row (Entity.commandRow). */
  readonly row: SummaryRow;
  /** The server's row of the same key: absent when it holds none, `unreadable` when its row could not be read. */
  readonly counterpart: SummaryRow | 'unreadable' | undefined;
  readonly rule: PrecedenceRule;
  /** The entity's records are dropped by PuppetDB after report-ttl (Entity.keptByReportTtl). */
  readonly keptByReportTtl: boolean;
  readonly now: number;
  readonly reportTtlMs: number;
  readonly nodePurgeTtlMs: number;
}

/**
 * The spool's rule (docs/architecture.md#the-spool): the command's row is compared as
 * a remote row against the server's as the local one, as the sidecar's diff does.
 * Expiry comes first, whatever the server holds: PuppetDB has dropped (or would drop)
 * what the command names, and nothing expired comes back. A tie of an entity whose
 * ties go by content means the server holds another record of the same producer
 * time (the same Puppet run, as the terminus broadcast it): held, as the sidecars
 * decide such ties between servers by content the spool cannot see. Otherwise a tie
 * goes by the rows' tie-break: a deactivation beats data of its own time.
 */
export function decide(input: DecisionInput): Decision {
  const { row, counterpart, rule, now } = input;
  if (row.version.time < now - input.nodePurgeTtlMs) return 'expired';
  if (input.keptByReportTtl && row.version.time < now - input.reportTtlMs) return 'expired';
  if (counterpart === 'unreadable') return 'unknown';
  const reason = pullReason(row.version, counterpart?.version, rule);
  if (reason === undefined) return 'held';
  if (reason === 'tie' && rule.tiesByContent) return 'held';
  return 'submit';
}
