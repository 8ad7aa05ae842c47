/**
 * The reporter's order: a finding is in the journal before its line is logged or its alert sent,
 * the alert names that journal row, the same finding seen again is neither logged nor sent again,
 * and when the journal fails nothing is sent and the open set is unchanged (the next scan tries
 * again rather than believing it was reported).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertEvent, Alerter } from '../../../src/alert/index.js';
import { RunJournal } from '../../../src/ops/journal.js';
import { pathToKey, ScopeSet } from '../../../src/path-key.js';
import { Store } from '../../../src/store/store.js';
import type { Finding } from '../../../src/types.js';
import { FindingReporter } from '../../../src/watch/reporter.js';
import { Sandbox } from '../../helpers/fim.js';
import { fileRecord } from '../../helpers/records.js';

const finding = (path: string, severity: Finding['severity'] = 'high'): Finding => ({
  kind: 'added',
  path: Buffer.from(path),
  rule: 'code',
  severity,
  changes: [],
  record: fileRecord(path),
});
const scopes = (p: string) => ({ deep: new ScopeSet([pathToKey(Buffer.from(p))]), shallow: new ScopeSet() });

describe('FindingReporter', () => {
  let sb: Sandbox;
  let store: Store;
  /** What was journaled at the moment each alert went out. */
  let sent: { event: AlertEvent; inJournal: boolean }[];
  let lines: string[];
  let priorities: number[];
  let reporter: FindingReporter;
  beforeEach(() => {
    sb = new Sandbox('fim-reporter-');
    store = Store.open(join(sb.dir, 'r.db'), { create: true });
    sent = [];
    lines = [];
    priorities = [];
    const journalIds = () => new Set(store.findings(reporter.journal!.runId).map((f) => f.id));
    const alerter: Alerter = {
      sessionId: 's',
      unchain: () => undefined,
      send: (event) => {
        sent.push({
          event,
          inJournal: event.type === 'finding' && journalIds().has(Number(event.journalId)),
        });
        return true;
      },
      close: async () => {},
      stats: () => {
        throw new Error('not used');
      },
    };
    reporter = new FindingReporter({
      log: (pri, msg) => {
        priorities.push(pri);
        lines.push(msg);
      },
      alerter,
      retry: () => {},
      files: () => 1,
    });
    reporter.journal = RunJournal.start(store, 'watch', 1);
  });
  afterEach(() => {
    store.close();
    sb.cleanup();
  });

  it('journals first, then logs and alerts naming the journal row; the same finding again is silent', () => {
    const scan = { findings: [finding('/a/x.py')], errors: [], scopes: scopes('/a/x.py'), why: 'event' };
    expect(reporter.handle(scan)).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.inJournal).toBe(true);
    expect(lines).toEqual([
      expect.stringMatching(/^added \/a\/x\.py rule=code severity=high journal=\d+ \[event\]$/),
    ]);
    expect(reporter.handle(scan)).toBe(0);
    expect(sent).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(reporter.open.size).toBe(1);
    // Gone again: resolved, said once, and a new intrusion there alerts again.
    reporter.handle({ ...scan, findings: [] });
    expect(lines.at(-1)).toBe('back to baseline: /a/x.py');
    expect(reporter.handle(scan)).toBe(1);
    expect(sent).toHaveLength(2);
  });

  it('who (from the watcher) is journaled, logged and alerted with the finding', () => {
    const who = { pid: 77, exited: false, uid: 0, exe: '/usr/bin/evil', cmdline: ['evil', '-x'] };
    const r = new FindingReporter({
      log: (_pri, msg) => lines.push(msg),
      alerter: {
        sessionId: 's',
        unchain: () => undefined,
        send: (event) => sent.push({ event, inJournal: true }) > 0,
        close: async () => {},
        stats: () => {
          throw new Error('not used');
        },
      },
      retry: () => {},
      files: () => 1,
      who: (p) => (p.toString() === '/a/x.py' ? who : undefined),
    });
    r.journal = RunJournal.start(store, 'watch', 1);
    const scan = {
      findings: [finding('/a/x.py'), finding('/a/y.py')],
      errors: [],
      scopes: scopes('/a'),
      why: 'event',
    };
    expect(r.handle(scan)).toBe(2);
    const details = store
      .findings(r.journal.runId)
      .map((f) => JSON.parse(f.detail) as { path: string; who?: unknown });
    expect(details.find((d) => d.path === '/a/x.py')!.who).toEqual(who);
    expect(details.find((d) => d.path === '/a/y.py')!.who).toBeUndefined();
    expect(lines.find((l) => l.includes('/a/x.py'))).toMatch(
      /; by pid=77 uid=0 exe=\/usr\/bin\/evil cmd=evil -x$/,
    );
    const ev = sent
      .map((s) => s.event)
      .find((e) => e.type === 'finding' && Buffer.from(e.path).toString() === '/a/x.py');
    expect(ev).toMatchObject({ who: 'pid=77 uid=0 exe=/usr/bin/evil cmd=evil -x' });
  });

  it('when the journal fails nothing is sent and the finding stays new', () => {
    const scan = { findings: [finding('/a/x.py')], errors: [], scopes: scopes('/a/x.py'), why: 'event' };
    // A journal whose database went away (closed here; a full disk or a lock in real life).
    const lost = Store.open(join(sb.dir, 'lost.db'), { create: true });
    reporter.journal = RunJournal.start(lost, 'watch', 1);
    lost.close();
    expect(() => reporter.handle(scan)).toThrow();
    expect(sent).toEqual([]);
    expect(lines).toEqual([]);
    expect(reporter.open.size).toBe(0);
  });

  it('logs each finding with the journald priority of its severity', () => {
    const sevs = ['critical', 'high', 'medium', 'low'] as const;
    const scan = {
      findings: sevs.map((s) => finding(`/a/${s}.py`, s)),
      errors: [],
      scopes: scopes('/a'),
      why: 'event',
    };
    expect(reporter.handle(scan)).toBe(4);
    const bySeverity = Object.fromEntries(
      lines.map((l, i) => [/severity=(\w+)/.exec(l)?.[1], priorities[i]]),
    );
    expect(bySeverity).toEqual({ critical: 2, high: 3, medium: 4, low: 5 });
  });
});
