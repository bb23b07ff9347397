/**
 * Defaults from PuppetDB's own conf.d (`puppetdb.conf-dir`), so that an operator does
 * not repeat what PuppetDB already names: the local URL and the TLS files from
 * `[jetty]`, the remotes from a `[sync]` section in PE's form, and the state database
 * (and a seed's local database) from the file holding `[database]`. Every *.ini file of the folder is read, as
 * PuppetDB reads them; the sidecar's own keys override what is found here.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Positions, type SourceMap } from './hocon.ts';
import { parseIni, syncSection, type IniEntry, type IniFile } from './ini.ts';
import type { Tree } from './validate.ts';

export interface ConfDirLayer {
  readonly value: Tree;
  /** One layer per file a default came from. */
  readonly sources: readonly SourceMap[];
}

/** A listen address PuppetDB binds to all interfaces or to this host: the sidecar reaches it on loopback. */
function loopbackIfLocal(host: string | undefined): string {
  return host === undefined || host === '' || host === '0.0.0.0' || host === '::' || host === 'localhost' ? '127.0.0.1' : host;
}

/** The last file of the folder (in name order) with `name`, and that section. */
function section(files: readonly IniFile[], name: string): { file: IniFile; entries: ReadonlyMap<string, IniEntry> } | undefined {
  const file = files.findLast((f) => f.sections.has(name));
  return file && { file, entries: file.sections.get(name)! };
}

/**
 * Reads the folder; `fail` reports a folder that cannot be read (at puppetdb.conf-dir).
 * `seed`: the configuration has a seed block, whose local database is PuppetDB's own.
 */
export async function readConfDir(dir: string, fail: (what: string) => never, { seed }: { seed: boolean }): Promise<ConfDirLayer> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.ini')).sort();
  } catch (error) {
    return fail(`${JSON.stringify(dir)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (error as Error).message}`);
  }
  const files = await Promise.all(names.map(async (name) => parseIni(await readFile(join(dir, name), 'utf8'), join(dir, name))));
  const value: Record<string, Record<string, unknown>> = {};
  const sources = new Map<string, Positions>();
  const positionsOf = (file: string) => sources.get(file) ?? sources.set(file, new Positions(file)).get(file)!;
  const take = (path: [string, string], entry: IniEntry | undefined, file: string, text = entry?.value) => {
    if (entry === undefined || text === undefined) return;
    (value[path[0]] ??= {})[path[1]] = text;
    positionsOf(file).record(path, entry.line);
  };

  const jetty = section(files, 'jetty');
  if (jetty) {
    const { entries, file } = jetty;
    take(['local', 'server_url'], entries.get('port'), file.file, entries.has('port') ? `http://${loopbackIfLocal(entries.get('host')?.value)}:${entries.get('port')!.value}` : undefined);
    if (['ssl-cert', 'ssl-key', 'ssl-ca-cert'].every((key) => entries.has(key))) {
      for (const key of ['ssl-cert', 'ssl-key', 'ssl-ca-cert', 'ssl-crl-path']) take(['tls', key], entries.get(key), file.file);
    }
  }
  const database = section(files, 'database');
  if (database?.entries.has('subname')) {
    take(['state', 'database-ini'], database.entries.get('subname'), database.file.file, database.file.file);
    if (seed) take(['seed', 'local-database-ini'], database.entries.get('subname'), database.file.file, database.file.file);
  }
  const sync = section(files, 'sync');
  if (sync) value['sync'] = syncSection(sync.entries, sync.file.headers.get('sync')!, positionsOf(sync.file.file));
  return { value, sources: [...sources.values()] };
}

/** `over` merged onto `base`: objects key by key, anything else (arrays too) replaced whole. */
export function mergeOver(base: Tree, over: Tree): Tree {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const below = out[key];
    const isTree = (v: unknown): v is Tree => v !== null && typeof v === 'object' && !Array.isArray(v);
    out[key] = isTree(below) && isTree(value) ? mergeOver(below, value) : value;
  }
  return out;
}
