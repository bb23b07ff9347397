/**
 * What differs between PuppetDB versions, in one table: each rule names the versions
 * it holds for and why. The client learns its server's version once
 * (/pdb/meta/v1/version) and applies the table; entities never test a version.
 * docs/versions.md describes every rule; a test keeps the two in step.
 */
import type { QuerySpec } from './client.ts';

/** [major, minor, patch]. */
type Release = readonly [number, number, number];

/** Server behaviours a sidecar must adapt to, each true where the server has it. */
export interface ServerTraits {
  /**
   * A nodes query whose extracted fields are only facts-expiration ones loses its join
   * to `certnames` and answers HTTP 500 "missing FROM-clause entry for table
   * certnames" (PuppetDB 8.5.0 dropped joins it thinks unused; unfixed in OpenVoxDB).
   */
  readonly nodesExpirationLosesCertnames: boolean;
  /**
   * Two identical store_report commands processed at the same time can leave two
   * "latest" rows, after which every later report of that node fails (PuppetDB
   * 8.7.0-8.8.1 and OpenVoxDB before 8.12.0; OpenVoxProject/openvoxdb#16).
   */
  readonly duplicateReportRace: boolean;
}

export type Trait = keyof ServerTraits;

interface Rule {
  readonly trait: Trait;
  /** The first release with the behaviour. */
  readonly from: Release;
  /** The first release without it again; absent: every later one has it. */
  readonly until?: Release;
}

/** The table. A server whose version is unknown gets every trait: each adaptation is safe on any version. */
export const VERSION_RULES: readonly Rule[] = [
  { trait: 'nodesExpirationLosesCertnames', from: [8, 5, 0] },
  { trait: 'duplicateReportRace', from: [8, 7, 0], until: [8, 12, 0] },
];

/** What a server said its version is. */
export interface ServerVersion {
  /** The text of /pdb/meta/v1/version; null when the server gave none it could parse (OpenVoxDB 8.12.0 answers ""). */
  readonly version: string | null;
  readonly traits: ServerTraits;
}

/** "8.8.1", "8.12.1-SNAPSHOT" -> [8, 8, 1] / [8, 12, 1]; undefined when it is not such a version. */
export function parseRelease(text: string): Release | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compareReleases(a: Release, b: Release): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** The traits of a server of version `text` (null or unparseable: unknown, every trait). */
export function serverVersion(text: string | null): ServerVersion {
  const release = text === null ? undefined : parseRelease(text);
  const holds = (rule: Rule) => release === undefined || (compareReleases(release, rule.from) >= 0 && (rule.until === undefined || compareReleases(release, rule.until) < 0));
  const traits = Object.fromEntries(VERSION_RULES.map((rule) => [rule.trait, holds(rule)])) as unknown as ServerTraits;
  return { version: release === undefined ? null : text!.trim(), traits };
}

/** Fields of the nodes endpoint that keep its join to certnames (any of them). */
const CERTNAMES_JOINED = ['report_timestamp', 'latest_report_hash', 'latest_report_status', 'cached_catalog_status'];

/** Whether `adaptQuery` may change `spec`: only then must the server's version be known before asking it. */
export function needsTraits(spec: QuerySpec): boolean {
  return spec.options?.include_facts_expiration === true;
}

/**
 * The query as this server must be asked it. A nodes query for facts-expiration
 * fields also extracts report_timestamp where the server would drop its join to
 * certnames: one indexed join, and the extra field is ignored by the readers.
 */
export function adaptQuery(spec: QuerySpec, traits: ServerTraits): QuerySpec {
  if (!traits.nodesExpirationLosesCertnames || !needsTraits(spec)) return spec;
  const query = spec.query;
  if (!Array.isArray(query) || query[0] !== 'from' || query[1] !== 'nodes') return spec;
  const body = query[2];
  if (!Array.isArray(body) || body[0] !== 'extract' || !Array.isArray(body[1])) return spec;
  const fields = body[1] as readonly unknown[];
  // Aggregates (max, count) are left alone: PuppetDB prunes joins only for plain extracts.
  if (fields.some((field) => typeof field !== 'string') || fields.some((field) => CERTNAMES_JOINED.includes(field as string))) return spec;
  return { ...spec, query: ['from', 'nodes', ['extract', [...fields, 'report_timestamp'], ...body.slice(2)]] };
}

/**
 * The newest database schema (the greatest `schema_migrations.version`) of PuppetDB
 * releases, read in each release's jar (puppetlabs/puppetdb/scf/migrate.clj). A
 * release starts on a database of an older schema (it migrates it at start) and
 * refuses one of a newer schema. `puppetdb-sync seed` checks the peer's against it.
 */
export const SCHEMA_OF_RELEASE: ReadonlyArray<{ readonly release: Release; readonly schema: number }> = [
  { release: [7, 12, 1], schema: 80 },
  { release: [8, 4, 1], schema: 84 },
  { release: [8, 8, 1], schema: 88 },
];

/** What a PuppetDB release is known to run: `schema` exactly when the table names the release, at least it when a later one. */
export interface SchemaSupport {
  readonly schema: number;
  readonly exact: boolean;
  /** The table's release the answer comes from. */
  readonly known: string;
}

/**
 * The newest schema PuppetDB `version` runs, from the greatest release of the table at
 * or before it (releases add migrations, never remove one); undefined for a version
 * older than the table or not a version.
 */
export function schemaSupport(version: string): SchemaSupport | undefined {
  const release = parseRelease(version);
  if (release === undefined) return undefined;
  const entry = SCHEMA_OF_RELEASE.findLast((row) => compareReleases(row.release, release) <= 0);
  if (entry === undefined) return undefined;
  return { schema: entry.schema, exact: compareReleases(entry.release, release) === 0, known: entry.release.join('.') };
}
