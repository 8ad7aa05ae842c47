/**
 * Policy files (design.md "Policy files", issue 2 "Policies"): presets and their attribute sets,
 * +attr/-attr and the list form, recurse, longest-prefix governance with excludes and depth through
 * RuleIndex.classify, and the policy mistakes, each with its file:line:column and key, from the
 * library and from `fim policy check` (exit 16, messages on stderr).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PRESETS } from '../../../src/attributes.js';
import { ExitCode, PolicyError } from '../../../src/errors.js';
import {
  loadPolicies,
  normalisePolicyPath,
  parsePolicyText,
  type Rule,
  resolveCheck,
} from '../../../src/policy/policy.js';
import { type Classification, RuleIndex } from '../../../src/policy/rule-index.js';
import { ATTRIBUTE_NAMES, type AttributeName } from '../../../src/types.js';

const FILE = '/etc/fim/policies/app.yaml';
const ALL: AttributeName[] = [...ATTRIBUTE_NAMES];
/** What does not change as a file is written: capabilities, ACLs, label, xattrs and flags included. */
const DYNAMIC: AttributeName[] = [
  'type',
  'mode',
  'uid',
  'gid',
  'inode',
  'nlink',
  'target',
  'caps',
  'acl',
  'selinux',
  'xattrs',
  'flags',
];

function sorted(s: Iterable<AttributeName>): AttributeName[] {
  return [...s].sort();
}

/** One rule, from a policy text that must be valid. */
function ruleOf(body: string): Rule {
  const text = `version: 1\nrules:\n  - name: r\n    paths: [/srv/app]\n${body}`;
  const r = parsePolicyText(FILE, text);
  expect(r.problems).toEqual([]);
  expect(r.rules).toHaveLength(1);
  return r.rules[0]!;
}

/** All rules of a policy text that must be valid. */
function rulesOf(text: string): Rule[] {
  const r = parsePolicyText(FILE, text);
  expect(r.problems).toEqual([]);
  return r.rules;
}

describe('presets', () => {
  it('there are exactly 17 attributes', () => {
    expect(sorted(ALL)).toEqual(
      sorted([
        'type',
        'mode',
        'uid',
        'gid',
        'size',
        'mtime',
        'ctime',
        'inode',
        'nlink',
        'target',
        'content',
        'sha256',
        'caps',
        'acl',
        'selinux',
        'xattrs',
        'flags',
      ]),
    );
  });

  it.each([
    { preset: 'readonly', attributes: ALL, growing: false },
    { preset: 'dynamic', attributes: DYNAMIC, growing: false },
    { preset: 'growing', attributes: DYNAMIC, growing: true },
    { preset: 'existence', attributes: ['type'] as AttributeName[], growing: false },
  ])('$preset', ({ preset, attributes, growing }) => {
    const rule = ruleOf(`    check: ${preset}\n`);
    expect(sorted(rule.check.attributes)).toEqual(sorted(attributes));
    expect(rule.check.growing).toBe(growing);
    expect(rule.checkText).toBe(preset);
    expect(sorted(PRESETS[preset as keyof typeof PRESETS])).toEqual(sorted(attributes));
  });

  it('dynamic leaves out exactly content (and its SHA-256), size, mtime and ctime', () => {
    const missing = ALL.filter((a) => !ruleOf('    check: dynamic\n').check.attributes.has(a));
    expect(sorted(missing)).toEqual(sorted(['content', 'sha256', 'size', 'mtime', 'ctime']));
  });
});

describe('check: modifiers and the list form', () => {
  it.each([
    { check: 'readonly -mtime', want: ALL.filter((a) => a !== 'mtime'), growing: false },
    {
      check: 'readonly -mtime -ctime -nlink',
      want: ALL.filter((a) => !['mtime', 'ctime', 'nlink'].includes(a)),
      growing: false,
    },
    { check: 'dynamic +content', want: [...DYNAMIC, 'content', 'sha256'], growing: false },
    { check: 'dynamic +size +mtime', want: [...DYNAMIC, 'size', 'mtime'], growing: false },
    { check: 'dynamic -inode', want: DYNAMIC.filter((a) => a !== 'inode'), growing: false },
    { check: 'growing -nlink', want: DYNAMIC.filter((a) => a !== 'nlink'), growing: true },
    { check: 'growing +mtime', want: [...DYNAMIC, 'mtime'], growing: true },
    { check: 'existence +mode +uid', want: ['type', 'mode', 'uid'], growing: false },
    { check: 'existence +content', want: ['type', 'content', 'sha256'], growing: false },
    { check: 'existence +caps +flags', want: ['type', 'caps', 'flags'], growing: false },
    {
      check: 'readonly -content',
      want: ALL.filter((a) => a !== 'content' && a !== 'sha256'),
      growing: false,
    },
    // adding what is there, or removing what is not, is harmless
    { check: 'readonly +mode', want: ALL, growing: false },
    { check: 'dynamic -content', want: DYNAMIC, growing: false },
    // extra blanks between words
    { check: 'readonly   -mtime', want: ALL.filter((a) => a !== 'mtime'), growing: false },
  ] as { check: string; want: AttributeName[]; growing: boolean }[])(
    '"$check"',
    ({ check, want, growing }) => {
      const rule = ruleOf(`    check: ${check}\n`);
      expect(sorted(rule.check.attributes)).toEqual(sorted(want));
      expect(rule.check.growing).toBe(growing);
    },
  );

  it('a flow list of attributes selects exactly those (and type)', () => {
    const rule = ruleOf('    check: [mode, uid, gid, content]\n');
    expect(sorted(rule.check.attributes)).toEqual(
      sorted(['type', 'mode', 'uid', 'gid', 'content', 'sha256']),
    );
    expect(rule.check.growing).toBe(false);
  });

  it('a block list of attributes selects exactly those (and type)', () => {
    const rule = ruleOf('    check:\n      - content\n      - target\n');
    expect(sorted(rule.check.attributes)).toEqual(sorted(['type', 'content', 'sha256', 'target']));
  });

  it('resolveCheck accepts a string or an array directly', () => {
    expect(sorted(resolveCheck('readonly -content').spec!.attributes)).toEqual(
      sorted(ALL.filter((a) => a !== 'content' && a !== 'sha256')),
    );
    expect(sorted(resolveCheck(['size', 'mtime']).spec!.attributes)).toEqual(
      sorted(['type', 'size', 'mtime']),
    );
    expect(resolveCheck('growing').spec!.growing).toBe(true);
    expect(resolveCheck('readonli').problem).toMatch(/did you mean "readonly"/);
  });
});

describe('recurse', () => {
  it.each([
    { recurse: 'true', depth: Number.POSITIVE_INFINITY },
    { recurse: 'false', depth: 0 },
    { recurse: '0', depth: 0 },
    { recurse: '1', depth: 1 },
    { recurse: '3', depth: 3 },
  ])('recurse: $recurse → $depth', ({ recurse, depth }) => {
    expect(ruleOf(`    check: readonly\n    recurse: ${recurse}\n`).recurse).toBe(depth);
  });

  it('defaults to the whole subtree', () => {
    expect(ruleOf('    check: readonly\n').recurse).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('rule fields', () => {
  it('reads name, description, severity, normalised paths, excludes and its source position', () => {
    const [rule] = rulesOf(
      [
        'version: 1',
        'rules:',
        '  - name: celery-code',
        '    description: Application code deployed to the worker',
        '    severity: high',
        '    paths: [/srv/celery/app/, //srv//celery/lib]',
        '    exclude: ["/srv/celery/app/tmp"]',
        '    check: readonly',
        '',
      ].join('\n'),
    );
    expect(rule!.name).toBe('celery-code');
    expect(rule!.description).toBe('Application code deployed to the worker');
    expect(rule!.severity).toBe('high');
    expect(rule!.paths.map((p) => p.toString())).toEqual(['/srv/celery/app', '/srv/celery/lib']);
    expect(rule!.exclude.map((e) => e.pattern)).toEqual(['/srv/celery/app/tmp']);
    expect(rule!.source).toBe(`${FILE}:3:5`);
  });

  it.each(['low', 'medium', 'high', 'critical'])('severity %s is accepted', (severity) => {
    expect(ruleOf(`    severity: ${severity}\n    check: readonly\n`).severity).toBe(severity);
  });

  it('severity defaults to medium', () => {
    expect(ruleOf('    check: readonly\n').severity).toBe('medium');
  });

  it('accepts the example policy of design.md', () => {
    const rules = rulesOf(
      [
        'version: 1',
        'rules:',
        '  - name: celery-code            # unique; appears in findings and alerts',
        '    description: Application code deployed to the worker',
        '    severity: high               # low | medium | high | critical',
        '    paths: [/srv/celery/app]     # absolute; a directory means its whole subtree',
        '    exclude: ["/srv/celery/app/tmp/**"]   # globs over the absolute path',
        '    check: readonly              # a preset, a preset with +attr/-attr, or a list of attributes',
        '    recurse: true                # or false, or a depth',
        '',
      ].join('\n'),
    );
    expect(rules.map((r) => r.name)).toEqual(['celery-code']);
  });
});

describe('normalisePolicyPath', () => {
  it.each([
    ['/etc', '/etc'],
    ['/etc/', '/etc'],
    ['//etc///ssh/', '/etc/ssh'],
    ['/', '/'],
    ['/srv/café', '/srv/café'],
  ])('%s → %s', (input, want) => {
    expect(normalisePolicyPath(input)).toBe(want);
  });

  it.each(['etc', './etc', '', '/etc/../root', '/etc/./ssh', '/..', '/etc/\0x', '~/x'])(
    'refuses %j',
    (input) => {
      expect(normalisePolicyPath(input)).toBeUndefined();
    },
  );
});

describe('RuleIndex.classify: longest-prefix governance, excludes, depth', () => {
  const POLICY = [
    'version: 1',
    'rules:',
    '  - name: srv-app',
    '    paths: [/srv/app]',
    '    exclude: ["/srv/app/tmp", "/srv/app/*.log", "/srv/**/cache"]',
    '    check: readonly',
    '  - name: app-uploads',
    '    paths: [/srv/app/uploads]',
    '    check: dynamic',
    '    recurse: 1',
    '  - name: app-tmp-keys',
    '    paths: [/srv/app/tmp/keys]',
    '    check: readonly',
    '  - name: etc-top',
    '    paths: [/etc]',
    '    check: existence',
    '    recurse: false',
    '  - name: etc-ssh',
    '    paths: [/etc/ssh]',
    '    check: readonly',
    '    recurse: 2',
    '',
  ].join('\n');
  let index: RuleIndex;
  beforeAll(() => {
    index = new RuleIndex(rulesOf(POLICY));
  });

  const classify = (p: string | Buffer): Classification =>
    index.classify(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);

  /** A compact view of a classification, for table assertions. */
  function view(c: Classification): string {
    switch (c.status) {
      case 'uncovered':
        return 'uncovered';
      case 'covered':
        return `covered ${c.rule.name} @${c.anchor.toString('latin1')} depth ${c.depth}`;
      case 'too-deep':
        return `too-deep ${c.rule.name} @${c.anchor.toString('latin1')} depth ${c.depth}`;
      case 'excluded':
        return `excluded ${c.rule.name} at ${c.at.toString('latin1')} by ${c.pattern}`;
    }
  }

  it.each([
    // the rule path itself and its subtree
    ['/srv/app', 'covered srv-app @/srv/app depth 0'],
    ['/srv/app/tasks.py', 'covered srv-app @/srv/app depth 1'],
    ['/srv/app/a/b/c/d.py', 'covered srv-app @/srv/app depth 4'],
    // prefixes are whole components: /srv/application is not under /srv/app
    ['/srv/application/x', 'uncovered'],
    ['/srv/ap', 'uncovered'],
    ['/srv', 'uncovered'],
    ['/', 'uncovered'],
    ['/usr/bin/ls', 'uncovered'],
    // the longest prefix governs: a nested rule takes its subtree
    ['/srv/app/uploads', 'covered app-uploads @/srv/app/uploads depth 0'],
    ['/srv/app/uploads/a.png', 'covered app-uploads @/srv/app/uploads depth 1'],
    ['/srv/app/uploadsx', 'covered srv-app @/srv/app depth 1'],
    // ...including its depth limit, even though the outer rule recurses fully
    ['/srv/app/uploads/d/a.png', 'too-deep app-uploads @/srv/app/uploads depth 2'],
    // excludes: a whole directory, not descended into
    ['/srv/app/tmp', 'excluded srv-app at /srv/app/tmp by /srv/app/tmp'],
    ['/srv/app/tmp/x', 'excluded srv-app at /srv/app/tmp by /srv/app/tmp'],
    ['/srv/app/tmp/a/b/c', 'excluded srv-app at /srv/app/tmp by /srv/app/tmp'],
    ['/srv/app/tmpx', 'covered srv-app @/srv/app depth 1'],
    // a file glob
    ['/srv/app/worker.log', 'excluded srv-app at /srv/app/worker.log by /srv/app/*.log'],
    ['/srv/app/logs/worker.log', 'covered srv-app @/srv/app depth 2'],
    // a ** glob excluding a directory at any depth, and so its subtree
    ['/srv/app/a/cache', 'excluded srv-app at /srv/app/a/cache by /srv/**/cache'],
    ['/srv/app/a/b/cache/x/y', 'excluded srv-app at /srv/app/a/b/cache by /srv/**/cache'],
    ['/srv/app/a/cachex', 'covered srv-app @/srv/app depth 2'],
    // a rule inside another rule's excluded directory governs its own subtree
    ['/srv/app/tmp/keys', 'covered app-tmp-keys @/srv/app/tmp/keys depth 0'],
    ['/srv/app/tmp/keys/id_ed25519', 'covered app-tmp-keys @/srv/app/tmp/keys depth 1'],
    ['/srv/app/tmp/keysx', 'excluded srv-app at /srv/app/tmp by /srv/app/tmp'],
    // excludes of one rule do not apply to another rule's paths
    ['/srv/app/uploads/x.log', 'covered app-uploads @/srv/app/uploads depth 1'],
    // recurse: false covers the path only
    ['/etc', 'covered etc-top @/etc depth 0'],
    ['/etc/passwd', 'too-deep etc-top @/etc depth 1'],
    ['/etc/cron.d/job', 'too-deep etc-top @/etc depth 2'],
    // a nested rule with its own depth
    ['/etc/ssh', 'covered etc-ssh @/etc/ssh depth 0'],
    ['/etc/ssh/sshd_config', 'covered etc-ssh @/etc/ssh depth 1'],
    ['/etc/ssh/sshd_config.d/x.conf', 'covered etc-ssh @/etc/ssh depth 2'],
    ['/etc/ssh/a/b/c', 'too-deep etc-ssh @/etc/ssh depth 3'],
    ['/etc/sshx', 'too-deep etc-top @/etc depth 1'],
  ])('%s → %s', (path, want) => {
    expect(view(classify(path))).toBe(want);
  });

  it('matches names that are not UTF-8 byte for byte', () => {
    const py = Buffer.concat([Buffer.from('/srv/app/'), Buffer.from([0xff]), Buffer.from('.py')]);
    const log = Buffer.concat([Buffer.from('/srv/app/'), Buffer.from([0xfe, 0x0a]), Buffer.from('.log')]);
    const c = classify(py);
    expect(c.status).toBe('covered');
    const e = classify(log);
    expect(e.status).toBe('excluded');
    if (e.status === 'excluded') expect(e.at.equals(log)).toBe(true);
  });

  it('a directory excluded with a trailing /** is excluded itself and not descended into', () => {
    const idx = new RuleIndex(
      rulesOf(
        'version: 1\nrules:\n  - name: app\n    paths: [/srv/app]\n    exclude: ["/srv/app/tmp/**"]\n    check: readonly\n',
      ),
    );
    for (const p of ['/srv/app/tmp', '/srv/app/tmp/a', '/srv/app/tmp/a/b']) {
      const c = idx.classify(Buffer.from(p));
      expect(c.status, p).toBe('excluded');
      if (c.status === 'excluded') expect(c.at.toString()).toBe('/srv/app/tmp');
    }
    expect(idx.classify(Buffer.from('/srv/app/tmpx')).status).toBe('covered');
  });

  it('a rule on / governs everything not governed by a longer rule', () => {
    const idx = new RuleIndex(
      rulesOf(
        [
          'version: 1',
          'rules:',
          '  - name: root',
          '    paths: [/]',
          '    check: existence',
          '    recurse: 1',
          '  - name: etc',
          '    paths: [/etc]',
          '    check: readonly',
          '',
        ].join('\n'),
      ),
    );
    const name = (p: string): string => {
      const c = idx.classify(Buffer.from(p));
      return c.status === 'uncovered' ? c.status : `${c.status} ${c.rule.name}`;
    };
    expect(name('/')).toBe('covered root');
    expect(name('/usr')).toBe('covered root');
    expect(name('/usr/bin')).toBe('too-deep root');
    expect(name('/etc/ssh/sshd_config')).toBe('covered etc');
  });

  it('allPaths lists every rule path with its rule', () => {
    expect(index.allPaths().map((x) => `${x.rule.name}:${x.path.toString()}`)).toEqual([
      'srv-app:/srv/app',
      'app-uploads:/srv/app/uploads',
      'app-tmp-keys:/srv/app/tmp/keys',
      'etc-top:/etc',
      'etc-ssh:/etc/ssh',
    ]);
  });
});

// ─── mistakes ────────────────────────────────────────────────────────────────────────────────

interface Mistake {
  what: string;
  text: string;
  /** "line:col" of the problem. */
  at: string;
  /** Fragments the message must hold: the key, the bad value, the suggestion. */
  mentions: string[];
}

const V = 'version: 1\nrules:\n';
const MISTAKES: Mistake[] = [
  {
    what: 'unknown top-level key, with a suggestion',
    text: 'version: 1\nrulez:\n  - name: a\n    paths: [/etc]\n    check: readonly\n',
    at: '2:1',
    mentions: ['unknown key "rulez"', 'did you mean "rules"'],
  },
  {
    what: 'misspelt rule key, with a suggestion',
    text: `${V}  - name: a\n    severty: high\n    paths: [/etc]\n    check: readonly\n`,
    at: '4:5',
    mentions: ['unknown key "severty"', 'did you mean "severity"'],
  },
  {
    what: 'misspelt "exclude"',
    text: `${V}  - name: a\n    paths: [/etc]\n    excludes: [/etc/x]\n    check: readonly\n`,
    at: '5:5',
    mentions: ['unknown key "excludes"', 'did you mean "exclude"'],
  },
  {
    what: 'relative path',
    text: `${V}  - name: a\n    paths: [/etc, srv/app]\n    check: readonly\n`,
    at: '4:19',
    mentions: ['"srv/app"', 'absolute'],
  },
  {
    what: 'path with ".."',
    text: `${V}  - name: a\n    paths: ["/srv/app/../../root"]\n    check: readonly\n`,
    at: '4:13',
    mentions: ['"/srv/app/../../root"', '".."'],
  },
  {
    what: 'unknown attribute, with a suggestion',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: readonly -mtme\n`,
    at: '5:12',
    mentions: ['"mtme"', 'did you mean "mtime"'],
  },
  {
    what: 'unknown attribute in the list form',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: [mode, checksum]\n`,
    at: '5:12',
    mentions: ['unknown attribute or preset "checksum"'],
  },
  {
    what: 'unknown preset, with a suggestion',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: readonli\n`,
    at: '5:12',
    mentions: ['"readonli"', 'did you mean "readonly"'],
  },
  {
    what: 'preset not first',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: -mtime readonly\n`,
    at: '5:12',
    mentions: ['preset "readonly" must come first'],
  },
  {
    what: 'preset inside a list',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: [mode, dynamic]\n`,
    at: '5:12',
    mentions: ['preset "dynamic" must come first'],
  },
  {
    what: 'modifier in the list form',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: [mode, -uid]\n`,
    at: '5:12',
    mentions: ['"-uid"', 'only modify a preset'],
  },
  {
    what: 'a bare attribute followed by a modifier',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: mode +uid\n`,
    at: '5:12',
    mentions: ['"mode" is an attribute'],
  },
  {
    what: 'check that selects nothing',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: []\n`,
    at: '5:12',
    mentions: ['check selects no attribute'],
  },
  {
    what: 'bad severity',
    text: `${V}  - name: a\n    severity: urgent\n    paths: [/etc]\n    check: readonly\n`,
    at: '4:15',
    mentions: ['severity must be one of low, medium, high, critical'],
  },
  {
    what: 'bad recurse (negative depth)',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: readonly\n    recurse: -3\n`,
    at: '6:14',
    mentions: ['recurse must be true, false or a depth'],
  },
  {
    what: 'bad recurse (a word)',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: readonly\n    recurse: deep\n`,
    at: '6:14',
    mentions: ['recurse must be'],
  },
  {
    what: 'bad recurse (a fraction)',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: readonly\n    recurse: 1.5\n`,
    at: '6:14',
    mentions: ['recurse must be'],
  },
  {
    what: 'bad YAML syntax (a stray "]")',
    text: `${V}  - name: a\n    paths: [/etc]]\n    check: readonly\n`,
    at: '4:18',
    mentions: ['YAML syntax'],
  },
  {
    what: 'bad YAML syntax (a tab as indentation)',
    text: `${V}  - name: a\n    paths: [/etc]\n\tcheck: readonly\n`,
    at: '5:1',
    mentions: ['YAML syntax', 'Tabs'],
  },
  {
    what: 'missing version',
    text: 'rules:\n  - name: a\n    paths: [/etc]\n    check: readonly\n',
    at: '1:1',
    mentions: ['missing key "version"'],
  },
  {
    what: 'wrong version',
    text: 'version: 2\nrules:\n  - name: a\n    paths: [/etc]\n    check: readonly\n',
    at: '1:10',
    mentions: ['unsupported policy version', 'expected 1'],
  },
  {
    what: 'version as a string',
    text: 'version: "1"\nrules:\n  - name: a\n    paths: [/etc]\n    check: readonly\n',
    at: '1:10',
    mentions: ['unsupported policy version'],
  },
  {
    what: 'empty paths',
    text: `${V}  - name: a\n    paths: []\n    check: readonly\n`,
    at: '4:12',
    mentions: ['"paths" is empty'],
  },
  {
    what: 'exclude not absolute',
    text: `${V}  - name: a\n    paths: [/srv/app]\n    exclude: ["tmp/**"]\n    check: readonly\n`,
    at: '5:15',
    mentions: ['exclude pattern "tmp/**"', 'must be absolute'],
  },
  {
    what: 'missing check',
    text: `${V}  - name: a\n    paths: [/etc]\n`,
    at: '3:5',
    mentions: ['missing "check"'],
  },
  {
    what: 'missing paths',
    text: `${V}  - name: a\n    check: readonly\n`,
    at: '3:5',
    mentions: ['missing "paths"'],
  },
  {
    what: 'missing name',
    text: `${V}  - paths: [/etc]\n    check: readonly\n`,
    at: '3:5',
    mentions: ['missing "name"'],
  },
  {
    what: 'rule name with spaces',
    text: `${V}  - name: my rule\n    paths: [/etc]\n    check: readonly\n`,
    at: '3:11',
    mentions: ['rule name "my rule"'],
  },
  {
    what: 'the same key twice in a rule',
    text: `${V}  - name: a\n    paths: [/etc]\n    check: readonly\n    check: dynamic\n`,
    at: '6:5',
    mentions: ['duplicate key "check"'],
  },
  {
    what: 'rules not a list',
    text: 'version: 1\nrules:\n  name: a\n',
    at: '3:3',
    mentions: ['"rules" must be a list'],
  },
  {
    what: 'a rule that is not a mapping',
    text: `${V}  - /etc\n`,
    at: '3:5',
    mentions: ['rule must be a mapping'],
  },
  {
    what: 'an empty file',
    text: '',
    at: '1:1',
    mentions: ['empty policy'],
  },
];

describe('policy mistakes: each names file:line:col and the key', () => {
  it(`covers at least twelve distinct mistakes (${MISTAKES.length})`, () => {
    expect(new Set(MISTAKES.map((m) => m.what)).size).toBeGreaterThanOrEqual(12);
  });

  it.each(MISTAKES)('$what', ({ text, at, mentions }) => {
    const { problems } = parsePolicyText(FILE, text);
    expect(problems.length).toBeGreaterThan(0);
    const here = problems.filter((p) => p.startsWith(`${FILE}:${at}: `));
    expect(here, `no problem at ${at} in ${JSON.stringify(problems)}`).toHaveLength(1);
    for (const m of mentions) expect(here[0]).toContain(m);
    // one line per problem
    for (const p of problems) expect(p).not.toContain('\n');
  });

  it('an unknown key far from any allowed one gets no suggestion', () => {
    const { problems } = parsePolicyText(
      FILE,
      `${V}  - name: a\n    paths: [/etc]\n    check: readonly\n    zzz: 1\n`,
    );
    expect(problems).toEqual([`${FILE}:6:5: unknown key "zzz" in rule`]);
  });

  it('reports every mistake of a file at once, in order', () => {
    const text = [
      'version: 1',
      'rules:',
      '  - name: a',
      '    severty: high',
      '    paths: [/etc]',
      '    check: readonly',
      '  - name: b',
      '    paths: [etc]',
      '    check: readonly',
      '  - name: c',
      '    paths: [/srv]',
      '    check: dinamic',
      '',
    ].join('\n');
    const { problems, rules } = parsePolicyText(FILE, text);
    expect(problems.map((p) => p.slice(0, p.indexOf(': ')))).toEqual([
      `${FILE}:4:5`,
      `${FILE}:8:13`,
      `${FILE}:12:12`,
    ]);
    expect(problems[2]).toContain('did you mean "dynamic"');
    expect(rules).toEqual([]);
  });
});

describe('loadPolicies', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fim-policy-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }

  function problemsOf(files: string[]): string[] {
    try {
      loadPolicies(files);
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      const e = err as PolicyError;
      expect(e.exitCode).toBe(ExitCode.usage);
      expect(e.exitCode).toBe(16);
      expect(e.message).toBe(e.problems.join('\n'));
      return [...e.problems];
    }
    throw new Error('loadPolicies accepted a bad policy');
  }

  it('loads several files, keeps every rule and hashes the policy', () => {
    const a = write('a.yaml', `${V}  - name: a\n    paths: [/etc]\n    check: readonly\n`);
    const b = write('b.yaml', `${V}  - name: b\n    paths: [/srv]\n    check: dynamic\n`);
    const p = loadPolicies([a, b]);
    expect(p.rules.map((r) => r.name)).toEqual(['a', 'b']);
    expect(p.files).toEqual([a, b]);
    expect(p.hash).toHaveLength(32);
    expect(p.rules[1]!.source).toBe(`${b}:3:5`);
    // the hash changes with any policy text
    write('b.yaml', `${V}  - name: b\n    paths: [/srv]\n    check: readonly\n`);
    expect(loadPolicies([a, b]).hash.equals(p.hash)).toBe(false);
    expect(loadPolicies([a]).hash.equals(p.hash)).toBe(false);
  });

  it('refuses duplicate rule names across two files, naming both places', () => {
    const a = write('a.yaml', `${V}  - name: web\n    paths: [/etc]\n    check: readonly\n`);
    const b = write(
      'b.yaml',
      `${V}  - name: other\n    paths: [/usr]\n    check: readonly\n  - name: web\n    paths: [/srv]\n    check: readonly\n`,
    );
    expect(problemsOf([a, b])).toEqual([`${b}:6:5: duplicate rule name "web" (first defined at ${a}:3:5)`]);
  });

  it('refuses the same path in two rules, even spelt differently', () => {
    const a = write('a.yaml', `${V}  - name: one\n    paths: [/srv/app]\n    check: readonly\n`);
    const b = write('b.yaml', `${V}  - name: two\n    paths: [/srv//app/]\n    check: dynamic\n`);
    const problems = problemsOf([a, b]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${b}:3:5: `));
    expect(problems[0]).toContain('"/srv/app"');
    expect(problems[0]).toContain('rule "one"');
    expect(problems[0]).toContain(`${a}:3:5`);
  });

  it("lets a local rule take a shipped rule's path with override, and nothing else", () => {
    const shipped = write(
      'shipped.yaml',
      `${V}  - name: celery-venv\n    severity: high\n    paths: [/srv/venv, /srv/other]\n    check: readonly\n`,
    );
    const local = write(
      'local.yaml',
      `${V}  - name: venv-strict\n    severity: critical\n    override: celery-venv\n    paths: [/srv/venv, /srv/mine]\n    check: readonly\n`,
    );
    const p = loadPolicies([shipped, local]);
    const [ship, mine] = p.rules;
    expect(ship?.paths.map(String)).toEqual(['/srv/other']);
    expect(mine?.paths.map(String)).toEqual(['/srv/venv', '/srv/mine']);
    expect(mine?.overrides).toEqual({
      rule: 'celery-venv',
      source: `${shipped}:3:5`,
      paths: [Buffer.from('/srv/venv')],
    });
    const index = new RuleIndex(p.rules);
    const at = (path: string) => {
      const c = index.classify(Buffer.from(path));
      return c.status === 'uncovered' ? null : c.rule.name;
    };
    expect(at('/srv/venv/bin/python3')).toBe('venv-strict');
    expect(at('/srv/other/x')).toBe('celery-venv');
    // Listed in either order, the override decides.
    expect(
      loadPolicies([local, shipped])
        .rules.find((r) => r.name === 'venv-strict')
        ?.paths.map(String),
    ).toEqual(['/srv/venv', '/srv/mine']);
  });

  it('without override, says how to replace the rule; an override of no rule is refused', () => {
    const a = write('a.yaml', `${V}  - name: one\n    paths: [/srv/app]\n    check: readonly\n`);
    const b = write('b.yaml', `${V}  - name: two\n    paths: [/srv/app]\n    check: readonly\n`);
    expect(problemsOf([a, b])[0]).toContain('add "override: one" to rule "two"');
    const c = write(
      'c.yaml',
      `${V}  - name: three\n    override: nosuch\n    paths: [/srv/x]\n    check: readonly\n`,
    );
    expect(problemsOf([a, c])).toEqual([
      `${c}:3:5: rule "three" overrides "nosuch", but no rule has that name`,
    ]);
    const d = write(
      'd.yaml',
      `${V}  - name: four\n    override: four\n    paths: [/srv/y]\n    check: readonly\n`,
    );
    expect(problemsOf([d])[0]).toContain('a rule cannot override itself');
  });

  it('refuses the same path twice in one file', () => {
    const a = write(
      'a.yaml',
      `${V}  - name: one\n    paths: [/srv/app]\n    check: readonly\n  - name: two\n    paths: [/srv/app]\n    check: readonly\n`,
    );
    const problems = problemsOf([a]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${a}:6:5: .*"/srv/app".*rule "one"`));
  });

  it('collects the problems of every file', () => {
    const a = write('a.yaml', `${V}  - name: a\n    paths: [/etc]\n    check: redonly\n`);
    const b = write('b.yaml', 'version: 3\nrules: []\n');
    const problems = problemsOf([a, b]);
    expect(problems.some((p) => p.startsWith(`${a}:5:12: `))).toBe(true);
    expect(problems.some((p) => p.startsWith(`${b}:1:10: `))).toBe(true);
  });

  it('names a file it cannot read', () => {
    const missing = join(dir, 'missing.yaml');
    expect(problemsOf([missing])).toEqual([`${missing}: cannot read policy (ENOENT)`]);
  });

  it('refuses an empty list of files and a policy with no rules', () => {
    expect(problemsOf([])[0]).toMatch(/no policy files/);
    const empty = write('empty.yaml', 'version: 1\nrules: []\n');
    expect(problemsOf([empty])[0]).toMatch(/no rules/);
  });
});

// ─── the CLI ─────────────────────────────────────────────────────────────────────────────────

describe('fim policy check (CLI)', () => {
  const BIN = resolve(import.meta.dirname, '../../../bin/fim');
  let dir: string;

  beforeAll(() => {
    expect(
      existsSync(resolve(import.meta.dirname, '../../../dist/cli/main.js')),
      'build first: npm run build',
    ).toBe(true);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fim-policy-cli-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }

  function fim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('exits 0 for a good policy and says so on stdout', () => {
    const good = write(
      'good.yaml',
      [
        'version: 1',
        'rules:',
        '  - name: celery-code',
        '    description: Application code deployed to the worker',
        '    severity: high',
        '    paths: [/srv/celery/app]',
        '    exclude: ["/srv/celery/app/tmp", "/srv/celery/app/*.log"]',
        '    check: readonly',
        '    recurse: true',
        '  - name: celery-logs',
        '    severity: low',
        '    paths: [/var/log/celery]',
        '    check: growing -nlink',
        '    recurse: 1',
        '',
      ].join('\n'),
    );
    const r = fim('policy', 'check', good);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: 2 rules in 1 file/);
  });

  it('accepts the example policy of design.md', () => {
    const good = write(
      'design.yaml',
      'version: 1\nrules:\n  - name: celery-code\n    description: Application code deployed to the worker\n    severity: high\n    paths: [/srv/celery/app]\n    exclude: ["/srv/celery/app/tmp/**"]\n    check: readonly\n    recurse: true\n',
    );
    const r = fim('policy', 'check', good);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each([
    {
      what: 'misspelt rule key',
      text: `${V}  - name: a\n    severty: high\n    paths: [/etc]\n    check: readonly\n`,
      want: ':4:5: unknown key "severty" in rule (did you mean "severity"?)',
    },
    {
      what: 'relative path',
      text: `${V}  - name: a\n    paths: [etc]\n    check: readonly\n`,
      want: ':4:13: rule "a": path "etc" must be absolute',
    },
    {
      what: 'unknown preset',
      text: `${V}  - name: a\n    paths: [/etc]\n    check: readonli\n`,
      want: ':5:12: rule "a": unknown attribute or preset "readonli" (did you mean "readonly"?)',
    },
    {
      what: 'wrong version',
      text: 'version: 2\nrules:\n  - name: a\n    paths: [/etc]\n    check: readonly\n',
      want: ':1:10: unsupported policy version',
    },
    {
      what: 'bad YAML syntax',
      text: `${V}  - name: a\n    paths: [/etc]]\n    check: readonly\n`,
      want: ':4:18: YAML syntax',
    },
  ])('exits 16 with the message on stderr: $what', ({ text, want }) => {
    const file = write('bad.yaml', text);
    const r = fim('policy', 'check', file);
    expect(r.status).toBe(16);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}${want}`);
  });

  it('exits 16 for duplicate rule names across two files, naming both', () => {
    const a = write('a.yaml', `${V}  - name: web\n    paths: [/etc]\n    check: readonly\n`);
    const b = write('b.yaml', `${V}  - name: web\n    paths: [/srv]\n    check: readonly\n`);
    const r = fim('policy', 'check', a, b);
    expect(r.status).toBe(16);
    expect(r.stderr).toContain(`${b}:3:5: duplicate rule name "web" (first defined at ${a}:3:5)`);
  });

  it('prints every problem of a bad file, one per line', () => {
    const file = write(
      'bad.yaml',
      `${V}  - name: a\n    severty: high\n    paths: [/etc]\n    check: readonly\n  - name: b c\n    paths: [/srv]\n    check: readonly\n`,
    );
    const r = fim('policy', 'check', file);
    expect(r.status).toBe(16);
    expect(r.stderr).toContain(`${file}:4:5: `);
    expect(r.stderr).toContain(`${file}:7:11: `);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(2);
  });
});

describe('hashes', () => {
  const problems = (body: string) =>
    parsePolicyText(
      FILE,
      `version: 1\nrules:\n  - name: r\n    paths: [/srv/app]\n    check: readonly\n${body}`,
    ).problems;

  it('defaults to [blake3]; [blake3, sha256] keeps SHA-256 too, in either order', () => {
    expect(ruleOf('    check: readonly\n').hashes).toEqual(['blake3']);
    expect(ruleOf('    check: readonly\n    hashes: [blake3, sha256]\n').hashes).toEqual([
      'blake3',
      'sha256',
    ]);
    expect(ruleOf('    check: readonly\n    hashes: [sha256, blake3]\n').hashes).toEqual([
      'blake3',
      'sha256',
    ]);
  });

  it.each([
    ['    hashes: [md5]\n', /6:13: rule "r": unknown hash "md5" in "hashes"; known: blake3, sha256/],
    ['    hashes: [sha256]\n', /must include blake3/],
    ['    hashes: sha256\n', /"hashes"/],
  ])('refuses %j with a positioned problem', (body, re) => {
    const p = problems(body);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(re);
    expect(p[0]).toContain(FILE);
  });
});

describe('explain', () => {
  const rule = (body: string, severity = 'high') =>
    parsePolicyText(
      FILE,
      `version: 1\nrules:\n  - name: r\n    severity: ${severity}\n    paths: [/srv/app]\n    check: readonly\n${body}`,
    );

  it('defaults to every manifest, and to none for a critical rule (no package explains a new key)', () => {
    expect(rule('').rules[0]?.explain).toEqual(['deploy', 'pip', 'dpkg']);
    expect(rule('', 'critical').rules[0]?.explain).toEqual([]);
  });

  it('takes a list, in any order, and [] for none', () => {
    expect(rule('    explain: [pip, deploy]\n').rules[0]?.explain).toEqual(['deploy', 'pip']);
    expect(rule('    explain: []\n').rules[0]?.explain).toEqual([]);
    expect(rule('    explain: [dpkg]\n', 'critical').rules[0]?.explain).toEqual(['dpkg']);
  });

  it('refuses an unknown manifest, naming the place', () => {
    const p = rule('    explain: [deploy, rpm]\n').problems;
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /app\.yaml:7:\d+: rule "r": unknown manifest "rpm" in "explain"; known: deploy, pip, dpkg/,
    );
  });
});
