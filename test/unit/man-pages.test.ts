/**
 * The section-5 man pages, fim.yaml(5) and fim-policy(5): installed with the package, rendered by
 * groff without a warning, and naming every configuration key, rule key, attribute and preset the
 * code accepts (so a key added to the code without its page fails here).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES } from '../../src/attributes.js';
import { CONFIG_KEYS, SYSLOG_KEYS, WATCH_KEYS } from '../../src/config.js';
import { RULE_KEYS } from '../../src/policy/policy.js';
import { ATTRIBUTE_NAMES } from '../../src/types.js';
import { ROOT } from '../helpers/fim.js';

const page = (name: string) => readFileSync(join(ROOT, 'docs', name), 'utf8').replace(/\\-/g, '-');

describe('man pages of the file formats', () => {
  it('are installed with the package', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { man: string[] };
    expect(pkg.man).toEqual(
      expect.arrayContaining(['./docs/fim.1', './docs/fim.yaml.5', './docs/fim-policy.5']),
    );
  });

  it.each(['fim.yaml.5', 'fim-policy.5'])('%s renders without a groff warning', (name) => {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(ROOT, 'docs', name)], {
      encoding: 'utf8',
    });
    if (r.error)
      throw new Error(`groff is needed for this test (apt-get install groff-base): ${r.error.message}`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('fim.yaml(5) names every configuration key', () => {
    const text = page('fim.yaml.5');
    for (const k of CONFIG_KEYS)
      expect(text, k).toMatch(new RegExp(`\\.B ${k.replace('.', '\\.')}\\b|\\b${k}\\.`));
    for (const k of SYSLOG_KEYS) expect(text).toContain(`syslog.${k}`);
    for (const k of WATCH_KEYS) expect(text).toContain(`watch.${k}`);
  });

  it('fim-policy(5) names every rule key, attribute and preset', () => {
    const text = page('fim-policy.5');
    for (const k of RULE_KEYS) expect(text, k).toContain(`.B ${k}`);
    for (const a of ATTRIBUTE_NAMES) expect(text, a).toMatch(new RegExp(`^\\.BR? .*\\b${a}\\b`, 'm'));
    for (const p of PRESET_NAMES) expect(text, p).toContain(`.B ${p}`);
  });
});
