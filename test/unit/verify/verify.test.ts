import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AlertEvent, formatMessage, type WireEvent } from '../../../src/alert/index.js';
import { privateKeyFromSeed, signRaw } from '../../../src/keys/ed25519.js';
import {
  type EnrolledKey,
  type EpochSigner,
  generateKeys,
  loadKeys,
  PRIVATE_FILE,
  readPublicKeyFile,
  readPublicMaterial,
} from '../../../src/keys/index.js';
import {
  createVerifier,
  formatVerifyReport,
  type Problem,
  parseSyslogLine,
  problemsFound,
  SequenceTracker,
  verifyStream,
} from '../../../src/verify/index.js';
import { formatProblem } from '../../../src/verify/report.js';

let dir: string;
let pub: EnrolledKey;
let start: number;
/** A signer for any epoch, built from the seeds before erasure (what a thief of old keys would hold). */
let signerFor: (epoch: number) => EpochSigner;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-verify-'));
  start = Date.now() - 10 * 60_000;
  const r = generateKeys({ dir, host: 'h1', epochs: 20, epochSeconds: 60, start });
  pub = readPublicKeyFile(r.pubPath);
  const material = readPublicMaterial(dir);
  const seeds = JSON.parse(readFileSync(join(dir, PRIVATE_FILE), 'utf8')) as {
    keys: { epoch: number; seed: string }[];
  };
  signerFor = (epoch) => {
    const key = privateKeyFromSeed(Buffer.from(seeds.keys[epoch]!.seed, 'base64'));
    return {
      host: 'h1',
      epoch,
      startMs: start + epoch * 60_000,
      endMs: start + (epoch + 1) * 60_000,
      publicKey: material.certs.at(epoch)!.pub,
      certificate: material.certs.at(epoch)!.cert,
      sign: (d) => signRaw(key, d),
    };
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROOT = 'ab'.repeat(32);

function line(ev: WireEvent, seq: number, opts: { epoch?: number; tMs?: number; sid?: string } = {}): string {
  const tMs = opts.tMs ?? Date.now();
  const epoch = opts.epoch ?? Math.floor((tMs - start) / 60_000);
  return formatMessage(ev, {
    host: 'h1',
    app: 'fim',
    procId: '1',
    facility: 10,
    sessionId: opts.sid ?? '00000000000000aa',
    seq,
    timeNs: BigInt(tMs) * 1_000_000n,
    signer: signerFor(epoch),
  }).toString('utf8');
}

const hb: AlertEvent = { type: 'heartbeat', baselineRoot: ROOT };

function run(lines: string[], opts: { maxSilenceMs?: number; now?: () => number } = {}) {
  const v = createVerifier({ pubkeys: [pub], ...opts });
  const streamed = lines.flatMap((l) => v.feedLine(l));
  const report = v.finish();
  return { report, streamed, kinds: report.problems.map((p) => p.kind) };
}

describe('verifier', () => {
  test('a clean session verifies completely', () => {
    const lines = [
      line({ type: 'start', baselineRoot: ROOT, policyHash: 'cd' }, 1),
      line(hb, 2),
      line({ type: 'stop', reason: 'SIGTERM' }, 3),
    ];
    const { report } = run(lines);
    expect(problemsFound(report)).toBe(false);
    expect(report.hosts[0]).toMatchObject({ verified: 3, missingCount: 0, duplicates: 0 });
    expect(formatVerifyReport(report)).toContain('OK:');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  test('gaps name the exact missing seq; late arrivals fill them; duplicates are caught', () => {
    const all = Array.from({ length: 10 }, (_, i) => line(hb, i + 1));
    const got = [all[0]!, all[1]!, all[4]!, all[2]!, all[6]!, all[9]!, all[6]!];
    const { report, kinds } = run(got);
    expect(report.hosts[0]!.sessions[0]!.missing).toBe('4,6,8-9');
    expect(report.hosts[0]!.missingCount).toBe(4);
    expect(report.hosts[0]!.duplicates).toBe(1);
    expect(kinds).toContain('gap');
    expect(kinds).toContain('duplicate');
  });

  test('back-dated time and a message signed with an erased (stolen) epoch key are epoch mismatches', () => {
    const now = Date.now();
    const backDated = line(hb, 1, { tMs: now - 8 * 60_000, epoch: Math.floor((now - start) / 60_000) });
    const oldKey = line(hb, 2, { tMs: now, epoch: 0 });
    const { report, kinds } = run([backDated, oldKey], { maxSilenceMs: 0 });
    expect(kinds).toEqual(['epoch-mismatch', 'epoch-mismatch']);
    expect(report.hosts[0]!.verified).toBe(0);
  });

  test('an epoch key certified for another host or epoch is uncertified', () => {
    const l = line(hb, 1).replace(/ ep="\d+"/, ' ep="19"');
    expect(run([l], { maxSilenceMs: 0 }).kinds).toEqual(['uncertified']);
  });

  test('a baseline root that differs from the announced one is reported', () => {
    const other = 'cd'.repeat(32);
    const lines = [
      line({ type: 'baseline', root: ROOT }, 1),
      line(hb, 2),
      line({ type: 'heartbeat', baselineRoot: other }, 3),
      line({ type: 'accept', root: other, accepted: 1 }, 4),
      line({ type: 'heartbeat', baselineRoot: other }, 5),
    ];
    const { report, kinds } = run(lines);
    expect(kinds).toEqual(['baseline-mismatch']);
    expect(report.hosts[0]!.announcedRoot).toBe(other);
  });

  test('restarts: a new session after a start without stop is unclean', () => {
    const lines = [
      line({ type: 'start', baselineRoot: ROOT, policyHash: 'x' }, 1, { sid: '0000000000000001' }),
      line({ type: 'start', baselineRoot: ROOT, policyHash: 'x' }, 1, { sid: '0000000000000002' }),
      line({ type: 'stop', reason: 'x' }, 2, { sid: '0000000000000002' }),
      line({ type: 'start', baselineRoot: ROOT, policyHash: 'x' }, 1, { sid: '0000000000000003' }),
    ];
    const { report, kinds } = run(lines);
    expect(report.hosts[0]).toMatchObject({ restarts: 2, uncleanRestarts: 1 });
    expect(kinds).toEqual(['unclean-restart']);
  });

  test('silence longer than maxSilence at the end; an enrolled host never heard is silent too', () => {
    const t = Date.now() - 200_000;
    const l = line(hb, 1, { tMs: t });
    expect(run([l], { maxSilenceMs: 60_000 }).kinds).toEqual(['silence']);
    expect(run([l], { maxSilenceMs: 600_000 }).kinds).toEqual([]);
    expect(run([], { maxSilenceMs: 60_000 }).kinds).toEqual(['silence']);
  });

  test('tick reports silence while streaming, once', () => {
    const v = createVerifier({ pubkeys: [pub], maxSilenceMs: 1000 });
    v.feedLine(line(hb, 1));
    expect(v.tick(Date.now())).toEqual([]);
    expect(v.tick(Date.now() + 5000).map((p) => p.kind)).toEqual(['silence']);
    expect(v.tick(Date.now() + 6000)).toEqual([]);
  });

  test('random bytes never throw and never verify', () => {
    const good = line(hb, 1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), (bytes, cut) => {
        const v = createVerifier({ pubkeys: [pub], maxSilenceMs: 0 });
        const text = Buffer.from(bytes).toString('utf8');
        v.feedLine(text);
        // Random bytes spliced into the signed part of a valid message (the header is deliberately
        // unsigned: relays rewrite it): never verified unless the line is unchanged.
        const from = good.indexOf('[fim@');
        const k = from + (cut % (good.length - from));
        const spliced = good.slice(0, k) + text + good.slice(k + 1);
        if (spliced !== good) v.feedLine(spliced);
        parseSyslogLine(text);
        const r = v.finish();
        expect(r.hosts.every((h) => h.verified === 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('foreign RFC 5424 lines are counted, not problems; fim lines without fim data are', () => {
    const { report } = run(['<14>1 - host other - - - hello'], { maxSilenceMs: 0 });
    expect(report.foreign).toBe(1);
    expect(problemsFound(report)).toBe(false);
    expect(run(['<14>1 - host fim - - - hello'], { maxSilenceMs: 0 }).kinds).toEqual(['unsigned']);
  });

  test("a fim line a relay stripped of its structured data names the header's host (unverified)", () => {
    const { report } = run(['<14>1 2026-12-02T00:00:00Z worker-9 fim 123 finding - changed /srv/app/x.py'], {
      maxSilenceMs: 0,
    });
    const [p] = report.problems;
    expect(p).toMatchObject({ kind: 'unsigned', headerHost: 'worker-9' });
    expect(p?.host).toBeUndefined(); // not a verified host: it is not counted as one
    expect(formatProblem(p!)).toMatch(/^PROBLEM unsigned header-host=worker-9 line=1: .*structured data/);
  });

  test.each([
    // An RFC 3164 line (a relay that forwards the old format), as sent and as rsyslog stores it.
    ['<14>Dec  2 03:00:00 worker-3 fim: changed /srv/app/x.py', 'malformed', 'header-host=worker-3'],
    ['Dec  2 03:00:00 worker-3 fim: changed /srv/app/x.py', 'malformed', 'header-host=worker-3'],
    // RFC 5424 in form up to the host, broken after it.
    ['<14>1 2026-12-02T00:00:00Z worker-4 fim 123 finding [unclosed', 'malformed', 'header-host=worker-4'],
    // Nothing that reads as a header: the line says so rather than naming nobody.
    ['garbage without a header', 'malformed', 'header-host=-'],
    // A signed-looking message from a host with no enrolled key: the header's claim.
    [
      '<14>1 2026-12-02T00:00:00Z ghost-5 fim 1 heartbeat [fim@32473 v="1" host="ghost-5" sid="0123456789abcdef" seq="1" t="1" ev="heartbeat"] alive',
      'unknown-host',
      'header-host=ghost-5',
    ],
  ])('every problem line names a host: %s', (line, kind, named) => {
    const { report } = run([line], { maxSilenceMs: 0 });
    const [p] = report.problems;
    expect(p?.kind).toBe(kind);
    expect(formatProblem(p!)).toMatch(new RegExp(`^PROBLEM ${kind} ${named} line=1: `));
  });

  test('loadKeys reads back the host the keys were made for', () => {
    expect(loadKeys(dir).host).toBe('h1');
  });
});

describe('verifyStream (signatures checked ahead on the thread pool, committed in order)', () => {
  /** A log with every kind of line, where a verdict given to the wrong line would show. */
  function mixedLog(): string[] {
    const good = Array.from({ length: 40 }, (_, i) => line(hb, i + 1));
    const altered = good[7]!.replace('ev="heartbeat"', 'ev="heartbeaT"');
    const out = [...good.slice(0, 7), altered, ...good.slice(8, 20)];
    out.push('', '<14>1 - host other - - - hello', '<14>1 - host fim - - - hello', 'garbage');
    out.push(good[3]!); // replay
    out.push(line(hb, 99).replace(/ sig="[^"]+"/, ' sig="AAAA"')); // malformed signature
    out.push(...good.slice(21)); // seq 21 dropped
    return out;
  }

  async function streamed(lines: string[], window: number) {
    const v = createVerifier({ pubkeys: [pub], maxSilenceMs: 0 });
    const seen: Problem[] = [];
    const report = await verifyStream(Readable.from([lines.join('\n')]), v, {
      window,
      onProblem: (p) => seen.push(p),
    });
    return { report, seen };
  }

  test.each([1, 3, 256])(
    'window %i: the same problems, at the same lines, as one line at a time',
    async (w) => {
      const lines = mixedLog();
      const expected = run(lines, { maxSilenceMs: 0 });
      const got = await streamed(lines, w);
      expect(got.seen).toEqual(expected.streamed);
      expect(got.report.problems).toEqual(expected.report.problems);
      expect(got.report.hosts[0]!.verified).toBe(expected.report.hosts[0]!.verified);
      const bad = got.report.problems.filter((p) => p.kind === 'bad-signature').map((p) => p.line);
      expect(bad).toEqual([8, 26]);
      expect(got.report.hosts[0]!.sessions[0]!.missing).toBe('8,21');
    },
  );

  test('a forged line trickling in on stdin is reported before the input ends', async () => {
    const input = new PassThrough();
    const v = createVerifier({ pubkeys: [pub], maxSilenceMs: 0 });
    let reported: (p: Problem) => void = () => {};
    const first = new Promise<Problem>((r) => (reported = r));
    const done = verifyStream(input, v, { onProblem: (p) => reported(p) });
    input.write(`${line(hb, 1)}\n`);
    input.write(`${line(hb, 2).replace('ev="heartbeat"', 'ev="heartbeaT"')}\n`);
    const p = await first;
    expect(p).toMatchObject({ kind: 'bad-signature', line: 2 });
    input.end(`${line(hb, 3)}\n`);
    expect((await done).hosts[0]!.verified).toBe(2);
  });
});

describe('SequenceTracker', () => {
  test('bounded: a huge number of gaps keeps at most MAX_INTERVALS intervals', () => {
    const s = new SequenceTracker();
    for (let i = 1; i < 5000; i++) s.observe(i * 2);
    expect(s.missing.length).toBeLessThanOrEqual(1000);
    expect(s.missingCount()).toBe(4999);
  });
});
