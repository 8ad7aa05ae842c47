/**
 * The daemon's full-check summary carries its findings by severity (`sevlow..sevcritical`, as a
 * `fim check` summary does), signed, so the fleet status can show a daemon's open findings by
 * severity: a real `fim watch` whose start-up full check finds changes under rules of two
 * severities, its datagrams stored by a real rsyslogd, the stored summary verified by `fim
 * verify-log --state` and read back by `fim fleet status --json`.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, watchHostConfig } from '../helpers/daemon.js';
import { CLASSIC_RULES, fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';

const HOST = 'summary-host';

describe.skipIf(!rsyslogAvailable())("the daemon's full-check summary", () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let config: string;
  let summary: string;

  beforeAll(async () => {
    sb = new Sandbox('fim-daemon-summary-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/tasks.py', 'def add(x, y):\n    return x + y\n');
    sb.write('app/util.py', 'X = 1\n');
    sb.write('keys/worker.key', 'KEY\n');
    sb.write('logs/worker.log', 'one\n');
    sb.policy(CLASSIC_RULES);
    config = watchHostConfig(sb, { host: HOST, port: rs.port, watch: 'backend: inotify' });
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    // Changed while no daemon ran: two under `code` (high), one under `keys` (critical).
    writeFileSync(sb.path('app/tasks.py'), 'print("changed")\n');
    writeFileSync(sb.path('app/util.py'), 'X = 2\n');
    writeFileSync(sb.path('keys/worker.key'), 'OTHER KEY\n');
    const d = new DaemonProcess(['--config', config]);
    try {
      // The daemon's first full check, at its start, finds them and sends its summary.
      const stored = await rs.waitFor((ls) => ls.some((l) => l.includes('ev="summary"')), 30_000);
      summary = stored.find((l) => l.includes('ev="summary"')) ?? '';
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 60_000);

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  it('names each severity in the signed summary datagram', () => {
    expect(summary).toContain(`host="${HOST}"`);
    expect(summary).toContain('changed="3"');
    for (const [param, n] of [
      ['sevlow', 0],
      ['sevmedium', 0],
      ['sevhigh', 2],
      ['sevcritical', 1],
    ] as const)
      expect(summary).toContain(`${param}="${n}"`);
  });

  it('verifies as stored, and the fleet status reads the severities from it', () => {
    const enrolled = join(sb.dir, 'keys');
    const pub = readdirSync(enrolled).find((n) => n.endsWith('.pub'));
    expect(pub).toBeDefined();
    const state = join(sb.dir, 'fleet.state');
    const v = fim([
      'verify-log',
      '--pubkey',
      join(enrolled, pub ?? ''),
      '--state',
      state,
      '--max-silence',
      '0',
      rs.logFile,
    ]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const s = fim(['fleet', 'status', '--state', state, '--max-silence', '1h', '--json']);
    const host = (
      JSON.parse(s.stdout) as { hosts: { host: string; findings: Record<string, number> | null }[] }
    ).hosts[0];
    expect(host?.host).toBe(HOST);
    expect(host?.findings).toMatchObject({ low: 0, medium: 0, high: 2, critical: 1 });
  });
});
