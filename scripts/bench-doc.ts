// What the benchmark reports share: a line chart in SVG, and the sections of
// docs/benchmarks.md that one benchmark writes without erasing another's.

export interface ChartSeries { name: string; color: string; ys: number[] }
export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  xs: number[];
  series: ChartSeries[];
  /** Labels of the x axis; whole numbers by default. */
  formatX?: (v: number) => string;
}

/** Lines through (xs[i], ys[i]) of every series, from 0 on both axes. */
export function lineChart(c: Chart): string {
  const [W, H, L, R, T, B] = [640, 400, 60, 170, 30, 50];
  const formatX = c.formatX ?? ((v: number) => String(Math.round(v)));
  const xMax = Math.max(...c.xs) || 1;
  const yMax = niceCeil(Math.max(...c.series.flatMap((s) => s.ys)));
  const x = (v: number) => (L + (v / xMax) * (W - L - R)).toFixed(1);
  const y = (v: number) => (H - B - (v / yMax) * (H - T - B)).toFixed(1);
  const mid = (T + H - B) / 2;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="14">${c.title}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    out.push(`<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${Number(y(v)) + 4}" text-anchor="end">${+v.toFixed(1)}</text>`);
  }
  out.push(`<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="black"/>`);
  out.push(`<line x1="${L}" y1="${y(0)}" x2="${L}" y2="${T}" stroke="black"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = (xMax * k) / 4;
    out.push(`<text x="${x(v)}" y="${Number(y(0)) + 16}" text-anchor="middle">${formatX(v)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${c.xLabel}</text>`);
  out.push(`<text x="16" y="${mid}" text-anchor="middle" transform="rotate(-90 16 ${mid})">${c.yLabel}</text>`);
  c.series.forEach((s, k) => {
    const pts = c.xs.map((v, i) => [x(v), y(s.ys[i]!)] as const);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([a, b]) => `${a},${b}`).join(' ')}"/>`);
    for (const [a, b] of pts) out.push(`<circle cx="${a}" cy="${b}" r="3" fill="${s.color}"/>`);
    const ly = T + 20 + k * 20;
    out.push(`<line x1="${W - R + 12}" y1="${ly}" x2="${W - R + 32}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${W - R + 38}" y="${ly + 4}">${s.name}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** The `## heading` section of `markdown` (up to the next `## ` heading), or '' when absent. */
export function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) return '';
  const end = markdown.indexOf('\n## ', start + heading.length + 2);
  return markdown.slice(start + 1, end < 0 ? undefined : end + 1);
}

/** `markdown` with its `## heading` section replaced by `body` (which starts with the heading), or with `body` appended. */
export function withSection(markdown: string, heading: string, body: string): string {
  const old = section(markdown, heading);
  const text = body.endsWith('\n') ? body : `${body}\n`;
  if (old) return markdown.replace(old, text);
  return `${markdown.replace(/\n*$/, '\n\n')}${text}`;
}

/** The section scripts/bench-fleet.ts writes; scripts/bench.ts keeps it when it rewrites the rest. */
export const FLEET_HEADING = '## Fleet scale';

/** The section scripts/bench-seed.ts writes; scripts/bench.ts keeps it too. */
export const SEED_HEADING = '## Seeding';

/** The section scripts/bench-spool.ts writes; scripts/bench.ts keeps it too. */
export const SPOOL_HEADING = '## Spool';

/** The subsection of the fleet section with scripts/bench-fleet-reconcile.ts's figures; bench-fleet.ts keeps it. */
export const RECONCILE_HEADING = '### Reconciliation on PuppetDB 8.8.1';

/** The subsection of the fleet section with the 100,000-node figures (bench-fleet.ts --size 100k, copied by hand); bench-fleet.ts keeps it. */
export const SCALE_HEADING = '### 100,000 nodes and 10 million reports';

/** The subsection of the fleet section with the lag measured while reconciliations run (bench-fleet.ts --reconcile-interval 1m, copied by hand); bench-fleet.ts keeps it. */
export const LANES_HEADING = '### Lag while reconciliations run';

/** The `### heading` subsection of `markdown` (up to the next `## ` or `### ` heading), or '' when absent. */
export function subsection(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) return '';
  const rest = markdown.slice(start + 1);
  const end = rest.slice(heading.length).search(/\n##+ /);
  return (end < 0 ? rest : rest.slice(0, heading.length + end + 1)).replace(/\n+$/, '\n');
}
