// How the benchmarks and the integration tests start the CLI: dist/cli.js with the
// Node.js flags and the environment of its shebang, as `npx puppetdb-sync` and the image run it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;
export const CLI = `${ROOT}dist/cli.js`;

/** A `#!/usr/bin/env node` or `#!/usr/bin/env -S NAME=value ... node --flag ...` first line: [assignments, flags]. */
function shebang(file: string): [string, string] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env (?:-S )?((?:[A-Z_]+=[\w.=:]+ )*)node((?: --[a-z-]+(?:=\w+)?)*)$/.exec(first);
  if (!match) throw new Error(`${file}: the first line is not a node shebang: ${first}`);
  return [match[1]!, match[2]!];
}

/** The Node.js flags of the shebang. */
export function shebangFlags(file: string): string[] {
  return shebang(file)[1].split(' ').filter(Boolean);
}

/** The environment variables the shebang sets for Node.js, by name. */
export function shebangEnv(file: string): Record<string, string> {
  return Object.fromEntries(
    shebang(file)[0]
      .split(' ')
      .filter(Boolean)
      .map((assignment) => [assignment.slice(0, assignment.indexOf('=')), assignment.slice(assignment.indexOf('=') + 1)]),
  );
}

/** The flags the bin starts Node.js with; tsc copies the shebang of src/cli.ts into dist/cli.js. */
export const CLI_FLAGS = shebangFlags(`${ROOT}src/cli.ts`);

/** The environment the bin starts Node.js in: this process's, with the shebang's assignments. */
export const CLI_ENV: NodeJS.ProcessEnv = { ...process.env, ...shebangEnv(`${ROOT}src/cli.ts`) };

/** Runs `cli once --config FILE` with the bin's flags, to its exit: the exit code and both outputs. */
export async function runOnce(config: string, cli = CLI): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI_FLAGS, cli, 'once', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: CLI_ENV });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, stdout, stderr };
}
