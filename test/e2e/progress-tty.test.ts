/**
 * The progress line of `fim check` on a real 40-column terminal (tmux): percentages from the
 * baseline's totals while it runs, no line wider than the terminal, and nothing left on the screen
 * when it is done (a wrapped line cannot be cleared and leaves stale copies behind).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIM, Sandbox } from '../helpers/fim.js';
import { delay } from '../helpers/wait.js';

function tmuxAvailable(): boolean {
  if (spawnSync('tmux', ['-V']).status === 0) return true;
  if (process.env['CI']) throw new Error('tmux not found: CI must install it (apt-get install tmux)');
  process.stderr.write('\n*** SKIPPING the terminal test: tmux is not installed ***\n\n');
  return false;
}

describe('check progress on a 40-column terminal', () => {
  it.runIf(tmuxAvailable())(
    'shows percentages within the width and leaves no stale line',
    async () => {
      await using sb = new Sandbox();
      // Enough entries for a check of a second or more, so the line shows several times.
      for (let d = 0; d < 100; d++) {
        const dir = join(sb.tree, 'app', `d${d}`);
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 250; f++)
          writeFileSync(join(dir, `f${f}.py`), `x = ${d * 1000 + f}\n`.repeat(40));
      }
      sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
      expect(sb.fim(['baseline']).code).toBe(0);
      const session = `fim-progress-${process.pid}`;
      const done = join(sb.dir, 'done');
      const cmd = `'${process.execPath}' '${FIM}' check --policy '${sb.policyFile}' --db '${sb.db}' >/dev/null; touch '${done}'; sleep 30`;
      execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '40', '-y', '12', cmd]);
      try {
        const screens: string[] = [];
        const deadline = Date.now() + 60_000;
        while (!existsSync(done) && Date.now() < deadline) {
          screens.push(execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }));
          await delay(50); // sampling the screen while the check runs is the test's subject
        }
        expect(existsSync(done)).toBe(true);
        const final = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
        const seen = screens.filter((s) => s.includes('checking: '));
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.some((s) => /checking: \d+%, (\d+ s left|estimating)/.test(s))).toBe(true);
        for (const s of screens)
          for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(40);
        // At most one row ever holds progress text: nothing wrapped onto a second row.
        for (const s of seen) expect(s.split('\n').filter((l) => l.trim() !== '').length).toBe(1);
        expect(final.trim()).toBe('');
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session]);
      }
    },
    120_000,
  );
});
