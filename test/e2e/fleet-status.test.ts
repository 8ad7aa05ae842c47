/**
 * `fim fleet status` over the state of the one verifier: real hosts (keygen, baseline, check) send
 * through a real rsyslogd; `fim verify-log --keys DIR --state FILE` verifies the stored file; the
 * status reads that state. Three hosts announce the same label; one of them installed a different
 * deploy (drift). The HTML page is rendered in a real headless Chromium and read back as text.
 *
 * rsyslogd or chromium missing: a failure in CI, a loud skip elsewhere.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, renderAndEvaluate } from '../helpers/chromium.js';
import { FIM, fim, Sandbox } from '../helpers/fim.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';

interface HostJson {
  host: string;
  daemon: string;
  label: string | null;
  root: string | null;
  deploy: string | null;
  findings: Record<string, number> | null;
  problems: Record<string, number>;
  drift: string | null;
  attention: string[];
  lastMessage: string | null;
}
interface StatusJson {
  hosts: HostJson[];
  drift: { label: string; deploys: { deploy: string; hosts: string[] }[] }[];
  attention: number;
}

const HOSTS = ['worker-1', 'worker-2', 'worker-3'];

describe.skipIf(!rsyslogAvailable() || !chromiumAvailable())('fim fleet status', () => {
  let sb: Sandbox;
  let rs: Rsyslog;
  let state: string;
  let enrolled: string;
  const config = (h: string) => sb.path(h, 'fim.yaml');

  beforeAll(async () => {
    sb = new Sandbox('fim-fleet-');
    rs = await startRsyslog(sb.dir);
    // One deploy tree, at the same path for every host (as on a fleet of identical workers).
    sb.write('srv/app/tasks.py', 'def add(a, b):\n    return a + b\n');
    sb.write('srv/app/settings.py', 'DEBUG = False\n');
    const policy = sb.path('policy.yaml');
    writeFileSync(
      policy,
      `version: 1\nrules:\n  - name: app\n    severity: high\n    paths: ["${sb.path('srv', 'app')}"]\n    check: readonly\n`,
    );
    enrolled = sb.path('enrolled');
    mkdirSync(enrolled);
    for (const h of HOSTS) {
      mkdirSync(sb.path(h));
      writeFileSync(
        config(h),
        `host: ${h}\npolicies: [${JSON.stringify(policy)}]\ndatabase: fim.db\nkeys: keys\nsyslog: { target: "udp://127.0.0.1:${rs.port}", max_per_second: 200 }\n`,
      );
      expect(fim(['keygen', '-q', '--epochs', '4', '--config', config(h)]).code).toBe(0);
      copyFileSync(sb.path(h, 'keys', `${h}.pub`), join(enrolled, `${h}.pub`));
    }
    // worker-1 and worker-2 baseline deploy-7 as shipped; worker-3's copy of it differs.
    for (const h of ['worker-1', 'worker-2'])
      expect(fim(['baseline', '-q', '--label', 'deploy-7', '--config', config(h)]).code).toBe(0);
    writeFileSync(sb.path('srv/app/settings.py'), 'DEBUG = True\n');
    expect(fim(['baseline', '-q', '--label', 'deploy-7', '--config', config('worker-3')]).code).toBe(0);
    // worker-1 checks the tree as it is now: one high-severity finding, in its signed summary.
    expect(fim(['check', '-q', '--config', config('worker-1')]).code).toBe(4);
    await rs.waitFor(
      (ls) =>
        ls.filter((l) => l.includes('ev="stop"')).length >= 4 && ls.some((l) => l.includes('ev="summary"')),
      20_000,
    );
    state = sb.path('fleet.state');
    const v = fim(['verify-log', '--keys', enrolled, '--state', state, '--max-silence', '0', rs.logFile]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  const status = (...extra: string[]) =>
    fim(['fleet', 'status', '--state', state, '--max-silence', '1h', ...extra]);

  it('reports each host with its label, root and findings by severity, and the drifted one', () => {
    const r = status('--json');
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as StatusJson;
    expect(s.hosts.map((h) => h.host)).toEqual(HOSTS);
    const [w1, w2, w3] = s.hosts;
    for (const h of s.hosts) {
      expect(h.label).toBe('deploy-7');
      expect(h.root).toMatch(/^[0-9a-f]{64}$/);
      expect(h.daemon).toBe('no-daemon'); // one-shot commands only
      expect(h.lastMessage).not.toBeNull();
    }
    // Roots always differ (each binds its host and time); the deploy digest of the same deploy does not.
    expect(new Set(s.hosts.map((h) => h.root)).size).toBe(3);
    expect(w1?.deploy).toBe(w2?.deploy);
    expect(w3?.deploy).not.toBe(w1?.deploy);
    expect(s.drift).toEqual([
      {
        label: 'deploy-7',
        deploys: [
          { deploy: w1?.deploy, hosts: ['worker-1', 'worker-2'] },
          { deploy: w3?.deploy, hosts: ['worker-3'] },
        ],
      },
    ]);
    expect(w3?.drift).toMatch(/differs from its peers: 2 of 3 hosts labelled deploy-7/);
    expect(w2?.drift).toBeNull();
    expect(w1?.findings).toEqual({ low: 0, medium: 0, high: 1, critical: 0 });
    expect(w1?.attention).toEqual(['1 open finding(s)']);
    expect(w2?.attention).toEqual([]);
    expect(w3?.attention.some((a) => a.startsWith('drift: '))).toBe(true);
    expect(s.attention).toBe(2);
  });

  it('says the same as text, and exits 0 once nothing needs attention', () => {
    const r = status();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^fim fleet status: 3 host\(s\), 2 need attention/);
    expect(r.stdout).toMatch(/^worker-1 +no-daemon .* deploy-7 [0-9a-f]{16} +1 high +0$/m);
    expect(r.stdout).toContain('DRIFT label deploy-7: 2 different deploys');
    expect(r.stdout).toMatch(/^ATTENTION worker-3: drift: deploy /m);
    // A state with only worker-2 (verified alone): nothing needs attention.
    const only = sb.path('only-2');
    mkdirSync(only);
    copyFileSync(join(enrolled, 'worker-2.pub'), join(only, 'worker-2.pub'));
    const one = sb.path('one.state');
    const lines = readFileSync(rs.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('host="worker-2"'));
    const file = sb.path('worker-2.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(fim(['verify-log', '--keys', only, '--state', one, '--max-silence', '0', file]).code).toBe(0);
    const ok = fim(['fleet', 'status', '--state', one, '--max-silence', '1h']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('OK: every host');
    // ...and a short silence limit makes the same host silent.
    const silent = fim(['fleet', 'status', '--state', one, '--max-silence', '1ms', '--json']);
    expect(silent.code).toBe(1);
    expect((JSON.parse(silent.stdout) as StatusJson).hosts[0]?.attention[0]).toMatch(/^silent for /);
  });

  it('a problem needs attention until it is acknowledged; a newer one needs it again', () => {
    const copy = sb.path('ack.state');
    copyFileSync(state, copy);
    const w2 = readFileSync(rs.logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes('host="worker-2"') && l.includes('ev="baseline"'));
    expect(w2).toBeDefined();
    const forge = (n: number) => {
      const f = sb.path(`forged-${n}.log`);
      writeFileSync(f, `${(w2 ?? '').replace('new baseline', `new baseline ${n}`)}\n`);
      expect(fim(['verify-log', '--keys', enrolled, '--state', copy, '--max-silence', '0', f]).code).toBe(1);
    };
    const worker2 = () => {
      const r = fim(['fleet', 'status', '--state', copy, '--max-silence', '1h', '--json']);
      return (JSON.parse(r.stdout) as StatusJson).hosts.find((h) => h.host === 'worker-2');
    };
    forge(1);
    expect(worker2()?.attention).toEqual(['1 problem(s): bad-signature 1']);
    const ack = fim(['fleet', 'ack', '--state', copy, 'worker-2']);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toBe('worker-2: 1 problem(s) and 0 missing message(s) acknowledged\n');
    expect(worker2()?.attention).toEqual([]);
    expect(worker2()?.problems).toEqual({});
    forge(2);
    expect(worker2()?.attention).toEqual(['1 problem(s): bad-signature 1']);
    // A host the state does not hold is refused, naming it.
    const unknown = fim(['fleet', 'ack', '--state', copy, 'worker-9']);
    expect(unknown.code).toBe(16);
    expect(unknown.stderr).toContain('host worker-9 is not in');
  });

  it('an enrolled host never heard from is listed, and needs attention', () => {
    const keys = sb.path('with-4');
    mkdirSync(keys);
    for (const h of HOSTS) copyFileSync(join(enrolled, `${h}.pub`), join(keys, `${h}.pub`));
    mkdirSync(sb.path('worker-4'));
    writeFileSync(
      sb.path('worker-4', 'fim.yaml'),
      'host: worker-4\npolicies: []\ndatabase: fim.db\nkeys: keys\n',
    );
    expect(fim(['keygen', '-q', '--epochs', '4', '--config', sb.path('worker-4', 'fim.yaml')]).code).toBe(0);
    copyFileSync(sb.path('worker-4', 'keys', 'worker-4.pub'), join(keys, 'worker-4.pub'));
    const st = sb.path('with-4.state');
    fim(['verify-log', '--keys', keys, '--state', st, '--max-silence', '0', rs.logFile]);
    const r = fim(['fleet', 'status', '--state', st, '--max-silence', '1h', '--json']);
    const w4 = (JSON.parse(r.stdout) as StatusJson).hosts.find((h) => h.host === 'worker-4');
    expect(w4).toMatchObject({ lastMessage: null, daemon: 'no-daemon', attention: ['never heard'] });
  });

  it("reads the state without writing it: no -wal or -shm is made beside it, and a running verifier's unsaved WAL is read", () => {
    const beside = () => readdirSync(dirname(state)).filter((n) => n.startsWith(basename(state)));
    expect(beside()).toEqual(['fleet.state']);
    expect(status('--json').code).toBe(1);
    expect(beside()).toEqual(['fleet.state']);
    // A verifier holding the file open: its last save is in its WAL, not yet in the file.
    const writer = new Database(state);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      const label = (l: string) =>
        writer
          .prepare(
            "UPDATE host_state SET state = json_set(state, '$.health.label', ?) WHERE host = 'worker-2'",
          )
          .run(l);
      label('deploy-8');
      expect(beside().sort()).toEqual(['fleet.state', 'fleet.state-shm', 'fleet.state-wal']);
      const r = status('--json');
      const w2 = (JSON.parse(r.stdout) as StatusJson).hosts.find((h) => h.host === 'worker-2');
      expect(w2?.label).toBe('deploy-8');
      label('deploy-7');
    } finally {
      writer.close();
    }
    expect(beside()).toEqual(['fleet.state']);
  });

  // Root runs the test: the reader is then nobody, to whom the verifier's directory is read-only.
  const asNobody = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');
  it.skipIf(!asNobody)('reads a state its user may not write, with and without a verifier holding it', () => {
    const dir = sb.path('verifier-owned');
    mkdirSync(dir, { mode: 0o755 });
    const st = join(dir, 'fleet.state');
    copyFileSync(state, st);
    chmodSync(st, 0o644);
    chmodSync(sb.dir, 0o711); // nobody may pass through the sandbox, not list or write it
    const statusAsNobody = () =>
      spawnSync(
        '/usr/bin/setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          FIM,
          'fleet',
          'status',
          '--state',
          st,
          '--max-silence',
          '1h',
          '--json',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
    const alone = statusAsNobody();
    expect(alone.status, alone.stderr).toBe(1);
    expect((JSON.parse(alone.stdout) as StatusJson).hosts.map((h) => h.host)).toEqual(HOSTS);
    expect(readdirSync(dir)).toEqual(['fleet.state']);
    const writer = new Database(st);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer
        .prepare(
          "UPDATE host_state SET state = json_set(state, '$.health.label', 'deploy-9') WHERE host = 'worker-1'",
        )
        .run();
      const held = statusAsNobody();
      expect(held.status, held.stderr).toBe(1);
      expect((JSON.parse(held.stdout) as StatusJson).hosts.find((h) => h.host === 'worker-1')?.label).toBe(
        'deploy-9',
      );
    } finally {
      writer.close();
    }
  });

  it('a missing state file is a usage error that names it', () => {
    const r = fim(['fleet', 'status', '--state', sb.path('nope.state')]);
    expect(r.code).toBe(16);
    expect(r.stderr).toContain(sb.path('nope.state'));
  });

  it('writes an HTML page that Chromium renders with the hosts, their colours and the drift', async () => {
    const page = sb.path('fleet.html');
    expect(status('--html', page, '-q').code).toBe(1);
    const [text, w3Colour, w2Colour] = await renderAndEvaluate(page, [
      'document.body.innerText',
      'getComputedStyle(document.querySelector(\'tr[data-host="worker-3"]\')).backgroundColor',
      'getComputedStyle(document.querySelector(\'tr[data-host="worker-2"]\')).backgroundColor',
    ]);
    expect(text).toContain('3 host(s), 2 need attention');
    expect(text).toMatch(/worker-1\tno-daemon\t.*\tdeploy-7 [0-9a-f]{16}\t1 high\t0\t1 open finding\(s\)/);
    expect(text).toMatch(/worker-2\tno-daemon\t.*\tOK/);
    expect(text).toContain('Drift: label deploy-7');
    expect(text).toMatch(/deploy [0-9a-f]{64}: worker-1, worker-2/);
    // Status colours: a host that needs attention is not painted like one that does not.
    expect(w2Colour).toBe('rgb(217, 242, 217)');
    expect(w3Colour).toBe('rgb(255, 224, 179)');
  });
});
