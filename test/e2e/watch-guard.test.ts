/**
 * A daemon nobody can blind (issue 13, parts 2 and 3), with a real daemon, a real rsyslogd and the
 * intruder's actual commands: its database replaced or deleted under it (a critical signed alert,
 * then exit 19, never journaling into the unlinked file), and reloads as evidence (a signed
 * `reload` event; a reload that excludes fim's own policy is critical, and the edit is judged
 * under the policy that was in force; open findings that fall out of coverage are "no longer
 * monitored", never "back to baseline").
 */
import { copyFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

/** The policy: `drop` leaves rules out, `selfExclude` excludes the policy file from its own rule. */
function rules(sb: Sandbox, o: { drop?: string[]; extra?: string; selfExclude?: boolean } = {}): string {
  const all: Record<string, string> = {
    app: `  - name: app\n    severity: high\n    paths: ["${sb.tree}/app"]\n    check: readonly\n`,
    keys: `  - name: keys\n    severity: critical\n    paths: ["${sb.tree}/keys"]\n    check: readonly\n`,
    'fim-policy': `  - name: fim-policy\n    severity: critical\n    paths: ["${sb.policyFile}"]\n${o.selfExclude ? `    exclude: ["${sb.policyFile}"]\n` : ''}    check: readonly\n`,
  };
  const kept = Object.entries(all)
    .filter(([name]) => !o.drop?.includes(name))
    .map(([, text]) => text);
  return `version: 1\nrules:\n${kept.join('')}${o.extra ?? ''}`;
}

describe.skipIf(!rsyslogAvailable())('a daemon nobody can blind', () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let d: DaemonProcess;
  let config: string;

  beforeEach(async () => {
    sb = new Sandbox('fim-guard-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/a.py', 'a');
    sb.write('keys/k.pem', 'k');
    writeFileSync(sb.policyFile, rules(sb));
    config = join(sb.dir, 'fim.yaml');
    writeFileSync(
      config,
      `host: guard\npolicies: [policy.yaml]\ndatabase: fim.db\nkeys: keys.d\nsyslog: { target: "udp://127.0.0.1:${rs.port}", max_per_second: 500 }\nwatch: { debounce_ms: 50, heartbeat: 1s, full_check: 1h }\n`,
    );
    expect(fim(['keygen', '--epochs', '24', '--config', config]).code).toBe(0);
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    d = new DaemonProcess(['--config', config]);
    await d.ready();
  });

  afterEach(async () => {
    await d?.stop();
    await rs?.stop();
    sb?.cleanup();
  });

  const alerted = (what: (line: string) => boolean) => rs.waitFor((ls) => ls.some(what), 8000);

  it.each(['replaced', 'deleted'])(
    'its database %s under it: a critical alert reaches the log server, then exit 19',
    async (how) => {
      const db = join(sb.dir, 'fim.db');
      if (how === 'replaced') {
        copyFileSync(db, join(sb.dir, 'x.db'));
        renameSync(join(sb.dir, 'x.db'), db);
      } else unlinkSync(db);
      sb.write('app/after.py', 'x'); // an event, so the daemon would journal
      await alerted((l) => l.includes('ev="error"') && l.includes('EDBSWAP'));
      const line = await d.waitFor(
        /<2>.*the database .* was (replaced by another file|deleted) while fim watched/,
        8000,
      );
      expect(line).toContain(how === 'replaced' ? 'replaced by another file' : 'deleted');
      // It stops by itself: no SIGTERM from here.
      const code = await waitFor(() => (d.exitCode === null ? undefined : d.exitCode), {
        what: 'the daemon to exit by itself',
        timeoutMs: 10_000,
      });
      expect(code).toBe(19);
    },
  );

  it('a reload that excludes fim’s own policy is critical, and that edit is a finding under the old policy', async () => {
    const from = d.lines.length;
    writeFileSync(sb.policyFile, rules(sb, { selfExclude: true }));
    d.child.kill('SIGHUP');
    await d.waitFor(
      /<2>CRITICAL: reloaded: policy \w+ -> \w+ \(changed\), configuration unchanged;.*coverage narrowed/,
      8000,
      from,
    );
    // The edit of the policy itself was judged by the policy in force before the reload.
    await d.waitFor(/changed \S+policy\.yaml .*rule=fim-policy severity=critical/, 8000, from);
    await alerted((l) => l.includes('ev="reload"') && l.includes('critical="1"'));
    await alerted((l) => l.includes('ev="finding"') && l.includes('policy.yaml'));
  });

  it('a widening reload is one signed, non-critical reload event', async () => {
    const from = d.lines.length;
    // A legitimate reload that only adds a rule (the policy's own edit is still a finding).
    writeFileSync(
      sb.policyFile,
      rules(sb, { extra: `  - name: logs\n    paths: ["${sb.tree}/logs"]\n    check: growing\n` }),
    );
    d.child.kill('SIGHUP');
    const line = await d.waitFor(/reloaded: policy/, 8000, from);
    expect(line).toMatch(/rules added: logs/);
    expect(line).not.toMatch(/CRITICAL/);
    await alerted(
      (l) =>
        l.includes('ev="reload"') && l.includes('critical="0"') && /cfgold="\w{64}" cfgnew="\w{64}"/.test(l),
    );
  });

  it('narrowing a critical rule is critical; its open findings become "no longer monitored"', async () => {
    sb.write('keys/k.pem', 'changed');
    await d.waitFor(/changed \S+keys\/k\.pem /, 8000);
    const from = d.lines.length;
    writeFileSync(sb.policyFile, rules(sb, { drop: ['keys'] }));
    d.child.kill('SIGHUP');
    await d.waitFor(/<2>CRITICAL: reloaded:.*rules removed: keys/, 8000, from);
    await d.waitFor(/no longer monitored: \S+keys\/k\.pem/, 8000, from);
    await alerted((l) => l.includes('EUNMONITORED'));
    expect(d.lines.slice(from).some((l) => /back to baseline: \S+keys\/k\.pem/.test(l))).toBe(false);
  });

  it('a baseline refused at start (edited by hand) reaches the log server before exit 18', async () => {
    await d.stop();
    const db = new Database(join(sb.dir, 'fim.db'));
    db.prepare(
      'UPDATE record SET mode = 2541 WHERE (dir, name) IN (SELECT dir, name FROM record WHERE type = 0 LIMIT 1)',
    ).run();
    db.close();
    d = new DaemonProcess(['--config', config]);
    const code = await waitFor(() => (d.exitCode === null ? undefined : d.exitCode), {
      what: 'the daemon to refuse',
      timeoutMs: 10_000,
    });
    expect(code).toBe(18);
    await alerted((l) => l.includes('ev="error"') && l.includes('EXIT18') && l.includes('refusing to start'));
  });

  /** Edit one record of the running daemon's baseline, as an intruder with sqlite3 would. */
  function editRecord(path: string): void {
    const db = new Database(join(sb.dir, 'fim.db'));
    const name = Buffer.from(path.slice(path.lastIndexOf('/') + 1));
    const r = db.prepare('UPDATE record SET size = 0, content = NULL WHERE name = ?').run(name);
    db.close();
    expect(r.changes).toBe(1);
  }

  it('a record edited while it runs: the next event there is refused, alerted, exit 18', async () => {
    editRecord(sb.path('app/a.py'));
    sb.write('app/a.py', ''); // the intruder "empties the log" the edited record now agrees with
    await d.waitFor(/no longer match the signed root: the database was edited while fim watched/, 8000);
    const code = await waitFor(() => (d.exitCode === null ? undefined : d.exitCode), {
      what: 'exit',
      timeoutMs: 10_000,
    });
    expect(code).toBe(18);
    await alerted((l) => l.includes('ev="error"') && l.includes('EXIT18'));
    expect(d.lines.some((l) => /back to baseline|changed \S+app\/a\.py/.test(l))).toBe(false);
  });

  it('a record edited while it runs, no event near it: the next full check refuses it, exit 18', async () => {
    editRecord(sb.path('keys/k.pem'));
    d.child.kill('SIGHUP'); // a reload runs a full check now (instead of waiting an hour)
    const code = await waitFor(() => (d.exitCode === null ? undefined : d.exitCode), {
      what: 'exit',
      timeoutMs: 15_000,
    });
    expect(code).toBe(18);
    await alerted((l) => l.includes('ev="error"') && l.includes('EXIT18'));
  });
});
