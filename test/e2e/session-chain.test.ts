/**
 * The chain of sessions through the real CLI and a real rsyslogd: every `fim check`, `fim
 * baseline` and `fim accept` is a session with a start naming the one before and a stop with its
 * count, and `fim watch` is a daemon session beside them. What the log server is shown: a whole
 * check session deleted, or just its end, fails `verify-log --max-silence 0`; a check while the
 * daemon runs is no restart, and a later `kill -9` of the daemon still is; a restored database
 * forks the chain.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';

describe.skipIf(!rsyslogAvailable())('sessions form a chain (real CLI, real rsyslogd)', () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let config: string;
  let pub: string;
  const host = 'chain-test';

  const run = (args: string[]) => fim([...args, '--config', config]);
  const stops = (ls: string[]) => ls.filter((l) => l.includes('ev="stop"')).length;
  /** Runs a one-shot command and waits until its stop is stored; returns its session's lines. */
  const oneShot = async (args: string[], code = 0): Promise<string[]> => {
    const before = stops(rs.lines());
    const r = run(args);
    expect(r.code, r.stderr).toBe(code);
    const ls = await rs.waitFor((l) => stops(l) > before);
    const stop = ls.filter((l) => l.includes('ev="stop"')).at(-1)!;
    const sid = /sid="([0-9a-f]+)"/.exec(stop)![1]!;
    return ls.filter((l) => l.includes(`sid="${sid}"`));
  };
  const verify = (lines: string[], name: string) => {
    const file = join(sb.dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = fim(['verify-log', '--pubkey', pub, '--max-silence', '0', '--json', file]);
    const report = JSON.parse(r.stdout) as { problems: { kind: string }[] };
    return { code: r.code, kinds: report.problems.map((p) => p.kind), stdout: r.stdout };
  };

  beforeAll(async () => {
    sb = new Sandbox('fim-chain-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/tasks.py', 'print(1)\n');
    sb.policy('  - name: app\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
    config = join(sb.dir, 'fim.yaml');
    writeFileSync(
      config,
      [
        `host: ${host}`,
        'policies: [policy.yaml]',
        'database: fim.db',
        'keys: keys',
        `syslog: { target: "udp://127.0.0.1:${rs.port}", facility: authpriv, max_per_second: 200 }`,
        'watch: { heartbeat: 1s }',
        '',
      ].join('\n'),
    );
    expect(run(['keygen', '--epochs', '48']).code).toBe(0);
    pub = join(sb.dir, 'keys', `${host}.pub`);
  });

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  it('one-shot commands send a start naming their kind and predecessor, and a stop with their count', async () => {
    const b = await oneShot(['baseline']);
    expect(b[0]).toContain('ev="start"');
    expect(b[0]).toContain('kind="baseline"');
    expect(b[0]).toContain('prev="-"'); // the database's first session
    const c = await oneShot(['check']);
    const bSid = /sid="([0-9a-f]+)"/.exec(b[0]!)![1];
    expect(c[0]).toContain(`prev="${bSid}" prevseq="${b.length}"`);
    expect(c.at(-1)).toContain(`count="${c.length}"`);
    const v = verify(rs.lines(), 'clean.log');
    expect(v.kinds).toEqual([]);
    expect(v.code).toBe(0);
  });

  it('a whole check session deleted on the log server fails verify-log --max-silence 0', async () => {
    const gone = await oneShot(['check']);
    await oneShot(['check']);
    const v = verify(
      rs.lines().filter((l) => !gone.includes(l)),
      'deleted-session.log',
    );
    expect(v.kinds).toEqual(['missing-session']);
    expect(v.code).toBe(1);
  });

  it("just a check session's end deleted fails too", async () => {
    const cut = await oneShot(['check']);
    await oneShot(['check']);
    const end = cut.slice(-2); // the summary and the stop
    const v = verify(
      rs.lines().filter((l) => !end.includes(l)),
      'deleted-end.log',
    );
    expect(v.kinds).toEqual(['gap']);
    expect(v.code).toBe(1);
  });

  it('a check while the daemon runs is no restart; a later kill -9 of the daemon still is', async () => {
    const d = new DaemonProcess(['--config', config]);
    await d.ready();
    await rs.waitFor((ls) => ls.some((l) => l.includes('kind="watch"')));
    await oneShot(['check']);
    await oneShot(['check']);
    const during = verify(rs.lines(), 'beside-daemon.log');
    expect(during.kinds).toEqual([]);
    await d.stop('SIGKILL');
    const d2 = new DaemonProcess(['--config', config]);
    await d2.ready();
    const starts = (ls: string[]) => ls.filter((l) => l.includes('kind="watch"')).length;
    await rs.waitFor((ls) => starts(ls) >= 2);
    const after = verify(rs.lines(), 'killed.log');
    expect(after.kinds).toEqual(['unclean-restart']);
    expect(await d2.stop()).toBe(0);
    await rs.waitFor((ls) => ls.at(-1)?.includes('ev="stop"') === true);
  });

  it('a database restored from a copy forks the chain', async () => {
    copyFileSync(join(sb.dir, 'fim.db'), join(sb.dir, 'backup.db'));
    await oneShot(['check']);
    copyFileSync(join(sb.dir, 'backup.db'), join(sb.dir, 'fim.db'));
    await oneShot(['check']);
    const v = verify(rs.lines(), 'restored.log');
    // The daemon killed in the test before stays reported, beside the fork.
    expect(v.kinds.filter((k) => k !== 'unclean-restart')).toEqual(['fork']);
  });
});
