/**
 * The evidence chain through the real CLI: keygen, a signed baseline, `fim check` shipping sealed
 * alerts to a real rsyslogd, and `fim verify-log` proving what rsyslog stored. Also: a baseline
 * whose signature was stripped or altered is refused (18), loose key permissions are refused (20).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';

describe.skipIf(!rsyslogAvailable())('signed evidence through the CLI and a real rsyslogd', () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let config: string;
  let pub: string;
  const host = 'worker-test';

  const run = (args: string[]) => fim([...args, '--config', config]);
  const verify = (file: string, extra: string[] = []) =>
    fim(['verify-log', '--pubkey', pub, '--max-silence', '0', ...extra, file]);
  const lineCount = () => rs.lines().length;

  beforeAll(async () => {
    sb = new Sandbox('fim-evidence-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/tasks.py', 'print(1)\n');
    sb.write('keys/worker.key', 'secret\n');
    sb.policy(
      '  - name: app\n    severity: high\n    paths: ["{tree}/app", "{tree}/keys"]\n    check: readonly\n',
    );
    config = join(sb.dir, 'fim.yaml');
    writeFileSync(
      config,
      [
        `host: ${host}`,
        'policies: [policy.yaml]',
        'database: fim.db',
        'keys: keys',
        `syslog: { target: "udp://127.0.0.1:${rs.port}", facility: authpriv, max_per_second: 200 }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  it('keygen writes 0600 keys and the public key to enrol; refuses to overwrite', () => {
    const k = run(['keygen', '--epochs', '48']);
    expect(k.code, k.stderr).toBe(0);
    pub = join(sb.dir, 'keys', `${host}.pub`);
    expect(k.stdout).toContain(pub);
    expect(k.stdout).toMatch(/fingerprint: \S+/);
    expect(statSync(join(sb.dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(statSync(join(sb.dir, 'keys', 'epoch-keys.json')).mode & 0o777).toBe(0o600);
    const again = run(['keygen']);
    expect(again.code).toBe(20);
    expect(again.stderr).toContain('--force');
  });

  it('baseline is signed and announced; check ships findings and a summary that verify', async () => {
    const b = run(['baseline', '--label', 'deploy-1']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('(signed)');
    await rs.waitFor((ls) => ls.some((l) => l.includes('ev="baseline"')));

    writeFileSync(sb.path('app/tasks.py'), 'print(2)\n');
    const before = lineCount();
    const c = run(['check']);
    expect(c.code, c.stderr).toBe(4);
    const lines = await rs.waitFor(
      (ls) => ls.length >= before + 2 && ls.some((l) => l.includes('ev="summary"')),
    );
    const finding = lines.find((l) => l.includes('ev="finding"'))!;
    expect(finding).toContain(sb.path('app/tasks.py'));
    expect(finding).toContain(host);

    const v = verify(rs.logFile);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: every message verified');
  });

  it('verify-log catches one altered byte in the stored log', () => {
    const text = readFileSync(rs.logFile, 'utf8');
    const i = text.indexOf('tasks.py');
    expect(i).toBeGreaterThan(0);
    const forged = join(sb.dir, 'forged.log');
    writeFileSync(forged, `${text.slice(0, i)}tasks.pY${text.slice(i + 8)}`);
    const v = verify(forged);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/bad.signature|bad_signature|badSignature|PROBLEM/i);
  });

  it('a swapped baseline (made without announcing it) is reported by verify-log', async () => {
    // The intruder rebuilds the baseline with syslog switched off, so nothing is announced...
    const quiet = join(sb.dir, 'quiet.yaml');
    writeFileSync(quiet, readFileSync(config, 'utf8').replace(/^syslog:.*$/m, ''));
    writeFileSync(sb.path('app/tasks.py'), 'print("backdoor")\n');
    expect(fim(['baseline', '--config', quiet]).code).toBe(0);
    // ...but the next check's summary carries the new root, which differs from the announced one.
    const before = lineCount();
    expect(run(['check']).code).toBe(0);
    await rs.waitFor((ls) => ls.length > before && ls.slice(before).some((l) => l.includes('ev="summary"')));
    const v = verify(rs.logFile, ['--json']);
    expect(v.code).toBe(1);
    const report = JSON.parse(v.stdout) as { problems: { kind: string }[] };
    expect(report.problems.map((p) => p.kind)).toContain('baseline-mismatch');
  });

  it('a baseline whose signature was altered or stripped is refused (18)', () => {
    const db = new Database(join(sb.dir, 'fim.db'));
    const row = db.prepare('SELECT id, signature FROM baseline ORDER BY id DESC LIMIT 1').get() as {
      id: number;
      signature: string;
    };
    const sig = JSON.parse(row.signature) as { sig: string };
    const bad = Buffer.from(sig.sig, 'base64');
    bad[0] = (bad[0] ?? 0) ^ 1;
    db.prepare('UPDATE baseline SET signature = ? WHERE id = ?').run(
      JSON.stringify({ ...sig, sig: bad.toString('base64') }),
      row.id,
    );
    db.close();
    const altered = run(['check']);
    expect(altered.code).toBe(18);
    expect(altered.stderr).toContain('signature does not verify');

    const db2 = new Database(join(sb.dir, 'fim.db'));
    db2.prepare('UPDATE baseline SET signature = NULL WHERE id = ?').run(row.id);
    db2.close();
    const stripped = run(['check']);
    expect(stripped.code).toBe(18);
    expect(stripped.stderr).toContain('not signed');
  });

  it('key files readable by group or others are refused (20)', () => {
    const priv = join(sb.dir, 'keys', 'epoch-keys.json');
    chmodSync(priv, 0o644);
    const r = run(['baseline']);
    expect(r.code).toBe(20);
    expect(r.stderr).toContain('chmod 600');
    chmodSync(priv, 0o600);
  });

  it('verify-log on standard input (omprog) prints one line per problem', () => {
    mkdirSync(join(sb.dir, 'omprog'), { recursive: true });
    const text = readFileSync(rs.logFile, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    // drop the second line: a gap
    const input = `${[lines[0], ...lines.slice(2)].join('\n')}\n`;
    const r = fim(['verify-log', '--pubkey', pub, '--max-silence', '0', '-'], { input });
    expect(r.code).toBe(1);
    const problems = r.stdout.split('\n').filter(Boolean);
    expect(problems.length).toBeGreaterThanOrEqual(1);
    for (const p of problems) expect(p.startsWith('PROBLEM ')).toBe(true);
  });

  it('a rule that keeps SHA-256 ships it in the signed finding, old and new, as sha256sum gives it', async () => {
    sb.policy(
      '  - name: app\n    severity: high\n    paths: ["{tree}/app", "{tree}/keys"]\n    check: readonly\n    hashes: [blake3, sha256]\n',
    );
    const file = sb.path('app/tasks.py');
    const sum = () => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    const before = lineCount();
    expect(run(['baseline', '--label', 'deploy-sha']).code).toBe(0);
    const old = sum();
    writeFileSync(file, 'print(3)\n');
    expect(run(['check']).code).toBe(4);
    const lines = (await rs.waitFor((ls) => ls.slice(before).some((l) => l.includes('ev="summary"')))).slice(
      before,
    );
    const finding = lines.find((l) => l.includes('ev="finding"') && l.includes(file));
    expect(finding).toContain(`sha256old="${old}"`);
    expect(finding).toContain(`sha256="${sum()}"`);
    // Signed like every other parameter: every one of these lines verifies.
    const subset = join(sb.dir, 'sha-lines.log');
    writeFileSync(subset, `${lines.join('\n')}\n`);
    const r = fim(['verify-log', '--pubkey', pub, '--json', subset]);
    const hosts = (JSON.parse(r.stdout) as { hosts: { verified: number; badSignature?: number }[] }).hosts;
    expect(hosts[0]?.verified).toBe(lines.length);
  });
});
