/**
 * `fim diff`: two baselines compared under the policy in force, in the formats of check; both are
 * verified first; baselines beyond baselines.keep lose their records and are refused by name.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fim, Sandbox } from '../helpers/fim.js';

function deployTwice(sb: Sandbox): void {
  sb.write('app/a.py', 'a = 1\n');
  sb.write('app/b.py', 'b = 1\n');
  sb.policy(
    '  - name: app\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly -mtime -ctime\n',
  );
  expect(sb.fim(['baseline', '--label', 'deploy-1']).code).toBe(0);
  writeFileSync(sb.path('app/a.py'), 'a = 2\n');
  unlinkSync(sb.path('app/b.py'));
  sb.write('app/c.py', 'c = 1\n');
  expect(sb.fim(['baseline', '--label', 'deploy-2']).code).toBe(0);
}

describe('fim diff', () => {
  it('reports what changed from the replaced baseline to the one in force', async () => {
    // (baselines.keep defaults to 5: the replaced baseline still has its records.)
    await using sb = new Sandbox('fim-diff-');
    deployTwice(sb);
    const r = sb.fim(['diff', '--json']);
    expect(r.code, r.stderr).toBe(1 | 2 | 4);
    const j = JSON.parse(r.stdout) as {
      from: { id: number; label: string };
      baseline: { id: number; label: string };
      findings: { kind: string; path: string; changes?: { attribute: string }[] }[];
    };
    expect([j.from.label, j.baseline.label]).toEqual(['deploy-1', 'deploy-2']);
    const got = j.findings.map((f) => [f.kind, f.path]).sort();
    expect(got).toEqual(
      [
        ['added', sb.path('app/c.py')],
        ['changed', sb.path('app/a.py')],
        ['removed', sb.path('app/b.py')],
      ].sort(),
    );
    // The same diff, named explicitly, and reversed.
    const named = JSON.parse(sb.fim(['diff', '1', '2', '--json']).stdout) as typeof j;
    expect(named.findings).toEqual(j.findings.map((f) => ({ ...f, observed: expect.any(String) })));
    const back = JSON.parse(sb.fim(['diff', '2', '1', '--json']).stdout) as {
      findings: { kind: string; path: string }[];
    };
    expect(back.findings.map((f) => [f.kind, f.path]).sort()).toEqual(
      [
        ['added', sb.path('app/b.py')],
        ['changed', sb.path('app/a.py')],
        ['removed', sb.path('app/c.py')],
      ].sort(),
    );
    expect(sb.fim(['diff']).stdout).toContain('fim diff on ');
    const ndjson = sb.fim(['diff', '--format', 'ndjson']).stdout.trimEnd().split('\n');
    expect(ndjson).toHaveLength(4);
    expect(JSON.parse(ndjson.at(-1)!)).toMatchObject({
      type: 'summary',
      summary: { added: 1, removed: 1, changed: 1 },
    });
  });

  it('refuses a baseline that fails its integrity check (18), and a pruned one by name (16)', async () => {
    await using sb = new Sandbox('fim-diff-');
    deployTwice(sb);
    const db = new Database(sb.db);
    const edited = db
      .prepare(
        'UPDATE record SET mode = 2541 WHERE baseline = 1 AND (dir, name) IN (SELECT dir, name FROM record WHERE baseline = 1 AND type = 0 LIMIT 1)',
      )
      .run();
    expect(edited.changes).toBe(1);
    db.close();
    const bad = sb.fim(['diff', '1', '2']);
    expect(bad.code).toBe(18);
    expect(bad.stdout).toBe('');

    // Keep two baselines: after a third, the first has no records any more.
    await using kept = new Sandbox('fim-diff-keep-');
    deployTwice(kept);
    const config = join(kept.dir, 'keep.yaml');
    writeFileSync(
      config,
      `policies: [${JSON.stringify(kept.policyFile)}]\ndatabase: ${JSON.stringify(kept.db)}\nbaselines: { keep: 2 }\n`,
    );
    kept.write('app/d.py', 'd\n');
    expect(fim(['baseline', '--config', config]).code).toBe(0);
    const pruned = fim(['diff', '1', '3', '--config', config]);
    expect(pruned.code).toBe(16);
    expect(pruned.stderr).toContain("baseline 1's records were pruned (baselines.keep");
    expect(fim(['diff', '2', '3', '--config', config]).code).toBe(1);
    expect(fim(['diff', '9', '--config', config]).stderr).toContain('no baseline 9');
  });
});
