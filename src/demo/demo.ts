/**
 * `fim demo`: the whole loop for a newcomer, in a temp directory, in seconds: a small Celery worker
 * tree, keys, a baseline, a local log server, an intruder's changes, `fim check`, and the log
 * server's verdict (`verify-log`), including what happens when the intruder also edits the server's
 * log. Every step runs the same library code as the real commands.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { accept } from '../api/accept.js';
import { baseline } from '../api/baseline.js';
import { check } from '../api/check.js';
import { keygen } from '../api/keygen.js';
import { verifyLog } from '../api/verify-log.js';
import { displayBytes } from '../display.js';
import { ExitCode } from '../errors.js';
import { checkToText } from '../report/report.js';
import type { Output } from '../types.js';
import { formatVerifyReport, problemsFound } from '../verify/index.js';
import { startReceiver } from './receiver.js';

const HOST = 'demo-worker';

/** A deterministic little worker: code, compiled caches, a virtualenv, signing keys, config, logs. */
function generateTree(root: string): number {
  const files: Record<string, string> = {
    'srv/celery/app/tasks.py':
      'from celery import shared_task\n\n@shared_task\ndef add(x, y):\n    return x + y\n',
    'srv/celery/app/__init__.py': '',
    'srv/celery/app/billing.py':
      'def charge(account, cents):\n    return {"account": account, "cents": cents}\n',
    'srv/celery/app/__pycache__/tasks.cpython-311.pyc': 'compiled tasks',
    'srv/celery/app/__pycache__/billing.cpython-311.pyc': 'compiled billing',
    'srv/celery/venv/lib/python3.11/site-packages/celery/__init__.py': '__version__ = "5.4.0"\n',
    'srv/celery/venv/lib/python3.11/site-packages/kombu/__init__.py': '__version__ = "5.4.2"\n',
    'srv/celery/venv/bin/celery': '#!/srv/celery/venv/bin/python\nfrom celery.__main__ import main\nmain()\n',
    'etc/celery/celeryconfig.py':
      'broker_url = "amqp://broker"\nsecurity_key = "/etc/ssl/private/worker.key"\nsecurity_certificate = "/etc/ssl/certs/worker.pem"\nsecurity_cert_store = "/etc/ssl/celery-certs/*.pem"\ntask_serializer = "auth"\n',
    'etc/ssl/private/worker.key':
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFakeDemoKeyForFimDemoOnly0000000000000\n-----END PRIVATE KEY-----\n',
    'etc/ssl/certs/worker.pem': '-----BEGIN CERTIFICATE-----\nMIIBdemo\n-----END CERTIFICATE-----\n',
    'etc/ssl/celery-certs/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n',
    'var/log/celery/worker.log': '[2026-11-24 10:00:00] celery@worker ready.\n',
  };
  for (let i = 0; i < 40; i++)
    files[`srv/celery/app/handlers/h${i}.py`] = `def handle_${i}(msg):\n    return msg * ${i}\n`;
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  // Whole-second times, as after a deploy that sets them: the intruder can then restore an mtime
  // exactly (utimes has no nanoseconds), which is the point of the demo's first change.
  const deployed = new Date('2026-11-24T10:00:00Z');
  for (const rel of Object.keys(files)) utimesSync(join(root, rel), deployed, deployed);
  chmodSync(join(root, 'etc/ssl/private/worker.key'), 0o600);
  chmodSync(join(root, 'srv/celery/venv/bin/celery'), 0o755);
  return Object.keys(files).length;
}

function policyFor(root: string): string {
  return `version: 1
rules:
  - name: celery-code
    description: Application code and its compiled caches (a planted .pyc is a backdoor, never exclude them)
    severity: high
    paths: ["${root}/srv/celery/app", "${root}/srv/celery/venv"]
    check: readonly
  - name: celery-signing-keys
    description: Celery message-signing key, certificate and certificate store
    severity: critical
    paths: ["${root}/etc/ssl/private", "${root}/etc/ssl/certs", "${root}/etc/ssl/celery-certs"]
    check: readonly
  - name: celery-config
    severity: high
    paths: ["${root}/etc/celery"]
    check: readonly
  - name: celery-logs
    description: Logs may only grow; their old part must not change
    severity: low
    paths: ["${root}/var/log/celery"]
    check: growing
`;
}

/** An Output that indents everything a step prints. */
function indented(io: Output): Output {
  const ind = (s: string) => s.replace(/^(?=.)/gm, '    ');
  return { out: (s) => io.out(ind(s)), err: (s) => io.err(ind(s)) };
}

export async function runDemo(o: { keep?: boolean }, io: Output): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fim-demo-'));
  const tree = join(dir, 'worker');
  const sub = indented(io);
  const step = (n: number, title: string) => io.out(`\n${n}. ${title}\n`);
  let receiver: Awaited<ReturnType<typeof startReceiver>> | null = null;
  let ok = true;
  try {
    io.out(`fim demo: the whole loop on a sample Celery worker, in ${dir}\n`);
    step(1, 'A sample worker: code, compiled caches, a virtualenv, the Celery signing key and certificates');
    const n = generateTree(tree);
    sub.out(`${n} files under ${tree}\n`);

    step(2, 'A log server on this machine, receiving over UDP');
    receiver = await startReceiver(join(dir, 'logserver'));
    sub.out(
      `${receiver.kind === 'rsyslogd' ? 'rsyslogd' : 'built-in receiver (install rsyslog to use the real one)'} on udp://127.0.0.1:${receiver.port}, storing ${receiver.logFile}\n`,
    );

    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, policyFor(tree));
    const config = join(dir, 'fim.yaml');
    writeFileSync(
      config,
      `host: ${HOST}\npolicies: [policy.yaml]\ndatabase: fim.db\nkeys: keys\nsyslog: { target: "udp://127.0.0.1:${receiver.port}", max_per_second: 200 }\n`,
    );
    const common = { config };

    step(3, 'fim keygen: forward-secure signing keys; the public key goes to the log server');
    const k = keygen({ ...common, epochs: 24 });
    sub.out(`keys for ${k.host} written to ${k.dir} (the master private key was never stored)\n`);
    sub.out(`enrol this public key on the log server: ${k.pubPath}\nfingerprint: ${k.fingerprint}\n`);

    step(4, 'fim baseline --label deploy-1: hash everything the policy names, sign the root, announce it');
    const b = await baseline({ ...common, label: 'deploy-1' });
    sub.out(`baseline ${b.meta.id} "${b.meta.label}": ${b.meta.files} entries, ${b.stats.files} files\n`);
    sub.out(`root ${b.meta.root.toString('hex')}${b.signed ? ' (signed)' : ''}\n`);

    step(5, 'The intruder gets in, and:');
    const tasks = join(tree, 'srv/celery/app/tasks.py');
    const st = statSync(tasks);
    writeFileSync(tasks, readFileSync(tasks, 'utf8').replace('x + y', 'x - y'));
    utimesSync(tasks, st.atime, st.mtime);
    sub.out('- edits tasks.py, keeping its size and putting its mtime back\n');
    writeFileSync(join(tree, 'srv/celery/app/__pycache__/evil.cpython-311.pyc'), 'compiled backdoor');
    sub.out('- plants a compiled backdoor in __pycache__\n');
    const key = join(tree, 'etc/ssl/private/worker.key');
    writeFileSync(
      `${key}.new`,
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIntruderKey000000000000000000000000000\n-----END PRIVATE KEY-----\n',
      {
        mode: 0o600,
      },
    );
    renameSync(`${key}.new`, key);
    sub.out('- replaces the Celery signing key with their own\n');
    chmodSync(join(tree, 'srv/celery/venv/bin/celery'), 0o4755);
    sub.out('- makes the celery launcher setuid\n');
    writeFileSync(
      join(tree, 'var/log/celery/worker.log'),
      '[2026-11-24 10:00:01] celery@worker ready.\n[later] nothing to see\n',
    );
    sub.out('- rewrites the old part of the worker log\n');

    step(6, 'fim check: what changed, attribute by attribute (exit status: 1 added | 2 removed | 4 changed)');
    const report = await check(common);
    sub.out(checkToText(report));
    const code = report.exitCode;
    sub.out(`exit status ${code}\n`);
    if ((code & 5) !== 5) ok = false;

    step(7, 'On the log server: fim verify-log proves every alert authentic, in order and complete');
    await receiver.waitFor((ls) => ls.some((l) => l.includes('ev="summary"')));
    const pub = join(dir, 'keys', `${HOST}.pub`);
    const v = await verifyLog(receiver.logFile, { pubkeys: [pub], maxSilenceMs: 0 });
    sub.out(formatVerifyReport(v));
    if (problemsFound(v)) ok = false;

    step(8, "The intruder also deletes a line from the server's log: verify-log sees the gap");
    const lines = readFileSync(receiver.logFile, 'utf8').split('\n');
    const victim = lines.findIndex((l) => l.includes('ev="finding"') && l.includes('worker.key'));
    const forged = join(dir, 'tampered.log');
    writeFileSync(forged, lines.filter((_, i) => i !== victim).join('\n'));
    const v2 = await verifyLog(forged, { pubkeys: [pub], maxSilenceMs: 0 });
    sub.out(formatVerifyReport(v2));
    if (!problemsFound(v2)) ok = false;

    step(9, 'Had the key change been a planned rotation, fim accept takes just that reviewed change');
    const a = await accept({ ...common, paths: [key, dirname(key)] });
    for (const f of a.accepted) sub.out(`accepted ${f.kind.padEnd(8)} ${displayBytes(f.path)}\n`);
    sub.out(`baseline ${a.meta.id} (from ${a.previous.id}): root ${a.meta.root.toString('hex')}\n`);
    const after = (await check(common)).exitCode;
    sub.out(
      `fim check now exits ${after}: the key is trusted again, the intruder's other changes are still reported\n`,
    );
    if (after !== 5) ok = false;

    io.out(`\n${ok ? 'Demo complete' : 'Demo FAILED: see above'}.${o.keep ? ` Files kept in ${dir}` : ''}\n`);
    // A demo that does not come out as described is a bug of fim's, not of the machine.
    return ok ? ExitCode.ok : ExitCode.internal;
  } finally {
    await receiver?.stop();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}
