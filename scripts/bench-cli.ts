// How the benchmarks and the integration tests start the CLI: dist/cli.js with the
// Node.js flags of its shebang, as `npx puppetdb-sync` and the image run it.
import { readFileSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;
export const CLI = `${ROOT}dist/cli.js`;

/** The flags of a `#!/usr/bin/env node` or `#!/usr/bin/env -S node --flag ...` first line. */
export function shebangFlags(file: string): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env (?:-S )?node((?: --[a-z-]+(?:=\w+)?)*)$/.exec(first);
  if (!match) throw new Error(`${file}: the first line is not a node shebang: ${first}`);
  return match[1]!.split(' ').filter(Boolean);
}

/** The flags the bin starts Node.js with; tsc copies the shebang of src/cli.ts into dist/cli.js. */
export const CLI_FLAGS = shebangFlags(`${ROOT}src/cli.ts`);
