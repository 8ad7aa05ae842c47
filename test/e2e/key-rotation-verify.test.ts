/**
 * A log that spans `fim keygen --force`: enrolled with both key sets (`--pubkey` twice, or a
 * `--keys` directory holding both .pub files), every message verifies; with only the new one, the
 * older messages are uncertified. A real rsyslogd stores what the host sent.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fim, Sandbox } from '../helpers/fim.js';
import { rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';

describe.skipIf(!rsyslogAvailable())('verify-log across a key rotation', () => {
  it('verifies with both key sets enrolled, by --pubkey or --keys DIR', async () => {
    await using sb = new Sandbox('fim-rotate-');
    const rs = await startRsyslog(sb.dir);
    try {
      sb.write('app/a.py', 'a');
      sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
      const config = join(sb.dir, 'fim.yaml');
      writeFileSync(
        config,
        `host: rot\npolicies: [${JSON.stringify(sb.policyFile)}]\ndatabase: fim.db\nkeys: keys\nsyslog: { target: "udp://127.0.0.1:${rs.port}" }\n`,
      );
      const enrolled = join(sb.dir, 'enrolled');
      mkdirSync(enrolled);
      expect(fim(['keygen', '-q', '--config', config]).code).toBe(0);
      copyFileSync(join(sb.dir, 'keys', 'rot.pub'), join(enrolled, 'rot-1.pub'));
      expect(fim(['baseline', '-q', '--config', config]).code).toBe(0);
      expect(fim(['keygen', '-q', '--force', '--config', config]).code).toBe(0);
      copyFileSync(join(sb.dir, 'keys', 'rot.pub'), join(enrolled, 'rot-2.pub'));
      expect(fim(['baseline', '-q', '--config', config]).code).toBe(0);
      await rs.waitFor((ls) => ls.filter((l) => l.includes('ev="stop"')).length >= 2, 5000);
      const both = fim(['verify-log', '--max-silence', '0', '--keys', enrolled, '--json', rs.logFile]);
      const r = JSON.parse(both.stdout) as { problems: { kind: string }[]; hosts: { verified: number }[] };
      expect(
        r.problems.filter((p) => p.kind !== 'baseline-mismatch' && p.kind !== 'unclean-restart'),
      ).toEqual([]);
      expect(r.hosts[0]?.verified).toBe(6); // one baseline session (start, announcement, stop) under each key set
      const twice = fim([
        'verify-log',
        '--max-silence',
        '0',
        '--pubkey',
        join(enrolled, 'rot-1.pub'),
        '--pubkey',
        join(enrolled, 'rot-2.pub'),
        '--json',
        rs.logFile,
      ]);
      const r2 = JSON.parse(twice.stdout) as typeof r;
      expect(r2.problems).toEqual(r.problems);
      expect(r2.hosts[0]?.verified).toBe(6);
      const newOnly = fim([
        'verify-log',
        '--max-silence',
        '0',
        '--pubkey',
        join(enrolled, 'rot-2.pub'),
        '--json',
        rs.logFile,
      ]);
      expect(newOnly.code).toBe(1);
      const kinds = (JSON.parse(newOnly.stdout) as { problems: { kind: string }[] }).problems.map(
        (p) => p.kind,
      );
      expect(kinds).toContain('uncertified');
    } finally {
      await rs.stop();
    }
  });
});
