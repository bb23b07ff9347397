// debian/copyright of the package, machine-readable (DEP-5): the project's and
// Node.js's paragraphs from packaging/debian/copyright, then one per bundled npm
// package, then the text of each license used.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundledModule } from './package-tree.ts';

// npm's SPDX identifiers, as DEP-5 names them. A package under any other license
// stops the build: its terms must be read before it is shipped.
const DEP5_LICENSE: Record<string, string> = {
  MIT: 'Expat',
  ISC: 'ISC',
  'BSD-3-Clause': 'BSD-3-clause',
  'Apache-2.0': 'Apache-2.0',
};

// Licenses in Debian's /usr/share/common-licenses are referred to, not copied.
const COMMON_LICENSES = new Set(['Apache-2.0']);

/** The copyright lines of a package's own license file, else its author, else a generic holder. */
function copyrightHolders(dir: string, name: string): string[] {
  const licenseFile = readdirSync(dir).find((file) => /^(licen[cs]e|copying)/i.test(file));
  if (licenseFile) {
    const lines = readFileSync(join(dir, licenseFile), 'utf8').split('\n')
      .map((line) => line.trim())
      // "Copyright (c) 2020 Name", "Copyright 2020 Name", "(c) 2020 Name": not the
      // license's own sentences about copyright, nor Apache's appendix template.
      .filter((line) => /^(copyright\s*(\(c\)|©|\d)|\(c\)\s*\d)/i.test(line) && !line.includes('[yyyy]'))
      .map((line) => line.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').replace(/^\(c\)\s*/i, ''));
    if (lines.length > 0) return [...new Set(lines)];
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { author?: string | { name?: string } };
  const author = typeof manifest.author === 'string' ? manifest.author : manifest.author?.name;
  return [author ?? `the authors of ${name}`];
}

function formatField(name: string, values: string[]): string {
  return `${name}: ${values[0]}${values.slice(1).map((value) => `\n ${value}`).join('')}`;
}

/** A license text as a DEP-5 continuation: every line indented, blank lines as " .". */
function indentLicense(text: string): string {
  return text.trimEnd().split('\n').map((line) => (line.trim() === '' ? ' .' : ` ${line}`)).join('\n');
}

export function debianCopyright(packaging: string, app: string, appPath: string, modules: BundledModule[], nodeVersion: string): string {
  const head = readFileSync(join(packaging, 'debian/copyright'), 'utf8').replaceAll('@NODE_VERSION@', nodeVersion);
  const used = new Set(['Apache-2.0', 'Expat']);
  const paragraphs = modules.map((module) => {
    const license = DEP5_LICENSE[module.license];
    if (!license) throw new Error(`${module.name}@${module.version} is under "${module.license}", which the package does not know yet`);
    used.add(license);
    const dir = join(app, module.path);
    if (!existsSync(dir)) throw new Error(`${dir} was not staged`);
    return [
      `Files: ${appPath}/${module.path}/*`,
      formatField('Copyright', copyrightHolders(dir, module.name)),
      `License: ${license}`,
    ].join('\n');
  });
  const licenses = [...used].sort().map((license) =>
    COMMON_LICENSES.has(license)
      ? `License: ${license}\n On Debian systems the full text of the ${license} license is in\n /usr/share/common-licenses/${license}.`
      : `License: ${license}\n${indentLicense(readFileSync(join(packaging, 'debian/licenses', license), 'utf8'))}`,
  );
  return [head.trimEnd(), ...paragraphs, ...licenses].join('\n\n') + '\n';
}
