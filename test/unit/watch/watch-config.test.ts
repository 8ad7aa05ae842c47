/**
 * The daemon's settings in fim.yaml that the watch set reads: `watch.max_watches`, validated like
 * every other setting (file:line:col, a positive integer), absent by default (only the kernel's
 * limit then).
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfigText } from '../../../src/config.js';
import { PolicyError } from '../../../src/errors.js';

const file = '/etc/fim/fim.yaml';

describe('watch.max_watches', () => {
  it('is absent by default', () => {
    expect(defaultConfig().watch.maxWatches).toBeUndefined();
    expect(parseConfigText(file, 'watch: { debounce_ms: 50 }\n').watch.maxWatches).toBeUndefined();
  });

  it.each([
    ['watch: { max_watches: 3 }\n', 3],
    ['watch:\n  max_watches: 200000\n  fallback_scan: 5m\n', 200_000],
  ])('%j -> %d', (text, n) => {
    expect(parseConfigText(file, text).watch.maxWatches).toBe(n);
  });

  it.each([
    ['zero', 'watch:\n  max_watches: 0\n', '2:16'],
    ['negative', 'watch:\n  max_watches: -5\n', '2:16'],
    ['a fraction', 'watch:\n  max_watches: 2.5\n', '2:16'],
    ['a word', 'watch: { max_watches: many }\n', '1:23'],
    ['a string of digits', 'watch: { max_watches: "10" }\n', '1:23'],
  ])('refuses %s, naming the place', (_what, text, at) => {
    let err: unknown;
    try {
      parseConfigText(file, text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).message).toContain(`${file}:${at}`);
    expect((err as PolicyError).message).toContain('"watch.max_watches" must be a positive integer');
  });

  it('a misspelling gets a suggestion', () => {
    expect(() => parseConfigText(file, 'watch:\n  max_watch: 10\n')).toThrow(/max_watches/);
  });
});
