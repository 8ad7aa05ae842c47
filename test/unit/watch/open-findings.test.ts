/**
 * The open-findings diff as a pure function: previous open set + a rescan's results -> what to
 * alert, update, resolve, report as an error, or look at again. Each case is one property that a
 * broken diff gets wrong: alerting twice, never alerting again, resolving outside what was scanned,
 * letting an older full check undo a newer report, reporting a file that is still being written.
 */
import { describe, expect, it } from 'vitest';
import { keyToPath, pathToKey, ScopeSet } from '../../../src/path-key.js';
import { parsePolicyText } from '../../../src/policy/policy.js';
import { RuleIndex } from '../../../src/policy/rule-index.js';
import type { AttributeName, Finding, FindingKind, ScanError } from '../../../src/types.js';
import {
  diffOpenFindings,
  type FindingsDiff,
  findingSignature,
  journalsNothing,
  MAX_SEVERITY_COUNT,
  MAX_UNSTABLE,
  OpenFindings,
  openBySeverity,
  type ScanOutcome,
  type Scopes,
} from '../../../src/watch/open-findings.js';
import { deployExplanation, fileRecord } from '../../helpers/records.js';

const key = (p: string) => pathToKey(Buffer.from(p)).toString('latin1');
const show = (keys: readonly Buffer[]) => keys.map((k) => keyToPath(k).toString());

function finding(path: string, kind: FindingKind = 'changed', attrs: AttributeName[] = ['content']): Finding {
  return {
    kind,
    path: Buffer.from(path),
    rule: 'code',
    severity: 'high',
    changes: kind === 'changed' ? attrs.map((attribute) => ({ attribute, old: 'o', new: 'n' })) : [],
    record: fileRecord(path),
  };
}

const error = (path: string, code: string): ScanError => ({ path: Buffer.from(path), code, message: code });
const deep = (...ps: string[]): Scopes => ({
  deep: new ScopeSet(ps.map((p) => pathToKey(Buffer.from(p)))),
  shallow: new ScopeSet(),
});
const shallow = (...ps: string[]): Scopes => ({
  deep: new ScopeSet(),
  shallow: new ScopeSet(ps.map((p) => pathToKey(Buffer.from(p)))),
});
const scan = (o: Partial<ScanOutcome>): ScanOutcome => ({
  findings: [],
  errors: [],
  scopes: null,
  why: 'event',
  ...o,
});

/** An open set holding these findings as already reported (journal ids 1, 2, ...). */
function openWith(fs: Finding[], at?: number): OpenFindings {
  const open = new OpenFindings();
  const d = diffOpenFindings(open, scan({ findings: fs, partial: true }));
  open.apply(
    d,
    d.fresh.map((_, i) => i + 1),
    at ?? 0,
  );
  return open;
}

/** Everything a diff says, as plain data. */
function summary(d: FindingsDiff) {
  return {
    fresh: d.fresh.map((x) => x.finding.path.toString()),
    same: d.same.map((x) => [x.finding.path.toString(), x.id]),
    resolved: show(d.resolved),
    freshErrors: d.freshErrors.map((e) => `${e.path} ${e.code}`),
    retry: d.retry.map((p) => p.toString()),
  };
}

describe('diffOpenFindings', () => {
  it('a new finding is fresh; seen again the same, it only updates its journal entry', () => {
    const open = new OpenFindings();
    const first = diffOpenFindings(open, scan({ findings: [finding('/a/x.py')], scopes: deep('/a/x.py') }));
    expect(summary(first).fresh).toEqual(['/a/x.py']);
    open.apply(first, [7], 1000);
    const again = diffOpenFindings(open, scan({ findings: [finding('/a/x.py')], scopes: deep('/a/x.py') }));
    expect(summary(again)).toEqual({
      fresh: [],
      same: [['/a/x.py', 7]],
      resolved: [],
      freshErrors: [],
      retry: [],
    });
  });

  it('a new kind of change at an open place alerts again; the same attributes in another order do not', () => {
    const open = openWith([finding('/a/x.py', 'changed', ['content', 'mtime'])]);
    const reordered = diffOpenFindings(
      open,
      scan({ findings: [finding('/a/x.py', 'changed', ['mtime', 'content'])] }),
    );
    expect(summary(reordered).fresh).toEqual([]);
    const setuid = diffOpenFindings(
      open,
      scan({ findings: [finding('/a/x.py', 'changed', ['content', 'mode'])] }),
    );
    expect(summary(setuid).fresh).toEqual(['/a/x.py']);
    const kind = diffOpenFindings(open, scan({ findings: [finding('/a/x.py', 'removed')] }));
    expect(summary(kind).fresh).toEqual(['/a/x.py']);
  });

  it('resolves only open findings inside what was scanned: a deep scope with all below it', () => {
    const open = openWith([
      finding('/a/x.py'),
      finding('/a/sub/z.py'),
      finding('/a/sub/deeper/q.py'),
      finding('/b/w.py'),
    ]);
    const d = diffOpenFindings(open, scan({ scopes: deep('/a/sub') }));
    expect(summary(d).resolved.sort()).toEqual(['/a/sub/deeper/q.py', '/a/sub/z.py']);
  });

  it('a shallow scope resolves the directory and its entries, not what lies deeper', () => {
    const open = openWith([finding('/a'), finding('/a/x.py'), finding('/a/sub/z.py'), finding('/b/w.py')]);
    const d = diffOpenFindings(open, scan({ scopes: shallow('/a') }));
    expect(summary(d).resolved.sort()).toEqual(['/a', '/a/x.py']);
  });

  it('a full scan (no scopes) resolves every open finding it did not find', () => {
    const open = openWith([finding('/a/x.py'), finding('/b/w.py')]);
    const d = diffOpenFindings(open, scan({ scopes: null, findings: [finding('/b/w.py')], why: 'start' }));
    expect(summary(d).resolved).toEqual(['/a/x.py']);
    expect(summary(d).same).toEqual([['/b/w.py', 2]]);
  });

  it('a batch of a streamed scan resolves nothing; the end resolves only what no batch saw', () => {
    const open = openWith([finding('/a/x.py'), finding('/a/y.py')]);
    const batch = diffOpenFindings(
      open,
      scan({ scopes: null, findings: [finding('/a/x.py')], partial: true }),
    );
    expect(summary(batch).resolved).toEqual([]);
    const end = diffOpenFindings(open, scan({ scopes: null, seen: new Set([key('/a/x.py')]) }));
    expect(summary(end).resolved).toEqual(['/a/y.py']);
  });

  it('a scan that started before a finding was reported neither repeats nor resolves it', () => {
    const open = openWith([finding('/a/x.py')], 5_000);
    const older = diffOpenFindings(open, scan({ scopes: null, startedAt: 4_000, why: 'periodic' }));
    expect(summary(older).resolved).toEqual([]);
    const olderChanged = diffOpenFindings(
      open,
      scan({ scopes: null, startedAt: 4_000, findings: [finding('/a/x.py', 'changed', ['mode'])] }),
    );
    expect(summary(olderChanged).fresh).toEqual([]);
    const newer = diffOpenFindings(open, scan({ scopes: null, startedAt: 6_000 }));
    expect(summary(newer).resolved).toEqual(['/a/x.py']);
  });

  it('an open finding that now cannot be read is not resolved (unknown is not clean)', () => {
    const open = openWith([finding('/a/x.py')]);
    const d = diffOpenFindings(open, scan({ scopes: deep('/a'), errors: [error('/a/x.py', 'EACCES')] }));
    expect(summary(d)).toMatchObject({ resolved: [], freshErrors: ['/a/x.py EACCES'] });
  });

  it('an error is reported once per code, and again after it cleared', () => {
    const open = new OpenFindings();
    const e1 = diffOpenFindings(open, scan({ scopes: deep('/a'), errors: [error('/a/x.py', 'EACCES')] }));
    expect(summary(e1).freshErrors).toEqual(['/a/x.py EACCES']);
    open.apply(e1, [], 0);
    const same = diffOpenFindings(open, scan({ scopes: deep('/a'), errors: [error('/a/x.py', 'EACCES')] }));
    expect(summary(same).freshErrors).toEqual([]);
    const other = diffOpenFindings(open, scan({ scopes: deep('/a'), errors: [error('/a/x.py', 'EIO')] }));
    expect(summary(other).freshErrors).toEqual(['/a/x.py EIO']);
    // Out of scope, the error stays reported; in scope and gone, it is cleared.
    expect(diffOpenFindings(open, scan({ scopes: deep('/b') })).clearedErrors).toEqual([]);
    const gone = diffOpenFindings(open, scan({ scopes: deep('/a') }));
    expect(gone.clearedErrors).toEqual([key('/a/x.py')]);
    open.apply(gone, [], 0);
    const back = diffOpenFindings(open, scan({ scopes: deep('/a'), errors: [error('/a/x.py', 'EACCES')] }));
    expect(summary(back).freshErrors).toEqual(['/a/x.py EACCES']);
  });

  it('a file still being written is looked at again, and reported only if it never settles', () => {
    const open = new OpenFindings();
    const unstable = () => scan({ scopes: deep('/a/x.py'), errors: [error('/a/x.py', 'EUNSTABLE')] });
    for (let i = 1; i < MAX_UNSTABLE; i++) {
      const d = diffOpenFindings(open, unstable());
      expect(summary(d), `rescan ${i}`).toMatchObject({ freshErrors: [], retry: ['/a/x.py'] });
      open.apply(d, [], 0);
    }
    const last = diffOpenFindings(open, unstable());
    expect(summary(last)).toMatchObject({ freshErrors: ['/a/x.py EUNSTABLE'], retry: [] });
    // A full check reports it at once: only event rescans wait for quiet.
    const full = diffOpenFindings(new OpenFindings(), { ...unstable(), why: 'periodic' });
    expect(summary(full)).toMatchObject({ freshErrors: ['/a/x.py EUNSTABLE'], retry: [] });
  });

  it('a file that settles starts its unstable count again', () => {
    const open = new OpenFindings();
    const unstable = scan({ scopes: deep('/a/x.py'), errors: [error('/a/x.py', 'EUNSTABLE')] });
    for (let i = 1; i < MAX_UNSTABLE; i++) open.apply(diffOpenFindings(open, unstable), [], 0);
    open.apply(
      diffOpenFindings(open, scan({ scopes: deep('/a/x.py'), findings: [finding('/a/x.py')] })),
      [1],
      0,
    );
    expect(open.unstableCount(key('/a/x.py'))).toBe(0);
    expect(summary(diffOpenFindings(open, unstable)).retry).toEqual(['/a/x.py']);
  });

  it('changes nothing it is given: the open set is the same after any number of diffs', () => {
    const open = openWith([finding('/a/x.py'), finding('/b/w.py')], 100);
    const before = { keys: [...open.keys()].sort(), size: open.size, x: open.get(key('/a/x.py')) };
    const findings = [finding('/a/y.py')];
    for (const s of [
      scan({ findings }),
      scan({ scopes: null }),
      scan({ errors: [error('/a/x.py', 'EUNSTABLE')] }),
    ])
      diffOpenFindings(open, s);
    expect({ keys: [...open.keys()].sort(), size: open.size, x: open.get(key('/a/x.py')) }).toEqual(before);
    expect(open.unstableCount(key('/a/x.py'))).toBe(0);
    expect(findings.map((f) => f.path.toString())).toEqual(['/a/y.py']);
  });

  it('journalsNothing: a diff with only retries needs no journal write', () => {
    const d = diffOpenFindings(new OpenFindings(), scan({ errors: [error('/a/x.py', 'EUNSTABLE')] }));
    expect(journalsNothing(d)).toBe(true);
    expect(journalsNothing(diffOpenFindings(new OpenFindings(), scan({ findings: [finding('/a')] })))).toBe(
      false,
    );
  });
});

describe('findingSignature', () => {
  it('depends on kind, rule and the set of changed attributes, not on their values or order', () => {
    const a = finding('/a/x.py', 'changed', ['content', 'mode']);
    const b = { ...finding('/b/w.py', 'changed', ['mode', 'content']) };
    b.changes = b.changes.map((c) => ({ ...c, new: 'other' }));
    expect(findingSignature(a)).toBe(findingSignature(b));
    expect(findingSignature(a)).not.toBe(findingSignature({ ...a, rule: 'other' }));
    expect(findingSignature(a)).not.toBe(findingSignature(finding('/a/x.py', 'changed', ['content'])));
  });

  it('changes with what a manifest says: a file the deploy explained, edited again, is a new alert', () => {
    const plain = finding('/a/x.py');
    const e = deployExplanation();
    const sigs = [
      plain,
      { ...plain, explanation: e },
      { ...plain, explanation: { ...e, verdict: 'differs' as const } },
      { ...plain, explanation: { ...e, version: 'r3' } },
      { ...plain, explanation: { ...e, manifest: Buffer.from('/srv/other.manifest') } },
      { ...plain, explanation: { ...e, source: 'pip' as const, strength: 'pip-record' as const } },
    ].map(findingSignature);
    expect(new Set(sigs).size).toBe(sigs.length);
    // The same verdict on other bytes (the deploy's file, rescanned) is the same open finding.
    const again = { ...plain, explanation: e, changes: plain.changes.map((c) => ({ ...c, new: 'n2' })) };
    expect(findingSignature(again)).toBe(sigs[1]);
  });
});

describe('openBySeverity (the heartbeat)', () => {
  const index = new RuleIndex(
    parsePolicyText(
      'p.yaml',
      'version: 1\nrules:\n  - name: code\n    severity: critical\n    paths: ["/srv/app"]\n    check: readonly\n  - name: etc\n    severity: low\n    paths: ["/etc"]\n    check: readonly\n',
    ).rules,
  );
  const key = (p: string) => pathToKey(Buffer.from(p)).toString('latin1');

  it('counts each open path by the severity of the rule that governs it now', () => {
    expect(
      openBySeverity(
        [key('/srv/app/a.py'), key('/srv/app/b/c.py'), key('/etc/passwd'), key('/opt/x')],
        index,
      ),
    ).toEqual({
      openBySeverity: { low: 1, medium: 0, high: 0, critical: 2 },
    });
  });

  it('says nothing past its bound', () => {
    const many = Array.from({ length: MAX_SEVERITY_COUNT + 1 }, (_, i) => key(`/srv/app/f${i}`));
    expect(openBySeverity(many, index)).toEqual({});
  });
});
