/**
 * PuppetDB's ini files, read two ways: a sidecar configuration written as ini (a
 * section per block, Puppet Enterprise's `[sync] server_urls = a,b` / `intervals =
 * 2m,2m` for the remotes), and the sections of PuppetDB's own conf.d the sidecar takes
 * its defaults from (puppetdb-conf-dir.ts). Every key keeps its file and line.
 */

import { SyncError } from '../errors.ts';
import { Positions } from './hocon.ts';
import type { Tree } from './validate.ts';

export interface IniEntry {
  readonly value: string;
  readonly line: number;
}

export interface IniFile {
  readonly file: string;
  /** Section -> key -> value and line; a section given twice is merged, the later key winning. */
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, IniEntry>>;
  /** The line of each section's (last) header. */
  readonly headers: ReadonlyMap<string, number>;
}

/** Sections, `key = value` lines, and `#` or `;` comments, as PuppetDB (trapperkeeper) reads them. */
export function parseIni(text: string, file: string): IniFile {
  const sections = new Map<string, Map<string, IniEntry>>();
  const headers = new Map<string, number>();
  let current: Map<string, IniEntry> | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      headers.set(name, i + 1);
      return;
    }
    const at = line.indexOf('=');
    if (at <= 0) throw new SyncError('PDBSYNC_ERR_CONFIG_PARSE', `${JSON.stringify(line.slice(0, 60))} is neither a [section] nor key = value at ${file}:${i + 1}`);
    if (!current) throw new SyncError('PDBSYNC_ERR_CONFIG_PARSE', `a key outside any [section] at ${file}:${i + 1}`);
    current.set(line.slice(0, at).trim(), { value: line.slice(at + 1).trim(), line: i + 1 });
  });
  return { file, sections, headers };
}

/** A tree built from ini sections, with the line of every key in `positions`. */
export interface IniTree {
  readonly value: Tree;
  readonly positions: Positions;
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Puppet Enterprise's `[sync]` section into the `sync` block: `server_urls` and
 * `intervals` (one for each URL, or one for all) become `remotes`; other keys are kept.
 */
export function syncSection(section: ReadonlyMap<string, IniEntry>, header: number, positions: Positions): Tree {
  const out: Record<string, unknown> = {};
  positions.record(['sync'], header);
  for (const [key, entry] of section) {
    if (key === 'server_urls' || key === 'intervals') continue;
    out[key] = entry.value;
    positions.record(['sync', key], entry.line);
  }
  const urls = section.get('server_urls');
  const intervals = section.get('intervals');
  if (urls === undefined) {
    if (intervals !== undefined) throw new SyncError('PDBSYNC_ERR_CONFIG_MISSING_KEY', `sync.server_urls: missing, needed with sync.intervals at ${positions.file()}:${intervals.line}`);
    return out;
  }
  const list = commaList(urls.value);
  const every = intervals === undefined ? [] : commaList(intervals.value);
  if (every.length > 1 && every.length !== list.length) {
    throw new SyncError('PDBSYNC_ERR_CONFIG_INVALID_VALUE', `sync.intervals: ${every.length} intervals for ${list.length} server_urls (give one for each, or one for all) at ${positions.file()}:${intervals!.line}`);
  }
  positions.record(['sync', 'remotes'], urls.line);
  out['remotes'] = list.map((url, i) => {
    positions.record(['sync', 'remotes', i], urls.line);
    positions.record(['sync', 'remotes', i, 'server_url'], urls.line);
    const interval = every[i] ?? every[0];
    if (interval !== undefined) positions.record(['sync', 'remotes', i, 'interval'], intervals!.line);
    return { server_url: url, ...(interval !== undefined && { interval }) };
  });
  return out;
}

/** A sidecar configuration written as ini: `[sync]` in PE's form, every other section a block of the same name. */
export function iniConfig(text: string, file: string): IniTree {
  const ini = parseIni(text, file);
  const positions = new Positions(file);
  const value: Record<string, unknown> = {};
  for (const [name, section] of ini.sections) {
    const header = ini.headers.get(name)!;
    if (name === 'sync') {
      value[name] = syncSection(section, header, positions);
      continue;
    }
    positions.record([name], header);
    value[name] = Object.fromEntries([...section].map(([key, entry]) => {
      positions.record([name, key], entry.line);
      return [key, entry.value];
    }));
  }
  return { value, positions };
}
