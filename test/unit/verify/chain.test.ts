/**
 * The chain of sessions end to end inside one process: the real alerter (framing, chain links,
 * digests) writing to an in-memory chain that behaves as store/chain.ts does, on a fixed clock,
 * and the real verifier reading what it sent. Each test removes or adds what an intruder or an
 * accident would: a whole session, a session's end, a restored database, a replay of an old
 * session past the memory bounds, a one-shot command beside the daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type AlertEvent,
  type ChainLink,
  createAlerter,
  DAEMON_KIND,
  type SessionChain,
  type Transport,
} from '../../../src/alert/index.js';
import { createVerifier, problemsFound, type VerifyReport } from '../../../src/verify/index.js';
import { MAX_CLOSED_SIDS, MAX_SESSIONS_PER_HOST } from '../../../src/verify/sessions.js';
import { EPOCH_MS, type HostKeys, makeHostKeys, ROOT_A, ROOT_B, T0 } from './fixture.js';

let keys: HostKeys;
beforeAll(() => {
  keys = makeHostKeys();
});
afterAll(() => keys.cleanup());

/** The host's database, as far as the chain goes: store/chain.ts in memory. */
class MemChain implements SessionChain {
  rows: { sid: string; seq: number; digest: string }[] = [];
  open(sid: string): ChainLink | null {
    const h = this.rows.at(-1);
    this.rows.push({ sid, seq: 0, digest: '' });
    return h ? { ...h } : null;
  }
  advance(sid: string, seq: number, digest: string, send: () => void): void {
    const r = this.rows.find((x) => x.sid === sid);
    if (r) Object.assign(r, { seq, digest });
    send();
  }
  /** A copy of the database now (a backup an intruder restores later, or a cloned host's). */
  copy(): MemChain {
    const c = new MemChain();
    c.rows = this.rows.map((r) => ({ ...r }));
    return c;
  }
}

/** One host: a clock, its chain, and every line it sent, in order. */
class Host {
  lines: string[] = [];
  nowMs = T0 + 5 * EPOCH_MS;
  constructor(public chain = new MemChain()) {}

  session(kind: string) {
    const out: string[] = [];
    const transport: Transport = {
      send: (m) => out.push(m.toString('utf8')),
      close: async () => {},
      stats: () => ({ sent: out.length, errors: 0, connects: 0, connected: true }),
    };
    const a = createAlerter({
      target: 'udp://127.0.0.1:9',
      host: keys.pub.host,
      transport,
      chain: this.chain,
      kind,
      maxPerSecond: 1000,
      now: () => BigInt(this.nowMs) * 1_000_000n,
      signer: {
        host: keys.pub.host,
        currentSigner: (t) => keys.signerFor(Math.floor((Number(t) - T0) / EPOCH_MS)),
      },
    });
    const self = this;
    return {
      sid: a.sessionId,
      out,
      send(e: AlertEvent, advanceMs = 1000) {
        self.nowMs += advanceMs;
        a.send(e);
        self.lines.push(...out.splice(0));
      },
      async close(advanceMs = 1000) {
        self.nowMs += advanceMs;
        await a.close();
        self.lines.push(...out.splice(0));
      },
    };
  }

  /** A one-shot `fim check`: start, a summary, stop, 0.4 s in all. Returns the session's lines. */
  async check(): Promise<string[]> {
    const before = this.lines.length;
    const s = this.session('check');
    s.send(
      {
        type: 'summary',
        baselineRoot: ROOT_A,
        counts: { scanned: 1, added: 0, removed: 0, changed: 0, errors: 0 },
      },
      200,
    );
    await s.close(200);
    return this.lines.slice(before);
  }
}

function verify(lines: string[], o: { nowMs?: number; maxSilenceMs?: number } = {}): VerifyReport {
  const v = createVerifier({
    pubkeys: [keys.pub],
    maxSilenceMs: o.maxSilenceMs ?? 0,
    now: () => o.nowMs ?? T0 + 20 * EPOCH_MS,
  });
  for (const l of lines) v.feedLine(l);
  return v.finish();
}
const kinds = (r: VerifyReport) => r.problems.map((p) => p.kind);
const drop = (lines: string[], gone: readonly string[]) => lines.filter((l) => !gone.includes(l));

describe('the chain of sessions', () => {
  test('one-shot commands open and close sessions that chain: a clean history verifies', async () => {
    const h = new Host();
    await h.check();
    await h.check();
    await h.check();
    const r = verify(h.lines);
    expect(kinds(r)).toEqual([]);
    expect(r.hosts[0]!.sessions.map((s) => [s.kind, s.started, s.stopped])).toEqual([
      ['check', true, true],
      ['check', true, true],
      ['check', true, true],
    ]);
  });

  test('a whole check session deleted on the log server is a missing session', async () => {
    const h = new Host();
    await h.check();
    const second = await h.check();
    await h.check();
    const r = verify(drop(h.lines, second));
    expect(kinds(r)).toEqual(['missing-session']);
  });

  test("just a session's end deleted is a gap (the next start names its last seq)", async () => {
    const h = new Host();
    await h.check();
    const second = await h.check();
    await h.check();
    const stop = second.find((l) => l.includes('ev="stop"'))!;
    const r = verify(drop(h.lines, [stop]));
    expect(kinds(r)).toEqual(['gap']);
    expect(r.problems[0]!.detail).toContain('seq 3');
  });

  test("a session's end and its successor's start both lost: a gap, still a problem (not an unended session: the lost start may have named it)", async () => {
    const h = new Host();
    await h.check();
    const second = await h.check();
    const third = await h.check();
    const gone = [second.find((l) => l.includes('ev="stop"'))!, third[0]!];
    const r = verify(drop(h.lines, gone));
    expect(kinds(r)).toEqual(['gap']);
    expect(problemsFound(r)).toBe(true);
  });

  test('the end of a session that no later start names, every later start seen, never came', async () => {
    const h = new Host();
    await h.check();
    const backup = h.chain.copy();
    const second = await h.check();
    // A third session whose start is there but names a predecessor other than the second (a
    // database restored to before it): the second's end was never claimed.
    const restored = new Host(backup);
    restored.nowMs = h.nowMs + 1000;
    const third = await restored.check();
    const stop = second.find((l) => l.includes('ev="stop"'))!;
    const r = verify(drop(h.lines, [stop]).concat(third));
    expect(kinds(r)).toContain('unended-session');
    expect(kinds(r)).toContain('fork');
  });

  test('a restored database (or a cloned host) forks the chain', async () => {
    const h = new Host();
    await h.check();
    const backup = h.chain.copy();
    await h.check();
    await h.check();
    // The intruder puts the old database back: its next session continues from the backup.
    h.chain = backup;
    await h.check();
    const r = verify(h.lines);
    expect(kinds(r)).toEqual(['fork']);
  });

  test('a session that starts a new chain after others is a chain reset (database recreated)', async () => {
    const h = new Host();
    await h.check();
    h.chain = new MemChain();
    await h.check();
    expect(kinds(verify(h.lines))).toEqual(['chain-reset']);
  });

  test('a log that begins after the chain began reports no missing predecessor', async () => {
    const h = new Host();
    const first = await h.check();
    await h.check();
    expect(kinds(verify(drop(h.lines, first)))).toEqual([]);
  });
});

describe('session kinds', () => {
  test('a check beside a running daemon is no restart; a later kill -9 of the daemon still is', async () => {
    const h = new Host();
    const d = h.session(DAEMON_KIND);
    d.send({ type: 'start', baselineRoot: ROOT_A, policyHash: 'cd' });
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A });
    await h.check();
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A });
    await h.check();
    const clean = verify(h.lines);
    expect(kinds(clean)).toEqual([]);
    expect(clean.hosts[0]).toMatchObject({ restarts: 0, uncleanRestarts: 0 });
    // kill -9: no stop; the next daemon session is an unclean restart.
    const d2 = h.session(DAEMON_KIND);
    d2.send({ type: 'start', baselineRoot: ROOT_A, policyHash: 'cd' });
    const r = verify(h.lines);
    expect(kinds(r)).toEqual(['unclean-restart']);
    expect(r.hosts[0]).toMatchObject({ restarts: 1, uncleanRestarts: 1 });
  });

  test('the live daemon session at the end of the log is not an unended session', () => {
    const h = new Host();
    const d = h.session(DAEMON_KIND);
    d.send({ type: 'start', baselineRoot: ROOT_A, policyHash: 'cd' });
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A });
    expect(kinds(verify(h.lines))).toEqual([]);
  });
});

describe('replays', () => {
  test('an old session replayed past the memory bounds is a replay and moves no root', async () => {
    const h = new Host();
    const announce = async (root: string) => {
      const before = h.lines.length;
      const b = h.session('baseline');
      b.send({ type: 'baseline', root }, 200);
      await b.close(200);
      return h.lines.slice(before);
    };
    const old = await announce(ROOT_B);
    await announce(ROOT_A);
    // Enough sessions later that the old one is forgotten in full and as an id.
    const n = MAX_SESSIONS_PER_HOST + MAX_CLOSED_SIDS + 8;
    for (let i = 0; i < n; i++) await h.check();
    expect(h.nowMs - (T0 + 5 * EPOCH_MS)).toBeGreaterThan(6 * 60_000); // older than the 5 min skew
    const r = verify([...h.lines, ...old], { nowMs: h.nowMs });
    expect(kinds(r)).toEqual(['replay', 'replay', 'replay']);
    expect(r.hosts[0]).toMatchObject({ replays: 3, announcedRoot: ROOT_A });
  });
});

describe('time inside a daemon session', () => {
  test('a heartbeat gap longer than --max-silence is reported; a pause event is a problem', () => {
    const h = new Host();
    const d = h.session(DAEMON_KIND);
    d.send({ type: 'start', baselineRoot: ROOT_A, policyHash: 'cd' });
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A });
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A }, 60_000);
    d.send({ type: 'pause', pausedMs: 200_000, expectedMs: 1000 }, 200_000);
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A }, 1000);
    const r = verify(h.lines, { maxSilenceMs: 90_000, nowMs: h.nowMs });
    expect(kinds(r)).toEqual(['pause', 'heartbeat-gap']);
    expect(r.hosts[0]!.pauses).toBe(1);
  });

  test('heartbeats carry the key expiry; the report warns within 30 days', () => {
    const h = new Host();
    const d = h.session(DAEMON_KIND);
    d.send({ type: 'heartbeat', baselineRoot: ROOT_A, keysExpireMs: T0 + 40 * EPOCH_MS });
    const r = verify(h.lines);
    expect(r.hosts[0]).toMatchObject({
      keysExpire: new Date(T0 + 40 * EPOCH_MS).toISOString(),
      keysExpiring: true,
    });
    expect(kinds(r)).toEqual([]);
  });
});
