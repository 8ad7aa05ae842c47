/**
 * accept, history and show, and the baseline's own integrity: the stop codes 17 (no baseline),
 * 18 (baseline fails its integrity check) and 19 (not a database) from the real CLI.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../helpers/fim.js';

let sb: Sandbox;

beforeEach(() => {
  sb = new Sandbox();
  sb.write('app/a.py', 'a = 1\n');
  sb.write('app/b.py', 'b = 1\n');
  sb.policy(
    '  - name: app\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly -mtime -ctime\n',
  );
});

afterEach(() => sb.cleanup());

describe('accept', () => {
  it('takes chosen findings into a new baseline; others stay reported', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    writeFileSync(sb.path('app/a.py'), 'a = 2\n');
    const added = sb.write('app/c.py', 'c = 1\n');
    expect(sb.check().code).toBe(5);

    const none = sb.fim(['accept', sb.path('app/b.py')]);
    expect(none.code).toBe(16);
    expect(none.stderr).toContain(`no finding for ${sb.path('app/b.py')}`);

    const acc = sb.fim(['accept', added]);
    expect(acc.code, acc.stderr).toBe(0);
    expect(acc.stdout).toContain('baseline 2 (from 1)');
    const after = sb.check();
    expect(after.report.baseline.id).toBe(2);
    expect(after.report.findings.map((f) => [f.kind, f.path])).toEqual([['changed', sb.path('app/a.py')]]);

    expect(sb.fim(['accept', '--all']).code).toBe(0);
    const clean = sb.check();
    expect(clean.code).toBe(0);
    expect(clean.report.baseline.id).toBe(3);
  });

  it('takes several accepts after one check, each of what is still open', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    writeFileSync(sb.path('app/a.py'), 'a = 2\n');
    unlinkSync(sb.path('app/b.py'));
    const c = sb.write('app/c.py', 'c = 1\n');
    const d = sb.write('app/d.py', 'd = 1\n');
    expect(sb.check().code).toBe(1 | 2 | 4);
    // One review, several decisions, no new check in between.
    expect(sb.fim(['accept', c]).code).toBe(0);
    const second = sb.fim(['accept', sb.path('app/b.py')]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('baseline 3 (from 2)');
    const again = sb.fim(['accept', c]);
    expect(again.code).toBe(16);
    expect(again.stderr).toContain('already accepted into baseline 3');
    // --all takes only what is left: a.py and d.py (and the directory's changed times).
    const rest = sb.fim(['accept', '--all', '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    const accepted = (JSON.parse(rest.stdout) as { accepted: { path: string }[] }).accepted.map(
      (f) => f.path,
    );
    expect(accepted).toEqual(expect.arrayContaining([sb.path('app/a.py'), d]));
    expect(accepted).not.toContain(c);
    expect(accepted).not.toContain(sb.path('app/b.py'));
    expect(sb.check().code).toBe(0);
    // After a new `fim baseline`, that old check can no longer be accepted from.
    writeFileSync(sb.path('app/a.py'), 'a = 3\n');
    expect(sb.check().code).toBe(4);
    expect(sb.fim(['baseline']).code).toBe(0);
    expect(sb.fim(['accept', '--all']).stderr).toContain('run "fim check"');
  });

  it('refuses when no check was run against the current baseline', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    const r = sb.fim(['accept', '--all']);
    expect(r.code).toBe(16);
    expect(r.stderr).toContain('run "fim check"');
  });

  it('accepting a removal drops the record', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    const p = sb.path('app/b.py');
    unlinkSync(p);
    expect(sb.check().code).toBe(2);
    expect(sb.fim(['accept', p]).code).toBe(0);
    expect(sb.check().code).toBe(0);
  });
});

describe('history and show', () => {
  it('lists runs and shows their findings', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    expect(sb.check().code).toBe(0);
    writeFileSync(sb.path('app/a.py'), 'a = 3\n');
    const second = sb.check();
    const h = sb.fim(['history', '--json']);
    const runs = JSON.parse(h.stdout) as { id: number; changed: number; exitCode: number }[];
    expect(runs.map((r) => [r.id, r.changed, r.exitCode])).toEqual([
      [second.report.run, 1, 4],
      [second.report.run - 1, 0, 0],
    ]);
    const show = sb.fim(['show', String(second.report.run)]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`changed  ${sb.path('app/a.py')}`);
    expect(sb.fim(['show', '999']).code).toBe(16);
  });
});

describe('the baseline is refused when it cannot be trusted', () => {
  it('no database: exit 17', () => {
    const r = sb.fim(['check']);
    expect(r.code).toBe(17);
    expect(r.stderr).toContain('fim baseline');
  });

  it('one record edited by hand: exit 18, no findings printed', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    const db = new Database(sb.db);
    const changed = db
      .prepare(
        'UPDATE record SET mode = 2541 WHERE (dir, name) IN (SELECT dir, name FROM record WHERE type = 0 LIMIT 1)',
      )
      .run();
    db.close();
    expect(changed.changes).toBe(1);
    const r = sb.fim(['check', '--json']);
    expect(r.code).toBe(18);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('fails its integrity check');
  });

  it('a record column set to a value no record holds: exit 18, naming the table and column', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    const db = new Database(sb.db);
    db.prepare(
      "UPDATE record SET size = 'twelve' WHERE (dir, name) IN (SELECT dir, name FROM record WHERE type = 0 LIMIT 1)",
    ).run();
    db.close();
    for (const cmd of [['check'], ['accept', '--all']]) {
      const r = sb.fim(cmd);
      expect(r.code, r.stderr).toBe(18);
      expect(r.stderr).toMatch(/table record, column size .*holds/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a record deleted by hand: exit 18', () => {
    expect(sb.fim(['baseline']).code).toBe(0);
    const db = new Database(sb.db);
    db.prepare(
      'DELETE FROM record WHERE (dir, name) IN (SELECT dir, name FROM record ORDER BY dir DESC, name DESC LIMIT 1)',
    ).run();
    db.close();
    expect(sb.fim(['check']).code).toBe(18);
    expect(sb.fim(['accept', '--all']).code).toBe(18);
  });

  it('garbage instead of a database: exit 19 with a clear message', () => {
    writeFileSync(sb.db, Buffer.alloc(8192, 0x41));
    const r = sb.fim(['check']);
    expect(r.code).toBe(19);
    expect(r.stderr).toMatch(/not a usable fim database|not a database/);
  });
});
