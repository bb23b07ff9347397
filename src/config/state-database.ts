/**
 * The `state` block read into a connection: from PuppetDB's database.ini, a PuppetDB
 * subname or a libpq URL, with the explicit keys over them, and the password and TLS
 * files read and checked. Every failure names the key, the file and the line (of the
 * sidecar's configuration; a database.ini's own line as well). The password is never
 * put in a message.
 */

import type { Path } from './hocon.ts';
import { parseIni } from './ini.ts';
import type { DatabaseConnection, StateConfig, StateSsl, StateSslMode } from './types.ts';
import { readCertificates, readKey, readText, type FailTls } from './tls-files.ts';
import { show, type Tree } from './validate.ts';

interface Connection {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  sslMode?: StateSslMode;
  sslRootCert?: string;
  sslCert?: string;
  sslKey?: string;
}

const SSL_MODES: readonly StateSslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

/** What a connection string's query parameters say, libpq's and PgJDBC's names alike. */
function fromParameters(parameters: URLSearchParams, problem: (what: string) => never): Connection {
  const out: Connection = {};
  const mode = parameters.get('sslmode');
  if (mode !== null) {
    if (!SSL_MODES.includes(mode as StateSslMode)) problem(`sslmode=${show(mode)} is not one of ${SSL_MODES.join(', ')}`);
    out.sslMode = mode as StateSslMode;
  } else if (parameters.get('ssl') === 'true') {
    // PgJDBC's ssl=true alone verifies the server fully.
    out.sslMode = 'verify-full';
  }
  const file = (name: string) => parameters.get(name) ?? undefined;
  return { ...out, ...definedOnly({ sslRootCert: file('sslrootcert'), sslCert: file('sslcert'), sslKey: file('sslkey') }) };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** PuppetDB's subname, `//host:port/database?parameters` (its JDBC URL without `jdbc:postgresql:`). */
export function parseSubname(subname: string, problem: (what: string) => never): Connection {
  const match = /^\/\/(\[[^\]]+\]|[^/:?]+)(?::(\d+))?\/([^?]+)(?:\?(.*))?$/.exec(subname);
  if (!match) return problem(`${show(subname)} is not a subname like "//localhost:5432/puppetdb"`);
  const [, host, port, database, query] = match;
  return { host: host!.replace(/^\[(.*)\]$/, '$1'), ...(port !== undefined && { port: Number(port) }), database: decodeURIComponent(database!), ...fromParameters(new URLSearchParams(query ?? ''), problem) };
}

/** A libpq URL, `postgresql://user:password@host:port/database?parameters`. */
export function parseDatabaseUrl(text: string, problem: (what: string) => never): Connection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not echoed: it may hold a password.
    return problem('is not a URL like "postgresql://puppetdb@localhost:5432/puppetdb"');
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (url.hostname === '' || database === '') problem('names no host or no database (postgresql://user@host:port/database)');
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(url.port !== '' && { port: Number(url.port) }),
    database,
    ...(url.username !== '' && { user: decodeURIComponent(url.username) }),
    ...(url.password !== '' && { password: decodeURIComponent(url.password) }),
    ...fromParameters(url.searchParams, problem),
  };
}

/** The [database] section of a PuppetDB ini file (read as ini.ts reads them): subname, username and password. */
export function parseDatabaseIni(text: string, file: string, problem: (what: string) => never): Connection {
  const values = parseIni(text, file).sections.get('database');
  const subname = values?.get('subname');
  if (!subname) return problem(`${show(file)} has no subname in a [database] section`);
  const connection = parseSubname(subname.value, (what) => problem(`${file}:${subname.line}: subname ${what}`));
  return { ...connection, ...definedOnly({ user: values!.get('username')?.value, password: values!.get('password')?.value }) };
}

async function readSsl(mode: StateSslMode, files: Connection, at: (key: string) => Path, fail: FailTls): Promise<StateSsl | undefined> {
  if (mode === 'disable') return undefined;
  const ca = files.sslRootCert === undefined ? undefined : (await readCertificates(files.sslRootCert, at('ssl-root-cert'), fail)).text;
  if (mode !== 'require' && ca === undefined) fail(at('ssl-mode'), `${mode} needs ssl-root-cert, the CA that signed the PostgreSQL server's certificate`);
  const client =
    files.sslCert === undefined || files.sslKey === undefined
      ? undefined
      : { cert: (await readCertificates(files.sslCert, at('ssl-cert'), fail)).text, key: (await readKey(files.sslKey, at('ssl-key'), fail)).text };
  return { mode, ...(ca !== undefined && { ca }), ...(client && client) };
}

/** The validated `state` block (paths absolute, defaults applied) at `path`, read into a StateConfig. */
export async function readStateConfig(block: Tree, path: Path, fail: FailTls): Promise<StateConfig> {
  return {
    ...(await readConnection(block, path, fail)),
    schema: block['schema'] as string,
    leaderElection: block['leader-election'] as boolean,
    historyRetentionMs: block['history-retention'] as number,
  };
}

/** A validated block of connection keys (schema-state.ts's connectionOptions) at `path`, read into a connection. */
export async function readConnection(block: Tree, path: Path, fail: FailTls): Promise<DatabaseConnection> {
  const at = (key: string): Path => [...path, key];
  const given = (['database-ini', 'subname', 'url'] as const).filter((key) => block[key] !== undefined);
  if (given.length !== 1) {
    fail(given.length === 0 ? path : at(given[1]!), given.length === 0 ? 'give one of database-ini, subname or url' : `give only one of ${given.join(', ')}`);
  }
  const source = given[0]!;
  const problem = (what: string): never => fail(at(source), what);
  const base =
    source === 'database-ini'
      ? parseDatabaseIni(await readText(block[source] as string, at(source), fail), block[source] as string, problem)
      : source === 'subname'
        ? parseSubname(block[source] as string, problem)
        : parseDatabaseUrl(block[source] as string, problem);

  if (block['password'] !== undefined && block['password-file'] !== undefined) fail(at('password-file'), 'give password or password-file, not both');
  const passwordFile = block['password-file'] as string | undefined;
  const password = passwordFile === undefined ? ((block['password'] as string | undefined) ?? base.password) : (await readText(passwordFile, at('password-file'), fail)).replace(/\r?\n$/, '');
  const user = (block['username'] as string | undefined) ?? base.user;
  if (user === undefined) fail(at('username'), `missing: ${source} names no role`);

  // Files named by the block are already absolute; those of a subname or URL are taken as written.
  const files: Connection = {
    ...definedOnly({ sslRootCert: base.sslRootCert, sslCert: base.sslCert, sslKey: base.sslKey }),
    ...definedOnly({ sslRootCert: block['ssl-root-cert'] as string | undefined, sslCert: block['ssl-cert'] as string | undefined, sslKey: block['ssl-key'] as string | undefined }),
  };
  const mode = (block['ssl-mode'] as StateSslMode | undefined) ?? base.sslMode ?? 'disable';
  const ssl = await readSsl(mode, files, (key) => (block[key] !== undefined || block['ssl-mode'] !== undefined ? at(key) : at(source)), fail);
  const host = base.host!;
  const port = base.port ?? 5432;
  const database = base.database!;
  return {
    host,
    port,
    database,
    user: user!,
    // A function: no log line or JSON of the configuration can hold the password.
    password: password === undefined ? undefined : () => password,
    ssl,
    describe: `${host}:${port}/${database}`,
  };
}
