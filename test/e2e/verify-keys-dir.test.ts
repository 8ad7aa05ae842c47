/**
 * `fim verify-log --keys DIR -` as rsyslog's omprog runs it (a long-lived process reading standard
 * input): a host enrolled by copying its public key into the directory while the verifier runs is
 * verified from then on, with no restart. Real hosts' messages through a real rsyslogd.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIM, fim, Sandbox } from '../helpers/fim.js';
import { signedHost } from '../helpers/hosts.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';

describe.skipIf(!rsyslogAvailable())('verify-log --keys DIR on standard input', () => {
  let sb: Sandbox;
  let rs: Rsyslog;

  beforeAll(async () => {
    sb = new Sandbox('fim-keysdir-');
    rs = await startRsyslog(sb.dir);
  });
  afterAll(async () => {
    await rs?.stop();
    sb?.cleanup();
  });

  function host(name: string): string {
    return signedHost(sb, name, { port: rs.port }).pub;
  }

  it('a key copied into the directory while the verifier runs is used from the next message on', async () => {
    const aPub = host('host-a');
    const bPub = host('host-b');
    const bLines = await rs.waitFor(
      (ls) => ls.filter((l) => l.includes('host="host-b"') && l.includes('ev="stop"')).length >= 1,
    );
    const b = bLines.filter((l) => l.includes('host="host-b"'));
    const enrolled = join(sb.dir, 'enrolled');
    mkdirSync(enrolled);
    copyFileSync(aPub, join(enrolled, 'host-a.pub'));
    const child = spawn(process.execPath, [FIM, 'verify-log', '--keys', enrolled, '--max-silence', '0', '-']);
    const out: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(...d.split('\n').filter(Boolean)));
    try {
      child.stdin.write(`${b[0]}\n`);
      await waitFor(() => out.some((l) => l.startsWith('PROBLEM unknown-host')), { what: 'unknown-host' });
      copyFileSync(bPub, join(enrolled, 'host-b.pub'));
      // Once the directory is read again, host-b's first line verifies (no output) and the next copy
      // of it is a duplicate: proof that the line was verified, not unknown.
      await waitFor(
        () => {
          child.stdin.write(`${b[0]}\n`);
          return out.some((l) => l.startsWith('PROBLEM duplicate'));
        },
        { what: 'host-b verified after enrolment', timeoutMs: 10_000, intervalMs: 250 },
      );
      expect(
        out.filter((l) => !l.startsWith('PROBLEM unknown-host') && !l.startsWith('PROBLEM duplicate')),
      ).toEqual([]);
    } finally {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('starts with an empty directory (a log server with no host enrolled yet) instead of failing', () => {
    const empty = join(sb.dir, 'empty-keys');
    mkdirSync(empty);
    const line = '<14>1 2026-12-02T00:00:00Z w9 fim 1 - [fim@32473 v="1" host="w9"] x\n';
    const r = fim(['verify-log', '--keys', empty, '--max-silence', '0', '-'], { input: line });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe(
      'PROBLEM unknown-host header-host=w9 line=1: message claims host "w9", which has no enrolled public key\n',
    );
    // A file still needs a key to be verified against.
    const file = join(sb.dir, 'one.log');
    writeFileSync(file, line);
    expect(fim(['verify-log', '--keys', empty, file]).code).toBe(16);
  });
});
