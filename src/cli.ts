#!/usr/bin/env -S node --liftoff-only --max-semi-space-size=8
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from './config/load.ts';
import { SyncError, isInputError } from './errors.ts';
import type { Config } from './config/types.ts';
import { createLogger, type Logger } from './log.ts';
import { syncOnce } from './sync/once.ts';

const HELP = `puppetdb-sync: keeps PuppetDB servers in step by pulling from each remote what the local server lacks

Usage:
  puppetdb-sync once --config FILE    one pass from every configured remote into the local PuppetDB, then exit;
                                      SIGTERM or SIGINT stops it after the records in flight (exit 3)
  puppetdb-sync run --config FILE     keep syncing: each remote on its interval, with the HTTP API (/status,
                                      /health, /sync, /metrics); SIGTERM or SIGINT stops it, SIGHUP reloads FILE
  puppetdb-sync diff --config FILE    count, without transferring, what each remote has that the local server
                                      lacks (missing, older here, tied); exit 0 in step, 1 differing, 2 error
  puppetdb-sync --help                this text
  puppetdb-sync --version             the version

Options:
  -c, --config FILE      HOCON configuration (local.server_url, sync.remotes, ...); see docs/configuration.md
      --log-level LEVEL  overrides log.level: fatal, error, warn, info, debug (record events), trace
      --json             diff: print JSON instead of a table

Logs are JSON lines on standard output (Puppet Enterprise's sync schema).

Exit status:
  0  once: every entity of every remote was synced with no failed record or skipped row; run: stopped by a signal
  1  once: some remote, entity or record failed (see the error log lines); diff: servers differ
  2  the command line or the configuration is invalid (one line on standard error names the key, file and line);
     diff: a summary could not be read
  3  once: stopped by SIGTERM or SIGINT before it was done; the records in flight finished (for at most 30 s),
     the rest are left for the next run
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (values.help || positionals[0] === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (!(command === 'once' || command === 'run' || command === 'diff') || extra.length > 0) {
    throw new SyncError('PDBSYNC_ERR_USAGE', command ? `unknown command "${[command, ...extra].join(' ')}" (see --help)` : 'no command given (see --help)');
  }
  if (!values.config) throw new SyncError('PDBSYNC_ERR_USAGE', '--config FILE is required');
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new SyncError('PDBSYNC_ERR_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const config = await loadConfig(values.config);
  const logLevel = (level as (typeof LOG_LEVELS)[number] | undefined) ?? config.log.level;
  // run and diff are loaded only when used: fastify and prom-client cost `once` about 8 MB.
  if (command === 'diff') {
    const { divergenceExitCode, formatDivergenceJson, formatDivergenceTable, measureDivergence } = await import('./sync/divergence.ts');
    // Standard output is the table (or JSON); the log goes to standard error.
    const report = await measureDivergence(config, createLogger(logLevel, config.log.format, pino.destination({ fd: 2, sync: true })));
    process.stdout.write(values.json ? formatDivergenceJson(report) : formatDivergenceTable(report));
    return divergenceExitCode(report);
  }
  const log = createLogger(logLevel, config.log.format);
  if (command === 'run') {
    const { runService } = await import('./service/run.ts');
    await runService(config, log);
    return 0;
  }
  return once(config, log);
}

/** `once` stopped by SIGTERM or SIGINT before it was done: the records in flight finished, the rest wait for the next run. */
const EXIT_STOPPED = 3;

/** `once`, stopping as `run` does on SIGTERM or SIGINT: no new record, those in flight finish. */
async function once(config: Config, log: Logger): Promise<number> {
  const stopping = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    log.info({ signal }, 'stopping: no new records, waiting for those in flight');
    stopping.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const results = await syncOnce(config, log, { signal: stopping.signal }).finally(() => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  });
  const ok = stoppedBy === undefined && results.every((result) => result.ok);
  // Peak memory of the whole run: what to size a container by.
  log.info({ ok, ...(stoppedBy && { stoppedBy }), maxRssBytes: process.resourceUsage().maxRSS * 1024 }, 'once finished');
  if (stoppedBy) return EXIT_STOPPED;
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const argError = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`puppetdb-sync: ${(error as Error).message}\n`);
    process.exitCode = isInputError(error) || argError ? 2 : 1;
  },
);
