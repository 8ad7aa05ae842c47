/**
 * The daemon's clock against a real rsyslogd and real signals: frozen with SIGSTOP for longer
 * than its pause threshold and resumed, it sends a signed pause event that verify-log reports (and
 * the heartbeat gap inside the session, over --max-silence); heartbeats carry the key expiry; and
 * when its keys end while it runs it stops itself with exit 20, a clear message and a signed stop.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { fim, Sandbox } from '../helpers/fim.js';
import { type SignedHost, signedHost } from '../helpers/hosts.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { delay, waitFor } from '../helpers/wait.js';

describe.skipIf(!rsyslogAvailable())("the daemon's clock (real signals, real rsyslogd)", () => {
  let rs: Rsyslog;
  let sb: Sandbox;

  beforeAll(async () => {
    sb = new Sandbox('fim-clock-');
    rs = await startRsyslog(sb.dir);
  });
  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  /** A host of its own (name, keys, database) in the sandbox. */
  function host(name: string, keygen: string[]): SignedHost {
    return signedHost(sb, name, { port: rs.port, keygen });
  }
  const mine = (name: string) => rs.lines().filter((l) => l.includes(`host="${name}"`));

  it('SIGSTOP then SIGCONT: a signed pause event, reported with the heartbeat gap', async () => {
    const h = host('paused', ['--epochs', '48']);
    const d = new DaemonProcess(['--config', h.config], {}, { pauseThresholdMs: 1500 });
    await d.ready();
    await rs.waitFor(() => mine('paused').some((l) => l.includes('ev="heartbeat"')));
    d.child.kill('SIGSTOP');
    // The stimulus is the time the process does not run: it must really pass.
    await delay(3500);
    d.child.kill('SIGCONT');
    const pause = await waitFor(() => mine('paused').find((l) => l.includes('ev="pause"')), {
      what: 'a pause event',
      timeoutMs: 10_000,
    });
    expect(Number(/paused="(\d+)"/.exec(pause)![1])).toBeGreaterThan(2500);
    await d.waitFor(/paused for \d+ s/);
    await rs.waitFor(() => mine('paused').filter((l) => l.includes('ev="heartbeat"')).length >= 3);
    expect(await d.stop()).toBe(0);
    await rs.waitFor(() => mine('paused').some((l) => l.includes('ev="stop"')));
    const file = join(sb.dir, 'paused.log');
    writeFileSync(file, `${mine('paused').join('\n')}\n`);
    const v = fim(['verify-log', '--pubkey', h.pub, '--max-silence', '3s', '--json', file]);
    expect(v.code).toBe(1);
    const report = JSON.parse(v.stdout) as {
      problems: { kind: string }[];
      hosts: { pauses: number; keysExpire: string | null }[];
    };
    const kinds = report.problems.map((p) => p.kind);
    expect(kinds).toContain('pause');
    expect(kinds).toContain('heartbeat-gap');
    expect(kinds.filter((k) => k !== 'pause' && k !== 'heartbeat-gap' && k !== 'silence')).toEqual([]);
    expect(report.hosts[0]!.pauses).toBe(1);
    expect(report.hosts[0]!.keysExpire).not.toBeNull();
  });

  it('keys that end while the daemon runs stop it: exit 20, a clear message, a signed stop', async () => {
    const h = host('expiring', ['--epochs', '4', '--epoch-length', '2s']);
    const d = new DaemonProcess(['--config', h.config]);
    await d.ready();
    const code = await waitFor(() => d.exitCode ?? undefined, {
      what: 'the daemon to stop at the end of its keys',
      timeoutMs: 15_000,
    });
    expect(code).toBe(20);
    expect(d.output()).toMatch(/keys in \S+ expire at \S+: nothing could be signed after that/);
    const daemonSid = /sid="(\w+)"/.exec(mine('expiring').find((l) => l.includes('kind="watch"'))!)![1];
    const stop = await waitFor(
      () => mine('expiring').find((l) => l.includes(`sid="${daemonSid}"`) && l.includes('ev="stop"')),
      {
        what: "the daemon's stop event",
        timeoutMs: 5000,
      },
    );
    expect(stop).toContain('expire at');
    const file = join(sb.dir, 'expiring.log');
    writeFileSync(file, `${mine('expiring').join('\n')}\n`);
    const v = fim(['verify-log', '--pubkey', h.pub, '--max-silence', '0', '--json', file]);
    const report = JSON.parse(v.stdout) as {
      problems: { kind: string }[];
      hosts: { keysExpiring: boolean }[];
    };
    expect(report.problems.map((p) => p.kind)).toEqual([]);
    expect(report.hosts[0]!.keysExpiring).toBe(true);
  });
});
