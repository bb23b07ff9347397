import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shebangFlags } from '../../scripts/bench-cli.ts';

const ROOT = new URL('../../', import.meta.url);
const CLIENT = new URL('src/puppetdb/client.ts', ROOT).href;
const JSON_STREAM = new URL('src/puppetdb/json-stream.ts', ROOT).href;

/** In a fresh Node.js: imports the client, then parses a 5 MB element. */
function importAndParse(): { gc: string; gcInNewContext: string; parsed: number } {
  const script = `
    import { Readable } from 'node:stream';
    import { runInNewContext } from 'node:vm';
    await import(${JSON.stringify(CLIENT)});
    const { streamJsonArray } = await import(${JSON.stringify(JSON_STREAM)});
    const body = Readable.from([JSON.stringify([{ text: 'x'.repeat(5 * 1024 * 1024) }])]);
    let parsed = 0;
    for await (const element of streamJsonArray(body, 'test')) parsed = element.text.length;
    console.log(JSON.stringify({ gc: typeof globalThis.gc, gcInNewContext: runInNewContext('typeof gc'), parsed }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ReturnType<typeof importAndParse>;
}

describe('Node.js flags are set where the process starts, never by an import', () => {
  it('importing the client exposes no gc, in this context or a new one; a large element parses without it', () => {
    // Setting --expose-gc at run time shows only in a new context.
    expect(importAndParse()).toEqual({ gc: 'undefined', gcInNewContext: 'undefined', parsed: 5 * 1024 * 1024 });
  });

  it('no source file sets V8 flags or loads a file inside undici', () => {
    const src = new URL('src/', ROOT);
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, src), 'utf8');
      expect(text, file).not.toMatch(/setFlagsFromString|['"]undici\//);
    }
  });

  it("the image's ENTRYPOINT starts Node.js with the bin's flags", () => {
    const dockerfile = readFileSync(new URL('Dockerfile', ROOT), 'utf8');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint).toEqual(['/opt/puppetdb-sync/bin/node', ...shebangFlags(new URL('src/cli.ts', ROOT).pathname), '/opt/puppetdb-sync/dist/cli.js']);
  });
});
