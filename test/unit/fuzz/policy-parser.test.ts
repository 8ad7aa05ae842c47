/**
 * Property tests for the two YAML front doors (issue 6, "Property-based tests"): the policy parser
 * and the configuration parser. Whatever text or structure they are fed, the policy parser returns
 * rules or problems and never throws; the configuration parser returns a configuration or throws a
 * PolicyError, never anything else. Every problem starts with `file:line:col:` and points inside the
 * text. Valid structures, generated at random, must parse to exactly what was written.
 * FIM_LONG_TESTS runs ten times as many cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../../src/config.js';
import { PolicyError } from '../../../src/errors.js';
import { parsePolicyText } from '../../../src/policy/policy.js';

const LONG = process.env.FIM_LONG_TESTS !== undefined && process.env.FIM_LONG_TESTS !== '';
/** The long lane (FIM_LONG_TESTS) tries ten times as many inputs. */
const runs = (n: number) => (LONG ? n * 10 : n);

const POLICY_FILE = '/etc/fim/policies/fuzz.yaml';
// A directory that does not exist, so that policy globs in a random configuration never list anything.
const CONFIG_FILE = '/nonexistent-fim-fuzz/fim.yaml';

/** Each problem must start with "file:line:col: " and point at a line of the text (or one past it). */
function expectPositioned(file: string, text: string, problems: readonly string[]): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  const prefix = `${file}:`;
  for (const p of problems) {
    expect(p.startsWith(prefix), p).toBe(true);
    const m = /^(\d+):(\d+): \S/.exec(p.slice(prefix.length));
    expect(m, `no line:col in ${JSON.stringify(p)}`).not.toBeNull();
    const line = Number(m![1]);
    const col = Number(m![2]);
    expect(line).toBeGreaterThanOrEqual(1);
    expect(line).toBeLessThanOrEqual(lines + 1);
    expect(col).toBeGreaterThanOrEqual(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Random YAML-ish text: tokens a policy is made of, YAML punctuation, and hostile characters.

const POLICY_WORDS = [
  'version',
  'rules',
  'name',
  'description',
  'severity',
  'paths',
  'exclude',
  'check',
  'recurse',
  'severty',
  'readonly',
  'dynamic',
  'growing',
  'existence',
  '+content',
  '-mtime',
  'content',
  'bogus',
  'high',
  'critical',
  '1',
  '2',
  '-1',
  'true',
  'false',
  'null',
  '~',
  '/srv/app',
  '/',
  'relative/path',
  '/a/../b',
  '"/srv/**"',
  "'/srv/[z-a]'",
  '"/[!a-z]"',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  ': ',
  '- ',
  '-',
  '? ',
  '&a ',
  '*a',
  '!!str ',
  '!!binary ',
  '!tag ',
  '|',
  '>-',
  '#',
  '---',
  '...',
  '%YAML 1.2',
  '"',
  "'",
  '\\',
  '\t',
  ' ',
  '  ',
  '    ',
  '\n',
  '\r\n',
  '\r',
  '\u0000',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ud800',
  'é',
  '💥',
  '0x10',
  '1e999',
  '.inf',
  '.nan',
  '<<: *a',
];

const yamlishText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.array(fc.constantFrom(...POLICY_WORDS), { maxLength: 60 }).map((w) => w.join('')),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...POLICY_WORDS), fc.string({ unit: 'binary', maxLength: 8 })), {
        maxLength: 40,
      })
      .map((w) => w.join('')),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  // A valid policy with one region overwritten by noise: close to right is where parsers slip.
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.nat(),
        fc.array(fc.constantFrom(...POLICY_WORDS), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 6 }),
      )
      .map(([at, noise, cut]) => {
        const good =
          'version: 1\nrules:\n  - name: app\n    severity: high\n    paths: [/srv/app, /srv/lib]\n' +
          '    exclude: ["/srv/app/tmp/**"]\n    check: readonly -mtime\n    recurse: 3\n';
        const i = at % good.length;
        return good.slice(0, i) + noise.join('') + good.slice(i + cut);
      }),
  },
);

// ---------------------------------------------------------------------------------------------
// Random structures: valid rules, and rules with any field replaced by any JSON-ish value.

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const PRESETS = ['readonly', 'dynamic', 'growing', 'existence'] as const;
// Without "type": a preset minus "type" may select nothing ("existence -type"), which is a mistake.
const ATTRS = ['mode', 'uid', 'gid', 'size', 'mtime', 'ctime', 'inode', 'nlink', 'target'] as const;

const segment = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,11}$/)
  .filter((s) => s !== '.' && s !== '..');
const absPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const ruleName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/);
const checkValue = fc.oneof(
  fc.constantFrom(...PRESETS),
  fc
    .tuple(
      fc.constantFrom(...PRESETS),
      fc.uniqueArray(fc.tuple(fc.constantFrom('+', '-'), fc.constantFrom(...ATTRS)), {
        maxLength: 3,
        selector: ([, a]) => a,
      }),
    )
    .map(([p, mods]) => [p, ...mods.map(([s, a]) => `${s}${a}`)].join(' ')),
  fc.uniqueArray(fc.constantFrom(...ATTRS, 'content'), { minLength: 1, maxLength: 5 }),
);

interface ValidRule {
  name: string;
  severity?: (typeof SEVERITIES)[number];
  description?: string;
  paths: string[];
  exclude?: string[];
  check: string | string[];
  recurse?: boolean | number;
}

const validRule: fc.Arbitrary<ValidRule> = fc.record(
  {
    name: ruleName,
    severity: fc.constantFrom(...SEVERITIES),
    description: fc.string({ minLength: 1, maxLength: 30 }),
    paths: fc.array(absPath, { minLength: 1, maxLength: 3 }),
    exclude: fc.array(
      absPath.map((p) => `${p}/**`),
      { maxLength: 2 },
    ),
    check: checkValue,
    recurse: fc.oneof(fc.boolean(), fc.nat({ max: 20 })),
  },
  { requiredKeys: ['name', 'paths', 'check'] },
);

/** Any value YAML can hold, including the ones a validator forgets: null, nested maps, odd keys. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, '', ' ', '~', 'null', '/', 'readonly +nope', '[z-a]'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), {
    maxKeys: 3,
  }),
  fc.string({ maxLength: 6 }).map((s) => `/x/[${s}]`),
);

const RULE_KEYS = [
  'name',
  'description',
  'severity',
  'paths',
  'exclude',
  'check',
  'recurse',
  'severty',
  'path',
];

const mutatedRule: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(validRule, fc.array(fc.tuple(fc.constantFrom(...RULE_KEYS), junk), { minLength: 1, maxLength: 3 }))
  .map(([rule, edits]) => {
    const r: Record<string, unknown> = { ...rule };
    for (const [k, v] of edits) r[k] = v;
    return r;
  });

describe('parsePolicyText: properties', () => {
  it('never throws on YAML-ish text; every problem is positioned inside the text', () => {
    fc.assert(
      fc.property(yamlishText, (text) => {
        const r = parsePolicyText(POLICY_FILE, text);
        expect(Array.isArray(r.rules)).toBe(true);
        expectPositioned(POLICY_FILE, text, r.problems);
        // A parse that found no problem cannot be an empty or broken document.
        if (r.problems.length === 0) {
          for (const rule of r.rules) {
            for (const p of rule.paths) expect(p[0]).toBe(0x2f);
            expect(rule.check.attributes.has('type')).toBe(true);
          }
        }
      }),
      { numRuns: runs(600) },
    );
  });

  it('never throws on deeply nested or very long input', () => {
    for (const text of [
      '['.repeat(20_000),
      '{'.repeat(20_000),
      '- '.repeat(5_000),
      `${'a:\n '.repeat(3_000)}b`,
      `version: 1\nrules:\n${'  - name: r\n    paths: [/a]\n    check: readonly\n'.repeat(2)}`,
      `version: 1\nrules: [${'{name: x, paths: [/a], check: dynamic}, '.repeat(1)}]\n`,
      `a: &a [${'*a, '.repeat(100)}]`,
    ]) {
      const r = parsePolicyText(POLICY_FILE, text);
      expectPositioned(POLICY_FILE, text, r.problems);
    }
  });

  it('a random valid policy parses to exactly the rules written, with no problem', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(validRule, { minLength: 1, maxLength: 5, selector: (r) => r.name }),
        (rules) => {
          const text = stringify({ version: 1, rules });
          const r = parsePolicyText(POLICY_FILE, text);
          expect(r.problems, text).toEqual([]);
          expect(r.rules.map((x) => x.name)).toEqual(rules.map((x) => x.name));
          for (const [i, want] of rules.entries()) {
            const got = r.rules[i]!;
            expect(got.severity).toBe(want.severity ?? 'medium');
            expect(got.paths.map((p) => p.toString())).toEqual(want.paths);
            expect(got.exclude.map((e) => e.pattern)).toEqual(want.exclude ?? []);
            const recurse =
              want.recurse === undefined || want.recurse === true
                ? Number.POSITIVE_INFINITY
                : want.recurse === false
                  ? 0
                  : want.recurse;
            expect(got.recurse).toBe(recurse);
            expect(got.source.startsWith(`${POLICY_FILE}:`)).toBe(true);
          }
        },
      ),
      { numRuns: runs(250) },
    );
  });

  it('a rule with any field replaced by any value gives rules or positioned problems, never a throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(validRule, mutatedRule), { minLength: 1, maxLength: 4 }),
        fc.oneof(fc.constant(1), junk),
        (rules, version) => {
          const text = stringify({ version, rules });
          const r = parsePolicyText(POLICY_FILE, text);
          expectPositioned(POLICY_FILE, text, r.problems);
          if (version !== 1) expect(r.problems.length).toBeGreaterThan(0);
          // A rule is returned only when it had no problem of its own.
          expect(r.rules.length).toBeLessThanOrEqual(rules.length);
        },
      ),
      { numRuns: runs(600) },
    );
  });

  it('any exclude glob text is a rule or a positioned problem (character classes included)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 6 }), (body, cls) => {
        const pattern = `/srv/${body}[${cls}]`;
        const text = stringify({
          version: 1,
          rules: [{ name: 'r', paths: ['/srv'], check: 'readonly', exclude: [pattern] }],
        });
        const r = parsePolicyText(POLICY_FILE, text);
        expectPositioned(POLICY_FILE, text, r.problems);
        if (r.problems.length === 0) {
          expect(r.rules).toHaveLength(1);
          // A compiled exclude must be usable on any path bytes.
          expect(typeof r.rules[0]!.exclude[0]!.re.test('/srv/x')).toBe('boolean');
        }
      }),
      { numRuns: runs(400) },
    );
  });

  it('a [...] class matches exactly the bytes a shell class would, and never "/"', () => {
    // Reference semantics: "x-y" between two characters is a range, anything else a literal.
    const reference = (body: string, ch: string): boolean | 'invalid' => {
      let hit = false;
      for (let k = 0; k < body.length; k++) {
        const lo = body[k]!;
        if (body[k + 1] === '-' && k + 2 < body.length) {
          const hi = body[k + 2]!;
          if (lo > hi) return 'invalid';
          if (ch >= lo && ch <= hi) hit = true;
          k += 2;
        } else if (ch === lo) hit = true;
      }
      return hit;
    };
    const alphabet = fc.constantFrom('a', 'b', 'm', 'z', 'A', '0', '-', '!', '^', '[', '\\', '.', '*');
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 1, maxLength: 6 }), fc.boolean(), (chars, negate) => {
        const body = chars.join('');
        fc.pre(!negate || body.length > 0);
        const pattern = `/d/[${negate ? '!' : ''}${body}]`;
        // A body starting with "!" or "^" is itself a negation: leave those to the negated case.
        fc.pre(negate || (body[0] !== '!' && body[0] !== '^'));
        const r = parsePolicyText(
          POLICY_FILE,
          stringify({
            version: 1,
            rules: [{ name: 'r', paths: ['/d'], check: 'readonly', exclude: [pattern] }],
          }),
        );
        let invalid = false;
        for (let c = 0x20; c < 0x7f; c++) {
          const ch = String.fromCharCode(c);
          const want = reference(body, ch);
          if (want === 'invalid') invalid = true;
        }
        if (invalid) {
          expect(r.problems.join('\n')).toMatch(/character class/);
          return;
        }
        expect(r.problems).toEqual([]);
        const re = r.rules[0]!.exclude[0]!.re;
        for (let c = 0x20; c < 0x7f; c++) {
          const ch = String.fromCharCode(c);
          const inClass = reference(body, ch) === true;
          // A class never matches "/", whatever range it holds (fnmatch's FNM_PATHNAME).
          const expected = ch === '/' ? false : negate ? !inClass : inClass;
          expect(re.test(`/d/${ch}`), `${pattern} on ${JSON.stringify(ch)}`).toBe(expected);
        }
      }),
      { numRuns: runs(600) },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The configuration parser.

const CONFIG_WORDS = [
  ...POLICY_WORDS,
  'host',
  'policies',
  'database',
  'keys',
  'key_epoch',
  'syslog',
  'target',
  'facility',
  'max_per_second',
  'watch',
  'debounce_ms',
  'full_check',
  'heartbeat',
  'retention',
  'runs',
  'udp://logs:514',
  'tls://h',
  'authpriv',
  'local7',
  '1h',
  '60s',
  '0.5s',
  '90',
  '/etc/fim/policies/*.yaml',
  '/x/[z-a].yaml',
];

const configText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.array(fc.constantFrom(...CONFIG_WORDS), { maxLength: 60 }).map((w) => w.join('')),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);

interface ValidConfig {
  host?: string;
  database?: string;
  syslog?: { target?: string; facility?: string; max_per_second?: number };
  watch?: { debounce_ms?: number; full_check?: string; heartbeat?: string };
  retention?: { runs?: number };
}

const validConfig: fc.Arbitrary<ValidConfig> = fc.record(
  {
    host: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    database: absPath.map((p) => `${p}.db`),
    syslog: fc.record(
      {
        target: fc
          .tuple(
            fc.constantFrom('udp', 'tcp', 'tls'),
            fc.stringMatching(/^[a-z][a-z0-9.-]{0,15}$/),
            fc.integer({ min: 1, max: 65535 }),
          )
          .map(([s, h, p]) => `${s}://${h}:${p}`),
        facility: fc.constantFrom('auth', 'authpriv', 'daemon', 'local0', 'local7'),
        max_per_second: fc.integer({ min: 1, max: 10_000 }),
      },
      { requiredKeys: [] },
    ),
    watch: fc.record(
      {
        debounce_ms: fc.nat(10_000),
        full_check: fc
          .tuple(fc.integer({ min: 1, max: 99 }), fc.constantFrom('s', 'm', 'h', 'd'))
          .map(([n, u]) => `${n}${u}`),
        heartbeat: fc
          .tuple(fc.integer({ min: 1, max: 99 }), fc.constantFrom('s', 'm', 'h'))
          .map(([n, u]) => `${n}${u}`),
      },
      { requiredKeys: [] },
    ),
    retention: fc.record({ runs: fc.integer({ min: 1, max: 100_000 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const CONFIG_KEYS = [
  'host',
  'policies',
  'database',
  'keys',
  'key_epoch',
  'syslog',
  'watch',
  'retention',
  'hots',
];

/** parseConfigText may only return or throw a positioned PolicyError. */
function parseConfigOrProblems(text: string): string[] {
  try {
    parseConfigText(CONFIG_FILE, text);
    return [];
  } catch (err: unknown) {
    if (!(err instanceof PolicyError)) {
      throw new Error(`parseConfigText threw ${String(err)} for ${JSON.stringify(text)}`, { cause: err });
    }
    expect(err.problems.length).toBeGreaterThan(0);
    expectPositioned(CONFIG_FILE, text, err.problems);
    return [...err.problems];
  }
}

describe('parseConfigText: properties', () => {
  it('on YAML-ish text it returns a configuration or throws a positioned PolicyError, nothing else', () => {
    fc.assert(
      fc.property(configText, (text) => {
        parseConfigOrProblems(text);
      }),
      { numRuns: runs(800) },
    );
  });

  it('a random valid configuration parses to exactly the values written', () => {
    fc.assert(
      fc.property(validConfig, (want) => {
        const text = stringify(want);
        expect(parseConfigOrProblems(text)).toEqual([]);
        const cfg = parseConfigText(CONFIG_FILE, text);
        if (want.host !== undefined) expect(cfg.host).toBe(want.host);
        if (want.database !== undefined) expect(cfg.database).toBe(want.database);
        if (want.syslog?.target !== undefined) expect(cfg.syslog.target).toBe(want.syslog.target);
        if (want.syslog?.facility !== undefined) expect(cfg.syslog.facility).toBe(want.syslog.facility);
        if (want.syslog?.max_per_second !== undefined)
          expect(cfg.syslog.maxPerSecond).toBe(want.syslog.max_per_second);
        if (want.watch?.debounce_ms !== undefined) expect(cfg.watch.debounceMs).toBe(want.watch.debounce_ms);
        if (want.retention?.runs !== undefined) expect(cfg.retention.runs).toBe(want.retention.runs);
      }),
      { numRuns: runs(250) },
    );
  });

  it('a configuration with any key replaced by any value returns or throws a positioned PolicyError', () => {
    fc.assert(
      fc.property(
        validConfig,
        fc.array(fc.tuple(fc.constantFrom(...CONFIG_KEYS), junk), { minLength: 1, maxLength: 3 }),
        (base, edits) => {
          const c: Record<string, unknown> = { ...base };
          for (const [k, v] of edits) c[k] = v;
          parseConfigOrProblems(stringify(c));
        },
      ),
      { numRuns: runs(600) },
    );
  });

  it('policy globs with any character class are expanded or refused with a position', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (cls) => {
        // /tmp exists, so the glob is really compiled and matched against its listing.
        parseConfigOrProblems(stringify({ policies: [`/tmp/fim-fuzz-[${cls}].yaml`] }));
      }),
      { numRuns: runs(250) },
    );
  });
});
