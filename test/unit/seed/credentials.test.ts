import { readFileSync, statSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../src/config/types.ts';
import { writeCredentials } from '../../../src/seed/credentials.ts';

const connection = (name: string, password: string | undefined, ssl?: DatabaseConnection['ssl']): DatabaseConnection => ({
  host: `${name}.example.net`, port: 5432, database: 'puppetdb', user: name, password: password === undefined ? undefined : () => password, ssl, describe: name,
});

describe('the files a child\'s libpq reads', () => {
  it('are one pgpass for both databases and the checked TLS text, private to the seed, gone when it ends', async () => {
    const peer = connection('peer', 'peer-pw', { mode: 'verify-full', ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' });
    const local = connection('local', undefined);
    const credentials = await writeCredentials({ peer, local });
    const env = credentials.environment(peer);
    const folder = dirname(env.PGPASSFILE!);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    for (const file of [env.PGPASSFILE!, env.PGSSLROOTCERT!, env.PGSSLCERT!, env.PGSSLKEY!]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(readFileSync(env.PGPASSFILE!, 'utf8')).toBe('peer.example.net:5432:puppetdb:peer:peer-pw\n');
    expect(readFileSync(env.PGSSLKEY!, 'utf8')).toBe('KEY PEM');
    expect(credentials.environment(local)).toMatchObject({ PGHOST: 'local.example.net', PGSSLMODE: 'disable', PGPASSFILE: env.PGPASSFILE });
    expect(credentials.environment(local)).not.toHaveProperty('PGSSLROOTCERT');
    await credentials.remove();
    expect(existsSync(folder)).toBe(false);
  });
});
