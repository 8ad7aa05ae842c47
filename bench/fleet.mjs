#!/usr/bin/env node
// The one verifier of a fleet (issue 18: 10,000 hosts in one process in at most 200 MB): N
// simulated hosts, each with real keys (fim's key generation) and real signed messages (a daemon
// session: start, baseline, heartbeats, findings, a check summary), sent interleaved over TCP to a
// real rsyslogd running the shipped central configuration (docs/rsyslog-server.conf with the TCP
// input of docs/rsyslog-inputs/tcp.conf), which stores them per host and feeds them to ONE
// `fim verify-log --keys DIR --state FILE -` (omprog). Measured: messages per second from the
// first send until the verifier has committed the last message (a final forged message whose
// PROBLEM line marks the end: lines are committed in order), the verifier's peak RSS (VmHWM), and
// the state file's bytes per host once it holds every host.
//
// Usage: node bench/fleet.mjs [--hosts N] [--messages M]   (run `npm run build` first)
//   npm run bench:fleet -- --hosts 1000
//   npm run bench:fleet -- --hosts 10000
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIM = join(ROOT, 'bin', 'fim');
const DOCS = join(ROOT, 'docs');
const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '12' },
    keep: { type: 'boolean' },
  },
});
const nHosts = Number(values.hosts);
const perHost = Math.max(6, Number(values.messages));

const { formatMessage } = await import(join(ROOT, 'dist/alert/format.js'));
const { generateKeys, loadKeys } = await import(join(ROOT, 'dist/keys/index.js'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(probe, what, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
function text(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'fim-fleet-bench-'));
let rsyslog;
try {
  // --- the hosts: keys, and their messages -------------------------------------------------
  const t0 = performance.now();
  const pubkeys = join(dir, 'pubkeys');
  mkdirSync(pubkeys);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const hosts = [];
  for (let i = 0; i < nHosts; i++) {
    const host = `worker-${String(i).padStart(5, '0')}`;
    const keys = join(dir, 'hosts', host);
    const { pubPath } = generateKeys({
      dir: keys,
      host,
      epochs: 2,
      epochSeconds: 86_400,
      start: Date.now() - 3_600_000,
    });
    copyFileSync(pubPath, join(pubkeys, `${host}.pub`));
    hosts.push({ host, signer: loadKeys(keys).currentSigner(), sid: randomBytes(8).toString('hex') });
  }
  const root = 'ab'.repeat(32);
  const deploy = 'cd'.repeat(32);
  const events = (i) => {
    if (i === 0)
      return { type: 'start', baselineRoot: root, policyHash: 'ef'.repeat(32), kind: 'watch', prev: null };
    if (i === 1) return { type: 'baseline', root, label: 'deploy-1', deploy };
    if (i === perHost - 1)
      return {
        type: 'summary',
        baselineRoot: root,
        counts: { scanned: 20_000, added: 0, removed: 0, changed: 1, errors: 0 },
        bySeverity: { low: 0, medium: 0, high: 1, critical: 0 },
      };
    if (i % 3 === 0)
      return {
        type: 'finding',
        kind: 'changed',
        path: Buffer.from(`/srv/celery/app/module${i}.py`),
        rule: 'celery-code',
        severity: 'high',
        attributes: ['content', 'mtime'],
        journalId: i,
      };
    return {
      type: 'heartbeat',
      baselineRoot: root,
      status: {
        watchedDirs: 2000,
        unwatchedDirs: 0,
        files: 20_000,
        dirty: 0,
        openFindings: 1,
        lastFullCheckNs: nowNs,
      },
    };
  };
  // Interleaved as a fleet sends: every host's first message, then every host's second, ...
  const lines = [];
  for (let i = 0; i < perHost; i++)
    for (const h of hosts)
      lines.push(
        formatMessage(events(i), {
          host: h.host,
          app: 'fim',
          procId: '1',
          facility: 10,
          sessionId: h.sid,
          seq: i + 1,
          timeNs: nowNs + BigInt(i) * 1_000_000n,
          signer: h.signer,
        }).toString('utf8'),
      );
  // The end marker: a copy of the last message with its text changed (a bad signature).
  const marker = lines.at(-1).replace(/ check: /, ' check (end of bench): ');
  const prep = (performance.now() - t0) / 1000;

  // --- the central server, as shipped, with the TCP input ------------------------------------
  const srv = join(dir, 'server');
  for (const d of ['log/hosts', 'log/verify', 'work', 'state', 'fim-modules', 'fim-inputs', 'bin'])
    mkdirSync(join(srv, d), { recursive: true });
  for (const m of ['imtcp', 'imfile', 'omprog'])
    copyFileSync(join(DOCS, 'rsyslog-modules', `${m}.conf`), join(srv, 'fim-modules', `${m}.conf`));
  const port = await freePort();
  writeFileSync(
    join(srv, 'fim-inputs', 'tcp.conf'),
    text(join(DOCS, 'rsyslog-inputs', 'tcp.conf')).replace(
      'port="2515"',
      `address="127.0.0.1" port="${port}"`,
    ),
  );
  // The executable as installed, so its shebang's node flags apply (they bound V8's heap growth:
  // running `node bin/fim` instead measured 230-248 MB where the launcher gives ~140-160 MB); this
  // bench's node first on PATH, since the shebang runs `env node`.
  writeFileSync(
    join(srv, 'bin', 'fim'),
    `#!/bin/sh\nPATH='${dirname(process.execPath)}':"$PATH" exec '${FIM}' "$@"\n`,
  );
  chmodSync(join(srv, 'bin', 'fim'), 0o755);
  const conf = text(join(DOCS, 'rsyslog-server.conf'))
    .replaceAll('/etc/rsyslog.d/fim-modules/', `${srv}/fim-modules/`)
    .replaceAll('/etc/rsyslog.d/fim-inputs/', `${srv}/fim-inputs/`)
    .replaceAll('/var/spool/rsyslog', `${srv}/work`)
    .replaceAll('/var/log/fim/', `${srv}/log/`)
    .replaceAll('/etc/fim/hosts ', `${pubkeys} `)
    .replaceAll('/var/lib/fim/verify/', `${srv}/state/`)
    .replaceAll('/usr/bin/fim ', `${srv}/bin/fim `)
    // No UDP input (the bench sends over TCP) and no terminal messages.
    .replace(/^input\(type="imudp".*$/m, '')
    .replace(/^\s*action\(type="omusrmsg".*$/m, '')
    // Thousands of hosts: one open file each.
    .replace('dynaFileCacheSize="1000"', `dynaFileCacheSize="${Math.min(nHosts + 10, 10_000)}"`);
  writeFileSync(join(srv, 'rsyslog.conf'), conf);
  rsyslog = spawn(
    '/usr/sbin/rsyslogd',
    ['-n', '-f', join(srv, 'rsyslog.conf'), '-i', join(srv, 'rsyslogd.pid')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const sock = await until(
    () =>
      new Promise((resolve) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', () => resolve(undefined));
      }),
    'rsyslogd listening',
    15_000,
  );

  // --- the run ---------------------------------------------------------------------------------
  const out = join(srv, 'log', 'verify', 'fleet.out');
  const start = performance.now();
  const payload = `${lines.join('\n')}\n${marker}\n`;
  await new Promise((r) => sock.write(payload, r));
  await until(
    () => text(out).includes('check (end of bench)') || text(out).includes('PROBLEM bad-signature'),
    'the verifier to reach the end marker',
    3_600_000,
  );
  const secs = (performance.now() - start) / 1000;
  sock.end();
  // Every verify-log of this bench: rsyslog's omprog starts one more when its queue goes to disk
  // (unless forceSingleInstance), and two verifiers would each see part of every host's stream.
  const verifiers = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter(
      (p) =>
        text(`/proc/${p}/cmdline`).includes('verify-log') && text(`/proc/${p}/cmdline`).includes(pubkeys),
    );
  const kb = (p, field) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text(`/proc/${p}/status`))?.[1] ?? 0);
  const hwm = Math.max(0, ...verifiers.map((p) => kb(p, 'VmHWM'))) / 1024;
  const rss = Math.max(0, ...verifiers.map((p) => kb(p, 'VmRSS'))) / 1024;
  // The state: saved at the verifier's tick (every 60 s with --max-silence 5m).
  const stateFile = join(srv, 'state', 'fleet.state');
  const rows = await until(
    () => {
      try {
        const db = new Database(stateFile, { readonly: true, fileMustExist: true });
        try {
          const r = db.prepare('SELECT count(*) AS n, sum(length(state)) AS bytes FROM host_state').get();
          return r.n >= nHosts ? r : undefined;
        } finally {
          db.close();
        }
      } catch {
        return undefined;
      }
    },
    'the state file to hold every host',
    180_000,
  );
  const unexpected = text(out)
    .split('\n')
    .filter((l) => l && !l.includes('PROBLEM bad-signature'));
  const fileBytes =
    statSync(stateFile).size + (statSync(`${stateFile}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  console.log(
    [
      `fim fleet bench: ${nHosts} hosts x ${perHost} messages = ${lines.length} signed messages (prepared in ${prep.toFixed(1)} s)`,
      `  through rsyslogd (TCP, shipped central config) to one verify-log: ${secs.toFixed(2)} s = ${Math.round(lines.length / secs)} messages/s`,
      `  verifier RSS: peak ${hwm.toFixed(0)} MB, now ${rss.toFixed(0)} MB${verifiers.length === 1 ? '' : ` (the largest of ${verifiers.length} verify-log processes: omprog started more than one)`}`,
      `  state: ${Math.round(rows.bytes / rows.n)} bytes of JSON per host; file ${Math.round(fileBytes / rows.n)} bytes per host (${(fileBytes / 1048576).toFixed(1)} MB)`,
      `  problems other than the end marker: ${unexpected.length}${unexpected.length ? `\n    ${unexpected.slice(0, 5).join('\n    ')}` : ''}`,
    ].join('\n'),
  );
  if (unexpected.length) process.exitCode = 1;
} finally {
  if (rsyslog && rsyslog.exitCode === null) {
    const done = new Promise((r) => rsyslog.once('exit', r));
    rsyslog.kill('SIGTERM');
    await done;
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
