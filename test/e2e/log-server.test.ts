/**
 * The log-server recipe of docs/log-server.md, run for real: docs/rsyslog-server.conf (one
 * verifier for every host, keys from a directory), adapted only where a test must (port, directories under a temp
 * dir, the fim program, no terminal messages), loaded into a real rsyslogd. A fim host (keygen,
 * baseline, check) sends its signed alerts; rsyslog stores them per host and feeds them to the live
 * `fim verify-log -` (omprog). Honest traffic raises no alert; forged, tampered and replayed
 * datagrams claiming that host make the verifier write a problem line, which rsyslog's imfile turns
 * into an alert of the log server itself (ALERTS.log).
 *
 * rsyslogd missing: a failure in CI, a loud skip elsewhere.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIM, fim, ROOT, Sandbox } from '../helpers/fim.js';
import {
  findRsyslogd,
  freeUdpPort,
  replaceRequired,
  rsyslogAvailable,
  sendDatagram,
  spawnRsyslogd,
} from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

const CONF_DOC = join(ROOT, 'docs', 'rsyslog-server.conf');
const MODULES_DOC = join(ROOT, 'docs', 'rsyslog-modules');
/** The modules the guide installs for the server, in install order. */
const SERVER_MODULES = ['imudp', 'imfile', 'omprog'];
const GUIDE = join(ROOT, 'docs', 'log-server.md');
/** The enrolled host is this machine's name: what fim and logger both put in the syslog header. */
const HOST = hostname();

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function nonEmptyLines(path: string): string[] {
  return readText(path)
    .split('\n')
    .filter((l) => l !== '');
}

/** Polls until `ok(get())` holds; on timeout the error shows the last value seen. */
async function until<T>(get: () => T, ok: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  let last: T | undefined;
  try {
    const got = await waitFor(
      () => {
        last = get();
        return ok(last) ? { value: last } : undefined;
      },
      { what, timeoutMs, intervalMs: 25 },
    );
    return got.value;
  } catch (err: unknown) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last value:\n${String(last)}`, {
      cause: err,
    });
  }
}

/** The one verifier's omprog action, as docs/log-server.md shows it. */
function verifierFromGuide(): string {
  const m =
    /## The live verifier \(omprog\)[\s\S]*?```\n(action\(type="omprog" name="fim-verify"[\s\S]*?)\n```/.exec(
      readText(GUIDE),
    );
  if (!m?.[1]) throw new Error('docs/log-server.md: the verifier action not found');
  return m[1];
}

const squash = (t: string) => t.replace(/\s+/g, ' ').trim();

/** The paths of the documented setup, moved under `dir`; everything else is left as documented. */
function adapt(text: string, dir: string, port?: number): string {
  let t = text;
  t = replaceRequired(t, '/var/log/fim/', `${dir}/log/`);
  if (t.includes('/var/spool/rsyslog')) t = t.replaceAll('/var/spool/rsyslog', `${dir}/work`);
  if (t.includes('/etc/rsyslog.d/fim-modules/'))
    t = t.replaceAll('/etc/rsyslog.d/fim-modules/', `${dir}/fim-modules/`);
  if (t.includes('/etc/rsyslog.d/fim-inputs/'))
    t = t.replaceAll('/etc/rsyslog.d/fim-inputs/', `${dir}/fim-inputs/`);
  if (t.includes('/etc/fim/hosts/')) t = t.replaceAll('/etc/fim/hosts/', `${dir}/pubkeys/`);
  if (t.includes('/etc/fim/hosts ')) t = t.replaceAll('/etc/fim/hosts ', `${dir}/pubkeys `);
  if (t.includes('/var/lib/fim/verify/')) t = t.replaceAll('/var/lib/fim/verify/', `${dir}/state/`);
  if (t.includes('/usr/bin/fim ')) t = t.replaceAll('/usr/bin/fim ', `${dir}/bin/fim `);
  if (port !== undefined) {
    t = replaceRequired(t, 'port="514"', `address="127.0.0.1" port="${port}"`);
    // omusrmsg writes to every logged-in user's terminal: not from a test suite.
    t = t
      .split('\n')
      .filter((l) => !/^\s*action\(type="omusrmsg"/.test(l))
      .join('\n');
  }
  // Nothing of the adapted configuration may still point at the system.
  const code = t
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  const stray = code.match(/"\/(var|etc|usr)\/[^"]*/g);
  if (stray) throw new Error(`adapted configuration still names system paths: ${stray.join(', ')}`);
  return t;
}

interface LogServer {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts rsyslogd on `conf` (in the foreground, own pid file); ready when a probe is stored. */
async function startServer(dir: string, conf: string, port: number): Promise<LogServer> {
  const bin = findRsyslogd();
  if (!bin) throw new Error('rsyslogd not found');
  const proc = spawnRsyslogd(bin, conf, join(dir, 'rsyslogd.pid'), 10_000);
  const { stop } = proc;
  const nonce = randomBytes(6).toString('hex');
  const probeFile = join(dir, 'log', 'hosts', 'fim-probe.log');
  try {
    // Probe datagrams until one is stored: UDP gives no other sign that rsyslog is listening.
    await waitFor(
      async () => {
        if (readText(probeFile).includes(nonce)) return true;
        if (proc.exitCode() !== undefined) throw new Error(`rsyslogd exited (${proc.exitCode()})`);
        await sendDatagram(port, `<14>1 - fim-probe probe - - - probe-${nonce}`);
        return false;
      },
      { what: `a probe stored by rsyslogd on 127.0.0.1:${port}`, timeoutMs: 15_000, intervalMs: 50 },
    );
  } catch (err: unknown) {
    await stop();
    throw new Error(
      `rsyslogd did not start on 127.0.0.1:${port} (exit ${proc.exitCode()}): ${proc.output()}`,
      {
        cause: err,
      },
    );
  }
  if (proc.pid === undefined) throw new Error('rsyslogd has no pid');
  return { pid: proc.pid, port, stop };
}

/** Processes whose parent is `ppid`, with their command lines. */
function childrenOf(ppid: number): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readText(`/proc/${name}/stat`);
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== ppid) continue;
    out.push({ pid: Number(name), cmdline: readText(`/proc/${name}/cmdline`).split('\0').join(' ').trim() });
  }
  return out;
}

describe.skipIf(!rsyslogAvailable())('the documented log server, with a real rsyslogd', () => {
  let sb: Sandbox;
  let dir: string;
  let server: LogServer | undefined;
  let config: string;
  let pub: string;
  let conf: string;
  let port: number;
  const hostLog = () => join(dir, 'log', 'hosts', `${HOST}.log`);
  const verifyOut = () => join(dir, 'log', 'verify', 'fleet.out');
  const alertsLog = () => join(dir, 'log', 'ALERTS.log');
  const run = (args: string[]) => fim([...args, '--config', config]);
  const honest = () => nonEmptyLines(hostLog()).filter((l) => l.includes(' fim '));
  const alerts = () => nonEmptyLines(alertsLog());

  beforeAll(async () => {
    sb = new Sandbox('fim-logserver-');
    dir = sb.dir;
    // The fim host: a small tree, a policy, keys, alerts to the log server over UDP.
    sb.write('app/tasks.py', 'def add(a, b):\n    return a + b\n');
    sb.write('app/celeryconfig.py', "accept_content = ['auth']\n");
    sb.policy('  - name: celery-code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
    port = await freeUdpPort();
    config = join(dir, 'fim.yaml');
    writeFileSync(
      config,
      [
        `host: ${HOST}`,
        'policies: [policy.yaml]',
        'database: fim.db',
        'keys: keys',
        `syslog: { target: "udp://127.0.0.1:${port}", facility: authpriv, max_per_second: 200 }`,
        '',
      ].join('\n'),
    );
    const k = run(['keygen', '--epochs', '48']);
    if (k.code !== 0) throw new Error(`keygen failed (${k.code}): ${k.stderr}`);

    // The log server, as docs/log-server.md installs it: directories, the enrolled public key,
    // and the main configuration with its one verifier.
    for (const d of ['log', 'log/hosts', 'log/verify', 'fim-modules', 'pubkeys', 'work', 'bin', 'state']) {
      mkdirSync(join(dir, d), { recursive: true });
    }
    for (const m of SERVER_MODULES)
      copyFileSync(join(MODULES_DOC, `${m}.conf`), join(dir, 'fim-modules', `${m}.conf`));
    pub = join(dir, 'pubkeys', `${HOST}.pub`);
    copyFileSync(join(dir, 'keys', `${HOST}.pub`), pub);
    // omprog's binary= is a command line; this stands in for the installed /usr/bin/fim.
    writeFileSync(join(dir, 'bin', 'fim'), `#!/bin/sh\nexec '${process.execPath}' '${FIM}' "$@"\n`);
    chmodSync(join(dir, 'bin', 'fim'), 0o755);
    conf = join(dir, 'rsyslog-server.conf');
    writeFileSync(conf, adapt(readText(CONF_DOC), dir, port));
  });

  afterAll(async () => {
    await server?.stop();
    sb?.cleanup();
  });

  it('the guide is consistent: the one verifier it shows is the shipped one; enrolment is copying a key', () => {
    const guide = readText(GUIDE);
    const shipped = readText(CONF_DOC);
    expect(squash(shipped)).toContain(squash(verifierFromGuide()));
    expect(shipped.match(/type="omprog"/g)).toHaveLength(1);
    // One verifier process, even when a burst spills its queue to disk (else rsyslog may start a
    // second one for the disk queue: two verifiers, each seeing part of every host's stream).
    expect(verifierFromGuide()).toContain('forceSingleInstance="on"');
    expect(guide).toContain('install -m 0644 worker-7.pub /etc/fim/hosts/worker-7.pub\n');
    for (const s of [
      'input(type="imudp" port="514" ruleset="fimReceive")',
      'template(name="fimPerHostFile" type="string" string="/var/log/fim/hosts/%hostname:::secpath-replace%.log")',
      'binary="/usr/bin/fim verify-log --keys /etc/fim/hosts --max-silence 5m --state /var/lib/fim/verify/fleet.state -"',
      'include(file="/etc/rsyslog.d/fim-inputs/*.conf" mode="optional")',
      'input(type="imfile" file="/var/log/fim/verify/*.out"',
    ]) {
      expect(shipped).toContain(s);
    }
  });

  it('rsyslogd -N1 accepts the configuration', () => {
    const bin = findRsyslogd();
    if (!bin) throw new Error('rsyslogd not found');
    const r = spawnSync(bin, ['-N1', '-f', conf], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/error/i);
  });

  it('the guide installs exactly the module files the configuration needs', () => {
    const install =
      /install -m 0644 (docs\/rsyslog-modules\/[\s\S]*?) \/etc\/rsyslog\.d\/fim-modules\/\n/.exec(
        readText(GUIDE),
      )?.[1];
    expect(install).toBeDefined();
    const files = (install ?? '').split(/[\s\\]+/).filter(Boolean);
    expect(files).toEqual(SERVER_MODULES.map((m) => `docs/rsyslog-modules/${m}.conf`));
  });

  it('rsyslogd -N1 accepts it beside a main configuration that already loads imudp, once its module file is omitted', () => {
    const bin = findRsyslogd();
    if (!bin) throw new Error('rsyslogd not found');
    const validate = (modules: string[]): { status: number | null; text: string } => {
      const sub = join(dir, `beside-imudp-${modules.length}`);
      mkdirSync(join(sub, 'fim-modules'), { recursive: true });
      for (const m of modules)
        copyFileSync(join(MODULES_DOC, `${m}.conf`), join(sub, 'fim-modules', `${m}.conf`));
      const fimConf = join(sub, 'fim.conf');
      writeFileSync(fimConf, readText(conf).replaceAll(`${dir}/fim-modules/`, `${sub}/fim-modules/`));
      // An operator's main configuration: ordinary network syslog on imudp, then the drop-ins.
      const main = join(sub, 'rsyslog.conf');
      writeFileSync(
        main,
        [
          'module(load="imudp")',
          `input(type="imudp" address="127.0.0.1" port="${port + 1}")`,
          `*.* action(type="omfile" file="${sub}/syslog")`,
          `include(file="${fimConf}")`,
          '',
        ].join('\n'),
      );
      const r = spawnSync(bin, ['-N1', '-f', main], { encoding: 'utf8', timeout: 30_000 });
      return { status: r.status, text: `${r.stdout}${r.stderr}` };
    };
    // With every module file, rsyslog refuses the second imudp: why the loads are separate files.
    const twice = validate(SERVER_MODULES);
    expect(twice.status).not.toBe(0);
    expect(twice.text).toContain("module 'imudp' already in this config");
    // Without imudp's file, the shipped configuration loads beside the operator's imudp.
    const beside = validate(SERVER_MODULES.filter((m) => m !== 'imudp'));
    expect(beside.status, beside.text).toBe(0);
    expect(beside.text).not.toMatch(/error/i);
  });

  it('stores honest traffic per host and verifies it live without an alert', async () => {
    server = await startServer(dir, conf, port);
    const b = run(['baseline', '--label', 'deploy-1']);
    expect(b.code, b.stderr).toBe(0);
    await until(honest, (ls) => ls.some((l) => l.includes('ev="baseline"')), 'the baseline announcement');

    writeFileSync(sb.path('app/tasks.py'), 'import os\ndef add(a, b):\n    os.system("id")\n');
    const c = run(['check']);
    expect(c.code, c.stderr).toBe(4);
    const stored = await until(
      honest,
      (ls) => ls.some((l) => l.includes('ev="summary"')),
      'the check summary',
    );
    expect(stored.some((l) => l.includes('ev="finding"') && l.includes(sb.path('app/tasks.py')))).toBe(true);
    // One file per host: the probe went to its own file, nothing else in the hosts directory.
    expect(readdirSync(join(dir, 'log', 'hosts')).sort()).toEqual([`${HOST}.log`, 'fim-probe.log'].sort());

    // The live verifier is running under rsyslogd, with the enrolled key, on standard input.
    const kids = await until(
      () => childrenOf(server?.pid ?? -1).filter((k) => k.cmdline.includes('verify-log')),
      (ks) => ks.length === 1,
      'the omprog verifier process',
    );
    expect(kids[0]?.cmdline).toContain(`verify-log --keys ${join(dir, 'pubkeys')} `);
    expect(kids[0]?.cmdline.endsWith(' -')).toBe(true);

    // What was stored verifies as a whole (the periodic check of the guide).
    const v = fim(['verify-log', '--pubkey', pub, hostLog()]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: every message verified');
    // Nothing from the live verifier so far. (That it has read everything is shown by the next
    // test: its alert for a later datagram comes after these in the same pipe, and is the only one.)
    expect(readText(verifyOut())).toBe('');
    expect(alerts()).toEqual([]);
  });

  it('a forged message sent with logger claiming the host raises the log server alert', async () => {
    const line = honest().find((l) => l.includes('ev="summary"')) ?? '';
    const field = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(line)?.[1] ?? '';
    const storedBefore = honest().length;
    // A made-up "all is well" summary, with the host's real (public) epoch key and certificate,
    // and a signature the forger could not make.
    execFileSync('logger', [
      '--rfc5424=notq',
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '-d',
      '-t',
      'fim',
      '--msgid',
      'summary',
      '--sd-id',
      'fim@32473',
      ...['v', 'host', 'sid', 'seq', 't', 'ep'].flatMap((k) => ['--sd-param', `${k}="${field(k)}"`]),
      '--sd-param',
      'ev="summary"',
      '--sd-id',
      'fimsig@32473',
      '--sd-param',
      `epk="${field('epk')}"`,
      '--sd-param',
      `cert="${field('cert')}"`,
      '--sd-param',
      `sig="${Buffer.alloc(64, 7).toString('base64')}"`,
      'check: 0 changed, all is well',
    ]);
    await until(honest, (ls) => ls.length > storedBefore, 'the forged message to be stored');
    const got = await until(alerts, (ls) => ls.length >= 1, 'the log server alert');
    expect(got).toHaveLength(1);
    expect(got[0]).toContain('fim-verify:');
    expect(got[0]).toMatch(/PROBLEM bad-signature host=\S+/);
    // The verifier wrote exactly one problem line, and nothing else.
    expect(nonEmptyLines(verifyOut())).toHaveLength(1);
    expect(nonEmptyLines(verifyOut())[0]).toMatch(/^PROBLEM bad-signature /);
  });

  it('a tampered copy and a replay of honest messages are alerts too', async () => {
    const finding = honest().find((l) => l.includes('ev="finding"') && l.includes('tasks.py')) ?? '';
    expect(finding).not.toBe('');
    // The intruder rewrites the reported path before it reaches the log server...
    await sendDatagram(port, finding.replace('tasks.py', 'tasks.pY'));
    await until(alerts, (ls) => ls.length >= 2, 'the alert for the tampered message');
    // ...or sends an old, genuinely signed message again.
    const baseline = honest().find((l) => l.includes('ev="baseline"')) ?? '';
    await sendDatagram(port, baseline);
    const got = await until(alerts, (ls) => ls.length >= 3, 'the alert for the replay');
    expect(got).toHaveLength(3);
    expect(got[1]).toMatch(/PROBLEM bad-signature /);
    expect(got[2]).toMatch(/PROBLEM duplicate /);
    for (const l of nonEmptyLines(verifyOut())) expect(l).toMatch(/^PROBLEM /);
  });

  it('a hostile header host name cannot write outside the hosts directory or feed the alerting', async () => {
    const nonce = randomBytes(4).toString('hex');
    const unsigned = () => alerts().filter((l) => l.includes('PROBLEM unsigned ')).length;
    const unsignedBefore = unsigned();
    await sendDatagram(port, `<14>1 - ../verify/${HOST}.out fim - - - PROBLEM fake-${nonce}`);
    await sendDatagram(port, `<14>1 - ..%2F..%2Fverify fim - - - PROBLEM fake-${nonce}`);
    const hosts = join(dir, 'log', 'hosts');
    await until(
      () => readdirSync(hosts).filter((f) => readText(join(hosts, f)).includes(`fake-${nonce}`)),
      (fs) => fs.length === 2,
      'both hostile datagrams stored in the hosts directory',
    );
    expect(readdirSync(join(dir, 'log', 'verify'))).toEqual(['fleet.out']);
    expect(readText(verifyOut())).not.toContain(nonce);
    expect(alerts().join('\n')).not.toContain(nonce);
    expect(existsSync(join(dir, 'log', `${HOST}.out`))).toBe(false);
    // Both are unsigned messages, each alerted once as such (naming the claimed host, not their
    // text). Waited for here, so that the next test counts from after them: alerts arrive through
    // imfile's polling, seconds later.
    await until(unsigned, (n) => n >= unsignedBefore + 2, "the verifier's alerts of the two datagrams");
    expect(alerts().join('\n')).not.toContain(nonce);
  });

  it('stopping rsyslog ends the verifier without a false alert at the next start', async () => {
    const before = alerts().length;
    await server?.stop();
    server = undefined;
    // rsyslog stops the verifier (signalOnClose); its end-of-input report must not read as a problem.
    const out = nonEmptyLines(verifyOut());
    const nonProblem = out.filter((l) => !l.startsWith('PROBLEM '));
    server = await startServer(dir, conf, port);
    // A new honest message after the restart; a verifier started afresh accepts it.
    writeFileSync(sb.path('app/celeryconfig.py'), "accept_content = ['auth', 'pickle']\n");
    const storedBefore = honest().length;
    expect(run(['check']).code).toBe(4);
    await until(honest, (ls) => ls.length >= storedBefore + 2, 'the post-restart messages');
    await until(
      () => childrenOf(server?.pid ?? -1).filter((k) => k.cmdline.includes('verify-log')),
      (ks) => ks.length === 1,
      'the restarted verifier',
    );
    // A marker forgery: once its alert is in, everything before it has been read by imfile.
    const summary = honest().find((l) => l.includes('ev="summary"')) ?? '';
    await sendDatagram(port, summary.replace('ev="summary"', 'ev="summary" x="1"'));
    const got = await until(alerts, (ls) => ls.length > before, 'the marker alert');
    expect(nonProblem, 'verifier output that is not a problem line').toEqual([]);
    expect(got.slice(before)).toHaveLength(1);
    expect(got.at(-1)).toMatch(/PROBLEM bad-signature /);
  });

  it("the guide's periodic check over the stored file reports every forgery and the replay", () => {
    const maxSilence =
      /fim verify-log --pubkey "\$pub" --max-silence (\S+) --state "\/var\/lib\/fim\/verify\/\$host\.state" \\\n\s+"\/var\/log\/fim\/hosts\/\$host\.log"/.exec(
        readText(GUIDE),
      )?.[1];
    expect(maxSilence).toBeDefined();
    const v = fim(['verify-log', '--pubkey', pub, '--max-silence', maxSilence ?? '', '--json', hostLog()]);
    expect(v.code, v.stderr).toBe(1);
    const report = JSON.parse(v.stdout) as { problems: { kind: string; host?: string }[] };
    const kinds = report.problems.map((p) => p.kind).sort();
    // logger's forgery, the tampered finding, the post-restart marker; the replayed baseline.
    expect(kinds).toEqual(['bad-signature', 'bad-signature', 'bad-signature', 'duplicate']);
  });

  it("the guide's periodic job writes its problems to the alerts, once each, naming the host", async () => {
    const script = /```sh\n(# fim-verify-periodic[\s\S]*?)```/.exec(readText(GUIDE))?.[1];
    expect(script).toBeDefined();
    const sh = replaceRequired(adapt(script ?? '', dir), 'fim verify-log ', `${dir}/bin/fim verify-log `);
    const before = alerts().length;
    const periodic = join(dir, 'log', 'verify', 'periodic.out');
    const first = spawnSync('sh', ['-c', sh], { encoding: 'utf8', timeout: 60_000 });
    expect(first.status, first.stderr).toBe(0);
    const lines = nonEmptyLines(periodic);
    expect(lines.map((l) => /^PROBLEM (\S+) host=(\S+) /.exec(l)?.slice(1, 3).join(' ')).sort()).toEqual(
      ['bad-signature', 'bad-signature', 'bad-signature', 'duplicate'].map((k) => `${k} ${HOST}`),
    );
    // rsyslog's imfile turns each into the log server's alert, as it does the live verifier's.
    const got = await until(alerts, (ls) => ls.length >= before + lines.length, 'the periodic alerts');
    expect(got.slice(before).every((l) => l.includes('fim-verify:') && l.includes(`host=${HOST}`))).toBe(
      true,
    );
    // With --state, a second run has nothing new to say.
    const second = spawnSync('sh', ['-c', sh], { encoding: 'utf8', timeout: 60_000 });
    expect(second.status, second.stderr).toBe(0);
    expect(nonEmptyLines(periodic)).toHaveLength(lines.length);
    // A verifier that cannot run is an alert line too, with the host.
    writeFileSync(pub, 'not a key\n');
    try {
      expect(spawnSync('sh', ['-c', sh], { encoding: 'utf8', timeout: 60_000 }).status).toBe(0);
      const failed = new RegExp(
        `^PROBLEM verifier-failed host=${HOST}: \\S*fim verify-log exited (\\d+), see `,
      );
      expect(Number(failed.exec(nonEmptyLines(periodic).at(-1) ?? '')?.[1])).toBeGreaterThanOrEqual(16);
    } finally {
      copyFileSync(join(dir, 'keys', `${HOST}.pub`), pub);
    }
  });
});
