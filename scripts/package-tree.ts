// The application tree the Debian package installs under /opt/puppetdb-sync (and the
// image, which installs the package): dist/ compiled afresh, package.json, the
// production npm packages of package-lock.json, and the Node.js binary the project
// itself runs on (the `node` devDependency), so no system Node.js is needed.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { run } from './os.ts';

export const ROOT = new URL('..', import.meta.url).pathname;

/** One npm package that goes into the tree. */
export interface BundledModule {
  /** Relative to the project, e.g. node_modules/ajv/node_modules/fast-uri. */
  path: string;
  name: string;
  version: string;
  license: string;
}

interface LockEntry {
  version?: string;
  license?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

/**
 * The packages `npm ci --omit=dev` would install, read from package-lock.json and
 * taken from the installed node_modules: no registry is needed. An optional package
 * that is not installed (another platform's) is left out, as npm leaves it out.
 */
export function productionModules(root = ROOT): BundledModule[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const modules: BundledModule[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev) continue;
    if (entry.link) throw new Error(`${path} is a linked package: the package cannot bundle it`);
    if (!existsSync(join(root, path))) {
      if (entry.optional) continue;
      throw new Error(`${path} is in package-lock.json but not installed: run npm ci first`);
    }
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    modules.push({ path, name, version: entry.version ?? '', license: entry.license ?? '' });
  }
  return modules;
}

// What npm packages publish for their own development: tests, documentation sites,
// CI and linter settings. Never loaded at run time; left out of the tree (licenses stay).
const DEVELOPMENT_DIRS = new Set(['test', 'tests', '__tests__', 'spec', 'docs', 'doc', 'example', 'examples', 'bench', 'benchmark', 'benchmarks', 'integration', 'coverage', '.github', '.husky', '.vscode']);
const DEVELOPMENT_FILE = /^(\.(gitattributes|gitignore|npmignore|editorconfig|travis\.yml|taprc|nycrc.*|eslintrc.*|prettierrc.*)|.*\.(md|markdown|html))$/i;
const LICENSE_FILE = /^(licen[cs]e|copying|notice)/i;

/** Whether a file or folder of an installed package is kept: package dirs at their top level, files anywhere. */
function keptInPackage(packageDir: string, source: string, isDir: boolean): boolean {
  if (source === packageDir) return true;
  // Nested node_modules are packages of their own, copied by their own entries.
  if (source.startsWith(`${packageDir}/node_modules`)) return false;
  const name = basename(source);
  if (isDir) return !(relative(packageDir, source) === name && DEVELOPMENT_DIRS.has(name));
  return LICENSE_FILE.test(name) || !DEVELOPMENT_FILE.test(name);
}

/** The Node.js binary of the `node` devDependency and the version package-lock.json pins. */
export function projectNode(root = ROOT): { binary: string; version: string } {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const version = lock.packages['node_modules/node']?.version;
  const binary = join(root, 'node_modules/node/bin/node');
  if (!version || !existsSync(binary)) throw new Error('the `node` devDependency is not installed: run npm ci first');
  return { binary, version };
}

/** Fills `app` (the future /opt/puppetdb-sync) and returns what it bundled. */
export async function stageApp(app: string, root = ROOT): Promise<{ modules: BundledModule[]; nodeVersion: string }> {
  mkdirSync(join(app, 'bin'), { recursive: true });
  // Compiled into the tree rather than copied from dist/, which may hold the output
  // of sources since deleted; source maps point at src/, which is not shipped.
  await run(process.execPath, [
    join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'),
    '--outDir', join(app, 'dist'), '--sourceMap', 'false',
  ]);
  copyFileSync(join(root, 'package.json'), join(app, 'package.json'));

  const modules = productionModules(root);
  for (const module of modules) {
    const from = join(root, module.path);
    cpSync(from, join(app, module.path), { recursive: true, filter: (source) => keptInPackage(from, source, statSync(source).isDirectory()) });
  }

  const node = projectNode(root);
  const staged = join(app, 'bin/node');
  copyFileSync(node.binary, staged);
  // The official build carries its symbol table and debug information (about a fifth
  // of its size); Debian ships binaries stripped.
  await run('strip', ['--strip-unneeded', '--remove-section=.comment', staged]);
  const reported = (await run(staged, ['--version'])).trim();
  if (reported !== `v${node.version}`) throw new Error(`${node.binary} is ${reported}, package-lock.json pins ${node.version}`);
  return { modules, nodeVersion: node.version };
}
