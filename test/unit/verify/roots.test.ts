import { describe, expect, test } from 'vitest';
import { MAX_ROOT_MISMATCHES, ROOT_HANDOVER_MS, RootTracker } from '../../../src/verify/roots.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const C = 'cc'.repeat(32);
const T = 1_767_268_800_000_000_000n;
const MS = 1_000_000n;
const DAEMON = '00000000000000dd';
const at = { line: 1, sid: DAEMON, seq: 1 };
const COMMAND = '00000000000000cc';

/**
 * Feeds [event, root, ms after T, session start ms]; returns the problems' details (null when
 * clean) in order. Announcements come from a one-shot command's session, everything else from a
 * daemon session that started at T (or at the given time).
 */
function feed(
  r: RootTracker,
  events: Array<[string, string | undefined, number, number?]>,
): Array<string | null> {
  return events.map(([ev, root, ms, startMs]) => {
    const sid = ev === 'baseline' || ev === 'accept' ? COMMAND : DAEMON;
    const start = T + BigInt(startMs ?? 0) * MS;
    return r.observe(ev, root, T + BigInt(ms) * MS, { line: 1, sid, seq: 1 }, start)?.detail ?? null;
  });
}

describe('RootTracker', () => {
  test('announced roots are the reference; a different root in a heartbeat is a mismatch', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['baseline', A, 0],
      ['heartbeat', A, 1000],
      ['summary', B, 2000],
    ]);
    expect(got.slice(0, 2)).toEqual([null, null]);
    expect(got[2]).toContain(`summary reports baseline root ${B}, but the last announced root is ${A}`);
    expect(r).toMatchObject({ announcedRoot: A, mismatches: 1 });
  });

  test('the previous root is honest for the handover window after an accept, and not a millisecond longer', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['baseline', A, 0],
      ['accept', B, 1000],
      ['heartbeat', A, 1000 + ROOT_HANDOVER_MS],
      ['heartbeat', A, 1001 + ROOT_HANDOVER_MS],
    ]);
    expect(got.map((d) => d !== null)).toEqual([false, false, false, true]);
  });

  test('the handover window is for sessions already running at the announcement: a new one gets none', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['baseline', A, 0],
      ['accept', B, 1000],
      ['heartbeat', A, 1500, 0], // the daemon that has not yet picked B up
      ['heartbeat', A, 1600, 1200], // a session that began after the accept: a restored database
    ]);
    expect(got.map((d) => d !== null)).toEqual([false, false, false, true]);
  });

  test('the announcing session itself gets no window', () => {
    const r = new RootTracker('h1');
    r.observe('baseline', A, T, { line: 1, sid: COMMAND, seq: 1 }, T);
    r.observe('accept', B, T + 1000n * MS, { line: 2, sid: COMMAND, seq: 2 }, T);
    const p = r.observe('summary', A, T + 1500n * MS, { line: 3, sid: COMMAND, seq: 3 }, T);
    expect(p?.kind).toBe('baseline-mismatch');
  });

  test('the handover window excuses only the previous root: an unannounced one inside it is a mismatch', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['baseline', A, 0],
      ['accept', B, 1000],
      ['heartbeat', C, 1500],
    ]);
    expect(got[2]).toContain(`root ${C}`);
  });

  test('two announcements in a row: the window is for the one just replaced, not the one before', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['baseline', A, 0],
      ['accept', B, 1000],
      ['accept', C, 2000],
      ['heartbeat', A, 2500],
      ['heartbeat', B, 2500],
    ]);
    expect(got.map((d) => d !== null)).toEqual([false, false, false, true, false]);
  });

  test('announcing the same root again opens no window for a root replaced earlier', () => {
    const r = new RootTracker('h1');
    feed(r, [
      ['baseline', A, 0],
      ['accept', B, 1000],
    ]);
    // Long after the window: A again is a mismatch even though B was re-announced meanwhile.
    const got = feed(r, [
      ['baseline', B, 60_000],
      ['heartbeat', A, 60_500],
    ]);
    expect(got[1]).not.toBeNull();
  });

  test('without an announcement the first root seen is the reference', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['start', A, 0],
      ['heartbeat', A, 1000],
      ['heartbeat', B, 2000],
    ]);
    expect(got.map((d) => d !== null)).toEqual([false, false, true]);
    expect(r.announcedRoot).toBe(A);
  });

  test('"-" (no baseline yet), a missing root and events that carry none are never mismatches', () => {
    const r = new RootTracker('h1');
    const got = feed(r, [
      ['baseline', A, 0],
      ['heartbeat', '-', 1000],
      ['heartbeat', undefined, 1000],
      ['finding', B, 1000],
      ['stop', B, 1000],
    ]);
    expect(got).toEqual([null, null, null, null, null]);
    expect(r.announcedRoot).toBe(A);
  });

  test(`past ${MAX_ROOT_MISMATCHES} mismatches they are counted, not reported`, () => {
    const r = new RootTracker('h1');
    r.observe('baseline', A, T, at);
    const reported = Array.from({ length: MAX_ROOT_MISMATCHES + 5 }, (_, i) =>
      r.observe('heartbeat', B, T + BigInt(i) * MS, at),
    ).filter((p) => p !== null);
    expect(reported).toHaveLength(MAX_ROOT_MISMATCHES);
    expect(r.mismatches).toBe(MAX_ROOT_MISMATCHES + 5);
    expect(reported[0]).toMatchObject({ kind: 'baseline-mismatch', host: 'h1', ...at });
  });
});
