/**
 * `scan.threads` from the command line: a real `fim baseline` and `fim check` split over threads
 * (ops/split-scan.ts) report what the same commands report on one thread, and a baseline made
 * either way checks clean the other way. (Whether subtrees were handed over at all is shown by
 * test/unit/ops/split-scan.test.ts, which waits for its workers; here the commands run as a user
 * runs them.)
 */
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fim, Sandbox } from '../helpers/fim.js';

function withThreads(sb: Sandbox, threads: number): string[] {
  const config = join(sb.dir, `threads-${threads}.yaml`);
  writeFileSync(
    config,
    `policies: [${JSON.stringify(sb.policyFile)}]\ndatabase: ${JSON.stringify(sb.db)}\nscan: { threads: ${threads} }\n`,
  );
  return ['--config', config];
}

describe('scan.threads', () => {
  it('a split baseline and check agree with one thread, finding for finding', async () => {
    await using sb = new Sandbox('fim-split-e2e-');
    for (let d = 0; d < 40; d++)
      for (let f = 0; f < 60; f++) sb.write(`srv/d${d % 8}/s${d}/f${f}.py`, `${d} ${f}\n`.repeat(f + 1));
    sb.policy(`  - name: code\n    severity: high\n    paths: ["{tree}/srv"]\n    check: readonly\n`);
    const run = (threads: number, args: string[]) => fim([...args, ...withThreads(sb, threads)]);
    expect(run(2, ['baseline', '-q']).code).toBe(0);
    expect(run(1, ['check', '-q']).code).toBe(0);
    expect(run(2, ['check', '-q']).code).toBe(0);
    expect(run(1, ['baseline', '-q']).code).toBe(0);
    expect(run(2, ['check', '-q']).code).toBe(0);

    sb.write('srv/d3/s11/f7.py', 'edited\n');
    sb.write('srv/d5/s29/new.py', 'new\n');
    unlinkSync(sb.path('srv/d0/s0/f0.py'));
    rmSync(sb.path('srv/d6/s14'), { recursive: true });
    const report = (threads: number, extra: string[] = []) => {
      const r = run(threads, ['check', '--json', ...extra]);
      const j = JSON.parse(r.stdout) as {
        summary: unknown;
        findings: { kind: string; path: string; changes?: { attribute: string }[] }[];
        errors: unknown[];
      };
      return {
        code: r.code,
        summary: j.summary,
        findings: j.findings.map((f) => `${f.kind} ${f.path} ${(f.changes ?? []).map((c) => c.attribute)}`),
        errors: j.errors,
      };
    };
    const one = report(1);
    expect(one.findings.length).toBeGreaterThan(60);
    expect(report(2)).toEqual(one);
    expect(report(2, ['--fast'])).toEqual(report(1, ['--fast']));
  });

  it('a --fast check over two threads (its rows read by a second process) refuses an edited baseline', async () => {
    await using sb = new Sandbox('fim-split-e2e-');
    for (let f = 0; f < 200; f++) sb.write(`srv/d${f % 5}/f${f}.py`, `${f}\n`);
    sb.policy(`  - name: code\n    severity: high\n    paths: ["{tree}/srv"]\n    check: readonly\n`);
    const args = withThreads(sb, 2);
    expect(fim(['baseline', '-q', ...args]).code).toBe(0);
    expect(fim(['check', '--fast', '-q', ...args]).code).toBe(0);
    const db = new Database(sb.db);
    db.prepare("UPDATE record SET mode = 2541 WHERE name = CAST('f17.py' AS BLOB)").run();
    db.close();
    const r = fim(['check', '--fast', ...args]);
    expect(r.code).toBe(18);
    expect(r.stderr).toMatch(/fails its integrity check/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
