/**
 * The configuration file (design.md "Configuration"): validated like the policies, every mistake
 * with its file:line:col; relative paths and policy globs resolved against the file's directory.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, defaultConfig, parseConfigText, resolveConfig } from '../../src/config.js';
import { ExitCode, PolicyError } from '../../src/errors.js';

let dir: string;
let cfgFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-config-'));
  cfgFile = join(dir, 'fim.yaml');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function touch(rel: string): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, 'version: 1\nrules: []\n');
  return p;
}

/** The problems of a configuration text that must be refused. */
function problemsOf(text: string): string[] {
  try {
    parseConfigText(cfgFile, text);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    const e = err as PolicyError;
    expect(e.exitCode).toBe(ExitCode.usage);
    return [...e.problems];
  }
  throw new Error(`configuration accepted: ${JSON.stringify(text)}`);
}

describe('parseConfigText: valid configurations', () => {
  it('reads the full example of design.md', () => {
    const policies = [touch('policies/a.yaml'), touch('policies/b.yaml')];
    touch('policies/notes.txt');
    const text = [
      `policies: [${dir}/policies/*.yaml]`,
      'database: /var/lib/fim/fim.db',
      'keys: /etc/fim/keys',
      'syslog: { target: "udp://logs.internal:514", facility: authpriv, max_per_second: 50 }',
      'watch: { debounce_ms: 50, full_check: 1h, heartbeat: 60s }',
      '',
    ].join('\n');
    const cfg = parseConfigText(cfgFile, text);
    expect(cfg.file).toBe(cfgFile);
    expect(cfg.policies).toEqual(policies);
    expect(cfg.database).toBe('/var/lib/fim/fim.db');
    expect(cfg.keys).toBe('/etc/fim/keys');
    expect(cfg.syslog).toEqual({
      target: 'udp://logs.internal:514',
      facility: 'authpriv',
      maxPerSecond: 50,
      ca: null,
      cert: null,
      key: null,
    });
    expect(cfg.watch).toEqual({
      debounceMs: 50,
      fullCheckMs: 3_600_000,
      heartbeatMs: 60_000,
      fallbackScanMs: 60_000,
      backend: 'auto',
    });
  });

  it('gives the defaults for an empty file', () => {
    const cfg = parseConfigText(cfgFile, '');
    const want: Config = { ...defaultConfig(), file: cfgFile };
    expect(cfg).toEqual(want);
    expect(cfg.syslog.target).toBeNull();
    expect(cfg.database).toBe('/var/lib/fim/fim.db');
  });

  it('resolves relative paths and policy globs against the directory of the file, not the cwd', () => {
    const a = touch('conf/policies/a.yaml');
    const z = touch('conf/policies/z.yaml');
    touch('conf/policies/readme.md');
    const single = touch('conf/extra.yaml');
    const file = join(dir, 'conf', 'fim.yaml');
    const cfg = parseConfigText(
      file,
      'policies: [policies/*.yaml, extra.yaml]\ndatabase: db/fim.db\nkeys: ../keys\n',
    );
    expect(cfg.policies).toEqual([a, z, single]);
    expect(cfg.database).toBe(join(dir, 'conf', 'db', 'fim.db'));
    expect(cfg.keys).toBe(join(dir, 'keys'));
  });

  it('expands a glob in sorted order, and to nothing when the directory is missing', () => {
    const names = ['m.yaml', 'b.yaml', 'x.yaml'].map((n) => touch(`p/${n}`));
    const cfg = parseConfigText(cfgFile, 'policies: ["p/*.yaml", "nowhere/*.yaml"]\n');
    expect(cfg.policies).toEqual([...names].sort());
  });

  it('expands ? and [..] in the last component', () => {
    const [a1, a2] = [touch('p/a1.yaml'), touch('p/a2.yaml')];
    touch('p/a10.yaml');
    touch('p/b1.yaml');
    expect(parseConfigText(cfgFile, 'policies: ["p/a?.yaml"]\n').policies).toEqual([a1, a2]);
    expect(parseConfigText(cfgFile, 'policies: ["p/[a]2.yaml"]\n').policies).toEqual([a2]);
  });

  it('a glob does not pick up hidden files (editor locks, swap files), as in a shell', () => {
    const a = touch('p/a.yaml');
    touch('p/.a.yaml');
    // Emacs leaves a dangling symlink ".#name" while a file is being edited.
    symlinkSync('user@host.1234:1700000000', join(dir, 'p', '.#a.yaml'));
    expect(parseConfigText(cfgFile, 'policies: ["p/*.yaml"]\n').policies).toEqual([a]);
  });

  it.each([
    ['1h', 3_600_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['2d', 172_800_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['120', 120_000],
  ])('watch.full_check: %s → %d ms', (text, ms) => {
    expect(parseConfigText(cfgFile, `watch:\n  full_check: ${text}\n`).watch.fullCheckMs).toBe(ms);
  });

  it('reads durations, counts and the host', () => {
    const cfg = parseConfigText(
      cfgFile,
      'host: worker-7\nkey_epoch: 1d\nwatch:\n  debounce_ms: 0\n  heartbeat: 30s\nretention:\n  runs: 20\n',
    );
    expect(cfg.host).toBe('worker-7');
    expect(cfg.keyEpochMs).toBe(86_400_000);
    expect(cfg.watch.debounceMs).toBe(0);
    expect(cfg.watch.heartbeatMs).toBe(30_000);
    expect(cfg.watch.fullCheckMs).toBe(3_600_000);
    expect(cfg.retention.runs).toBe(20);
  });

  it('reads scan.threads: 1 (no split) unless set, 0 for one per CPU', () => {
    expect(defaultConfig().scan.threads).toBe(1);
    expect(parseConfigText(cfgFile, 'scan: { threads: 2 }\n').scan.threads).toBe(2);
    expect(parseConfigText(cfgFile, 'scan:\n  threads: 0\n').scan.threads).toBe(0);
  });

  it.each([
    'udp://logs.internal:514',
    'tcp://10.0.0.5:601',
    'tls://logs.example.com:6514',
    'udp://logs.internal',
    'udp://[::1]:514',
  ])('accepts the syslog target %s', (target) => {
    expect(parseConfigText(cfgFile, `syslog:\n  target: "${target}"\n`).syslog.target).toBe(target);
  });

  it.each(['kern', 'user', 'daemon', 'auth', 'authpriv', 'local0', 'local7'])('accepts facility %s', (f) => {
    expect(parseConfigText(cfgFile, `syslog:\n  facility: ${f}\n`).syslog.facility).toBe(f);
  });

  it('accepts max_per_second of 1 and more', () => {
    expect(parseConfigText(cfgFile, 'syslog:\n  max_per_second: 1\n').syslog.maxPerSecond).toBe(1);
    expect(parseConfigText(cfgFile, 'syslog:\n  max_per_second: 1000\n').syslog.maxPerSecond).toBe(1000);
  });
});

interface Mistake {
  what: string;
  text: string;
  at: string;
  mentions: string[];
}

const MISTAKES: Mistake[] = [
  {
    what: 'unknown top-level key, with a suggestion',
    text: 'polices: [/etc/fim/policies/*.yaml]\n',
    at: '1:1',
    mentions: ['unknown key "polices"', 'did you mean "policies"'],
  },
  {
    what: 'unknown key in syslog, with a suggestion',
    text: 'syslog:\n  targt: "udp://x:514"\n',
    at: '2:3',
    mentions: ['unknown key "targt"', 'did you mean "target"'],
  },
  {
    what: 'unknown key in watch, with a suggestion',
    text: 'watch:\n  debounce: 50\n',
    at: '2:3',
    mentions: ['unknown key "debounce"', 'did you mean "debounce_ms"'],
  },
  {
    what: 'syslog target with an unknown scheme',
    text: 'syslog:\n  target: "http://logs:514"\n',
    at: '2:11',
    mentions: ['"syslog.target"', '"http://logs:514"'],
  },
  {
    what: 'syslog target without a scheme',
    text: 'syslog:\n  target: logs.internal:514\n',
    at: '2:11',
    mentions: ['"syslog.target"'],
  },
  {
    what: 'syslog target without a host',
    text: 'syslog:\n  target: "udp://"\n',
    at: '2:11',
    mentions: ['"syslog.target"'],
  },
  {
    what: 'syslog target with a path',
    text: 'syslog:\n  target: "tcp://logs:514/x"\n',
    at: '2:11',
    mentions: ['"syslog.target"'],
  },
  {
    what: 'syslog target with a port out of range',
    text: 'syslog:\n  target: "udp://logs.internal:99999"\n',
    at: '2:11',
    mentions: ['"syslog.target"', '99999'],
  },
  {
    what: 'syslog target with a port that is not a number',
    text: 'syslog:\n  target: "udp://logs.internal:syslog"\n',
    at: '2:11',
    mentions: ['"syslog.target"'],
  },
  {
    what: 'unknown facility',
    text: 'syslog:\n  facility: authprive\n',
    at: '2:13',
    mentions: ['"syslog.facility"', 'authpriv'],
  },
  {
    what: 'max_per_second zero',
    text: 'syslog:\n  max_per_second: 0\n',
    at: '2:19',
    mentions: ['"syslog.max_per_second"', 'positive integer'],
  },
  {
    what: 'max_per_second a fraction',
    text: 'syslog:\n  max_per_second: 2.5\n',
    at: '2:19',
    mentions: ['"syslog.max_per_second"'],
  },
  {
    what: 'max_per_second a word',
    text: 'syslog: { max_per_second: lots }\n',
    at: '1:27',
    mentions: ['"syslog.max_per_second"'],
  },
  {
    what: 'full_check not a duration',
    text: 'watch:\n  full_check: 1 hour\n',
    at: '2:15',
    mentions: ['"watch.full_check"'],
  },
  {
    what: 'heartbeat negative',
    text: 'watch:\n  heartbeat: -5s\n',
    at: '2:14',
    mentions: ['"watch.heartbeat"'],
  },
  {
    what: 'heartbeat zero',
    text: 'watch:\n  heartbeat: 0\n',
    at: '2:14',
    mentions: ['"watch.heartbeat"'],
  },
  {
    what: 'debounce_ms negative',
    text: 'watch:\n  debounce_ms: -1\n',
    at: '2:16',
    mentions: ['"watch.debounce_ms"'],
  },
  {
    what: 'key_epoch below a second',
    text: 'key_epoch: 10ms\n',
    at: '1:12',
    mentions: ['"key_epoch"'],
  },
  {
    what: 'scan.threads past 16',
    text: 'scan:\n  threads: 17\n',
    at: '2:12',
    mentions: ['"scan.threads"'],
  },
  {
    what: 'scan.threads not a number',
    text: 'scan: { threads: many }\n',
    at: '1:18',
    mentions: ['"scan.threads"'],
  },
  {
    what: 'retention.runs zero',
    text: 'retention:\n  runs: 0\n',
    at: '2:9',
    mentions: ['"retention.runs"'],
  },
  {
    what: 'syslog not a mapping',
    text: 'syslog: "udp://logs:514"\n',
    at: '1:9',
    mentions: ['"syslog" must be a mapping'],
  },
  {
    what: 'policies not strings',
    text: 'policies:\n  - {a: 1}\n',
    at: '2:5',
    mentions: ['"policies"'],
  },
  {
    what: 'the file is not a mapping',
    text: '- /etc/fim/policies\n',
    at: '1:1',
    mentions: ['configuration must be a mapping'],
  },
  {
    what: 'bad YAML syntax',
    text: 'database: /var/lib/fim/fim.db\nsyslog:\n  target: [udp\nwatch: {}\n',
    at: '4:1',
    mentions: ['YAML syntax'],
  },
];

describe('parseConfigText: mistakes, each with file:line:col and the key', () => {
  it.each(MISTAKES)('$what', ({ text, at, mentions }) => {
    const problems = problemsOf(text);
    const here = problems.filter((p) => p.startsWith(`${cfgFile}:${at}: `));
    expect(here, `no problem at ${at} in ${JSON.stringify(problems)}`).toHaveLength(1);
    for (const m of mentions) expect(here[0]).toContain(m);
  });

  it('reports every mistake at once', () => {
    const problems = problemsOf('polices: [/x]\nsyslog:\n  facility: nope\nwatch:\n  heartbeat: soon\n');
    expect(problems.map((p) => p.slice(cfgFile.length + 1, p.indexOf(': ')))).toEqual([
      '1:1',
      '3:13',
      '5:14',
    ]);
  });
});

describe('resolveConfig', () => {
  it('reads --config, and --policy and --db override it, relative to the cwd', () => {
    const p = touch('p/a.yaml');
    writeFileSync(cfgFile, `policies: [${dir}/p/*.yaml]\ndatabase: ${dir}/fim.db\n`);
    const cfg = resolveConfig({ config: cfgFile });
    expect(cfg.policies).toEqual([p]);
    expect(cfg.database).toBe(join(dir, 'fim.db'));
    const over = resolveConfig({ config: cfgFile, policy: ['x.yaml', '/abs/y.yaml'], db: 'other.db' });
    expect(over.policies).toEqual([join(process.cwd(), 'x.yaml'), '/abs/y.yaml']);
    expect(over.database).toBe(join(process.cwd(), 'other.db'));
  });

  it('refuses a --config file that does not exist, with the usage exit code', () => {
    expect(() => resolveConfig({ config: join(dir, 'missing.yaml') })).toThrow(/cannot read configuration/);
    try {
      resolveConfig({ config: join(dir, 'missing.yaml') });
    } catch (err) {
      expect((err as PolicyError).exitCode).toBe(ExitCode.usage);
    }
  });

  it('raises the file problems of a bad --config file', () => {
    writeFileSync(cfgFile, 'syslog:\n  facility: nope\n');
    expect(() => resolveConfig({ config: cfgFile })).toThrow(
      new RegExp(`^${cfgFile}:2:13: "syslog.facility"`),
    );
  });
});
