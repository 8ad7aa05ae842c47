/**
 * `fim watch` as a real daemon process: real files, real inotify, a real rsyslogd receiving its
 * sealed alerts, real signals. Every wait has a timeout; nothing sleeps a fixed time.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonHooks, DaemonProcess, watchHostConfig } from '../helpers/daemon.js';
import { CLASSIC_RULES, fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

const HOST = 'watch-host';

/**
 * `watch` adds entries to the watch settings (`max_watches: 3`); `extra` adds lines. The backend is
 * named (inotify unless `watch` names one): auto would pick fanotify as root.
 */
function setup(sb: Sandbox, port: number, extra = '', watch = ''): string {
  if (!watch.includes('backend:')) watch = watch ? `${watch}, backend: inotify` : 'backend: inotify';
  return watchHostConfig(sb, { host: HOST, port, watch, extra });
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

// Every test of a running daemon, on each backend: inotify (the fallback) and fanotify (root here).
describe.skipIf(!rsyslogAvailable()).each(['inotify', 'fanotify'] as const)('fim watch (%s)', (backend) => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let config: string;
  let d: DaemonProcess;

  beforeAll(async () => {
    sb = new Sandbox(`fim-watch-${backend}-`);
    rs = await startRsyslog(sb.dir);
    sb.write('app/tasks.py', 'def add(x, y):\n    return x + y\n');
    sb.write('app/util.py', 'X = 1\n');
    sb.write('app/trunc.py', 'long enough content\n');
    sb.write('app/python3', '#!/bin/true\n');
    sb.write('app/mod/deep.py', 'Y = 2\n');
    sb.write('keys/worker.key', 'KEY\n');
    sb.write('logs/worker.log', 'one\n');
    symlinkSync('tasks.py', sb.path('app/current'));
    sb.policy(CLASSIC_RULES);
    config = setup(sb, rs.port, '', `backend: ${backend}`);
    // Changed while the daemon is down: must be reported at start.
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    writeFileSync(sb.path('app/util.py'), 'X = 666\n');
    d = new DaemonProcess(['--config', config]);
    await d.ready();
  });

  afterAll(async () => {
    await d?.stop();
    await rs?.stop();
    sb?.cleanup();
  });

  it('reports at start what changed while it was stopped', async () => {
    await d.waitFor(/changed \S+\/app\/util\.py \(.*content.*\) rule=code .*\[start\]/);
  });

  const within2s = async (re: RegExp) => {
    const from = d.lines.length;
    const [, ms] = await timed(() => d.waitFor(re, 2000, from));
    expect(ms).toBeLessThan(2000);
  };

  it('a content change with the same size and the mtime restored', async () => {
    const p = sb.path('app/tasks.py');
    execFileSync('cp', ['-p', p, `${sb.dir}/ref`]);
    const wait = within2s(/changed \S+\/app\/tasks\.py \(.*content.*\)/);
    writeFileSync(p, 'def add(x, y):\n    return x - y\n');
    execFileSync('touch', ['-r', `${sb.dir}/ref`, p]);
    await wait;
  });

  it('a new file, a removed file, a rename', async () => {
    let wait = within2s(/added \S+\/app\/backdoor\.py /);
    sb.write('app/backdoor.py', 'import os\n');
    await wait;
    wait = within2s(/removed \S+\/app\/mod\/deep\.py /);
    unlinkSync(sb.path('app/mod/deep.py'));
    await wait;
    wait = within2s(/added \S+\/app\/renamed\.py /);
    renameSync(sb.path('app/backdoor.py'), sb.path('app/renamed.py'));
    await wait;
  });

  it('what was added and is gone again is back to baseline; adding it again alerts again', async () => {
    // The open findings a rescan resolves are looked up in an index by place: the file an event
    // named, or everything below a directory that moved away (no event names what was inside it).
    // Each must be found, or a second intrusion at the same place would never be alerted.
    let from = d.lines.length;
    sb.write('app/drop/sub/payload.py', 'evil\n');
    await d.waitFor(/added \S+\/app\/drop\/sub\/payload\.py /, 2000, from);
    from = d.lines.length;
    renameSync(sb.path('app/drop'), `${sb.dir}/moved-away`);
    await d.waitFor(/back to baseline: \S+\/app\/drop\/sub\/payload\.py$/, 2000, from);
    await d.waitFor(/back to baseline: \S+\/app\/drop$/, 2000, from);
    from = d.lines.length;
    sb.write('app/drop/sub/payload.py', 'evil again\n');
    await d.waitFor(/added \S+\/app\/drop\/sub\/payload\.py /, 2000, from);
    from = d.lines.length;
    unlinkSync(sb.path('app/drop/sub/payload.py'));
    await d.waitFor(/back to baseline: \S+\/app\/drop\/sub\/payload\.py$/, 2000, from);
    rmSync(sb.path('app/drop'), { recursive: true });
    await d.waitFor(/back to baseline: \S+\/app\/drop$/, 2000, from);
  });

  it('setuid, owner, hard link on a key file', async () => {
    let wait = within2s(/changed \S+\/app\/tasks\.py \(.*mode.*\)/);
    chmodSync(sb.path('app/tasks.py'), 0o4755);
    await wait;
    wait = within2s(/changed \S+\/keys\/worker\.key \(.*uid.*\) rule=keys severity=critical/);
    chownSync(sb.path('keys/worker.key'), 4321, 0);
    await wait;
    wait = within2s(/changed \S+\/keys\/worker\.key \(.*nlink.*\)/);
    linkSync(sb.path('keys/worker.key'), `${sb.dir}/stolen`);
    await wait;
  });

  it('setcap, setfattr and chattr, which leave content and mode alone', async () => {
    const py = sb.path('app/python3');
    const key = sb.path('keys/worker.key');
    let wait = within2s(/changed \S+\/app\/python3 \(.*caps.*\) rule=code/);
    execFileSync('setcap', ['cap_setuid+ep', py]);
    await wait;
    wait = within2s(/changed \S+\/keys\/worker\.key \(.*xattrs.*\) rule=keys severity=critical/);
    execFileSync('setfattr', ['-n', 'user.implant', '-v', '1', key]);
    await wait;
    // chattr raises no inotify event at all: a critical rule's files are rescanned at every
    // heartbeat (1 s here) for it; anything else waits for the full check.
    const from = d.lines.length;
    execFileSync('chattr', ['+a', key]);
    try {
      await d.waitFor(/changed \S+\/keys\/worker\.key \(.*flags.*\) rule=keys severity=critical/, 4000, from);
    } finally {
      execFileSync('chattr', ['-a', key]);
    }
  });

  it('a retargeted symlink and a file replaced by a symlink', async () => {
    let wait = within2s(/changed \S+\/app\/current \(.*target.*\)/);
    unlinkSync(sb.path('app/current'));
    symlinkSync('/etc/shadow', sb.path('app/current'));
    await wait;
    wait = within2s(/changed \S+\/app\/util\.py \(type.*\)/);
    unlinkSync(sb.path('app/util.py'));
    symlinkSync('/etc/passwd', sb.path('app/util.py'));
    await wait;
  });

  it('names with invalid UTF-8 and with a newline, a FIFO, a truncation', async () => {
    let wait = within2s(/added \S+\/app\/\\xff\.py /);
    writeFileSync(Buffer.concat([Buffer.from(sb.path('app')), Buffer.from('/\xff.py', 'latin1')]), 'x');
    await wait;
    wait = within2s(/added \S+\/app\/evil\\nFAKE\.py /);
    writeFileSync(sb.path('app/evil\nFAKE.py'), 'x');
    await wait;
    wait = within2s(/added \S+\/app\/pipe /);
    execFileSync('mkfifo', [sb.path('app/pipe')]);
    await wait;
    wait = within2s(/changed \S+\/app\/trunc\.py \(.*size.*\)/);
    truncateSync(sb.path('app/trunc.py'), 2);
    await wait;
    // the daemon survived the FIFO and keeps answering
    expect(d.exitCode).toBeNull();
  });

  it('an append to a growing log is no finding; an edit of its old part is', async () => {
    const p = sb.path('logs/worker.log');
    const from = d.lines.length;
    appendFileSync(p, 'two\n');
    // a marker event after the append proves the append was processed without a finding
    const wait = within2s(/added \S+\/app\/marker1 /);
    sb.write('app/marker1', 'm');
    await wait;
    expect(d.lines.slice(from).some((l) => l.includes('worker.log'))).toBe(false);
    await within2sAfter(
      () => writeFileSync(p, 'XXX\ntwo\nthree\n'),
      /changed \S+\/logs\/worker\.log \(content\)/,
    );
  });

  const within2sAfter = async (act: () => void, re: RegExp) => {
    const wait = within2s(re);
    act();
    await wait;
  };

  it('a file written 10,000 times in a burst is one finding', async () => {
    const p = sb.path('app/hot.py');
    const from = d.lines.length;
    const fd = openSync(p, 'w');
    for (let i = 0; i < 10_000; i++) writeSync(fd, `v = ${i}\n`);
    closeSync(fd);
    await d.waitFor(/added \S+\/app\/hot\.py /, 3000, from);
    await within2sAfter(() => sb.write('app/marker2', 'm'), /added \S+\/app\/marker2 /);
    expect(
      d.lines.slice(from).filter((l) => l.includes('/app/hot.py')),
      d.lines.slice(from).join('\n'),
    ).toHaveLength(1);
  });

  it('fim accept while running is picked up: no repeat, and new changes still reported', async () => {
    const r = fim(['check', '--config', config]);
    expect(r.code & 16).toBe(0);
    expect(fim(['accept', '--all', '--config', config]).code).toBe(0);
    await d.waitFor(/baseline \d+ -> \d+ \(accept\)/, 5000);
    await d.waitFor(/full check \(new baseline\).* 0 new/, 5000);
    await within2sAfter(
      () => writeFileSync(sb.path('app/renamed.py'), 'after accept\n'),
      /changed \S+\/app\/renamed\.py /,
    );
  });

  it('heartbeats arrive at the configured interval, and everything sent verifies', async () => {
    const lines = await rs.waitFor((ls) => ls.filter((l) => l.includes('ev="heartbeat"')).length >= 3, 8000);
    const beats = lines.filter((l) => l.includes('ev="heartbeat"'));
    expect(beats[0]).toMatch(/watched="\d+"/);
    // t= is the signed send time in ns: consecutive heartbeats are about 1 s apart
    const times = beats.map((l) => Number(BigInt(/ t="(\d+)"/.exec(l)![1]!) / 1_000_000n));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const g of gaps.slice(-2)) {
      expect(g).toBeGreaterThan(500);
      expect(g).toBeLessThan(2500);
    }
    const pub = join(sb.dir, 'keys', `${HOST}.pub`);
    const v = fim(['verify-log', '--pubkey', pub, '--max-silence', '0', '--json', rs.logFile]);
    const report = JSON.parse(v.stdout) as {
      problems: { kind: string; detail: string }[];
      hosts: { verified: number }[];
    };
    // The daemon is still running, so its session has no stop yet; nothing else may be wrong.
    expect(
      report.problems.filter((p) => p.kind !== 'unclean-restart'),
      JSON.stringify(report.problems),
    ).toEqual([]);
    expect(report.hosts[0]!.verified).toBeGreaterThan(20);
  });

  it('SIGHUP with a broken policy keeps it alive with the old policy, and alerts', async () => {
    const good = readFileSync(sb.policyFile, 'utf8');
    writeFileSync(sb.policyFile, `${good}\n  - name: broken\n    pahts: [/x]\n`);
    const from = d.lines.length;
    d.child.kill('SIGHUP');
    await d.waitFor(/reload refused.*unknown key "pahts"/, 5000, from);
    await rs.waitFor((ls) => ls.some((l) => l.includes('ev="error"') && l.includes('RELOAD')), 5000);
    writeFileSync(sb.policyFile, good);
    await within2sAfter(() => sb.write('app/after-hup.py', 'x'), /added \S+\/app\/after-hup\.py /);
    expect(d.exitCode).toBeNull();
  });

  it('SIGTERM stops cleanly within 5 s, with a stop event', async () => {
    const [code, ms] = await timed(() => d.stop('SIGTERM'));
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    await rs.waitFor((ls) => ls.some((l) => l.includes('ev="stop"')), 5000);
  });
});

describe.skipIf(!rsyslogAvailable())('fim watch under pressure', () => {
  let sb: Sandbox;
  let rs: Rsyslog;

  beforeAll(async () => {
    sb = new Sandbox('fim-watch-storm-');
    rs = await startRsyslog(sb.dir);
  });

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  /**
   * A fresh sandbox with `files`, one readonly rule over {tree}/t, a config (with `o.watch` added
   * to its watch settings), keys and a baseline; then a daemon (with the test hooks `o.hooks`) that
   * `body` drives. The daemon must stop with 0; the sandbox goes.
   */
  async function withDaemon(
    prefix: string,
    files: Record<string, string>,
    o: { watch?: string; hooks?: DaemonHooks },
    body: (sb: Sandbox, d: DaemonProcess) => Promise<void>,
  ): Promise<void> {
    await using box = new Sandbox(prefix);
    for (const [rel, content] of Object.entries(files)) box.write(rel, content);
    box.policy('  - name: t\n    paths: ["{tree}/t"]\n    check: readonly\n');
    const config = setup(box, rs.port, '', o.watch);
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const d = new DaemonProcess(['--config', config], {}, o.hooks);
    try {
      await d.ready();
      await body(box, d);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }

  it('a 5,000-file storm loses no finding from the journal; alerts are paced and summarised', async () => {
    sb.write('storm/.keep', '');
    sb.policy('  - name: storm\n    paths: ["{tree}/storm"]\n    check: readonly\n');
    const config = setup(sb, rs.port, '');
    writeFileSync(config, readFileSync(config, 'utf8').replace('max_per_second: 500', 'max_per_second: 50'));
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const d = new DaemonProcess(['--config', config]);
    try {
      await d.ready();
      for (let i = 0; i < 5000; i++) sb.write(`storm/d${i % 50}/f${i}.txt`, `${i}\n`);
      const db = new Database(join(sb.dir, 'fim.db'), { readonly: true });
      const count = () =>
        (
          db
            .prepare("SELECT count(*) AS n FROM finding WHERE kind = 'added' AND detail LIKE ?")
            .get('%.txt"%') as { n: number }
        ).n;
      await waitFor(() => count() >= 5000, {
        what: 'all 5,000 added findings in the journal',
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      expect(count()).toBe(5000);
      db.close();
      // paced: far fewer finding datagrams than findings, and a flood summary says how many were held
      await rs.waitFor((ls) => ls.some((l) => l.includes('ev="flood"')), 10_000);
      expect(d.exitCode).toBeNull();
    } finally {
      await d.stop();
    }
  });

  it.runIf(Boolean(process.env.FIM_LONG_TESTS))(
    'everything changed while it was down (50,000 files): every change is journaled at start',
    async () => {
      // The start check streams its findings from the worker in bounded batches: holding 50,000 at
      // once exhausted the worker's heap, and then nothing at all was reported.
      await using sb5 = new Sandbox('fim-watch-mass-');
      for (let i = 0; i < 50_000; i++) sb5.write(`m/d${i % 500}/f${i}`, 'a');
      sb5.policy('  - name: mass\n    paths: ["{tree}/m"]\n    check: readonly\n');
      const config = setup(sb5, rs.port);
      expect(fim(['baseline', '--config', config]).code).toBe(0);
      for (let i = 0; i < 50_000; i++) writeFileSync(sb5.path(`m/d${i % 500}/f${i}`), 'b');
      const d = new DaemonProcess(['--config', config]);
      try {
        const line = await d.waitFor(/full check \(start\)|error/, 120_000);
        expect(line, d.output()).toMatch(/50000 changed, 0 errors, 50000 new/);
        const db = new Database(join(sb5.dir, 'fim.db'), { readonly: true });
        const n = (
          db.prepare("SELECT count(*) AS n FROM finding WHERE kind = 'changed'").get() as { n: number }
        ).n;
        db.close();
        expect(n).toBe(50_000);
      } finally {
        expect(await d.stop()).toBe(0);
      }
    },
    240_000,
  );

  it('the kernel event queue overflowing: it alerts, runs a full check and finds what no event named', async () => {
    // A real overflow: the daemon is held (test hook) while more events than the kernel queues
    // (fs.inotify.max_queued_events) pile up in one directory; the change made after them, in
    // another directory, has no event left. libuv drops the kernel's overflow notice, so only
    // the daemon's own burst accounting can notice; the full check it then runs must find it.
    const limit = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
    const flood = Math.ceil(limit / 2) + 500; // a new file is two events (create, modify)
    const files = { 't/a/.keep': '', 't/b/existing.txt': 'original\n' };
    await withDaemon('fim-watch-overflow-', files, { hooks: { watchDelayMs: 8000 } }, async (box, d) => {
      const from = d.lines.length;
      box.write('t/hold/x', '1');
      await d.waitFor(/test: watching \S+\/t\/hold in 8000 ms/, 5000, from);
      for (let i = 0; i < flood; i++) writeFileSync(box.path(`t/a/f${i}`), 'x');
      writeFileSync(box.path('t/b/existing.txt'), 'tampered\n');
      await d.waitFor(/inotify event queue overflowed/, 20_000, from);
      await d.waitFor(/changed \S+\/t\/b\/existing\.txt .*\[queue overflow\]/, 30_000, from);
      await rs.waitFor((ls) => ls.some((l) => l.includes('EOVERFLOW')), 5000);
    });
  }, 90_000);

  it('a file created in a new directory before its watch exists is still reported', async () => {
    // inotify has no recursive watch: a new directory is read by its rescan, then watched. A file
    // created in between has no event; the daemon must list the directory again once watched.
    // The hook holds the daemon for 1.5 s between the two, and the file is written in that window.
    await withDaemon(
      'fim-watch-race-',
      { 't/.keep': '' },
      { hooks: { watchDelayMs: 1500 } },
      async (box, d) => {
        const from = d.lines.length;
        box.write('t/new/first.txt', '1');
        await d.waitFor(/test: watching \S+\/t\/new in 1500 ms/, 5000, from);
        box.write('t/new/late.txt', '2');
        await d.waitFor(/added \S+\/t\/new\/first\.txt /, 5000, from);
        await d.waitFor(/added \S+\/t\/new\/late\.txt /, 5000, from);
      },
    );
  });

  it('the watch limit reached: it alerts once, falls back to periodic scans, keeps running', async () => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`t/d${i}/f.txt`, 'x']));
    await withDaemon('fim-watch-limit-', files, { watch: 'max_watches: 3' }, async (box, d) => {
      await d.waitFor(/inotify watch limit reached/);
      // d5 is beyond the limit: a change there is found by the fallback scan
      writeFileSync(box.path('t/d5/f.txt'), 'changed');
      await d.waitFor(/changed \S+\/t\/d5\/f\.txt .*\[fallback\]/, 5000);
      await rs.waitFor((ls) => ls.filter((l) => l.includes('ENOSPC')).length === 1, 5000);
      expect(d.lines.filter((l) => l.includes('inotify watch limit reached')).length).toBe(1);
    });
  });
});
