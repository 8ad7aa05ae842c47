/**
 * The daemon's journaling, through the one journal module that `check` uses too: a step of the
 * daemon's run (new findings with their open-finding rows, updates, resolutions, errors, counts)
 * is one transaction; a step that fails leaves nothing behind; the run is visible as finished
 * after every step; `check` and `watch` write the same row for the same finding.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalRun, RunJournal } from '../../../src/ops/journal.js';
import { pathToKey } from '../../../src/path-key.js';
import { Store } from '../../../src/store/store.js';
import type { Finding } from '../../../src/types.js';
import { Sandbox } from '../../helpers/fim.js';
import { fileRecord } from '../../helpers/records.js';

const BASELINE = 1;

function finding(path: string, kind: Finding['kind'] = 'added', size = 1n): Finding {
  return {
    kind,
    path: Buffer.from(path),
    rule: 'code',
    severity: 'high',
    changes: kind === 'changed' ? [{ attribute: 'size', old: 1, new: Number(size) }] : [],
    record: fileRecord(path, { size, inode: 7n }),
  };
}
const fresh = (f: Finding, sig = 'ab') => ({ finding: f, key: pathToKey(f.path), sig });
const step = (o: Partial<Parameters<RunJournal['record']>[0]>) => ({
  fresh: [],
  same: [],
  resolved: [],
  errors: [],
  scanned: 10,
  ...o,
});

describe('RunJournal', () => {
  let sb: Sandbox;
  let store: Store;
  beforeEach(() => {
    sb = new Sandbox('fim-journal-');
    store = Store.open(join(sb.dir, 'j.db'), { create: true });
  });
  afterEach(() => {
    store.close();
    sb.cleanup();
  });

  it('starts a run that is finished at once, so history shows it even after a kill', () => {
    const j = RunJournal.start(store, 'watch', BASELINE);
    const run = store.run(j.runId)!;
    expect(run).toMatchObject({ kind: 'watch', baseline: BASELINE, exitCode: 0, added: 0 });
    expect(run.finishedNs).not.toBeNull();
  });

  it('journals new findings with their open-finding rows, and counts across steps', () => {
    const j = RunJournal.start(store, 'watch', BASELINE);
    const ids = j.record(
      step({ fresh: [fresh(finding('/a/x.py')), fresh(finding('/a/y.py', 'changed', 5n))] }),
    );
    expect(ids).toHaveLength(2);
    expect(store.findings(j.runId).map((f) => [f.id, f.kind, f.path.toString()])).toEqual([
      [ids[0], 'added', '/a/x.py'],
      [ids[1], 'changed', '/a/y.py'],
    ]);
    expect([...store.reported(BASELINE).values()]).toEqual([
      { sig: 'ab', finding: ids[0] },
      { sig: 'ab', finding: ids[1] },
    ]);
    j.record(
      step({
        fresh: [fresh(finding('/a/z.py', 'removed'))],
        errors: [{ path: Buffer.from('/a/e'), code: 'EACCES', message: 'no' }],
        scanned: 12,
      }),
    );
    expect(store.run(j.runId)).toMatchObject({
      added: 1,
      changed: 1,
      removed: 1,
      errors: 1,
      scanned: 12,
      exitCode: 0,
    });
    expect(store.scanErrors(j.runId)).toEqual([{ path: Buffer.from('/a/e'), code: 'EACCES', message: 'no' }]);
  });

  it('an open finding seen again takes the latest state; a resolved one is no longer open', () => {
    const j = RunJournal.start(store, 'watch', BASELINE);
    const [id] = j.record(step({ fresh: [fresh(finding('/a/x.py', 'changed', 2n))] }));
    j.record(step({ same: [{ finding: finding('/a/x.py', 'changed', 9n), id: id! }] }));
    const rows = store.findings(j.runId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.record?.size).toBe(9n);
    expect(JSON.parse(rows[0]!.detail).changes[0].new).toBe(9);
    j.record(step({ resolved: [pathToKey(Buffer.from('/a/x.py'))] }));
    expect(store.reported(BASELINE).size).toBe(0);
    // The finding stays in the journal: evidence is never deleted by a resolution.
    expect(store.findings(j.runId)).toHaveLength(1);
  });

  it('a step that fails leaves nothing behind: no rows, no open findings, counts as before', () => {
    const j = RunJournal.start(store, 'watch', BASELINE);
    j.record(step({ fresh: [fresh(finding('/a/ok.py'))] }));
    const broken = { ...finding('/a/bad.py'), record: undefined } as unknown as Finding;
    expect(() => j.record(step({ fresh: [fresh(finding('/a/first.py')), fresh(broken)] }))).toThrow();
    expect(store.findings(j.runId).map((f) => f.path.toString())).toEqual(['/a/ok.py']);
    expect(store.reported(BASELINE).size).toBe(1);
    j.record(step({ fresh: [fresh(finding('/a/next.py'))] }));
    expect(store.run(j.runId)).toMatchObject({ added: 2 });
  });

  it('finish sets the exit code of the run', () => {
    const j = RunJournal.start(store, 'watch', BASELINE);
    j.finish(18);
    expect(store.run(j.runId)?.exitCode).toBe(18);
  });

  it('check and watch write the same row for the same finding', () => {
    const f = finding('/a/x.py', 'changed', 3n);
    const c = journalRun(store, {
      kind: 'check',
      baseline: BASELINE,
      scope: null,
      startedNs: 1n,
      scanned: 1,
      findings: [f],
      errors: [],
      exitCode: 4,
      retainRuns: 10,
    });
    const j = RunJournal.start(store, 'watch', BASELINE);
    j.record(step({ fresh: [fresh(f)] }));
    const strip = ({ id: _id, run: _run, ...rest }: ReturnType<Store['findings']>[number]) => rest;
    expect(store.findings(j.runId).map(strip)).toEqual(store.findings(c.runId).map(strip));
  });
});
