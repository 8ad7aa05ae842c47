import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rfc5424Time } from '../../../src/alert/index.js';
import { createVerifier } from '../../../src/verify/index.js';
import { SilenceWatch } from '../../../src/verify/silence.js';
import { EPOCH_MS, type HostKeys, makeHostKeys, makeLine, ROOT_A, SID_A, T0 } from './fixture.js';

const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const LIMIT = 60_000;

describe('SilenceWatch', () => {
  test('silent strictly longer than the limit, measured from the last message time', () => {
    const w = new SilenceWatch('h1');
    w.heard(ns(T0));
    expect(w.check(T0 + LIMIT, LIMIT)).toBeNull();
    expect(w.check(T0 + LIMIT + 1, LIMIT)).toMatchObject({ kind: 'silence', host: 'h1' });
  });

  test('a late datagram dated earlier does not move "last heard" back', () => {
    const w = new SilenceWatch('h1');
    w.heard(ns(T0 + 50_000));
    w.heard(ns(T0));
    expect(w.check(T0 + 50_000 + LIMIT, LIMIT)).toBeNull();
    expect(w.report(T0 + 50_000 + LIMIT).lastMessage).toBe(new Date(T0 + 50_000).toISOString());
  });

  test('reported once per silence; heard again (newer), it can be reported again; older does not reset', () => {
    const w = new SilenceWatch('h1');
    w.heard(ns(T0));
    expect(w.check(T0 + 2 * LIMIT, LIMIT)).not.toBeNull();
    expect(w.check(T0 + 3 * LIMIT, LIMIT)).toBeNull();
    w.heard(ns(T0 - 1000));
    expect(w.check(T0 + 4 * LIMIT, LIMIT)).toBeNull();
    expect(w.report(T0 + 4 * LIMIT).silence).toBe(true);
    w.heard(ns(T0 + 4 * LIMIT));
    expect(w.report(T0 + 4 * LIMIT).silence).toBe(false);
    expect(w.check(T0 + 6 * LIMIT, LIMIT)).not.toBeNull();
  });

  test('never heard: silent at once; a limit of 0 disables the check', () => {
    expect(new SilenceWatch('h1').check(T0, LIMIT)?.detail).toBe('no verified message at all from this host');
    expect(new SilenceWatch('h1').check(T0, 0)).toBeNull();
    expect(new SilenceWatch('h1').report(T0)).toEqual({
      lastMessage: null,
      silentForMs: null,
      silence: false,
    });
  });

  test('the report says how long, never negative for a message dated after now', () => {
    const w = new SilenceWatch('h1');
    w.heard(ns(T0 + 5000));
    expect(w.report(T0).silentForMs).toBe(0);
    expect(w.report(T0 + 65_000).silentForMs).toBe(60_000);
  });
});

describe('silence in the verifier: the signed time against the verifier clock', () => {
  let keys: HostKeys;
  beforeAll(() => {
    keys = makeHostKeys();
  });
  afterAll(() => keys.cleanup());

  const hb = { type: 'heartbeat', baselineRoot: ROOT_A } as const;
  const tMsg = T0 + 10 * EPOCH_MS;

  function silenceAt(lines: string[], nowMs: number): string[] {
    const v = createVerifier({ pubkeys: [keys.pub], maxSilenceMs: LIMIT, now: () => nowMs });
    for (const l of lines) v.feedLine(l);
    return v.finish().problems.map((p) => p.kind);
  }

  test('a relay that rewrites the header timestamp changes nothing: the signed t counts', () => {
    const l = makeLine(keys)(hb, 1, { tMs: tMsg });
    const header = rfc5424Time(ns(tMsg));
    const rewritten = l.replace(header, rfc5424Time(ns(tMsg + 10 * LIMIT)));
    expect(rewritten).not.toBe(l);
    expect(silenceAt([rewritten], tMsg + 2 * LIMIT)).toEqual(['silence']);
    expect(silenceAt([l.replace(header, rfc5424Time(ns(tMsg - 10 * LIMIT)))], tMsg + 1000)).toEqual([]);
  });

  test('the clock is the one given (not the machine time): a log of 2026 read "now" is judged at its now', () => {
    const l = makeLine(keys)(hb, 1, { tMs: tMsg });
    expect(silenceAt([l], tMsg + LIMIT)).toEqual([]);
    expect(silenceAt([l], tMsg + LIMIT + 1)).toEqual(['silence']);
  });

  test('a forged or replayed message does not count as heard', () => {
    const line = makeLine(keys);
    const first = line(hb, 1, { tMs: tMsg });
    const forged = line(hb, 2, { tMs: tMsg + LIMIT }).replace('ev="heartbeat"', 'ev="heartbeaT"');
    const kinds = silenceAt([first, forged, first], tMsg + LIMIT + 1000);
    expect(kinds.sort()).toEqual(['bad-signature', 'duplicate', 'silence']);
  });

  test('tick while streaming takes the time it is given', () => {
    const v = createVerifier({ pubkeys: [keys.pub], maxSilenceMs: LIMIT, now: () => tMsg });
    v.feedLine(makeLine(keys)(hb, 1, { tMs: tMsg, sid: SID_A }));
    expect(v.tick(tMsg + LIMIT)).toEqual([]);
    expect(v.tick(tMsg + LIMIT + 1).map((p) => p.kind)).toEqual(['silence']);
  });

  test('one future-dated heartbeat (a future epoch, whose key the host holds) is a problem and never counts as heard', () => {
    const line = makeLine(keys);
    const honest = line(hb, 1, { tMs: tMsg });
    // Signed with epoch 30's key, dated inside epoch 30: authentic, and 20 minutes ahead of the clock.
    const ahead = line(hb, 2, { tMs: T0 + 30 * EPOCH_MS + 1000 });
    const kinds = silenceAt([honest, ahead], tMsg + 2 * LIMIT);
    expect(kinds.sort()).toEqual(['future-dated', 'silence']);
    // Within the skew it is fine.
    expect(silenceAt([honest, line(hb, 2, { tMs: tMsg + 1000 })], tMsg + 1000)).toEqual([]);
  });
});
