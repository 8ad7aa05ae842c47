/**
 * The verifier's whole output for one log holding every kind of problem and every cap (sessions
 * evicted, unknown hosts folded, root mismatches beyond the reported ones), on a fixed clock: the
 * streamed problems with their line numbers, the JSON report byte for byte (key order included)
 * and the text report. The snapshot was taken before verifier.ts was split into modules; a
 * refactor that changes any of it changes behaviour. Retaken deliberately for issue #12: the skew
 * is 5 min (the back-dated line moved to -8 min to stay outside it), unclean restarts name daemon
 * sessions and every session reports its kind, and the announcing session (A) gets no handover
 * window for the root it replaced (its heartbeat at seq 7 is now a mismatch).
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AlertEvent } from '../../../src/alert/index.js';
import {
  createVerifier,
  formatProblem,
  formatVerifyReport,
  type Problem,
  verifyStream,
} from '../../../src/verify/index.js';
import {
  EPOCH_MS,
  type HostKeys,
  makeHostKeys,
  makeLine,
  ROOT_A,
  ROOT_B,
  ROOT_C,
  resign,
  SID_A,
  T0,
} from './fixture.js';

let keys: HostKeys;
beforeAll(() => {
  keys = makeHostKeys();
});
afterAll(() => keys.cleanup());

const hb = (root: string): AlertEvent => ({ type: 'heartbeat', baselineRoot: root });
const start = (root: string): AlertEvent => ({ type: 'start', baselineRoot: root, policyHash: 'cd' });
const stop: AlertEvent = { type: 'stop', reason: 'SIGTERM' };
const sidN = (n: number) => n.toString(16).padStart(16, '0');

function scenario(): string[] {
  const line = makeLine(keys);
  const t = (s: number) => T0 + 10 * EPOCH_MS + s * 1000;
  const out: string[] = [];
  // Session A: start, baseline, a gap of one filled late, a duplicate.
  out.push(line(start(ROOT_A), 1, { tMs: t(0) }));
  out.push(line({ type: 'baseline', root: ROOT_A }, 2, { tMs: t(1) }));
  out.push(line(hb(ROOT_A), 3, { tMs: t(2) }));
  out.push(line(hb(ROOT_A), 5, { tMs: t(4) }));
  out.push(line(hb(ROOT_A), 3, { tMs: t(2) }));
  out.push(line(hb(ROOT_A), 4, { tMs: t(3) }));
  // Accept a new root: the old one is honest for the handover window, then a mismatch.
  out.push(line({ type: 'accept', root: ROOT_B, accepted: 2 }, 6, { tMs: t(10) }));
  out.push(line(hb(ROOT_A), 7, { tMs: t(15) }));
  out.push(line(hb(ROOT_A), 8, { tMs: t(25) }));
  // Forgeries of every kind.
  out.push(line(hb(ROOT_B), 9, { tMs: t(26) }).replace('ev="heartbeat"', 'ev="heartbeaT"'));
  out.push(line(hb(ROOT_B), 10, { tMs: t(27) }).replace(/\[fimsig@32473[^\]]*\]/, ''));
  out.push(line(hb(ROOT_B), 11, { tMs: t(28) }).replace(/ ep="\d+"/, ' ep="30"'));
  out.push(line(hb(ROOT_B), 12, { tMs: t(29) - 8 * EPOCH_MS, epoch: 10 }));
  out.push(line(hb(ROOT_B), 13, { tMs: t(30), epoch: 2 }));
  out.push(resign(keys, line(hb(ROOT_B), 14, { tMs: t(31) }), { v: '2' }));
  out.push(resign(keys, line(hb(ROOT_B), 15, { tMs: t(32) }), { sid: 'XYZ' }));
  out.push(line(hb(ROOT_B), 16, { tMs: t(33) }).replace(/ sig="[^"]+"/, ' sig="AAAA"'));
  out.push(line(hb(ROOT_B), 17, { tMs: t(34) }).replace(' seq="17"', ' seq="17" seq="18"'));
  out.push('', '<14>1 - host other - - - hello', '<14>1 - host fim - - - hello', 'garbage');
  out.push(`42 ${line(hb(ROOT_B), 18, { tMs: t(35) })}\r`);
  out.push(line(hb(ROOT_B), 19, { tMs: t(36), host: 'stranger' }));
  // Session B starts while A never stopped; runs past the reorder window with a gap.
  const sidB = '00000000000000bb';
  out.push(line(start(ROOT_B), 1, { tMs: t(40), sid: sidB }));
  for (let s = 2; s <= 45; s++) if (s !== 7) out.push(line(hb(ROOT_B), s, { tMs: t(40 + s), sid: sidB }));
  out.push(line(stop, 46, { tMs: t(90), sid: sidB }));
  // Seventy short sessions: the oldest are evicted; then a replay of one of them and of session A.
  for (let n = 1; n <= 70; n++) out.push(line(start(ROOT_B), 1, { tMs: t(100 + n), sid: sidN(0x1000 + n) }));
  out.push(line(start(ROOT_B), 1, { tMs: t(101), sid: sidN(0x1001) }));
  out.push(line(hb(ROOT_A), 9, { tMs: t(26), sid: SID_A }));
  // Root mismatches past the reported cap.
  for (let s = 2; s <= 26; s++) out.push(line(hb(ROOT_C), s, { tMs: t(200 + s), sid: sidN(0x1000 + 70) }));
  // Many unknown hosts: the tally folds the rest into "(others)".
  for (let n = 0; n < 103; n++) out.push(line(hb(ROOT_B), 1, { tMs: t(300), host: `ghost-${n}` }));
  return out;
}

function runLines(lines: string[], nowMs: number, maxSilenceMs?: number) {
  const v = createVerifier({
    pubkeys: [keys.pub],
    now: () => nowMs,
    ...(maxSilenceMs !== undefined ? { maxSilenceMs } : {}),
  });
  const streamed = lines.flatMap((l) => v.feedLine(l));
  const ticked = [v.tick(nowMs - 1000), v.tick(nowMs)];
  return { streamed, ticked, report: v.finish() };
}

describe('golden: the whole output of a log with every problem, unchanged by the refactor', () => {
  const NOW = T0 + 20 * EPOCH_MS;

  test('streamed problems, tick, JSON and text', async () => {
    const { streamed, ticked, report } = runLines(scenario(), NOW);
    await expect(streamed.map(formatProblem).join('\n')).toMatchFileSnapshot('./__golden__/streamed.txt');
    await expect(`${JSON.stringify(ticked, null, 2)}\n`).toMatchFileSnapshot('./__golden__/ticked.json');
    await expect(`${JSON.stringify(report, null, 2)}\n`).toMatchFileSnapshot('./__golden__/report.json');
    await expect(formatVerifyReport(report)).toMatchFileSnapshot('./__golden__/report.txt');
  });

  test('the pipelined stream gives the same problems and report', async () => {
    const lines = scenario();
    const expected = runLines(lines, NOW, 0);
    const v = createVerifier({ pubkeys: [keys.pub], now: () => NOW, maxSilenceMs: 0 });
    const seen: Problem[] = [];
    const report = await verifyStream(Readable.from([lines.join('\n')]), v, {
      window: 5,
      onProblem: (p) => seen.push(p),
    });
    expect(seen).toEqual(expected.streamed);
    expect(JSON.stringify(report)).toBe(JSON.stringify(expected.report));
  });

  test('more than 1000 problems: the first 1000 kept in order, the rest counted', async () => {
    const line = makeLine(keys);
    const lines = Array.from({ length: 1100 }, (_, i) =>
      line(hb(ROOT_A), i + 1, { tMs: T0 + 10 * EPOCH_MS + i }).replace('ev="heartbeat"', 'ev="heartbeaT"'),
    );
    lines.push(line(hb(ROOT_A), 2000, { tMs: T0 + 11 * EPOCH_MS }));
    const { report } = runLines(lines, NOW, 0);
    expect(report.problems).toHaveLength(1000);
    expect(report.problems[999]).toMatchObject({ kind: 'bad-signature', line: 1000 });
    expect(report.problemCount).toBe(1101);
    expect(report.problemsOmitted).toBe(101);
  });
});
