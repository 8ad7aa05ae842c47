/**
 * `kill -9` during `fim baseline`, for real: the previous baseline must stay whole and verify,
 * whatever moment the kill lands. The new baseline is written in one SQLite transaction.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fimSpawn, Sandbox } from '../helpers/fim.js';
import { delay as pause } from '../helpers/wait.js';

let sb: Sandbox;

beforeAll(() => {
  sb = new Sandbox();
  for (let i = 0; i < 50; i++) sb.write(`app/m${i}.py`, `print(${i})\n`);
  sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
  expect(sb.fim(['baseline', '--label', 'good']).code).toBe(0);
  // Make the next baseline slow enough to be killed mid-way: many files and a big sparse one.
  for (let i = 0; i < 3000; i++) sb.write(`app/more/d${i % 30}/f${i}.py`, `x = ${i}\n`);
  execFileSync('truncate', ['-s', '3G', sb.path('app/big.bin')]);
});

afterAll(() => sb.cleanup());

it('the previous baseline survives kill -9 at any moment of a new baseline', async () => {
  const delays = [50, 150, 250, 400, 600, 900, 1300];
  let killedMidway = 0;
  type Report = { baseline: { id: number; label: string }; summary: { added: number } };
  let current = (JSON.parse(sb.fim(['check', '--json']).stdout) as Report).baseline;
  expect(current.label).toBe('good');
  for (const delay of delays) {
    const child = fimSpawn(['baseline', '--label', 'interrupted', '--policy', sb.policyFile, '--db', sb.db]);
    const exited = once(child, 'exit');
    await pause(delay); // the kill moment is the test's subject
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    // The kill may land before the commit (the previous baseline must be whole), after it (the new
    // one is complete), or after the exit (no kill at all): never anything in between.
    if (signal !== 'SIGKILL') expect(code).toBe(0);
    const r = sb.fim(['check', '--json']);
    expect([0, 1, 4, 5], r.stderr).toContain(r.code); // findings, never 17/18/19
    const report = JSON.parse(r.stdout) as Report;
    if (report.baseline.id === current.id) {
      // Rolled back: the previous baseline, whole. Were it 'good', the files the interrupted one
      // was recording are all still new.
      expect(signal).toBe('SIGKILL');
      expect(report.baseline.label).toBe(current.label);
      if (current.label === 'good') expect(report.summary.added).toBeGreaterThanOrEqual(3000);
      killedMidway++;
    } else {
      // Committed: complete, so the unchanged tree matches it exactly.
      expect(report.baseline.label).toBe('interrupted');
      expect(r.code, r.stdout).toBe(0);
      current = report.baseline;
    }
  }
  expect(killedMidway).toBeGreaterThanOrEqual(3);
  const done = sb.fim(['baseline', '--label', 'complete']);
  expect(done.code, done.stderr).toBe(0);
  const after = sb.check();
  expect(after.code).toBe(0);
  expect(after.report.baseline.label).toBe('complete');
}, 120_000); // seven kill rounds, each followed by a check that hashes a 3 GiB sparse file
