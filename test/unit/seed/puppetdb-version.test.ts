import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { jarVersion, localPuppetDbVersion } from '../../../src/seed/puppetdb-version.ts';
import { schemaSupport } from '../../../src/puppetdb/versions.ts';

/** A zip of `entries` (deflated), as a jar is. */
function zip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const data = deflateRawSync(Buffer.from(text));
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(text.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(text.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    directory.push(entry, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

describe('the local PuppetDB version', () => {
  it('is the pom.properties version of its jar, PuppetDB\'s or OpenVoxDB\'s', () => {
    expect(jarVersion(zip({ 'puppetlabs/x.clj': '(ns x)', 'META-INF/maven/puppetlabs/puppetdb/pom.properties': 'groupId=puppetlabs\nartifactId=puppetdb\nversion=8.8.1\n' }))).toBe('8.8.1');
    expect(jarVersion(zip({ 'META-INF/maven/org.openvoxproject/openvoxdb/pom.properties': 'version=8.12.1\n' }))).toBe('8.12.1');
    expect(jarVersion(zip({ 'META-INF/maven/other/thing/pom.properties': 'version=1.0.0\n' }))).toBeUndefined();
    expect(jarVersion(Buffer.from('not a zip at all, not even 22 bytes long'))).toBeUndefined();
  });

  it('is seed.puppetdb-version when given, else the first jar that names one; none: a coded error naming each jar tried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdbsync-jar-'));
    const jar = join(dir, 'puppetdb.jar');
    writeFileSync(jar, zip({ 'META-INF/maven/puppetlabs/puppetdb/pom.properties': 'version=7.12.1\n' }));
    expect(await localPuppetDbVersion('8.4.1', [jar])).toEqual({ version: '8.4.1', from: 'seed.puppetdb-version' });
    expect(await localPuppetDbVersion(undefined, [join(dir, 'missing.jar'), jar])).toEqual({ version: '7.12.1', from: jar });
    await expect(localPuppetDbVersion(undefined, [join(dir, 'missing.jar')])).rejects.toThrow(/^PDBSYNC_ERR_SEED_PUPPETDB_VERSION: .*missing\.jar: no such file$/);
  });

  it('runs the schema of the greatest known release at or before it (src/puppetdb/versions.ts)', () => {
    expect(schemaSupport('7.12.1')).toEqual({ schema: 80, exact: true, known: '7.12.1' });
    expect(schemaSupport('8.8.1')).toEqual({ schema: 88, exact: true, known: '8.8.1' });
    expect(schemaSupport('8.6.0')).toEqual({ schema: 84, exact: false, known: '8.4.1' });
    expect(schemaSupport('7.11.0')).toBeUndefined();
    expect(schemaSupport('not a version')).toBeUndefined();
  });
});
