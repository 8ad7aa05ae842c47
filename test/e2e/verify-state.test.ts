/**
 * `fim verify-log --state FILE` against logs a real rsyslogd stored from a real daemon and real
 * one-shot commands: a log split by server-side rotation verifies as one stream (the second file
 * alone, without state, shows a false gap); a periodic run over a file that grew reads on from
 * where it stopped and reports each problem once; and a clean run with 10% of the datagrams
 * dropped on the way (a lossy relay in front of rsyslog) reports gaps and nothing else.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { FIM, fim, Sandbox } from '../helpers/fim.js';
import { type SignedHost, signedHost } from '../helpers/hosts.js';
import { rng } from '../helpers/rng.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

interface Report {
  problems: { kind: string; detail: string }[];
  hosts: { verified: number; missingCount: number }[];
}

/** A UDP relay that forwards datagrams to rsyslog, dropping each with probability `p` (seeded). */
async function lossyRelay(
  to: number,
  p: number,
  seed: number,
): Promise<{ port: number; dropped: () => number; close(): void }> {
  const random = rng(seed);
  const sock: Socket = createSocket('udp4');
  const out = createSocket('udp4');
  let dropped = 0;
  sock.on('message', (m) => {
    if (random() < p) dropped++;
    else out.send(m, to, '127.0.0.1');
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return {
    port: sock.address().port,
    dropped: () => dropped,
    close: () => {
      sock.close();
      out.close();
    },
  };
}

describe.skipIf(!rsyslogAvailable())('verify-log --state (real daemon, real rsyslogd)', () => {
  let sb: Sandbox;
  let rs: Rsyslog;

  beforeAll(async () => {
    sb = new Sandbox('fim-vstate-');
    rs = await startRsyslog(sb.dir);
  });
  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  function host(name: string, port: number): SignedHost {
    return signedHost(sb, name, { port, keygen: ['--epochs', '48'], maxPerSecond: 1000 });
  }
  const mine = (name: string) => rs.lines().filter((l) => l.includes(`host="${name}"`));
  const verify = (pub: string, file: string, extra: string[] = []) => {
    const r = fim(['verify-log', '--pubkey', pub, '--max-silence', '0', '--json', ...extra, file]);
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  };

  it('a log rotated mid-session verifies as one stream with --state; a restart gives no false gap', async () => {
    const h = host('rotated', rs.port);
    const d = new DaemonProcess(['--config', h.config]);
    await d.ready();
    await rs.waitFor(() => mine('rotated').filter((l) => l.includes('ev="heartbeat"')).length >= 3);
    expect(fim(['check', '-q', '--config', h.config]).code).toBe(0);
    await rs.waitFor(() => mine('rotated').filter((l) => l.includes('ev="heartbeat"')).length >= 6);
    expect(await d.stop()).toBe(0);
    await rs.waitFor(() => mine('rotated').filter((l) => l.includes('ev="stop"')).length >= 3);
    const all = mine('rotated');
    // Rotation in the middle of the daemon's session.
    const cut = all.findIndex((l) => l.includes('ev="heartbeat"')) + 2;
    const first = join(sb.dir, 'rotated.log.1');
    const second = join(sb.dir, 'rotated.log');
    writeFileSync(first, `${all.slice(0, cut).join('\n')}\n`);
    writeFileSync(second, `${all.slice(cut).join('\n')}\n`);
    const state = join(sb.dir, 'rotated.state');
    expect(verify(h.pub, second).report.problems.map((p) => p.kind)).toContain('gap'); // alone: a false gap
    const a = verify(h.pub, first, ['--state', state]);
    expect(a.report.problems, a.stderr).toEqual([]);
    const b = verify(h.pub, second, ['--state', state]);
    expect(b.report.problems).toEqual([]);
    expect(b.code).toBe(0);
  });

  it('a live verifier stopped with SIGTERM (rsyslog restarting) keeps its state and prints no summary', async () => {
    const h = host('sigterm', rs.port);
    const d = new DaemonProcess(['--config', h.config]);
    await d.ready();
    await rs.waitFor(() => mine('sigterm').filter((l) => l.includes('ev="heartbeat"')).length >= 6);
    expect(await d.stop()).toBe(0);
    await rs.waitFor(() => mine('sigterm').filter((l) => l.includes('ev="stop"')).length >= 2);
    const all = mine('sigterm');
    const cut = all.findIndex((l) => l.includes('ev="heartbeat"')) + 3;
    const state = join(sb.dir, 'sigterm.state');
    const args = [FIM, 'verify-log', '--pubkey', h.pub, '--state', state, '--max-silence', '0'];
    const first = spawn(process.execPath, [...args, '-']);
    let out = '';
    let err = '';
    first.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    first.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    // The first part of the stream, then a copy of its last line: once that copy is reported, every
    // line before it has been committed.
    first.stdin.write(`${all.slice(0, cut).join('\n')}\n${all[cut - 1]}\n`);
    await waitFor(() => out.includes('PROBLEM duplicate'), {
      what: 'the marker duplicate',
      timeoutMs: 15_000,
    });
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toBe(''); // no end-of-input summary: it would become alerts in omprog's output file
    expect(out.trim().split('\n')).toHaveLength(1);
    // The next verifier continues the stream: no false gap for what the first one verified.
    const second = spawnSync(process.execPath, [...args, '--json', '-'], {
      input: `${all.slice(cut).join('\n')}\n`,
      encoding: 'utf8',
    });
    const report = JSON.parse(second.stdout) as Report;
    expect(report.problems).toEqual([]);
    expect(second.status).toBe(0);
  });

  it('a periodic run reads on where it stopped and reports each problem once', async () => {
    const h = host('periodic', rs.port);
    for (let i = 0; i < 3; i++) expect(fim(['check', '-q', '--config', h.config]).code).toBe(0);
    await rs.waitFor(() => mine('periodic').filter((l) => l.includes('ev="stop"')).length >= 4);
    const lines = mine('periodic');
    const file = join(sb.dir, 'periodic.log');
    const state = join(sb.dir, 'periodic.state');
    // A summary lost: a gap in its session.
    const lost = lines.findIndex((l) => l.includes('ev="summary"'));
    writeFileSync(file, `${lines.filter((_, i) => i !== lost).join('\n')}\n`);
    const r1 = verify(h.pub, file, ['--state', state]);
    expect(r1.report.problems.map((p) => p.kind)).toEqual(['gap']);
    expect(r1.code).toBe(1);
    // The next run: the same file, nothing new: nothing to report, not the same gap again.
    const r2 = verify(h.pub, file, ['--state', state]);
    expect(r2.report.problems).toEqual([]);
    expect(r2.code).toBe(0);
    // The file grows (and its last line is still being written): only the new whole lines are read.
    expect(fim(['check', '-q', '--config', h.config]).code).toBe(0);
    await rs.waitFor(() => mine('periodic').filter((l) => l.includes('ev="stop"')).length >= 5);
    const more = mine('periodic').slice(lines.length);
    appendFileSync(file, `${more.join('\n')}\n${more[0]!.slice(0, 40)}`);
    const r3 = verify(h.pub, file, ['--state', state]);
    expect(r3.report.problems).toEqual([]);
    expect(r3.report.hosts[0]!.verified).toBe(lines.length - 1 + more.length);
  });

  it('a clean run with 10% of datagrams dropped reports gaps and nothing else', async () => {
    const relay = await lossyRelay(rs.port, 0.1, 12);
    try {
      const h = host('lossy', relay.port);
      for (let i = 0; i < 120; i++) sb.write(`lossy/app/f${i}.py`, String(i));
      const d = new DaemonProcess(['--config', h.config]);
      await d.ready();
      // 120 added (and their directory changed): findings to lose.
      expect(fim(['check', '-q', '--config', h.config]).code & 1).toBe(1);
      expect(fim(['check', '-q', '--config', h.config]).code & 1).toBe(1);
      await rs.waitFor(() => mine('lossy').filter((l) => l.includes('ev="heartbeat"')).length >= 4, 30_000);
      expect(await d.stop()).toBe(0);
      // The daemon has exited: everything was sent. Wait until rsyslog has written what reached it
      // (the count stops moving; rsyslog's own receive buffer may drop some of a burst too, which
      // is more loss of the same kind).
      let last = -1;
      await waitFor(
        () => {
          const n = mine('lossy').length;
          const still = n === last && n > 0;
          last = n;
          return still;
        },
        { what: 'rsyslog to write the last datagrams', timeoutMs: 20_000, intervalMs: 500 },
      );
      const file = join(sb.dir, 'lossy.log');
      writeFileSync(file, `${mine('lossy').join('\n')}\n`);
      const r = verify(h.pub, file);
      expect(relay.dropped()).toBeGreaterThan(10);
      const kinds = [...new Set(r.report.problems.map((p) => p.kind))];
      expect(kinds).toEqual(['gap']);
      expect(r.report.hosts[0]!.missingCount).toBeGreaterThan(0);
    } finally {
      relay.close();
    }
  });

  it('a --state file that is not one is refused with what to do, exit 19, no stack trace', async () => {
    const h = host('badstate', rs.port);
    const file = join(sb.dir, 'empty.log');
    writeFileSync(file, '');
    // The host's fim database is a SQLite file, but not a verify-log state file.
    const r = fim(['verify-log', '--pubkey', h.pub, '--state', join(sb.path('badstate'), 'fim.db'), file]);
    expect(r.code).toBe(19);
    expect(r.stderr).toMatch(/is a SQLite file but not a verify-log state file; move it aside/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const garbage = join(sb.dir, 'garbage.state');
    writeFileSync(garbage, 'not sqlite at all, not even close '.repeat(100));
    const g = fim(['verify-log', '--pubkey', h.pub, '--state', garbage, file]);
    expect(g.code).toBe(19);
    expect(g.stderr).toMatch(/garbage\.state is not a usable verify-log state file .*move it aside/);
  });
});
