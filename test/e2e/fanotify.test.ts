/**
 * `fim watch` on the fanotify backend (issue #15), as a real daemon on the real kernel (root: the
 * file-system mark needs CAP_SYS_ADMIN), with a real rsyslogd receiving its signed alerts. What
 * only fanotify can do: a write through a hard link made outside the tree, and who wrote. Every
 * wait has a timeout; nothing sleeps a fixed time.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { linkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, watchHostConfig } from '../helpers/daemon.js';
import { FIM, fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

const HOST = 'fan-host';

function setup(sb: Sandbox, port: number, backend: string): string {
  return watchHostConfig(sb, { host: HOST, port, watch: `backend: ${backend}` });
}

/** The journal's JSON detail of the latest finding at a path ending in `suffix`. */
function journaled(sb: Sandbox, suffix: string): Record<string, unknown> {
  const db = new Database(join(sb.dir, 'fim.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT detail FROM finding ORDER BY id DESC').all() as { detail: string }[];
    const hit = rows
      .map((r) => JSON.parse(r.detail) as Record<string, unknown>)
      .find((j) => String(j.path).endsWith(suffix));
    if (!hit) throw new Error(`no journaled finding at *${suffix}`);
    return hit;
  } finally {
    db.close();
  }
}

describe.skipIf(!rsyslogAvailable())('fim watch on fanotify', () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let d: DaemonProcess;
  let writer: ChildProcess | null = null;

  beforeAll(async () => {
    sb = new Sandbox('fim-fan-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/tasks.py', 'def add(x, y):\n    return x + y\n');
    sb.write('app/linked.py', 'original\n');
    sb.write('app/long.py', 'original\n');
    sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const config = setup(sb, rs.port, 'fanotify');
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    // A hard link made outside the tree while the daemon is down: the write through it later
    // names only the outside directory, never one fim covers.
    linkSync(sb.path('app/linked.py'), join(sb.dir, 'outside-link'));
    d = new DaemonProcess(['--config', config]);
    await d.ready();
  });

  afterAll(async () => {
    writer?.kill('SIGKILL');
    await d?.stop();
    await rs?.stop();
    sb?.cleanup();
  });

  it('says which backend it chose and why, at start and in every heartbeat', async () => {
    await d.waitFor(/watching with fanotify \(CAP_SYS_ADMIN and Linux /);
    const lines = await rs.waitFor(
      (ls) =>
        ls.some((l) => l.includes('ev="start"') && l.includes('kind="watch"')) &&
        ls.some((l) => l.includes('ev="heartbeat"')),
      5000,
    );
    expect(lines.find((l) => l.includes('ev="start"') && l.includes('kind="watch"'))).toMatch(
      /watcher="fanotify \(CAP_SYS_ADMIN and Linux /,
    );
    expect(lines.find((l) => l.includes('ev="heartbeat"'))).toMatch(/watcher="fanotify /);
  });

  it('a write through a hard link made outside the tree is alerted within 2 s', async () => {
    const from = d.lines.length;
    const t = performance.now();
    writeFileSync(join(sb.dir, 'outside-link'), 'tampered through the link\n');
    await d.waitFor(/changed \S+\/app\/linked\.py \(.*content.*\)/, 2000, from);
    expect(performance.now() - t).toBeLessThan(2000);
    await rs.waitFor(
      (ls) => ls.some((l) => l.includes('ev="finding"') && l.includes('/app/linked.py')),
      5000,
    );
  });

  it('a hard link made outside the tree while it runs: the link count, within 2 s, with who', async () => {
    // inotify sees this only for critical rules' files (inode watches); fanotify for every file.
    const from = d.lines.length;
    linkSync(sb.path('app/long.py'), join(sb.dir, 'second-link'));
    const line = await d.waitFor(/changed \S+\/app\/long\.py \(.*nlink.*\)/, 2000, from);
    expect(line).toContain(`; by pid=${process.pid} `);
  });

  it('a non-UTF-8 name is exact, in the log, the journal and the alert', async () => {
    const name = Buffer.from('/\xff\xfe-evil.py', 'latin1');
    const from = d.lines.length;
    writeFileSync(Buffer.concat([Buffer.from(sb.path('app')), name]), 'x');
    await d.waitFor(/added \S+\/app\/\\xff\\xfe-evil\.py /, 2000, from);
    const j = journaled(sb, '-evil.py');
    expect(Buffer.from(String(j.path_b64), 'base64').subarray(-name.length)).toEqual(name);
    await rs.waitFor((ls) => ls.some((l) => l.includes('/app/\\\\xff\\\\xfe-evil.py')), 5000);
  });

  it('a write by a long-lived process carries its pid, uid, exe and cmdline everywhere', async () => {
    // A process that lives on after its write (and does not exec): read while it runs.
    const target = sb.path('app/tasks.py');
    const script = `require('node:fs').appendFileSync(${JSON.stringify(target)}, 'backdoor\\n'); setTimeout(() => {}, 30000);`;
    writer = spawn(process.execPath, ['-e', script, 'fim-test-writer'], { stdio: 'ignore' });
    const pid = writer.pid!;
    const line = await d.waitFor(/changed \S+\/app\/tasks\.py .*; by /, 3000);
    expect(line).toContain(`pid=${pid}`);
    expect(line).toMatch(/ uid=0 /);
    expect(line).toContain(` exe=${process.execPath} `);
    expect(line).toMatch(/ cmd=\S+ -e require.* fim-test-writer$/);
    const who = journaled(sb, '/app/tasks.py').who as Record<string, unknown>;
    expect(who).toMatchObject({ pid, uid: 0, exited: false });
    expect(who.exe).toBe(process.execPath);
    // In display form: the script's backslash is written `\\`.
    expect(who.cmdline).toEqual([process.execPath, '-e', script.replaceAll('\\', '\\\\'), 'fim-test-writer']);
    // `fim show RUN --json` (the JSON report of the daemon's run) carries it too.
    const db = new Database(join(sb.dir, 'fim.db'), { readonly: true });
    const run = (db.prepare('SELECT max(run) AS r FROM finding').get() as { r: bigint | number }).r;
    db.close();
    const shown = fim(['show', String(run), '--json', '--config', join(sb.dir, 'fim.yaml')]);
    const report = JSON.parse(shown.stdout) as { findings: { path: string; who?: { pid: number } }[] };
    expect(report.findings.find((f) => f.path.endsWith('/app/tasks.py'))?.who?.pid).toBe(pid);
    // The signed alert carries it as an SD-PARAM, and verifies.
    const alerts = await rs.waitFor(
      (ls) =>
        ls.some(
          (l) => l.includes('ev="finding"') && l.includes('/app/tasks.py') && l.includes(`who="pid=${pid}`),
        ),
      5000,
    );
    expect(alerts.length).toBeGreaterThan(0);
    const v = fim([
      'verify-log',
      '--pubkey',
      join(sb.dir, 'keys', `${HOST}.pub`),
      '--max-silence',
      '0',
      '--json',
      rs.logFile,
    ]);
    const verified = JSON.parse(v.stdout) as { problems: { kind: string }[] };
    expect(verified.problems.filter((p) => p.kind !== 'unclean-restart')).toEqual([]);
    writer.kill('SIGKILL');
    writer = null;
  });

  it('a short-lived process is `exited` with what was known, or attributed in full', async () => {
    const from = d.lines.length;
    execFileSync('/bin/sh', ['-c', `echo gone >> '${sb.path('app/long.py')}'`]);
    const line = await d.waitFor(/changed \S+\/app\/long\.py .*; by /, 3000, from);
    // Either it was read in time (pid and exe) or it is marked exited: never someone else.
    expect(line).toMatch(/; by (exited pid=\d+|pid=\d+ uid=0 .*exe=\S*sh )/);
    const who = journaled(sb, '/app/long.py').who as { pid: number; exited: boolean };
    expect(who.pid).toBeGreaterThan(0);
  });

  it('SIGTERM stops cleanly', async () => {
    expect(await d.stop('SIGTERM')).toBe(0);
  });
});

describe.skipIf(!rsyslogAvailable())('fanotify under pressure', () => {
  let sb: Sandbox;
  let rs: Rsyslog;

  beforeAll(async () => {
    sb = new Sandbox('fim-fan-overflow-');
    rs = await startRsyslog(sb.dir);
  });

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  it('an overflow (the daemon behind by 16384 events): it alerts, runs a full check and finds what no event named', async () => {
    // The daemon is held (test hook: 15 s before watching a new directory, time enough to write
    // the flood on a busy machine; the pause detector's threshold raised past it). The reader holds
    // what it keeps for the main thread, at most 16384 events (a new file is one: its create and
    // writes merge), then drops them and says overflow. The change made after the flood is dropped.
    sb.write('t/a/.keep', '');
    sb.write('t/b/existing.txt', 'original\n');
    sb.policy('  - name: t\n    paths: ["{tree}/t"]\n    check: readonly\n');
    const config = setup(sb, rs.port, 'fanotify');
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const d = new DaemonProcess(['--config', config], {}, { watchDelayMs: 15_000, pauseThresholdMs: 60_000 });
    try {
      await d.ready();
      const from = d.lines.length;
      sb.write('t/hold/x', '1');
      await d.waitFor(/test: watching \S+\/t\/hold in 15000 ms/, 5000, from);
      for (let i = 0; i < 20_000; i++) writeFileSync(sb.path(`t/a/f${i}`), 'x');
      writeFileSync(sb.path('t/b/existing.txt'), 'tampered\n');
      await d.waitFor(/fanotify events overflowed \(more than 16384 waiting/, 30_000, from);
      await d.waitFor(/full check \(queue overflow\)/, 60_000, from);
      // Found by that full check, unless its own event squeezed into the queue before it filled.
      await d.waitFor(/changed \S+\/t\/b\/existing\.txt .*\[(queue overflow|event)\]/, 5000, from);
      await rs.waitFor((ls) => ls.filter((l) => l.includes('EOVERFLOW')).length === 1, 5000);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 120_000);
});

describe.skipIf(!rsyslogAvailable())('watch.backend', () => {
  let sb: Sandbox;
  let rs: Rsyslog;

  beforeAll(async () => {
    sb = new Sandbox('fim-fan-choice-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/a.py', 'a\n');
    sb.policy('  - name: code\n    paths: ["{tree}/app"]\n    check: readonly\n');
  });

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  it('inotify when forced (the fallback), and says so', async () => {
    const config = setup(sb, rs.port, 'inotify');
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const d = new DaemonProcess(['--config', config]);
    try {
      await d.ready();
      await d.waitFor(/watching with inotify \(watch\.backend is inotify\)/);
      await waitFor(() => readFileSync(rs.logFile, 'utf8').includes('watcher="inotify'), {
        timeoutMs: 5000,
        what: 'the inotify start event',
      });
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });

  it('auto without CAP_SYS_ADMIN falls back to inotify, says why, and still watches', async () => {
    await using box = new Sandbox('fim-fan-noadmin-');
    box.write('app/a.py', 'a\n');
    box.policy('  - name: code\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const config = setup(box, rs.port, 'auto');
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const noAdmin = ['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin'];
    const d = new DaemonProcess(['--config', config], {}, { wrapper: noAdmin });
    try {
      await d.ready();
      await d.waitFor(/watching with inotify \(no CAP_SYS_ADMIN \(file-system marks need it\)\)/);
      const from = d.lines.length;
      writeFileSync(box.path('app/a.py'), 'changed without fanotify\n');
      const line = await d.waitFor(/changed \S+\/app\/a\.py /, 2000, from);
      expect(line).not.toContain('; by ');
    } finally {
      expect(await d.stop()).toBe(0);
    }
    // --help says what auto would pick, here and without the capability.
    expect(fim(['watch', '--help']).stdout).toMatch(/Here, auto would use: fanotify \(/);
    const r = spawnSync(noAdmin[0]!, [...noAdmin.slice(1), process.execPath, FIM, 'watch', '--help'], {
      encoding: 'utf8',
    });
    expect(r.stdout).toMatch(/Here, auto would use: inotify \(fanotify cannot be used: no CAP_SYS_ADMIN/);
  });

  it('fanotify asked for by name where it cannot be had: a usage error (16) that says why', async () => {
    await using box = new Sandbox('fim-fan-forced-');
    box.write('app/a.py', 'a\n');
    box.policy('  - name: code\n    paths: ["{tree}/app"]\n    check: readonly\n');
    const config = setup(box, rs.port, 'fanotify');
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const r = spawnSync(
      'setpriv',
      [
        '--inh-caps=-sys_admin',
        '--bounding-set=-sys_admin',
        process.execPath,
        FIM,
        'watch',
        '--config',
        config,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(16);
    expect(r.stderr).toContain('watch.backend is fanotify, but no CAP_SYS_ADMIN');
  });

  it('an unknown backend is a configuration error', () => {
    const config = join(sb.dir, 'bad.yaml');
    writeFileSync(config, 'policies: [policy.yaml]\nwatch: { backend: dnotify }\n');
    const r = fim(['watch', '--config', config]);
    expect(r.code).toBe(16);
    expect(r.stderr).toMatch(/"watch\.backend" must be auto, inotify or fanotify/);
  });
});
