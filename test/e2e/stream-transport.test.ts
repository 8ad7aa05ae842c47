/**
 * TCP and TLS transports through the CLI: RFC 5425 octet counting accepted by a real rsyslogd
 * (imtcp), a queue kept in SQLite so messages sent while the log server was down are delivered by
 * the next run, and TLS that refuses a server it cannot authenticate.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fim, fimAsync, Sandbox } from '../helpers/fim.js';
import { findRsyslogd, freeTcpPort, rsyslogAvailable } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

async function waitUntil(pred: () => boolean, ms: number, what: string): Promise<void> {
  await waitFor(pred, { what, timeoutMs: ms, intervalMs: 25 });
}

function outboxCount(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    d.close();
  }
}

function writeConfig(sb: Sandbox, target: string, extra = ''): string {
  const config = join(sb.dir, 'fim.yaml');
  writeFileSync(
    config,
    `host: stream-host\npolicies: [policy.yaml]\ndatabase: fim.db\nkeys: keys\nsyslog: { target: "${target}"${extra} }\n`,
  );
  return config;
}

describe.skipIf(!rsyslogAvailable())('TCP to a real rsyslogd, with a queue that survives the sender', () => {
  let sb: Sandbox;
  let rsyslog: ChildProcess | undefined;

  beforeAll(() => {
    sb = new Sandbox('fim-tcp-');
    sb.write('app/a.py', 'a\n');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
  });

  afterAll(() => {
    rsyslog?.kill('SIGTERM');
    sb.cleanup();
  });

  it('messages sent while the server is down are delivered, in order and verifiable, by the next run', async () => {
    const port = await freeTcpPort();
    const config = writeConfig(sb, `tcp://127.0.0.1:${port}`);
    expect(fim(['keygen', '--epochs', '24', '--config', config]).code).toBe(0);
    // The log server is down: nothing listens on the port.
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    writeFileSync(sb.path('app/a.py'), 'b\n');
    const t0 = Date.now();
    expect(fim(['check', '--config', config]).code).toBe(4);
    expect(Date.now() - t0).toBeLessThan(15_000); // never blocks on a dead server
    const db = join(sb.dir, 'fim.db');
    expect(outboxCount(db)).toBeGreaterThanOrEqual(3); // baseline announcement, finding, summary

    // The log server comes up (rsyslog imtcp speaks octet counting)...
    const dir = join(sb.dir, 'rsyslog');
    mkdirSync(join(dir, 'work'), { recursive: true });
    const log = join(dir, 'tcp.log');
    writeFileSync(
      join(dir, 'rsyslog.conf'),
      [
        `global(workDirectory="${join(dir, 'work')}")`,
        'module(load="imtcp")',
        `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="fim")`,
        `ruleset(name="fim") { action(type="omfile" file="${log}" template="RSYSLOG_SyslogProtocol23Format") }`,
        '',
      ].join('\n'),
    );
    rsyslog = spawn(findRsyslogd()!, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'pid')], {
      stdio: 'ignore',
    });
    await waitUntil(
      () => {
        try {
          execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' });
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      'rsyslog imtcp',
    );

    // ...and the next run delivers the queued messages first, then its own.
    expect(fim(['check', '--config', config]).code).toBe(4);
    const read = () => {
      try {
        return readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes(' fim '));
      } catch {
        return [];
      }
    };
    await waitUntil(
      () => read().filter((l) => l.includes('ev="summary"')).length >= 2,
      15_000,
      'both summaries',
    );
    expect(outboxCount(db)).toBe(0);
    const lines = read();
    // The queued baseline session first (its start, then the announcement), then the check's.
    expect(lines.findIndex((l) => l.includes('ev="baseline"'))).toBe(1);
    expect(lines[0]).toContain('kind="baseline"');
    const v = fim([
      'verify-log',
      '--pubkey',
      join(sb.dir, 'keys', 'stream-host.pub'),
      '--max-silence',
      '0',
      log,
    ]);
    expect(v.code, v.stdout).toBe(0);
  });
});

describe('TLS (RFC 5425) to a log server with its own CA', () => {
  let sb: Sandbox;

  beforeAll(() => {
    sb = new Sandbox('fim-tls-');
    sb.write('app/a.py', 'a\n');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(sb.dir, 'server.key'),
        '-out',
        join(sb.dir, 'server.pem'),
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(() => sb.cleanup());

  it('delivers octet-counted frames to a server it trusts, and refuses one it cannot authenticate', async () => {
    const received = join(sb.dir, 'tls.log');
    writeFileSync(received, '');
    const server = createTlsServer(
      { key: readFileSync(join(sb.dir, 'server.key')), cert: readFileSync(join(sb.dir, 'server.pem')) },
      (sock) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          // RFC 5425: MSG-LEN SP SYSLOG-MSG, repeated
          for (;;) {
            const sp = buf.indexOf(0x20);
            if (sp < 0) break;
            const len = Number(buf.subarray(0, sp).toString());
            if (!Number.isInteger(len) || buf.length < sp + 1 + len) break;
            appendFileSync(received, `${buf.subarray(sp + 1, sp + 1 + len).toString()}\n`);
            buf = buf.subarray(sp + 1 + len);
          }
        });
        sock.on('error', () => undefined);
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    try {
      // Without the CA, the self-signed server is not trusted: nothing is delivered, all stays queued.
      let config = writeConfig(sb, `tls://127.0.0.1:${port}`);
      expect(fim(['keygen', '--epochs', '24', '--config', config]).code).toBe(0);
      // The TLS server runs in this process: run fim without blocking its event loop.
      const b = await fimAsync(['baseline', '--config', config]);
      expect(b.code, b.stderr).toBe(0);
      expect(readFileSync(received, 'utf8')).toBe('');
      // The baseline session (start, announcement, stop) waits in the outbox.
      expect(outboxCount(join(sb.dir, 'fim.db'))).toBe(3);

      config = writeConfig(sb, `tls://127.0.0.1:${port}`, ', ca: server.pem');
      writeFileSync(sb.path('app/a.py'), 'changed\n');
      const c = await fimAsync(['check', '--config', config]);
      expect(c.code, c.stderr).toBe(4);
      await waitUntil(
        () => readFileSync(received, 'utf8').includes('ev="summary"'),
        10_000,
        'the summary over TLS',
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}; received: ${readFileSync(received, 'utf8')}; outbox ${outboxCount(join(sb.dir, 'fim.db'))}; ${c.stdout} ${c.stderr}`,
        );
      });
      const lines = readFileSync(received, 'utf8').split('\n').filter(Boolean);
      // The queued baseline session first: its start, then the announcement.
      expect(lines[0]).toContain('kind="baseline"');
      expect(lines[1]).toContain('ev="baseline"');
      const v = await fimAsync([
        'verify-log',
        '--pubkey',
        join(sb.dir, 'keys', 'stream-host.pub'),
        '--max-silence',
        '0',
        received,
      ]);
      expect(v.code, v.stdout).toBe(0);
      expect(outboxCount(join(sb.dir, 'fim.db'))).toBe(0);
    } finally {
      server.close();
    }
  });
});
