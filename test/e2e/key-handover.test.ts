/**
 * `fim keygen --rotate` through the real CLI and a real rsyslogd: a new key set, and a handover
 * message signed by the old one, so a log server enrolled only with the old public key verifies
 * the whole log, before and after the rotation (and, with --state, a later log holding only new
 * messages); the kept baselines are re-signed and still verify on the host; the old set's private
 * keys are gone, and messages signed later by a copy of the old keys are reported.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

interface Report {
  problems: { kind: string; detail: string }[];
  hosts: { verified: number; handovers: string[]; uncertified: number }[];
}

describe.skipIf(!rsyslogAvailable())('key rotation with a signed handover', () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let config: string;
  let oldPub: string;
  const host = 'rot-host';

  const run = (args: string[], cfg = config) => fim([...args, '--config', cfg]);
  const stops = () => rs.lines().filter((l) => l.includes('ev="stop"')).length;
  const oneShot = async (args: string[], cfg = config) => {
    const before = stops();
    const r = run(args, cfg);
    expect(r.code, r.stderr).toBe(0);
    await rs.waitFor(() => stops() > before);
    return r;
  };
  const verify = (file: string, extra: string[] = []) => {
    const r = fim(['verify-log', '--pubkey', oldPub, '--max-silence', '0', '--json', ...extra, file]);
    return { code: r.code, report: JSON.parse(r.stdout) as Report };
  };
  const save = (name: string, lines: string[]) => {
    const file = join(sb.dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  beforeAll(async () => {
    sb = new Sandbox('fim-handover-');
    rs = await startRsyslog(sb.dir);
    sb.write('app/a.py', 'a');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
    config = join(sb.dir, 'fim.yaml');
    writeFileSync(
      config,
      `host: ${host}\npolicies: [${JSON.stringify(sb.policyFile)}]\ndatabase: fim.db\nkeys: keys\nsyslog: { target: "udp://127.0.0.1:${rs.port}" }\n`,
    );
    expect(run(['keygen', '-q']).code).toBe(0);
    oldPub = join(sb.dir, 'enrolled-old.pub');
    writeFileSync(oldPub, readFileSync(join(sb.dir, 'keys', `${host}.pub`)));
  });
  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  it('verifies a log spanning the rotation with only the old key enrolled; the baseline still verifies', async () => {
    await oneShot(['baseline', '-q']);
    await oneShot(['check', '-q']);
    cpSync(join(sb.dir, 'keys'), join(sb.dir, 'stolen-keys'), { recursive: true }); // for the last test
    const r = await oneShot(['keygen', '--rotate', '--json']);
    const out = JSON.parse(r.stdout) as {
      fingerprint: string;
      previous: string;
      handoverSent: boolean;
      resigned: number;
    };
    expect(out.handoverSent).toBe(true);
    expect(out.resigned).toBe(1);
    expect(out.fingerprint).not.toBe(out.previous);
    expect(readFileSync(join(sb.dir, 'keys', `${host}.pub`), 'utf8')).toContain(out.fingerprint);
    // The re-signed baseline verifies under the new keys: check passes.
    await oneShot(['check', '-q']);
    const all = rs.lines();
    expect(all.some((l) => l.includes('ev="handover"'))).toBe(true);
    const v = verify(save('spanning.log', all));
    expect(v.report.problems).toEqual([]);
    expect(v.code).toBe(0);
    expect(v.report.hosts[0]!.handovers).toEqual([out.fingerprint]);
  });

  it('with --state, a later log holding only messages of the new keys verifies with the old key alone', async () => {
    const all = rs.lines();
    const cut = all.findIndex((l) => l.includes('ev="handover"')) + 2; // the handover and its stop
    const state = join(sb.dir, 'rot.state');
    expect(verify(save('part1.log', all.slice(0, cut)), ['--state', state]).report.problems).toEqual([]);
    const later = save('part2.log', all.slice(cut));
    expect(verify(later).report.problems.map((p) => p.kind)).toContain('uncertified'); // no state: unknown key
    const v = verify(later, ['--state', state]);
    expect(v.report.problems).toEqual([]);
    expect(v.code).toBe(0);
  });

  it('a copy of the old keys signing after the handover is reported as a retired key set', async () => {
    const stolen = join(sb.dir, 'stolen.yaml');
    writeFileSync(stolen, readFileSync(config, 'utf8').replace('keys: keys', 'keys: stolen-keys'));
    // Past the handover plus the skew given below: the old set is retired from then on.
    const handover = rs.lines().find((l) => l.includes('ev="handover"'))!;
    const handoverMs = Number(BigInt(/ t="(\d+)"/.exec(handover)![1]!) / 1_000_000n);
    await waitFor(() => Date.now() > handoverMs + 1500, { what: 'the skew to pass', timeoutMs: 5000 });
    // The intruder's copy cannot verify the re-signed baseline: it makes a new one, signed with the old set.
    await oneShot(['baseline', '-q'], stolen);
    const v = verify(save('stolen.log', rs.lines()), ['--skew', '1s']);
    expect(v.code).toBe(1);
    expect(v.report.problems.map((p) => p.kind)).toContain('retired-key');
  });
});
