/**
 * A verifier's state between runs (verify/snapshot.ts, verify-log --state): a log verified in two
 * runs with the state carried through JSON gives the report one run over the whole log gives, and
 * a state that does not hold what the verifier writes is refused with the field named.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AlertEvent } from '../../../src/alert/index.js';
import {
  createVerifier,
  readHostView,
  SnapshotError,
  type VerifierState,
} from '../../../src/verify/index.js';
import { EPOCH_MS, type HostKeys, makeHostKeys, makeLine, ROOT_A, T0 } from './fixture.js';

let keys: HostKeys;
beforeAll(() => {
  keys = makeHostKeys();
});
afterAll(() => keys.cleanup());

const NOW = T0 + 20 * EPOCH_MS;
const hb: AlertEvent = { type: 'heartbeat', baselineRoot: ROOT_A };

function log(): string[] {
  const line = makeLine(keys);
  const t = (s: number) => T0 + 10 * EPOCH_MS + s * 1000;
  const out = [
    line({ type: 'start', baselineRoot: ROOT_A, policyHash: 'cd', kind: 'watch', prev: null }, 1, {
      tMs: t(0),
    }),
  ];
  for (let s = 2; s <= 40; s++) if (s !== 30) out.push(line(hb, s, { tMs: t(s) }));
  out.push(line({ type: 'stop', reason: 'SIGTERM', count: 41 }, 41, { tMs: t(41) }));
  return out;
}

function run(lines: string[], state?: VerifierState) {
  const v = createVerifier({
    pubkeys: [keys.pub],
    maxSilenceMs: 0,
    now: () => NOW,
    ...(state ? { state } : {}),
  });
  for (const l of lines) v.feedLine(l);
  const report = v.finish();
  const s = v.exportState();
  // Through JSON, as the state file keeps it.
  const hosts = new Map([...s.hosts].map(([k, x]) => [k, JSON.parse(JSON.stringify(x)) as unknown]));
  return { report, state: { hosts, reported: new Set(s.reported) } };
}

describe('verifier state across runs', () => {
  test('two runs with the state give one run’s findings: no false gap, the real one once', () => {
    const all = log();
    const whole = run(all).report;
    expect(whole.problems.map((p) => p.detail)).toEqual(['1 message(s) missing: seq 30']);
    const first = run(all.slice(0, 20));
    expect(first.report.problems).toEqual([]);
    const alone = run(all.slice(20)).report;
    expect(alone.problems.map((p) => p.detail)).toEqual(['21 message(s) missing: seq 1-20,30']);
    const second = run(all.slice(20), first.state);
    expect(second.report.problems.map((p) => p.detail)).toEqual(['1 message(s) missing: seq 30']);
    expect(second.report.hosts[0]).toMatchObject({ verified: 40, missingCount: 1 });
    // A third run with nothing new reports the open gap no more.
    expect(run([], second.state).report.problems).toEqual([]);
    // A line of the first run fed again is a duplicate, as it would be in one run.
    expect(run([all[5]!], first.state).report.problems.map((p) => p.kind)).toEqual(['duplicate']);
  });

  test('a state that is not what the verifier writes is refused, naming the field', () => {
    const { state } = run(log().slice(0, 5));
    const snap = state.hosts.get('h1') as { sessions: { list: { seq: { highest: unknown } }[] } };
    snap.sessions.list[0]!.seq.highest = 'many';
    expect(() => run([], state)).toThrow(SnapshotError);
    expect(() => run([], state)).toThrow(/host h1: sessions\.list\[0\]\.seq\.highest is not a count/);
  });

  test('the fleet status view: label, deploy, findings by severity, open findings and problems survive the state', () => {
    const line = makeLine(keys);
    const t = (s: number) => T0 + 10 * EPOCH_MS + s * 1000;
    const deploy = '12'.repeat(32);
    const lines = [
      line({ type: 'start', baselineRoot: ROOT_A, policyHash: 'cd', kind: 'watch', prev: null }, 1, {
        tMs: t(0),
      }),
      line({ type: 'baseline', root: ROOT_A, label: 'deploy-9', deploy }, 2, { tMs: t(1) }),
      line(
        {
          type: 'summary',
          baselineRoot: ROOT_A,
          counts: { scanned: 9, added: 1, removed: 0, changed: 2, errors: 0 },
          bySeverity: { low: 0, medium: 1, high: 2, critical: 0 },
        },
        3,
        { tMs: t(2) },
      ),
      line(
        {
          type: 'heartbeat',
          baselineRoot: ROOT_A,
          status: {
            watchedDirs: 1,
            unwatchedDirs: 0,
            files: 9,
            dirty: 0,
            openFindings: 3,
            openBySeverity: { low: 1, medium: 0, high: 0, critical: 2 },
            lastFullCheckNs: null,
          },
        },
        4,
        { tMs: t(3) },
      ),
    ];
    const first = run(lines);
    // A forged copy of the heartbeat: a problem of this host, kept for the status.
    const forged = lines[3]!.replace('open="3"', 'open="0"');
    const second = run([forged], first.state);
    const v = readHostView(second.state.hosts.get('h1'), 'h1');
    expect(v).toMatchObject({
      label: 'deploy-9',
      deploy,
      announcedRoot: ROOT_A,
      openFindings: 3,
      openBySeverity: { low: 1, medium: 0, high: 0, critical: 2 },
      summary: { added: 1, changed: 2, bySeverity: { low: 0, medium: 1, high: 2, critical: 0 } },
      problemCounts: { 'bad-signature': 1 },
      daemon: { stopped: false, lastHeartbeatNs: BigInt(t(3)) * 1_000_000n },
    });
    expect(v.recent.map((p) => [p.kind, p.atMs])).toEqual([['bad-signature', NOW]]);
    // A state written before the fleet status (no health part) is read, with nothing known.
    const old = JSON.parse(JSON.stringify(first.state.hosts.get('h1'))) as Record<string, unknown>;
    delete old.health;
    expect(readHostView(old, 'h1')).toMatchObject({
      label: null,
      deploy: null,
      summary: null,
      problemCounts: {},
    });
    expect(() => run([], { hosts: new Map([['h1', old]]), reported: new Set() })).not.toThrow();
  });

  test('a periodic export of changed hosts only: a host is in it once something of it moved', () => {
    const other = makeHostKeys('h2');
    try {
      const v = createVerifier({ pubkeys: [keys.pub, other.pub], maxSilenceMs: 0, now: () => NOW });
      // Every enrolled host is in the first save, one never heard from included.
      expect([...v.exportState({ changedOnly: true }).hosts.keys()].sort()).toEqual(['h1', 'h2']);
      const all = log();
      v.feedLine(all[0]!);
      expect([...v.exportState({ changedOnly: true }).hosts.keys()]).toEqual(['h1']);
      expect([...v.exportState({ changedOnly: true }).hosts.keys()]).toEqual([]);
      // A forgery moves h1's counters: it is saved again.
      v.feedLine(all[1]!.replace('ev="heartbeat"', 'ev="heartbeaT"'));
      expect([...v.exportState({ changedOnly: true }).hosts.keys()]).toEqual(['h1']);
      // The full export still holds every enrolled host.
      expect([...v.exportState().hosts.keys()].sort()).toEqual(['h1', 'h2']);
    } finally {
      other.cleanup();
    }
  });

  test('the lazy export (one snapshot at a time, as verify-log saves) holds what the full one does', () => {
    const other = makeHostKeys('h2');
    try {
      const v = createVerifier({ pubkeys: [keys.pub, other.pub], maxSilenceMs: 0, now: () => NOW });
      for (const line of log()) v.feedLine(line);
      const lazy = v.stateSnapshots();
      expect(new Map(lazy.hosts)).toEqual(v.exportState().hosts);
      expect(lazy.reported).toEqual(v.exportState().reported);
      // Changed only: the set is taken (and cleared) when asked, whenever it is iterated.
      const changed = v.stateSnapshots({ changedOnly: true });
      expect([...v.stateSnapshots({ changedOnly: true }).hosts]).toEqual([]);
      expect([...changed.hosts].map(([h]) => h).sort()).toEqual(['h1', 'h2']);
    } finally {
      other.cleanup();
    }
  });
});
