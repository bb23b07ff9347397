import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { promtool } from '../service/promtool.ts';
import { promqlMetricNames, spoolNames } from '../service/promql-names.ts';

const RULES_DIR = fileURLToPath(new URL('../../../monitoring/prometheus/', import.meta.url));
const RULES = 'puppetdb-sync-spool-rules.yml';

describe('the spool\'s Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const result = promtool(['check', 'rules', RULES], { cwd: RULES_DIR });
    expect(result.output).toContain('SUCCESS: 4 rules found');
    expect(result.status).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', () => {
    const result = promtool(['test', 'rules', 'puppetdb-sync-spool-rules.test.yml'], { cwd: RULES_DIR });
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('query only metrics the spool exports (and Prometheus\' own up)', async () => {
    const exported = [...(await spoolNames()), 'up'];
    const exprs = [...readFileSync(`${RULES_DIR}${RULES}`, 'utf8').matchAll(/^\s*expr: (.+)$/gm)].map((match) => match[1]!);
    expect(exprs).toHaveLength(4);
    for (const expr of exprs) {
      expect(promqlMetricNames(expr).length).toBeGreaterThan(0);
      for (const name of promqlMetricNames(expr)) expect(exported, `${name} in ${expr}`).toContain(name);
    }
  });
});
