/**
 * The command line itself: version, help, the man page generated from the same source, policy
 * explain, restricted checks and report filters.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIM, fim, ROOT, Sandbox } from '../helpers/fim.js';

describe('help, version, man page', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = fim(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('fim help COMMAND and --help describe the command and the exit codes', () => {
    const r = fim(['help', 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--min-severity');
    const h = fim(['check', '--help']);
    expect(h.stdout).toContain('18  the baseline fails its integrity check');
    expect(fim(['help', 'nonsense']).code).toBe(16);
    expect(fim(['frobnicate']).code).toBe(16);
  });

  it('docs/fim.1 is generated from the same source as --help and is up to date', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-man.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const man = readFileSync(join(ROOT, 'docs/fim.1'), 'utf8');
    for (const c of [
      'baseline',
      'check',
      'accept',
      'watch',
      'keygen',
      'verify\\-log',
      'policy explain',
      'demo',
    ]) {
      expect(man).toContain(`.SS "fim ${c}`);
    }
  });
});

describe('help and options per command', () => {
  const COMMANDS = [
    ['baseline'],
    ['check'],
    ['accept'],
    ['history'],
    ['show'],
    ['policy', 'check'],
    ['policy', 'explain'],
    ['keygen'],
    ['watch'],
    ['demo'],
    ['verify-log'],
  ];

  it.each(COMMANDS)('fim help %s prints exactly what --help prints', (...cmd) => {
    const viaHelp = fim(['help', ...cmd]);
    const viaFlag = fim([...cmd, '--help']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stdout).toContain(`Usage: fim ${cmd.join(' ')}`);
  });

  it('offers an option only where it applies', () => {
    const opts = (cmd: string[]) => fim([...cmd, '--help']).stdout;
    expect(opts(['keygen'])).not.toMatch(/--policy|--db/);
    expect(opts(['watch'])).not.toMatch(/--json|--quiet/);
    expect(opts(['history'])).not.toContain('--policy');
    expect(opts(['check'])).toMatch(/--policy[\s\S]*--db[\s\S]*--json[\s\S]*--quiet/);
    expect(fim(['keygen', '--db', '/tmp/x.db']).stderr).toContain("unknown option '--db'");
  });

  it('keygen -q writes the keys and prints nothing', async () => {
    await using sb = new Sandbox();
    const config = join(sb.dir, 'fim.yaml');
    writeFileSync(config, 'host: quiet-host\nkeys: keys\n');
    const r = fim(['keygen', '-q', '--epochs', '2', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(join(sb.dir, 'keys', 'quiet-host.pub'), 'utf8').length).toBeGreaterThan(0);
  });
});

describe('a reader that goes away', () => {
  it('`fim baseline | head -1` and `fim check --format ndjson | head -1` end quietly', async () => {
    await using sb = new Sandbox();
    for (let i = 0; i < 50; i++) sb.write(`app/f${i}`, `${i}`);
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const run = (args: string) =>
      spawnSync(
        'bash',
        [
          '-c',
          `set -o pipefail; "${process.execPath}" "${FIM}" ${args} ${sb.configArgs().join(' ')} | head -1 >/dev/null; echo "fim exit \${PIPESTATUS[0]}" >&2`,
        ],
        { encoding: 'utf8' },
      );
    const b = run('baseline');
    expect(b.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(b.stderr).toContain('fim exit 0');
    for (let i = 0; i < 50; i++) sb.write(`app/f${i}`, `changed ${i}`);
    const c = run('check --format ndjson');
    expect(c.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(c.stderr).toContain('fim exit 4');
  });

  it('`fim … | head -1` ends quietly with its own exit status, no EPIPE stack trace', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${FIM}" demo | head -1; echo "fim exit \${PIPESTATUS[0]}" >&2`,
      ],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.stdout).toMatch(/^fim demo: /);
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toContain('fim exit 0');
  });
});

describe('policy explain, scoped checks, filters', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = new Sandbox();
    sb.write('app/a.py', 'a');
    sb.write('app/tmp/scratch', 's');
    sb.write('app/deep/er/x.py', 'x');
    sb.write('keys/k.pem', 'k');
    sb.write('other/o.txt', 'o');
    sb.policy(`  - name: code
    severity: medium
    paths: ["{tree}/app"]
    exclude: ["{tree}/app/tmp/**"]
    check: readonly
    recurse: 2
  - name: keys
    severity: critical
    paths: ["{tree}/keys"]
    check: dynamic +content
`);
  });
  afterEach(() => sb.cleanup());

  it('explains the governing rule, an exclusion, a depth limit, and an uncovered path', () => {
    const a = sb.fim(['policy', 'explain', sb.path('app/a.py')]);
    expect(a.stdout).toContain('rule "code"');
    expect(a.stdout).toContain(
      'attributes: type, mode, uid, gid, size, mtime, ctime, inode, nlink, target, content, caps, acl, selinux, xattrs, flags\n  hashes: blake3',
    );
    const k = JSON.parse(sb.fim(['policy', 'explain', '--json', sb.path('keys/k.pem')]).stdout) as {
      attributes: string[];
    };
    // An intruder's setcap is never dynamic data: dynamic keeps caps, ACLs, label, xattrs, flags.
    expect(k.attributes).toEqual([
      'type',
      'mode',
      'uid',
      'gid',
      'inode',
      'nlink',
      'target',
      'content',
      'caps',
      'acl',
      'selinux',
      'xattrs',
      'flags',
    ]);
    expect(sb.fim(['policy', 'explain', sb.path('app/tmp/scratch')]).stdout).toContain('matches "');
    expect(sb.fim(['policy', 'explain', sb.path('app/deep/er/x.py')]).stdout).toContain('beyond recurse 2');
    expect(sb.fim(['policy', 'explain', sb.path('other/o.txt')]).stdout).toContain('not covered by any rule');
    // A local rule that overrides the keys rule for its path: explain says which won.
    const local = join(sb.dir, 'local.yaml');
    writeFileSync(
      local,
      `version: 1\nrules:\n  - name: keys-local\n    severity: low\n    override: keys\n    paths: ["${sb.path('keys')}"]\n    check: dynamic\n`,
    );
    const both = fim([
      'policy',
      'explain',
      '--json',
      '--policy',
      sb.policyFile,
      '--policy',
      local,
      sb.path('keys/k.pem'),
    ]);
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout)).toMatchObject({ rule: 'keys-local', severity: 'low', overrides: 'keys' });
    const text = fim([
      'policy',
      'explain',
      '--policy',
      sb.policyFile,
      '--policy',
      local,
      sb.path('keys/k.pem'),
    ]);
    expect(text.stdout).toContain(`overrides: rule "keys" (${sb.policyFile}:`);
  });

  it('excluded and too-deep entries are not recorded, so changing them is no finding', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    writeFileSync(sb.path('app/tmp/scratch'), 'changed');
    writeFileSync(sb.path('app/deep/er/x.py'), 'changed');
    const { code, report } = sb.check();
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
  });

  it('check PATH compares only that subtree; --rule and --min-severity filter the report', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    writeFileSync(sb.path('app/a.py'), 'changed!');
    writeFileSync(sb.path('keys/k.pem'), 'changed!');
    const scoped = sb.check([sb.path('keys')]);
    expect(scoped.report.findings.map((f) => f.path)).toEqual([sb.path('keys/k.pem')]);
    const byRule = sb.check(['--rule', 'code']);
    expect(byRule.report.findings.map((f) => f.rule)).toEqual(['code']);
    const bySev = sb.check(['--min-severity', 'critical']);
    expect(bySev.report.findings.map((f) => f.path)).toEqual([sb.path('keys/k.pem')]);
    expect(sb.fim(['check', '--rule', 'nope']).code).toBe(16);
  });

  it('a rule on "/" itself verifies: the root record comes back under its own key', () => {
    sb.policy('  - name: root\n    paths: ["/"]\n    recurse: 1\n    check: existence\n');
    expect(sb.fim(['baseline']).code).toBe(0);
    const r = sb.fim(['check']);
    expect(r.stderr).not.toContain('integrity');
    expect(r.code).toBeLessThan(16);
  });

  it('a symlinked parent directory is not followed to reach a rule path', () => {
    symlinkSync(sb.path('other'), sb.path('linked'));
    sb.policy('  - name: via-link\n    paths: ["{tree}/linked/o.txt"]\n    check: readonly\n');
    const b = sb.fim(['baseline', '--json']);
    const out = JSON.parse(b.stdout) as { errors: { code: string }[]; files: number };
    expect(out.errors.map((e) => e.code)).toEqual(['ESYMLINKPARENT']);
    expect(out.files).toBe(0);
    expect(b.code).toBe(8);
  });
});
