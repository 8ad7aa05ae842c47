/**
 * Explain, never suppress, through the real CLI: a real wheel installed over an older version with
 * a real pip in a real virtualenv (the wheels are built by the test: a wheel is a zip with its
 * RECORD), a signed deploy manifest made by `fim manifest create`, and a real dpkg md5sums entry
 * for a real file under /usr. Explained findings are still findings: journaled, reported, exit 4.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { type CheckJson, fim, Sandbox } from '../helpers/fim.js';
import { rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

type Finding = CheckJson['findings'][number] & {
  explained_by?: {
    source: string;
    strength: string;
    package: string;
    version: string | null;
    manifest: string;
  };
  unexplained?: { strength: string; reason: string; package: string };
  severity_before?: string;
};

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox('fim-explain-');
});
afterEach(() => sb.cleanup());

function writeConfig(extra: string[] = []): string[] {
  const cfg = join(sb.dir, 'explain-fim.yaml');
  writeFileSync(
    cfg,
    [`policies: [${JSON.stringify(sb.policyFile)}]`, `database: ${JSON.stringify(sb.db)}`, ...extra, ''].join(
      '\n',
    ),
  );
  return ['--config', cfg];
}

function check(cfg: string[]): { code: number; findings: Finding[]; notes: string[] } {
  const r = fim(['check', '--json', ...cfg]);
  const j = JSON.parse(r.stdout) as CheckJson;
  return { code: r.code, findings: j.findings as Finding[], notes: j.notes };
}

/** A wheel of package `demo` at `version`, as a build would make it: files, METADATA, WHEEL, RECORD. */
function buildWheel(version: string, files: Record<string, string>): string {
  const dir = join(sb.dir, `wheel-${version}`);
  const info = `demo-${version}.dist-info`;
  mkdirSync(join(dir, info), { recursive: true });
  const all: Record<string, string> = {
    ...files,
    [`${info}/METADATA`]: `Metadata-Version: 2.1\nName: demo\nVersion: ${version}\n`,
    [`${info}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: fim-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const rows: string[] = [];
  for (const [rel, text] of Object.entries(all)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
    const digest = execFileSync('python3', [
      '-c',
      'import hashlib,base64,sys; print(base64.urlsafe_b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).rstrip(b"=").decode())',
      join(dir, rel),
    ])
      .toString()
      .trim();
    rows.push(`${rel},sha256=${digest},${Buffer.byteLength(text)}`);
  }
  rows.push(`${info}/RECORD,,`);
  writeFileSync(join(dir, info, 'RECORD'), `${rows.join('\n')}\n`);
  const whl = join(sb.dir, `demo-${version}-py3-none-any.whl`);
  execFileSync('python3', ['-m', 'zipfile', '-c', whl, 'demo', info], { cwd: dir });
  return whl;
}

describe('pip: a wheel upgraded in a virtualenv', () => {
  it('every file the new wheel installed is explained; one altered after the install is not, keeps its severity, and accept --explained leaves it', () => {
    const venv = sb.path('venv');
    // A real virtualenv with its own pip (ensurepip: offline), which installs the wheels offline.
    execFileSync('python3', ['-m', 'venv', venv]);
    const pip = (whl: string) =>
      execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', '--no-index', '--no-compile', whl], {
        stdio: 'pipe',
      });
    pip(
      buildWheel('1.0', {
        'demo/__init__.py': "VERSION = '1.0'\n",
        'demo/core.py': 'def f():\n    return 1\n',
      }),
    );
    sb.policy('  - name: venv\n    severity: high\n    paths: ["{tree}/venv/lib"]\n    check: readonly\n');
    const cfg = writeConfig();
    expect(fim(['baseline', '-q', ...cfg]).code).toBe(0);
    pip(
      buildWheel('1.1', {
        'demo/__init__.py': "VERSION = '1.1'\n",
        'demo/core.py': 'def f():\n    return 2\n',
      }),
    );
    const site = execFileSync(join(venv, 'bin', 'python'), [
      '-c',
      'import sysconfig; print(sysconfig.get_paths()["purelib"])',
    ])
      .toString()
      .trim();
    appendFileSync(join(site, 'demo', 'core.py'), 'import os; os.system("id")\n');

    const { code, findings } = check(cfg);
    expect(code & 4).toBe(4); // explained findings are findings
    const byPath = new Map(findings.map((f) => [f.path, f]));
    const init = byPath.get(join(site, 'demo', '__init__.py'));
    expect(init?.explained_by).toMatchObject({
      source: 'pip',
      strength: 'pip-record',
      package: 'demo',
      version: '1.1',
    });
    expect(init?.severity).toBe('high'); // corroboration only: never lowered
    const core = byPath.get(join(site, 'demo', 'core.py'));
    expect(core?.explained_by).toBeUndefined();
    expect(core?.unexplained).toMatchObject({ strength: 'pip-record', package: 'demo' });
    expect(core?.unexplained?.reason).toMatch(/changed after the install/);
    expect(core?.severity).toBe('high');
    // Every regular file pip wrote and hashed in RECORD is explained.
    const metadata = byPath.get(join(site, 'demo-1.1.dist-info', 'METADATA'));
    expect(metadata?.kind).toBe('added');
    expect(metadata?.explained_by?.package).toBe('demo');

    const a = fim(['accept', '--explained', '--json', ...cfg]);
    expect(a.code, a.stderr).toBe(0);
    const acc = JSON.parse(a.stdout) as { accepted: { path: string }[]; left: { path: string }[] };
    expect(acc.accepted.map((x) => x.path)).toContain(init?.path);
    expect(acc.left.map((x) => x.path)).toContain(core?.path);
    expect(acc.accepted.map((x) => x.path)).not.toContain(core?.path);
    // After the accept, the altered file is still reported; the explained ones are not.
    const after = check(cfg).findings.map((f) => f.path);
    expect(after).toContain(core?.path);
    expect(after).not.toContain(init?.path);
  });
});

describe('a signed deploy manifest', () => {
  function deploy() {
    const app = sb.path('app');
    sb.write('app/tasks.py', 'v1\n');
    sb.write('app/settings.py', 'DEBUG = False\n');
    const key = join(sb.dir, 'deploy.key');
    expect(fim(['manifest', 'keygen', key]).code).toBe(0);
    sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const manifest = join(sb.dir, 'app.manifest');
    const cfg = writeConfig([
      'explain:',
      `  deploy_keys: [${JSON.stringify(`${key}.pub`)}]`,
      `  deploy_manifests: [${JSON.stringify(manifest)}]`,
    ]);
    expect(fim(['baseline', '-q', ...cfg]).code).toBe(0);
    // The build makes v2 and its manifest; the deploy puts both on the host.
    writeFileSync(join(app, 'tasks.py'), 'v2\n');
    const m = fim([
      'manifest',
      'create',
      app,
      '--key',
      key,
      '--name',
      'celery-app',
      '--release',
      'build-42',
      '-o',
      manifest,
    ]);
    expect(m.code, m.stderr).toBe(0);
    return { app, cfg, manifest };
  }

  it('lowers the severity of what it explains by one step, and marks a file it does not list', () => {
    const { app, cfg } = deploy();
    writeFileSync(join(app, 'settings.py'), 'DEBUG = True\n'); // not what the build shipped
    writeFileSync(join(app, 'implant.py'), 'evil\n'); // not shipped at all
    const byPath = new Map(check(cfg).findings.map((f) => [f.path, f]));
    const tasks = byPath.get(join(app, 'tasks.py'));
    expect(tasks?.explained_by).toMatchObject({
      source: 'deploy',
      strength: 'signed-manifest',
      package: 'celery-app',
      version: 'build-42',
    });
    expect(tasks?.severity).toBe('medium');
    expect(tasks?.severity_before).toBe('high');
    const settings = byPath.get(join(app, 'settings.py'));
    expect(settings?.unexplained?.reason).toMatch(/other bytes/);
    expect(settings?.severity).toBe('high');
    const implant = byPath.get(join(app, 'implant.py'));
    expect(implant?.kind).toBe('added');
    expect(implant?.unexplained?.reason).toMatch(/not a file it shipped/);
    expect(implant?.severity).toBe('high');
  });

  it('with one digest edited, or signed by a key the host does not trust, explains nothing and says why', () => {
    const { cfg, manifest } = deploy();
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { body: string; key: string };
    const body = Buffer.from(m.body, 'base64').toString('latin1');
    const edited = body.replace(
      / ([0-9a-f])([0-9a-f]{63})\n/,
      (_all, c: string, rest: string) => ` ${c === '0' ? '1' : '0'}${rest}\n`,
    );
    expect(edited).not.toBe(body);
    writeFileSync(manifest, JSON.stringify({ ...m, body: Buffer.from(edited, 'latin1').toString('base64') }));
    let r = check(cfg);
    expect(r.findings.every((f) => f.explained_by === undefined && f.severity === 'high')).toBe(true);
    expect(r.notes.join('\n')).toMatch(/bad signature: it was altered after it was signed/);
    // A manifest made with another key: refused for that.
    const other = join(sb.dir, 'other.key');
    fim(['manifest', 'keygen', other]);
    fim([
      'manifest',
      'create',
      sb.path('app'),
      '--key',
      other,
      '--name',
      'x',
      '--release',
      '1',
      '-o',
      manifest,
    ]);
    r = check(cfg);
    expect(r.findings.every((f) => f.explained_by === undefined)).toBe(true);
    expect(r.notes.join('\n')).toMatch(/a key this host does not trust/);
  });
});

describe('the daemon', () => {
  it('says what explains a change it sees, with the lowered severity, in its log line', async () => {
    sb.write('app/tasks.py', 'v1\n');
    const key = join(sb.dir, 'deploy.key');
    fim(['manifest', 'keygen', key]);
    sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const manifest = join(sb.dir, 'app.manifest');
    const cfg = writeConfig([
      'watch: { debounce_ms: 50, heartbeat: 1s, full_check: 1h }',
      'explain:',
      `  deploy_keys: [${JSON.stringify(`${key}.pub`)}]`,
      `  deploy_manifests: [${JSON.stringify(manifest)}]`,
    ]);
    expect(fim(['baseline', '-q', ...cfg]).code).toBe(0);
    const d = new DaemonProcess(cfg);
    try {
      await d.ready();
      // The build signs v2 as it will be on the host (--as), then the deploy puts it in place.
      const stage = join(sb.dir, 'build');
      mkdirSync(stage);
      writeFileSync(join(stage, 'tasks.py'), 'v2\n');
      const m = fim([
        'manifest',
        'create',
        stage,
        '--as',
        sb.path('app'),
        '--key',
        key,
        '--name',
        'app',
        '--release',
        'r2',
        '-o',
        manifest,
      ]);
      expect(m.code, m.stderr).toBe(0);
      writeFileSync(sb.path('app/tasks.py'), 'v2\n');
      const line = await d
        .waitFor(/changed \S+\/app\/tasks\.py .*explained by signed-manifest app r2/, 5000)
        .catch((e: Error) => {
          throw new Error(`${e.message}\n${d.lines.join('\n')}\n${d.stderr.join('')}`);
        });
      expect(line).toContain('severity=medium');
      expect(line).toContain('severity lowered from high');
    } finally {
      await d.stop();
    }
  });
});

describe.skipIf(!rsyslogAvailable())('the daemon and a deploy storm, through a real rsyslogd', () => {
  const n = 25;
  const key = () => join(sb.dir, 'deploy.key');
  const manifest = () => join(sb.dir, 'app.manifest');

  /** A host with 25 files and settings.py under a signed-deploy rule, its keys, and its baseline. */
  function stormHost(port: number): string[] {
    for (let i = 0; i < n; i++) sb.write(`app/m${i}.py`, 'v1\n');
    sb.write('app/settings.py', 'DEBUG = False\n');
    fim(['manifest', 'keygen', key()]);
    sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const cfg = writeConfig([
      'host: storm-host',
      'keys: keys',
      `syslog: { target: "udp://127.0.0.1:${port}", max_per_second: 500 }`,
      'watch: { debounce_ms: 100, heartbeat: 1s, full_check: 1h }',
      'explain:',
      `  deploy_keys: [${JSON.stringify(`${key()}.pub`)}]`,
      `  deploy_manifests: [${JSON.stringify(manifest())}]`,
    ]);
    expect(fim(['keygen', '--epochs', '24', ...cfg]).code).toBe(0);
    expect(fim(['baseline', '-q', ...cfg]).code).toBe(0);
    return cfg;
  }

  /** The build: release `release` of every file as `text`, signed as it will be on the host. */
  function signRelease(release: string, text: string): void {
    const stage = join(sb.dir, `build-${release}`);
    mkdirSync(stage);
    for (let i = 0; i < n; i++) writeFileSync(join(stage, `m${i}.py`), text);
    writeFileSync(join(stage, 'settings.py'), 'DEBUG = False\n');
    const m = fim(
      ['manifest', 'create', stage, '--as', sb.path('app'), '--key', key()].concat([
        '--name',
        'app',
        '--release',
        release,
        '-o',
        manifest(),
      ]),
    );
    expect(m.code, m.stderr).toBe(0);
  }

  /** Every line the receiver stored verifies, and none is missing. */
  function expectAllVerified(lines: string[]): void {
    const file = join(sb.dir, 'storm.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const v = fim(['verify-log', '--pubkey', join(sb.dir, 'keys', 'storm-host.pub'), '--json', file]);
    const hosts = (JSON.parse(v.stdout) as { hosts: { verified: number }[] }).hosts;
    expect(hosts[0]?.verified).toBe(lines.length);
  }

  const fileAlerts = (lines: string[]) =>
    lines.filter((l) => l.includes('ev="finding"') && /m\d+\.py/.test(l));

  // A deploy made while the daemon was down is found by its start check, in one scan.
  it('sends one signed summary for what the deploy explains, every unexplained one on its own, and journals all', async () => {
    const rs = await startRsyslog(sb.dir);
    const d0: { d?: DaemonProcess } = {};
    try {
      const cfg = stormHost(rs.port);
      signRelease('r2', 'v2\n');
      // The deploy, and an intruder's edit riding on it.
      for (let i = 0; i < n; i++) writeFileSync(sb.path(`app/m${i}.py`), 'v2\n');
      writeFileSync(sb.path('app/settings.py'), 'DEBUG = True\n');
      const d = new DaemonProcess(cfg);
      d0.d = d;
      await d.ready();
      await d.waitFor(/deploy app r2: 25 changes explained by signed manifest/, 10_000);
      const lines = await rs.waitFor(
        (ls) => ls.some((l) => l.includes('ev="explained"')) && ls.some((l) => l.includes('settings.py')),
      );
      const summary = lines.find((l) => l.includes('ev="explained"'))!;
      expect(summary).toContain('explained="25"');
      expect(summary).toContain('pkg="app r2"');
      // The edit the deploy does not explain is alerted by itself; the 25 are not.
      expect(fileAlerts(lines)).toEqual([]);
      const edit = lines.find((l) => l.includes('ev="finding"') && l.includes('settings.py'))!;
      expect(edit).toContain('sev="high"');
      expect(edit).toMatch(/expl="unexplained\(differs\) signed-manifest app r2"/);
      // Every finding is in the daemon's log and journal.
      expect(
        d.lines.filter((l) => /changed \S+\/app\/m\d+\.py .*explained by signed-manifest/.test(l)),
      ).toHaveLength(n);
      expect(await d.stop()).toBe(0);
      d0.d = undefined;
      expectAllVerified(rs.lines());
    } finally {
      await d0.d?.stop();
      await rs.stop();
    }
  });

  // A live deploy writes over seconds: the daemon's debounced rescans find it in pieces, and the
  // storm is still one summary. A deploy cut short by the daemon's stop is summarised before it.
  it('folds a live deploy found by several rescans into one summary, alerts an edit after it, and flushes a held one before its stop', async () => {
    const rs = await startRsyslog(sb.dir);
    const d0: { d?: DaemonProcess } = {};
    try {
      const d = new DaemonProcess(stormHost(rs.port));
      d0.d = d;
      await d.ready();
      signRelease('r2', 'v2\n');
      // Three pieces, each found by its own rescan (the debounce is 100 ms), within the quiet window.
      const rescans = () => d.lines.filter((l) => /changed \S+\/app\/m\d+\.py .*app r2/.test(l)).length;
      for (const [from, to] of [
        [0, 8],
        [8, 16],
        [16, n],
      ] as const) {
        for (let i = from; i < to; i++) writeFileSync(sb.path(`app/m${i}.py`), 'v2\n');
        await waitFor(() => rescans() >= to, { what: `the rescan of m${from}..m${to - 1}`, timeoutMs: 5000 });
      }
      await d.waitFor(/deploy app r2: 25 changes explained by signed manifest/, 10_000);
      const lines = await rs.waitFor((ls) => ls.some((l) => l.includes('ev="explained"')));
      expect(lines.filter((l) => l.includes('ev="explained"'))).toHaveLength(1);
      expect(lines.find((l) => l.includes('ev="explained"'))).toContain('explained="25"');
      expect(fileAlerts(lines)).toEqual([]);
      // An intruder edits a deployed file after the deploy: the deploy's storm does not cover it.
      writeFileSync(sb.path('app/m0.py'), 'import os; os.system("sh")\n');
      const evil = await rs.waitFor((ls) => fileAlerts(ls).length > 0, 5000);
      expect(fileAlerts(evil)).toHaveLength(1);
      const edit = fileAlerts(evil)[0]!;
      expect(edit).toContain('m0.py');
      expect(edit).toContain('sev="high"');
      expect(edit).toContain('expl="unexplained(differs) signed-manifest app r2"');
      // Release r3; the daemon stops while the storm is held: its summary precedes the stop.
      signRelease('r3', 'v3\n');
      for (let i = 0; i < n; i++) writeFileSync(sb.path(`app/m${i}.py`), 'v3\n');
      const r3 = () => d.lines.filter((l) => /changed \S+\/app\/m\d+\.py .*app r3/.test(l)).length;
      await waitFor(() => r3() >= n, {
        what: `the findings of release r3\n${d.lines.slice(-8).join('\n')}`,
        timeoutMs: 5000,
      });
      expect(await d.stop()).toBe(0);
      d0.d = undefined;
      const daemonStop = (l: string) => l.includes('ev="stop"') && l.includes('SIGTERM');
      const all = await rs.waitFor((ls) => ls.some(daemonStop));
      const r3Summary = all.findIndex((l) => l.includes('ev="explained"') && l.includes('pkg="app r3"'));
      expect(r3Summary).toBeGreaterThan(-1);
      expect(r3Summary).toBeLessThan(all.findIndex(daemonStop));
      expect(fileAlerts(all)).toEqual(fileAlerts(evil));
      expectAllVerified(all);
    } finally {
      await d0.d?.stop();
      await rs.stop();
    }
  });
});

describe('dpkg: a real package file under /usr', () => {
  it('is explained by its md5sums entry with strength package-db (MD5 said to be weak)', () => {
    // The baseline sees another file at /usr/bin/cat (a bind mount in a private mount namespace);
    // the check sees Debian's own, which coreutils' md5sums lists.
    const fake = sb.write('fake-cat', 'not cat\n');
    sb.policy(
      '  - name: os\n    severity: high\n    paths: [/usr/bin/cat]\n    check: readonly\n    recurse: false\n',
    );
    const cfg = writeConfig();
    execFileSync('unshare', [
      '--mount',
      'sh',
      '-c',
      `mount --bind ${fake} /usr/bin/cat && exec "$@"`,
      'sh',
      process.execPath,
      ...[join(import.meta.dirname, '..', '..', 'bin', 'fim'), 'baseline', '-q', ...cfg],
    ]);
    const r = fim(['check', ...cfg]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      /explained by package-db coreutils \S+, \/var\/lib\/dpkg\/info\/coreutils\.md5sums \(MD5\)/,
    );
    const f = check(cfg).findings.find((x) => x.path === '/usr/bin/cat');
    expect(f?.explained_by).toMatchObject({ source: 'dpkg', strength: 'package-db', package: 'coreutils' });
    expect(f?.severity).toBe('high');
  });
});
