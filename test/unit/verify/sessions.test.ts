import { describe, expect, test } from 'vitest';
import {
  HostSessions,
  MAX_SESSIONS_PER_HOST,
  REORDER_WINDOW,
  type SessionMessage,
} from '../../../src/verify/sessions.js';

const T = 1_767_268_800_000_000_000n;
const SID_A = '00000000000000aa';
const SID_B = '00000000000000bb';
const sidN = (n: number) => n.toString(16).padStart(16, '0');

let lineNo = 0;
function msg(
  sid: string,
  seq: number,
  ev = 'heartbeat',
  tNs = T + BigInt(seq) * 1_000_000_000n,
): SessionMessage {
  lineNo++;
  return { line: lineNo, sid, seq, tNs, ev };
}

/** Feeds messages; returns every problem kind in order and the gap texts streamed. */
function feed(s: HostSessions, ms: SessionMessage[]) {
  const kinds: string[] = [];
  const streamed: string[] = [];
  for (const m of ms) {
    const o = s.observe(m);
    kinds.push(...o.problems.map((p) => p.kind));
    if (o.session) streamed.push(...s.streamGaps(o.session).map((p) => p.detail));
  }
  return { kinds, streamed };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('HostSessions: sequence numbers', () => {
  test('a gap of exactly one is missing, with its number', () => {
    const s = new HostSessions('h1');
    feed(
      s,
      [1, 2, 4].map((n) => msg(SID_A, n)),
    );
    const t = s.totals();
    expect(t.missingCount).toBe(1);
    expect(t.sessions[0]!.missing).toBe('3');
    expect(t.gaps.map((g) => g.detail)).toEqual(['1 message(s) missing: seq 3']);
  });

  test('consecutive numbers leave no gap; a first message above 1 means the start was lost', () => {
    const s = new HostSessions('h1');
    feed(
      s,
      [3, 4, 5].map((n) => msg(SID_A, n)),
    );
    expect(s.totals().sessions[0]).toMatchObject({
      firstSeq: 3,
      lastSeq: 5,
      missing: '1-2',
      missingCount: 2,
    });
  });

  test('a late arrival fills its gap once; the second copy is a duplicate', () => {
    const s = new HostSessions('h1');
    const { kinds } = feed(
      s,
      [1, 3, 2, 2].map((n) => msg(SID_A, n)),
    );
    expect(kinds).toEqual(['duplicate']);
    expect(s.totals().sessions[0]).toMatchObject({ missingCount: 0, late: 1, duplicates: 1, verified: 3 });
    expect(s.verified).toBe(4);
  });

  test('a duplicate counts nowhere: no session handed back, no start or stop taken from it', () => {
    const s = new HostSessions('h1');
    s.observe(msg(SID_A, 1, 'start'));
    s.observe(msg(SID_A, 2, 'heartbeat'));
    const dup = s.observe(msg(SID_A, 2, 'stop'));
    expect(dup.session).toBeUndefined();
    expect(s.totals().sessions[0]!.stopped).toBe(false);
  });
});

describe('HostSessions: streamed gaps wait for the reorder window, and come once', () => {
  test(`seq 5 missing: nothing until the sender is ${REORDER_WINDOW} past it, then one warning`, () => {
    const s = new HostSessions('h1');
    const before = feed(
      s,
      [...range(1, 4), ...range(6, 5 + REORDER_WINDOW - 1)].map((n) => msg(SID_A, n)),
    );
    expect(before.streamed).toEqual([]);
    const at = feed(s, [msg(SID_A, 5 + REORDER_WINDOW)]);
    expect(at.streamed).toEqual(['1 message(s) missing: seq 5']);
    const after = feed(
      s,
      range(6 + REORDER_WINDOW, 10 + REORDER_WINDOW).map((n) => msg(SID_A, n)),
    );
    expect(after.streamed).toEqual([]);
    // The final gaps still hold it: streaming is a warning, the report counts it.
    expect(s.totals().gaps).toHaveLength(1);
  });

  test('a datagram arriving late within the window is never warned about', () => {
    const s = new HostSessions('h1');
    const { streamed } = feed(
      s,
      [1, 3, 2, ...range(4, 60)].map((n) => msg(SID_A, n)),
    );
    expect(streamed).toEqual([]);
    expect(s.totals().gaps).toEqual([]);
  });
});

describe('HostSessions: restarts and replays', () => {
  test('a new daemon session is a restart; unclean when the daemon session before never stopped', () => {
    const s = new HostSessions('h1');
    const { kinds } = feed(s, [
      msg(sidN(1), 1, 'start'),
      msg(sidN(2), 1, 'start'), // 1 never stopped: unclean
      msg(sidN(2), 2, 'stop'),
      msg(sidN(3), 5, 'heartbeat'), // 2 stopped: clean
      msg(sidN(4), 1, 'start'), // 3 was seen mid-session (its start before the log) and never stopped
    ]);
    expect(kinds).toEqual(['unclean-restart', 'unclean-restart']);
    expect(s).toMatchObject({ restarts: 3, uncleanRestarts: 2 });
  });

  test('a replay of the previous session after a restart is a duplicate, not a restart', () => {
    const s = new HostSessions('h1');
    const a2 = msg(SID_A, 2);
    const { kinds } = feed(s, [
      msg(SID_A, 1, 'start'),
      a2,
      msg(SID_A, 3, 'stop'),
      msg(SID_B, 1, 'start'),
      a2,
    ]);
    expect(kinds).toEqual(['duplicate']);
    expect(s.restarts).toBe(1);
    // The replay did not make session A current again: B's crash is judged against B.
    expect(feed(s, [msg(sidN(9), 1, 'start')]).kinds).toEqual(['unclean-restart']);
  });

  test('a replay from a session evicted long ago is still a duplicate, and opens nothing', () => {
    const s = new HostSessions('h1');
    const old = msg(SID_A, 1, 'start');
    s.observe(old);
    s.observe(msg(SID_A, 2, 'stop'));
    for (let n = 1; n <= MAX_SESSIONS_PER_HOST; n++) {
      s.observe(msg(sidN(0x100 + n), 1, 'start'));
      s.observe(msg(sidN(0x100 + n), 2, 'stop'));
    }
    const restarts = s.restarts;
    const o = s.observe(old);
    expect(o.problems.map((p) => [p.kind, p.detail])).toEqual([
      ['duplicate', `replay of a message from an old session ${SID_A}`],
    ]);
    expect(o.session).toBeUndefined();
    expect(s.restarts).toBe(restarts);
    const t = s.totals();
    expect(t.sessions).toHaveLength(MAX_SESSIONS_PER_HOST);
    expect(t.sessions.some((x) => x.sid === SID_A)).toBe(false);
    // The evicted session's counts are kept in the totals.
    expect(t.duplicates).toBe(1);
  });

  test("an evicted session's gaps still count in the host's missing total", () => {
    const s = new HostSessions('h1');
    feed(s, [msg(SID_A, 1), msg(SID_A, 4)]);
    for (let n = 1; n <= MAX_SESSIONS_PER_HOST; n++) s.observe(msg(sidN(0x100 + n), 1));
    const t = s.totals();
    expect(t.missingCount).toBe(2);
    expect(t.gaps).toEqual([]);
  });

  test('session times are the earliest and latest message times, whatever the arrival order', () => {
    const s = new HostSessions('h1');
    feed(s, [msg(SID_A, 2, 'heartbeat', T + 2_000_000_000n), msg(SID_A, 1, 'start', T)]);
    // The start arrived second (it filled the gap below 2): it still dates the session's beginning.
    expect(s.totals().sessions[0]).toMatchObject({
      firstSeq: 1,
      started: true,
      missingCount: 0,
      firstTime: new Date(Number(T / 1_000_000n)).toISOString(),
      lastTime: new Date(Number(T / 1_000_000n) + 2000).toISOString(),
    });
    feed(s, [msg(SID_B, 1, 'start', T + 9_000_000_000n), msg(SID_B, 3, 'heartbeat', T + 5_000_000_000n)]);
    const b = s.totals().sessions[1]!;
    expect(b.firstTime).toBe(new Date(Number(T / 1_000_000n) + 5000).toISOString());
    expect(b.lastTime).toBe(new Date(Number(T / 1_000_000n) + 9000).toISOString());
  });
});
