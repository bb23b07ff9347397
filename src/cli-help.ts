/** The CLI's help: the whole of it, and one text per command (`puppetdb-sync COMMAND --help`). */

export const COMMANDS = ['once', 'run', 'diff', 'seed', 'spool'] as const;
export type Command = (typeof COMMANDS)[number];

const EXIT_STATUS = `Exit status:
  0  once: every entity of every remote synced with no failed record or skipped row;
     run: stopped by SIGTERM or SIGINT; diff: in step; seed: the local database was filled
  1  once: some remote, entity or record failed (see the error log lines); run: failed unexpectedly;
     diff: the servers differ
     seed: the local database was not seeded (a check refused, or the copy failed: see the error)
  2  the command line or the configuration is invalid, or the HTTP API cannot listen where
     http.host and http.port say (one line on standard error names the key, and for the
     configuration the file and line); diff: a summary could not be read
  3  once: stopped by SIGTERM or SIGINT before it was done; the records in flight finished
     (for at most 30 s), the rest are left for the next run
`;

const OPTIONS = `  -c, --config FILE      the configuration: HOCON, or PuppetDB's ini form when FILE ends in .ini
                         (PE's [sync] server_urls, intervals); see docs/configuration.md
      --log-level LEVEL  overrides log.level: fatal, error, warn, info, debug (record events), trace
  -h, --help             this text`;

export const COMMAND_HELP: Readonly<Record<Command, string>> = {
  once: `Usage: puppetdb-sync once --config FILE [--log-level LEVEL]

One exact reconciliation from every configured remote into the local PuppetDB, then exit.
Logs are JSON lines on standard output. SIGTERM or SIGINT stops it after the records in
flight (exit 3). It does not use the state database.

Options:
${OPTIONS}

${EXIT_STATUS}`,
  run: `Usage: puppetdb-sync run --config FILE [--log-level LEVEL]

Keep syncing: each remote on its interval (a reconciliation at start and every
sync.reconcile-interval, incremental passes in between), with the HTTP API on
http.host:http.port (/status, /health, POST /sync, /metrics). With a state block, the
state is kept in PostgreSQL and one sidecar of a PuppetDB database leads. SIGHUP
reloads FILE; SIGTERM or SIGINT stops it after the records in flight (exit 0).

Options:
${OPTIONS}

${EXIT_STATUS}`,
  diff: `Usage: puppetdb-sync diff --config FILE [--json] [--log-level LEVEL]

Count, without transferring, what each remote has that the local server lacks:
missing, older here, tied. The table (or JSON) goes to standard output, the log to
standard error. Exit 0 in step, 1 differing, 2 when a summary could not be read.

Options:
${OPTIONS}
      --json             print JSON instead of a table
`,
  seed: `Usage: puppetdb-sync seed --config FILE [--force] [--log-level LEVEL]

Fill the local PuppetDB's empty database from a peer PuppetDB's PostgreSQL database
(seed.peer) with pg_dump and pg_restore: directory format, seed.jobs at once, one
consistent snapshot of the peer. Run it with the local PuppetDB stopped, then start
PuppetDB and the sidecar: the first pass moves only what the peer received since.
It refuses a running local PuppetDB, a database that is not empty, a peer schema newer
than the local PuppetDB runs, and pg_dump or pg_restore older than a server
(docs/seeding.md).

Options:
${OPTIONS}
      --force            drop what the local database holds first, instead of refusing

${EXIT_STATUS}`,
  spool: `Usage: puppetdb-sync spool --config FILE [--log-level LEVEL]
       puppetdb-sync spool replay --config FILE --server URL --since TIME [--log-level LEVEL]

spool: on a Puppet Server host, answer PuppetDB's command API (POST /pdb/cmd/v1) on
http.host:http.port for the terminus, journal every command PuppetDB would apply,
synced to disk before the 200, and deliver it, spool.grace later, to each server of
spool.servers that lacks it. Also /health and /metrics. FILE is the spool's own file
(spool, http, tls, log blocks: docs/configuration.md#the-spool). SIGHUP reads its TLS
files again; SIGTERM or SIGINT stops taking commands, answers those in flight and
closes the journal (exit 0).

spool replay: check every command journaled since TIME against the server URL (one
restored from an older backup; it need not be in spool.servers) and submit what it
lacks. Prints a JSON summary {checked, submitted, held, expired, failed}. Run it
beside the running spool or with it stopped.

Options:
${OPTIONS}
      --server URL       replay: the PuppetDB server to bring up to date
      --since TIME       replay: ISO 8601 (2026-12-01T00:00:00Z), or a duration back from now (2h, 3d)

Exit status:
  0  spool: stopped by SIGTERM or SIGINT; replay: no command failed
  1  spool: failed (the journal cannot be opened: see the error); replay: some command
     could not be checked or submitted (run it again)
  2  the command line or the configuration is invalid, or the spool cannot listen where
     http.host and http.port say
`,
};

export const HELP = `puppetdb-sync: keeps PuppetDB servers in step by pulling from each remote what the local server lacks

Usage:
  puppetdb-sync once --config FILE    one exact reconciliation from every remote, then exit
  puppetdb-sync run --config FILE     keep syncing, with the HTTP API; SIGHUP reloads FILE
  puppetdb-sync diff --config FILE    count what differs, without transferring
  puppetdb-sync seed --config FILE    fill the stopped local PuppetDB's empty database from a peer's
  puppetdb-sync spool --config FILE   on a Puppet Server: journal the terminus's commands, deliver what a server lacks
  puppetdb-sync spool replay --config FILE --server URL --since TIME
                                      submit what the journal holds since TIME and the server lacks
  puppetdb-sync COMMAND --help        help on one command
  puppetdb-sync --version             the version

Options:
${OPTIONS}
      --json             diff: print JSON instead of a table
      --force            seed: drop what the local database holds first
      --server URL       spool replay: the server to bring up to date
      --since TIME       spool replay: ISO 8601, or a duration back from now (2h)
      --version          the version

Logs are JSON lines on standard output (Puppet Enterprise's sync schema, or ECS with log.format).

${EXIT_STATUS}`;
