/** The journal (src/store/journal.ts): runs, findings with their records, scan errors, retention. */
import { describe, expect, it } from 'vitest';
import { pathToKey } from '../../../src/path-key.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';
import { record } from './fixture.js';

const done = {
  finishedNs: 2n ** 60n + 1n,
  scanned: 20311,
  added: 1,
  removed: 0,
  changed: 2,
  errors: 1,
  exitCode: 13,
};

function finding(path: string, kind: 'added' | 'removed' | 'changed' = 'changed') {
  return {
    kind,
    key: pathToKey(Buffer.from(path)),
    rule: 'code',
    severity: 'high',
    detail: JSON.stringify({ kind, path }),
    record: kind === 'removed' ? null : record(path, { size: 77n }),
  };
}

describe('journal', () => {
  it('records a run from start to finish; latestRun sees only finished runs of its kind', async () => {
    await using sb = new Sandbox('fim-store-journal-');
    const s = Store.open(sb.db, { create: true });
    const check = s.transaction(() => s.startRun('check', 1, null, 2n ** 60n));
    const watch = s.transaction(() => s.startRun('watch', null, '/srv/app', 5n));
    expect(s.latestRun('check')).toBeUndefined();
    expect(s.run(check)).toEqual({
      id: check,
      kind: 'check',
      startedNs: 2n ** 60n,
      finishedNs: null,
      baseline: 1,
      scope: null,
      scanned: 0,
      added: 0,
      removed: 0,
      changed: 0,
      errors: 0,
      exitCode: null,
    });
    s.transaction(() => s.finishRun(check, done));
    expect(s.latestRun('check')).toEqual({
      id: check,
      kind: 'check',
      startedNs: 2n ** 60n,
      baseline: 1,
      scope: null,
      ...done,
    });
    expect(s.latestRun('watch')).toBeUndefined();
    expect(s.run(watch)?.scope).toBe('/srv/app');
    expect(s.runs(10).map((r) => r.id)).toEqual([watch, check]);
    expect(s.runs(1).map((r) => r.id)).toEqual([watch]);
    expect(s.run(999)).toBeUndefined();
    s.close();
  });

  it('keeps findings with their records (null for a removal), in key order; updates one', async () => {
    await using sb = new Sandbox('fim-store-journal-');
    const s = Store.open(sb.db, { create: true });
    const run = s.transaction(() => s.startRun('check', 1, null, 1n));
    const ids = s.transaction(() =>
      [finding('/srv/z.py', 'added'), finding('/srv/a.py', 'removed'), finding('/etc/x')].map((f) =>
        s.insertFinding(run, f),
      ),
    );
    const got = s.findings(run);
    expect(got.map((f) => f.path.toString())).toEqual(['/etc/x', '/srv/a.py', '/srv/z.py']);
    expect(got[2]).toEqual({
      id: ids[0],
      run,
      kind: 'added',
      path: Buffer.from('/srv/z.py'),
      rule: 'code',
      severity: 'high',
      detail: JSON.stringify({ kind: 'added', path: '/srv/z.py' }),
      record: record('/srv/z.py', { size: 77n }),
    });
    expect(got[1]?.record).toBeNull();
    s.transaction(() => s.updateFinding(ids[2]!, '{"again":true}', record('/etc/x', { size: 1n })));
    const updated = s.findings(run)[0]!;
    expect(updated.detail).toBe('{"again":true}');
    expect(updated.record?.size).toBe(1n);
    expect(s.findings(run + 1)).toEqual([]);
    s.close();
  });

  it('keeps scan errors by path, with bytes that are not UTF-8', async () => {
    await using sb = new Sandbox('fim-store-journal-');
    const s = Store.open(sb.db, { create: true });
    const run = s.transaction(() => s.startRun('check', 1, null, 1n));
    const odd = Buffer.from([0x2f, 0x74, 0xff, 0xfe]);
    s.transaction(() => {
      s.insertScanError(run, { key: pathToKey(odd), code: 'EACCES', message: 'permission denied' });
      s.insertScanError(run, {
        key: pathToKey(Buffer.from('/a')),
        code: 'EUNSTABLE',
        message: 'kept changing',
      });
    });
    expect(s.scanErrors(run)).toEqual([
      { path: Buffer.from('/a'), code: 'EUNSTABLE', message: 'kept changing' },
      { path: odd, code: 'EACCES', message: 'permission denied' },
    ]);
    s.close();
  });

  it('retention keeps the newest runs and drops the others with their findings and errors', async () => {
    await using sb = new Sandbox('fim-store-journal-');
    const s = Store.open(sb.db, { create: true });
    const runs = s.transaction(() =>
      [1, 2, 3].map((i) => {
        const run = s.startRun('check', 1, null, BigInt(i));
        s.insertFinding(run, finding(`/f${i}`));
        s.insertScanError(run, { key: pathToKey(Buffer.from(`/e${i}`)), code: 'EIO', message: 'io' });
        return run;
      }),
    );
    s.transaction(() => s.pruneRuns(2));
    expect(s.runs(10).map((r) => r.id)).toEqual([runs[2], runs[1]]);
    expect(s.findings(runs[0]!)).toEqual([]);
    expect(s.scanErrors(runs[0]!)).toEqual([]);
    expect(s.findings(runs[1]!)).toHaveLength(1);
    const left = s.db.prepare('SELECT count(*) FROM finding').pluck().get();
    expect(left).toBe(2n);
    s.close();
  });
});
