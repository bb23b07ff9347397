// The Debian package for the tests that install it (package.test.ts and
// puppet-apply.test.ts): built by scripts/package.ts once for a given content of
// what goes into it, and kept in the temporary folder under a name made of that
// content's digest, so the suite builds it once (20 s) and a rerun of an unchanged
// tree not at all. Only the newest is kept.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage } from '../../scripts/package.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
/** What scripts/package.ts reads: the sources it compiles, its own scripts, the packaging files and the documents it installs. */
const INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'CHANGELOG.md', 'src', 'scripts', 'packaging', 'docs'];
const PREFIX = 'pdbsync-deb-cache-';

function filesOf(path: string): string[] {
  if (!statSync(join(ROOT, path)).isDirectory()) return [path];
  return readdirSync(join(ROOT, path), { recursive: true, encoding: 'utf8' }).map((name) => join(path, name)).filter((name) => statSync(join(ROOT, name)).isFile());
}

function inputsDigest(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap(filesOf).sort()) hash.update(`${file}\0`).update(readFileSync(join(ROOT, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** The path of the package built from the tree as it is now. */
export async function packageForTests(): Promise<string> {
  const dir = join(tmpdir(), `${PREFIX}${inputsDigest()}`);
  const built = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.deb')) : undefined;
  if (built) return join(dir, built);
  for (const old of readdirSync(tmpdir()).filter((name) => name.startsWith(PREFIX))) rmSync(join(tmpdir(), old), { recursive: true, force: true });
  return buildPackage(dir);
}
