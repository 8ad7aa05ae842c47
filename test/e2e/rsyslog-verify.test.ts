/**
 * The alert properties against a real rsyslogd: what the tests verify is the file rsyslog wrote,
 * not the bytes we sent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AlertEvent, createAlerter, formatMessage, SD_ID_EVENT } from '../../src/alert/index.js';
import { parseDisplay } from '../../src/display.js';
import { privateKeyFromSeed, signRaw } from '../../src/keys/ed25519.js';
import {
  type EnrolledKey,
  type EpochSigner,
  generateKeys,
  type KeyStore,
  loadKeys,
  PRIVATE_FILE,
  readPublicKeyFile,
  readPublicMaterial,
} from '../../src/keys/index.js';
import { createVerifier, parseSyslogLine, problemsFound, type VerifyReport } from '../../src/verify/index.js';
import { type Rsyslog, rsyslogAvailable, startRsyslog } from '../helpers/rsyslog.js';

const ROOT = 'ab'.repeat(32);
const EPOCH_SECONDS = 2;

describe.skipIf(!rsyslogAvailable())('alerts through a real rsyslogd', () => {
  let dir: string;
  let rs: Rsyslog;
  let pub: EnrolledKey;
  let keys: KeyStore;
  let start: number;
  let stolenEpoch0: EpochSigner;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fim-e2e-rsyslog-'));
    start = Date.now() - 5 * EPOCH_SECONDS * 1000;
    const r = generateKeys({
      dir: join(dir, 'keys'),
      host: 'web-1',
      epochs: 100,
      epochSeconds: EPOCH_SECONDS,
      start,
    });
    pub = readPublicKeyFile(r.pubPath);
    // What an intruder would hold had they copied the key file before epoch 0 was erased.
    const seeds = JSON.parse(readFileSync(join(dir, 'keys', PRIVATE_FILE), 'utf8')) as {
      keys: { seed: string }[];
    };
    const key = privateKeyFromSeed(Buffer.from(seeds.keys[0]!.seed, 'base64'));
    const cert0 = readPublicMaterial(join(dir, 'keys')).certs.at(0)!;
    stolenEpoch0 = {
      host: 'web-1',
      epoch: 0,
      startMs: start,
      endMs: start + EPOCH_SECONDS * 1000,
      publicKey: cert0.pub,
      certificate: cert0.cert,
      sign: (d) => signRaw(key, d),
    };
    keys = loadKeys(join(dir, 'keys'));
    rs = await startRsyslog(dir);
  });
  afterAll(async () => {
    await rs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function verify(lines: string[]): VerifyReport {
    // Epochs of 2 s here, so the stated clock skew must be shorter than the default 120 s.
    const v = createVerifier({ pubkeys: [pub], maxSilenceMs: 600_000, skewMs: 1000 });
    for (const l of lines) v.feedLine(l);
    return v.finish();
  }

  /** Sends a session of `events` and returns the stored lines of that session. */
  async function session(events: AlertEvent[]): Promise<string[]> {
    const a = createAlerter({ target: `udp://127.0.0.1:${rs.port}`, host: 'web-1', signer: keys });
    for (const ev of events) a.send(ev);
    await a.close();
    // The alerter frames the session: its stop (given or its own) is the last line.
    return rs.waitFor((ls) => ls.some((l) => l.includes(`sid="${a.sessionId}"`) && l.includes('ev="stop"')));
  }

  const events: AlertEvent[] = [
    { type: 'start', baselineRoot: ROOT, policyHash: 'cd'.repeat(32) },
    { type: 'baseline', root: ROOT, label: 'deploy-1' },
    ...Array.from({ length: 6 }, (_, i) => ({
      type: 'finding' as const,
      kind: 'changed' as const,
      path: Buffer.from(`/srv/app/f${i}.py`),
      rule: 'code',
      severity: 'high' as const,
      attributes: ['content'],
      journalId: i + 1,
    })),
    {
      type: 'summary',
      baselineRoot: ROOT,
      counts: { scanned: 10, added: 0, removed: 0, changed: 6, errors: 0 },
    },
    { type: 'heartbeat', baselineRoot: ROOT },
    { type: 'stop', reason: 'SIGTERM' },
  ];

  let clean: string[] = [];

  test('a clean run verifies completely', async () => {
    clean = await session(events);
    expect(clean).toHaveLength(events.length);
    const report = verify(clean);
    expect(problemsFound(report)).toBe(false);
    expect(report.hosts[0]).toMatchObject({
      verified: events.length,
      missingCount: 0,
      duplicates: 0,
      restarts: 0,
    });
  });

  test('a forged message sent with logger is caught', async () => {
    const cert = readPublicMaterial(join(dir, 'keys')).certs.at(3)!;
    const before = rs.lines().length;
    execFileSync('logger', [
      '--rfc5424=notq',
      '-n',
      '127.0.0.1',
      '-P',
      String(rs.port),
      '-d',
      '-t',
      'fim',
      '--msgid',
      'summary',
      '--sd-id',
      SD_ID_EVENT,
      '--sd-param',
      'v="1"',
      '--sd-param',
      'host="web-1"',
      '--sd-param',
      'sid="00000000000000ff"',
      '--sd-param',
      'seq="1"',
      '--sd-param',
      `t="${BigInt(Date.now()) * 1_000_000n}"`,
      '--sd-param',
      'ep="3"',
      '--sd-param',
      'ev="summary"',
      '--sd-id',
      'fimsig@32473',
      '--sd-param',
      `epk="${cert.pub.toString('base64')}"`,
      '--sd-param',
      `cert="${cert.cert.toString('base64')}"`,
      '--sd-param',
      `sig="${Buffer.alloc(64, 7).toString('base64')}"`,
      'check: 0 changed, all is well',
    ]);
    const lines = await rs.waitFor((ls) => ls.length > before);
    const forged = lines.slice(before);
    expect(forged[0]).toContain('all is well');
    const report = verify([...clean, ...forged]);
    expect(report.problems.map((p) => p.kind)).toEqual(['bad-signature']);
    expect(report.hosts[0]!.verified).toBe(clean.length);
  });

  test('one byte altered in a stored line is caught', () => {
    const i = clean.findIndex((l) => l.includes('f3.py'));
    const altered = clean.slice();
    altered[i] = altered[i]!.replace('f3.py', 'f4.py');
    const report = verify(altered);
    expect(report.problems.map((p) => p.kind)).toContain('bad-signature');
    // The altered message no longer counts, so its sequence number is reported missing too.
    expect(report.hosts[0]!.badSignature).toBe(1);
  });

  test('a replayed line is caught', () => {
    const report = verify([...clean, clean[2]!]);
    expect(report.problems.map((p) => p.kind)).toEqual(['duplicate']);
  });

  test('a dropped datagram (deleted line) is a gap with the exact seq', () => {
    const report = verify(clean.filter((_, i) => i !== 4));
    expect(report.problems.map((p) => p.kind)).toEqual(['gap']);
    expect(report.hosts[0]!.sessions[0]!.missing).toBe('5');
    expect(report.problems[0]!.detail).toContain('seq 5');
  });

  test('a message signed with an erased epoch key, and a back-dated one, are caught', async () => {
    // Make sure epoch 0 is over and erased on this host.
    keys.currentSigner();
    expect(keys.heldEpochs()).not.toContain(0);
    const now = BigInt(Date.now()) * 1_000_000n;
    const ctx = {
      host: 'web-1',
      app: 'fim',
      procId: '1',
      facility: 10,
      sessionId: '00000000000000ee',
    };
    const summary: AlertEvent = {
      type: 'summary',
      baselineRoot: ROOT,
      counts: { scanned: 10, added: 0, removed: 0, changed: 0, errors: 0 },
    };
    const oldKey = formatMessage(summary, { ...ctx, seq: 1, timeNs: now, signer: stolenEpoch0 });
    const backDated = formatMessage(summary, {
      ...ctx,
      seq: 2,
      timeNs: now - 3_600_000_000_000n,
      signer: keys.currentSigner(),
    });
    await rs.sendRaw(oldKey);
    await rs.sendRaw(backDated);
    const lines = await rs.waitFor((ls) => ls.filter((l) => l.includes('00000000000000ee')).length >= 2);
    const report = verify([...clean, ...lines.filter((l) => l.includes('00000000000000ee'))]);
    expect(report.problems.map((p) => p.kind)).toEqual(['epoch-mismatch', 'epoch-mismatch']);
  });

  test('a swapped baseline is caught: a heartbeat with a root never announced', async () => {
    const lines = await session([
      { type: 'start', baselineRoot: 'ef'.repeat(32), policyHash: 'cd'.repeat(32) },
      { type: 'heartbeat', baselineRoot: 'ef'.repeat(32) },
    ]);
    const mine = lines.filter((l) => l.includes('ef'.repeat(32)));
    const report = verify([...clean, ...mine]);
    expect(report.problems.map((p) => p.kind)).toEqual(['baseline-mismatch', 'baseline-mismatch']);
    expect(report.hosts[0]!.restarts).toBe(1);
  });

  test('a file name holding a newline, ], " and \\ gives exactly one well-formed line', async () => {
    const nasty = Buffer.from(
      '/srv/app/evil\n<13>1 2026-01-01T00:00:00Z web-1 fim - x [fim@32473 a="b"] "\\.py',
    );
    const before = rs.lines().length;
    const lines = await session([
      {
        type: 'finding',
        kind: 'added',
        path: nasty,
        rule: 'code',
        severity: 'critical',
        attributes: [],
        journalId: 99,
      },
    ]);
    // The session's implicit start, the finding, its stop: the name made no line of its own.
    const mine = lines.slice(before);
    expect(mine.map((l) => /ev="(\w+)"/.exec(l)?.[1])).toEqual(['start', 'finding', 'stop']);
    const added = mine.filter((l) => l.includes('ev="finding"'));
    const parsed = parseSyslogLine(added[0]!)!;
    const ev = new Map(parsed.sd.find((e) => e.id === SD_ID_EVENT)!.params);
    expect(parseDisplay(ev.get('path')!).equals(nasty)).toBe(true);
    const report = verify(mine);
    expect(problemsFound(report)).toBe(false);
  });
});
