/**
 * The local PuppetDB's version while it is stopped: seed.puppetdb-version when given,
 * else the `version=` of the pom.properties its jar carries (Puppet's and Debian's
 * packages both build it with Leiningen, which writes one). The jar is a zip: its
 * central directory is read here rather than adding a zip library for one file.
 */

import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { SyncError } from '../errors.ts';

/** Where Puppet's packages, then Debian's, install the jar. */
export const DEFAULT_JARS = ['/opt/puppetlabs/server/apps/puppetdb/puppetdb.jar', '/usr/share/puppetdb/puppetdb.jar'];

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const POM = /^META-INF\/maven\/[^/]+\/(puppetdb|openvoxdb)\/pom\.properties$/;

/** The content of the first entry of the zip whose name matches `name`; undefined when none does or it is not a zip. */
export function zipEntry(zip: Buffer, name: RegExp): Buffer | undefined {
  // The end record is the last 22 bytes, unless a comment (at most 64 KiB) follows it.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) return undefined;
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count && at + 46 <= zip.length && zip.readUInt32LE(at) === DIRECTORY_ENTRY; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (name.test(entryName)) {
      const local = zip.readUInt32LE(at + 42);
      if (zip.readUInt32LE(local) !== LOCAL_HEADER) return undefined;
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const bytes = zip.subarray(data, data + size);
      if (method === 0) return bytes;
      return method === 8 ? inflateRawSync(bytes) : undefined;
    }
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return undefined;
}

/** The version a jar's pom.properties names; undefined when it has none. */
export function jarVersion(jar: Buffer): string | undefined {
  const pom = zipEntry(jar, POM);
  return pom === undefined ? undefined : /^version=(.+)$/m.exec(pom.toString('utf8'))?.[1]?.trim();
}

/** The local PuppetDB's version: `configured`, else the first jar of `jars` that exists and names one. */
export async function localPuppetDbVersion(configured: string | undefined, jars: readonly string[]): Promise<{ version: string; from: string }> {
  if (configured !== undefined) return { version: configured, from: 'seed.puppetdb-version' };
  const tried: string[] = [];
  for (const jar of jars) {
    let bytes: Buffer;
    try {
      bytes = await readFile(jar);
    } catch (error) {
      tried.push(`${jar}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
      continue;
    }
    let version: string | undefined;
    try {
      version = jarVersion(bytes);
    } catch {
      // A damaged zip says no more than one without pom.properties.
    }
    if (version !== undefined) return { version, from: jar };
    tried.push(`${jar}: no META-INF/maven/.../pom.properties with a version`);
  }
  throw new SyncError('PDBSYNC_ERR_SEED_PUPPETDB_VERSION', tried.join('; '));
}
