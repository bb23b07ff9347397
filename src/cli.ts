#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768 node --liftoff-only --max-semi-space-size=8
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from './config/load.ts';
import { SyncError, isInputError } from './errors.ts';
import type { Config, LogLevel } from './config/types.ts';
import { createLogger, type Logger } from './log.ts';
import { syncOnce } from './sync/once.ts';
import { COMMAND_HELP, COMMANDS, HELP, type Command } from './cli-help.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function isCommand(word: string | undefined): word is Command {
  return (COMMANDS as readonly string[]).includes(word ?? '');
}

/** The command line, read; Node's own parser errors become one coded line. */
function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        json: { type: 'boolean' },
        force: { type: 'boolean' },
        server: { type: 'string' },
        since: { type: 'string' },
      },
    });
  } catch (error) {
    const option = /option '([^']+)'/i.exec((error as Error).message)?.[1];
    const command = argv.find(isCommand);
    const help = `see puppetdb-sync ${command ? `${command} ` : ''}--help`;
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new SyncError('PDBSYNC_ERR_USAGE', `unknown option ${option ?? ''} (${help})`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new SyncError('PDBSYNC_ERR_USAGE', `option ${option ?? ''} needs a value (${help})`);
    throw new SyncError('PDBSYNC_ERR_USAGE', `${(error as Error).message.split('\n')[0]} (${help})`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, ...extra] = positionals;
  if (values.help || command === 'help') {
    const topic = command === 'help' ? extra[0] : command;
    process.stdout.write(isCommand(topic) ? COMMAND_HELP[topic] : HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const replay = command === 'spool' && extra.length === 1 && extra[0] === 'replay';
  if (!isCommand(command) || (extra.length > 0 && !replay)) {
    throw new SyncError('PDBSYNC_ERR_USAGE', command ? `unknown command "${[command, ...extra].join(' ')}" (see puppetdb-sync --help)` : 'no command given (see puppetdb-sync --help)');
  }
  if (!values.config) throw new SyncError('PDBSYNC_ERR_USAGE', `--config FILE is required (see puppetdb-sync ${command} --help)`);
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new SyncError('PDBSYNC_ERR_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  if (values.force && command !== 'seed') throw new SyncError('PDBSYNC_ERR_USAGE', `--force is an option of seed only (see puppetdb-sync ${command} --help)`);
  for (const option of ['server', 'since'] as const) {
    if (values[option] !== undefined && !replay) throw new SyncError('PDBSYNC_ERR_USAGE', `--${option} is an option of spool replay only (see puppetdb-sync spool --help)`);
  }
  if (command === 'spool') return spool(values.config, level as LogLevel | undefined, replay ? { server: values.server, since: values.since } : undefined);
  const config = await loadConfig(values.config);
  const logLevel = (level as (typeof LOG_LEVELS)[number] | undefined) ?? config.log.level;
  // run, diff and seed are loaded only when used: fastify and prom-client cost `once` about 8 MB.
  if (command === 'diff') {
    const { measureDivergence } = await import('./sync/divergence.ts');
    const { divergenceExitCode, formatDivergenceJson, formatDivergenceTable } = await import('./sync/divergence-report.ts');
    // Standard output is the table (or JSON); the log goes to standard error.
    const report = await measureDivergence(config, createLogger(logLevel, config.log.format, pino.destination({ fd: 2, sync: true })));
    process.stdout.write(values.json ? formatDivergenceJson(report) : formatDivergenceTable(report));
    return divergenceExitCode(report);
  }
  const log = createLogger(logLevel, config.log.format);
  if (command === 'seed') {
    const { seedLocal } = await import('./seed/seed.ts');
    await seedLocal(config, log, { force: values.force === true });
    return 0;
  }
  if (command === 'run') {
    const { runService } = await import('./service/run.ts');
    await runService(config, log);
    return 0;
  }
  return once(config, log);
}

/** `spool`, or `spool replay` when `replay` is given: the spool's own configuration file. */
async function spool(file: string, level: LogLevel | undefined, replay: { server: string | undefined; since: string | undefined } | undefined): Promise<number> {
  let target: { serverUrl: string; sinceMs: number } | undefined;
  if (replay) {
    if (replay.server === undefined || replay.since === undefined) throw new SyncError('PDBSYNC_ERR_USAGE', 'spool replay needs --server URL and --since TIME (see puppetdb-sync spool --help)');
    const { replayTarget } = await import('./spool/replay-args.ts');
    target = replayTarget(replay.server, replay.since, Date.now());
  }
  const { loadSpoolConfig } = await import('./config/load-spool.ts');
  const config = await loadSpoolConfig(file);
  const log = createLogger(level ?? config.log.level, config.log.format, target ? pino.destination({ fd: 2, sync: true }) : undefined);
  if (target === undefined) {
    const { runSpool } = await import('./spool/spool-run.ts');
    await runSpool(config, log);
    return 0;
  }
  // Standard output is the summary; the log goes to standard error.
  const { replayJournal } = await import('./spool/replay.ts');
  const result = await replayJournal(config, log, target);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.failed === 0 ? 0 : 1;
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
  // Loaded only here: cli-progress and its dependencies would slow every other command's start.
  const { showProgress } = await import('./progress/terminal.ts');
  const { ProgressTracker } = await import('./progress/tracker.ts');
  const progress = new ProgressTracker(config.sync.progressIntervalMs);
  const display = showProgress(progress, log, process.stderr);
  const results = await syncOnce(config, log, { signal: stopping.signal, progress }).finally(() => {
    display.stop();
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
    process.stderr.write(`puppetdb-sync: ${(error as Error).message}\n`);
    process.exitCode = isInputError(error) ? 2 : 1;
  },
);
