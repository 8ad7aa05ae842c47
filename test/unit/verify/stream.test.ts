import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createVerifier, type Problem, verifyStream } from '../../../src/verify/index.js';
import { waitFor } from '../../helpers/wait.js';
import { EPOCH_MS, type HostKeys, makeHostKeys, makeLine, ROOT_A, T0 } from './fixture.js';

let keys: HostKeys;
beforeAll(() => {
  keys = makeHostKeys();
});
afterAll(() => keys.cleanup());

const hb = { type: 'heartbeat', baselineRoot: ROOT_A } as const;
const T_MS = T0 + 10 * EPOCH_MS;
const verifier = () => createVerifier({ pubkeys: [keys.pub], maxSilenceMs: 0, now: () => T_MS });

/** Signed lines, with some whose seal lacks its certificate: those need no signature check at all. */
function log(): string[] {
  const line = makeLine(keys);
  return Array.from({ length: 30 }, (_, i) => {
    const l = line(hb, i + 1, { tMs: T_MS + i });
    if (i % 5 === 1) return l.replace(/ cert="[^"]*"/, '');
    if (i % 7 === 3) return l.replace('ev="heartbeat"', 'ev="heartbeaT"');
    return l;
  });
}

describe('verifyStream: order kept when lines without a signature check pass lines in flight', () => {
  test.each([1, 2, 16])('window %i: the same problems at the same lines as one line at a time', async (w) => {
    const lines = log();
    const one = verifier();
    const expected = lines.flatMap((l) => one.feedLine(l));
    const seen: Problem[] = [];
    const report = await verifyStream(Readable.from([lines.join('\n')]), verifier(), {
      window: w,
      onProblem: (p) => seen.push(p),
    });
    expect(seen).toEqual(expected);
    expect(seen.filter((p) => p.kind === 'unsigned').map((p) => p.line)).toEqual([2, 7, 12, 17, 22, 27]);
    expect(report).toEqual(one.finish());
  });

  test('a failing onProblem ends the run with its error; no later line is committed', async () => {
    const lines = log();
    const v = verifier();
    const boom = new Error('stdout closed');
    let calls = 0;
    const run = verifyStream(Readable.from([lines.join('\n')]), v, {
      window: 4,
      onProblem: () => {
        calls++;
        throw boom;
      },
    });
    await expect(run).rejects.toBe(boom);
    expect(calls).toBe(1);
    expect(v.finish().lines).toBeLessThan(lines.length);
  });
});

describe('verifyStream: stopped by a signal', () => {
  test('commits what it read, reads no more, and ends though its input never does', async () => {
    const lines = log();
    const input = new PassThrough();
    const stop = new AbortController();
    const seen: Problem[] = [];
    const run = verifyStream(input, verifier(), { signal: stop.signal, onProblem: (p) => seen.push(p) });
    input.write(`${lines.slice(0, 10).join('\n')}\n`);
    // The first unsigned line is the second: once it is reported, the lines before it are in.
    await waitFor(() => seen.some((p) => p.line === 7), { what: 'line 7 committed' });
    stop.abort();
    input.write(`${lines.slice(10).join('\n')}\n`); // after the stop: never read
    const report = await run;
    expect(report.lines).toBe(10);
    expect(seen.every((p) => (p.line ?? 0) <= 10)).toBe(true);
  });
});
