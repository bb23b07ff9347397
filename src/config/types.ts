/** The validated, frozen configuration every other module reads. Made only by load.ts. */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** `pe`: Puppet Enterprise's sync log schema; `ecs`: Elastic Common Schema (docs/operations.md#logs). */
export type LogFormat = 'pe' | 'ecs';

export interface ServerConfig {
  /** Normalised: scheme, lower-case host, explicit port (8080 http, 8081 https by default), no trailing slash. */
  readonly serverUrl: string;
}

export interface RemoteConfig extends ServerConfig {
  /** How long `run` waits between two passes against this remote; PuppetDB duration syntax in the file. */
  readonly intervalMs: number;
}

export interface TlsConfig {
  /** PEM files, named like PuppetDB's own [jetty] ssl-cert / ssl-key / ssl-ca-cert / ssl-crl-path. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly crlFile: string | undefined;
  /** The files' text as read and checked when the configuration loaded (tls-files.ts): connections use this. */
  readonly pem: TlsPem;
}

export interface TlsPem {
  readonly cert: string;
  readonly key: string;
  /** Every CA certificate of the file. */
  readonly ca: string;
  /** One CRL a string (none without ssl-crl-path): Node reads only the first of a string. */
  readonly crls: readonly string[];
}

/** The HTTP API's TLS listener: its certificate, the CA of its clients, and which clients may use it. */
export interface HttpTlsConfig extends TlsConfig {
  readonly allowlistFile: string;
  /** Certnames matched against a client certificate's CN and DNS subjectAltNames. */
  readonly allowlist: readonly string[];
}

export interface SyncSettings {
  readonly remotes: readonly RemoteConfig[];
  /** Nodes deactivated or expired on a remote longer ago than this are never pulled (PuppetDB's node-purge-ttl). */
  readonly nodePurgeTtlMs: number;
  /** Reports older than this are never pulled (PuppetDB's report-ttl). */
  readonly reportTtlMs: number;
  /** The first pass after start pulls only reports newer than this; 0 turns it off. */
  readonly initialReportThresholdMs: number;
  /** Upper bound for connecting, for response headers, and for silence between body chunks, per request. */
  readonly requestTimeoutMs: number;
  /** How many records are transferred at once per entity. */
  readonly concurrency: number;
  /** A record whose response body is larger fails alone (PDBSYNC_ERR_RECORD_TOO_LARGE). */
  readonly maxRecordBytes: number;
  /** An entity running longer is stopped (PDBSYNC_ERR_ENTITY_TIME_LIMIT). */
  readonly entityTimeLimitMs: number;
  /** How often the progress of each entity in progress is logged. */
  readonly progressIntervalMs: number;
  /** `run` spreads waits between passes by up to this many percent either way. */
  readonly jitterPercent: number;
  /** Cap of the exponential backoff after failed passes. */
  readonly backoffMaxMs: number;
  /** Transfers wait while the local command queue is deeper than this; 0: never. */
  readonly queueLimit: number;
  /** `run` reconciles each remote this often (and at start); incremental passes in between. */
  readonly reconcileIntervalMs: number;
  /** Incremental queries on a receive time start this long before the watermark (commands wait in the remote's queue). */
  readonly watermarkOverlapMs: number;
  /** How long after its producer_timestamp a report or catalog input may reach a remote and still be seen by an incremental pass. */
  readonly lateArrivalWindowMs: number;
  /** How often an incremental pass reads what arrived since the last such scan whatever its producer time (relayed records). */
  readonly relayScanIntervalMs: number;
  /** A report goes to a local server with the duplicate-report race once its queue was seen empty this long after the report's producer time. */
  readonly reportSettleMs: number;
}

export interface HttpConfig {
  readonly host: string;
  /** 0: the API is off. */
  readonly port: number;
  /** /health is 200 this long after start, before every remote has succeeded once. */
  readonly startupGraceMs: number;
  /** Absent: plain http. */
  readonly tls: HttpTlsConfig | undefined;
}

export type StateSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** TLS to PostgreSQL, its files read and checked at load. */
export interface StateSsl {
  readonly mode: Exclude<StateSslMode, 'disable'>;
  /** PEM CA certificate(s); absent only under `require`. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** A PostgreSQL database as a connection block names it (`state`, `seed.peer`, PuppetDB's database.ini). */
export interface DatabaseConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** A function, so that no log line or JSON of the configuration holds the password. */
  readonly password: (() => string) | undefined;
  readonly ssl: StateSsl | undefined;
  /** host:port/database, for logs and /status. */
  readonly describe: string;
}

/** The `state` block: the PostgreSQL database of the sync state and of the leader election. */
export interface StateConfig extends DatabaseConnection {
  readonly schema: string;
  readonly leaderElection: boolean;
  readonly historyRetentionMs: number;
}

/** The `seed` block: what `puppetdb-sync seed` copies from, into, and with. */
export interface SeedConfig {
  readonly peer: DatabaseConnection;
  /** From PuppetDB's database.ini (seed.local-database-ini or puppetdb.conf-dir); absent when neither names one. */
  readonly local: DatabaseConnection | undefined;
  readonly puppetdbVersion: string | undefined;
  readonly puppetdbJar: string | undefined;
  readonly pgBinDir: string | undefined;
  /** The dump's folder is made below this one. */
  readonly workDir: string;
  /** pg_dump and pg_restore -j. */
  readonly jobs: number;
  /** Each of the dump and the restore. */
  readonly timeLimitMs: number;
}

export interface Config {
  /** Absolute path of the file this was read from. */
  readonly file: string;
  readonly local: ServerConfig;
  readonly sync: SyncSettings;
  readonly tls: TlsConfig | undefined;
  readonly http: HttpConfig;
  /** Absent: the sync state is kept in memory only. */
  readonly state: StateConfig | undefined;
  /** Absent unless written: only `seed` needs it. */
  readonly seed: SeedConfig | undefined;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
}

/** `puppetdb-sync spool`'s own file (docs/configuration.md#the-spool): the journal on a Puppet Server host. */
export interface SpoolSettings {
  /** The PuppetDB servers the spool delivers to: those of the terminus's server_urls. */
  readonly servers: readonly ServerConfig[];
  /** The journal's folder (its SQLite database and write-ahead log). */
  readonly journalDir: string;
  /** A command is checked against the servers only this long after it was journaled: the terminus's broadcast has been applied by then. */
  readonly graceMs: number;
  /** Bytes the journal may hold; commands delivered everywhere are evicted first (oldest first), then new commands are refused with 503. */
  readonly maxBytes: number;
  /** Commands journaled longer ago than this are removed, pending or not. */
  readonly maxAgeMs: number;
  /** Reports older than this (producer time) are never delivered: the servers' report-ttl. */
  readonly reportTtlMs: number;
  /** Commands older than this (producer time) are never delivered: the servers' node-purge-ttl. */
  readonly nodePurgeTtlMs: number;
  /** Per request to a PuppetDB, as sync.request-timeout. */
  readonly requestTimeoutMs: number;
  /** As sync.report-settle, for servers with the duplicate-report race. */
  readonly reportSettleMs: number;
  /** Commands delivered at once per server. */
  readonly concurrency: number;
  /** A command whose body is larger is refused with 413, as PuppetDB's max-command-size does. */
  readonly maxCommandBytes: number;
}

export interface SpoolConfig {
  /** Absolute path of the file this was read from. */
  readonly file: string;
  readonly spool: SpoolSettings;
  /** The command API, /health and /metrics: loopback http, or https with Puppet's certificates. */
  readonly http: Omit<HttpConfig, 'startupGraceMs'>;
  /** TLS to the PuppetDB servers (Puppet Server's own certificate); absent: plain http. */
  readonly tls: TlsConfig | undefined;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
}
