import { describe, expect, test } from 'vitest';
import { findDrift, fleetStatus, severityText } from '../../../src/fleet/status.js';
import type { HostView } from '../../../src/verify/index.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const LIMIT = 300_000;
const ns = (msAgo: number) => BigInt(NOW - msAgo) * 1_000_000n;

function view(over: Partial<HostView> = {}): HostView {
  return {
    lastNs: ns(10_000),
    daemon: { sid: 'a'.repeat(16), stopped: false, lastNs: ns(10_000), lastHeartbeatNs: ns(10_000) },
    missing: 0,
    pauses: 0,
    announcedRoot: 'r'.repeat(64),
    rootMismatches: 0,
    label: 'deploy-1',
    deploy: 'd'.repeat(64),
    summary: null,
    openFindings: 0,
    openBySeverity: null,
    problemCounts: {},
    recent: [],
    ...over,
  };
}

const daemon = (over: Partial<NonNullable<HostView['daemon']>>) => ({
  sid: 'a'.repeat(16),
  stopped: false,
  lastNs: ns(10_000),
  lastHeartbeatNs: ns(10_000),
  ...over,
});

describe('fleet status', () => {
  test.each<[string, Partial<HostView>, string, RegExp | null]>([
    ['a heartbeat within the limit', {}, 'running', null],
    [
      'heard, but the heartbeat is old',
      { daemon: daemon({ lastHeartbeatNs: ns(LIMIT + 1000) }) },
      'frozen',
      /no heartbeat/,
    ],
    [
      'nothing heard for longer than the limit',
      { lastNs: ns(LIMIT + 1000), daemon: daemon({ lastHeartbeatNs: ns(LIMIT + 1000) }) },
      'silent',
      /^silent for 5 min/,
    ],
    ['a stopped daemon', { daemon: daemon({ stopped: true }) }, 'stopped', /stopped/],
    ['no daemon, heard lately', { daemon: null }, 'no-daemon', null],
    ['no daemon, silent', { daemon: null, lastNs: ns(LIMIT * 10) }, 'no-daemon', /^silent for 50 min/],
    ['never heard', { daemon: null, lastNs: null }, 'no-daemon', /^never heard/],
  ])('%s', (_what, over, state, attention) => {
    const s = fleetStatus(new Map([['h', view(over)]]), NOW, LIMIT);
    expect(s.hosts[0]?.daemon).toBe(state);
    if (attention === null) expect(s.hosts[0]?.attention).toEqual([]);
    else expect(s.hosts[0]?.attention.join('; ')).toMatch(attention);
    expect(s.attention).toBe(attention === null ? 0 : 1);
  });

  test('findings, problems and missing messages need attention; streamed problem counts are listed', () => {
    const s = fleetStatus(
      new Map([
        ['a', view({ openFindings: 2 })],
        ['b', view({ problemCounts: { 'bad-signature': 2, replay: 1 } })],
        ['c', view({ missing: 4 })],
      ]),
      NOW,
      LIMIT,
    );
    expect(s.hosts.map((h) => h.attention)).toEqual([
      ['2 open finding(s)'],
      ['3 problem(s): bad-signature 2, replay 1'],
      ['4 message(s) missing'],
    ]);
  });

  test('drift: the minority deploy of a label is flagged; a tie flags every host; other labels are apart', () => {
    const views = new Map([
      ['w1', view()],
      ['w2', view()],
      ['w3', view({ deploy: 'e'.repeat(64) })],
      ['t1', view({ label: 'tie', deploy: '1'.repeat(64) })],
      ['t2', view({ label: 'tie', deploy: '2'.repeat(64) })],
      ['solo', view({ label: 'other', deploy: '3'.repeat(64) })],
      ['old', view({ deploy: null })], // a sender from before the deploy digest: not judged
    ]);
    expect(findDrift(views).map((g) => [g.label, g.deploys.map((d) => d.hosts)])).toEqual([
      ['deploy-1', [['w1', 'w2'], ['w3']]],
      ['tie', [['t1'], ['t2']]],
    ]);
    const s = fleetStatus(views, NOW, LIMIT);
    const drift = Object.fromEntries(s.hosts.map((h) => [h.host, h.drift]));
    expect(drift.w1).toBeNull();
    expect(drift.w3).toMatch(/2 of 3 hosts labelled deploy-1/);
    expect(drift.t1).toMatch(/announced 2 different deploys/);
    expect(drift.t2).toMatch(/announced 2 different deploys/);
    expect(drift.solo).toBeNull();
    expect(drift.old).toBeNull();
  });

  test('an acknowledgement resolves the problems and missing messages up to it, not newer ones', () => {
    const v = view({
      problemCounts: { 'bad-signature': 3, replay: 1 },
      missing: 5,
      recent: [
        { kind: 'bad-signature', atMs: NOW - 5000, detail: 'old' },
        { kind: 'bad-signature', atMs: NOW - 1000, detail: 'new' },
      ],
    });
    const ack = { atMs: NOW - 3000, problems: { 'bad-signature': 2, replay: 1 }, missing: 5 };
    const [h] = fleetStatus(new Map([['h', v]]), NOW, LIMIT, new Map([['h', ack]])).hosts;
    expect(h?.problems).toEqual({ 'bad-signature': 1 });
    expect(h?.missingMessages).toBe(0);
    expect(h?.recentProblems.map((p) => p.detail)).toEqual(['new']);
    expect(h?.attention).toEqual(['1 problem(s): bad-signature 1']);
    expect(h?.acknowledged).toBe(new Date(NOW - 3000).toISOString());
  });

  test.each([
    [null, '-'],
    [{ low: 0, medium: 0, high: 0, critical: 0 }, '0'],
    [{ low: 3, medium: 0, high: 1, critical: 2 }, '2 critical, 1 high, 3 low'],
  ])('severity text of %j', (f, text) => {
    expect(severityText(f)).toBe(text);
  });
});
