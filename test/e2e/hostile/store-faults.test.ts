/**
 * Store faults through the real CLI (issue 6, "Store faults"): the database truncated, zeroed,
 * replaced by garbage, corrupt in one page, locked by another writer, on a full disk, or from a
 * future schema version. Each must end in a clear message on stderr and its own exit code, never a
 * stack trace, and never a silent empty baseline (exit 1 with every file "added").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { type FimResult, fim, Sandbox } from '../../helpers/fim.js';

let sb: Sandbox;
let good: string;

beforeAll(() => {
  sb = new Sandbox('fim-store-');
  for (let i = 0; i < 2000; i++) sb.write(`app/d${i % 20}/m${i}.py`, `print(${i})\n`);
  sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
  const r = sb.fim(['baseline', '--label', 'good']);
  expect(r.code, r.stderr).toBe(0);
  good = join(sb.dir, 'good.db');
  copyFileSync(sb.db, good);
  // Several pages at least, so that "half" leaves a real header and a partial tree.
  expect(statSync(good).size).toBeGreaterThan(100_000);
});

afterAll(() => sb.cleanup());

beforeEach(() => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${sb.db}${suffix}`, { force: true });
  copyFileSync(good, sb.db);
});

/** A refusal: the exit code, a message matching `why` on stderr, no stack trace, no report. */
function expectRefused(r: FimResult, code: number, why: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toMatch(/"kind":\s*"added"/);
}

const STORAGE = /fim database|database|schema|disk|another/i;

describe('a damaged database file', () => {
  const damage: [string, () => void][] = [
    ['truncated to half', () => truncateSync(sb.db, Math.floor(statSync(good).size / 2))],
    ['truncated to 100 bytes', () => truncateSync(sb.db, 100)],
    ['zeroed', () => writeFileSync(sb.db, Buffer.alloc(statSync(good).size))],
    [
      'replaced by garbage',
      () => {
        const g = Buffer.alloc(statSync(good).size);
        for (let i = 0; i < g.length; i++) g[i] = (i * 2654435761) >>> 24;
        writeFileSync(sb.db, g);
      },
    ],
    ['replaced by a text file', () => writeFileSync(sb.db, 'version: 1\nrules: []\n')],
  ];

  for (const [what, apply] of damage) {
    it(`${what}: check and baseline (and accept) refuse it with exit 19`, () => {
      apply();
      const before = statSync(sb.db).size;
      expectRefused(sb.fim(['check', '--json']), ExitCode.storage, STORAGE);
      if (what === 'truncated to half') expectRefused(sb.fim(['accept', '--all']), ExitCode.storage, STORAGE);
      // A new baseline must not quietly start over in a file that is not ours.
      expectRefused(sb.fim(['baseline']), ExitCode.storage, STORAGE);
      expect(statSync(sb.db).size).toBe(before);
    });
  }

  it('one page of records overwritten: refused (integrity or storage), never a report', () => {
    // The record table's root page (with this small tree, where the records are).
    const db = new Database(sb.db, { readonly: true });
    const root = (
      db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'record'").get() as { rootpage: number }
    ).rootpage;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const fd = openSync(sb.db, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, pageSize * (root - 1));
    closeSync(fd);
    const r = sb.fim(['check', '--json']);
    expect([ExitCode.baselineIntegrity, ExitCode.storage], r.stderr).toContain(r.code);
    expectRefused(r, r.code, /baseline|database/i);
  });
});

describe('a database locked by another writer', () => {
  it('baseline gives up after the busy timeout with exit 19 naming another process; works once released', () => {
    const holder = new Database(sb.db);
    try {
      holder.exec('BEGIN EXCLUSIVE');
      const t0 = performance.now();
      const r = sb.fim(['baseline', '--label', 'blocked'], { timeout: 30_000 });
      const elapsed = performance.now() - t0;
      expectRefused(r, ExitCode.storage, /another .*process/i);
      // It waited for the 5 s busy timeout, not forever.
      expect(elapsed).toBeLessThan(20_000);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
    const again = sb.fim(['baseline', '--label', 'after']);
    expect(again.code, again.stderr).toBe(0);
    const { code, report } = sb.check();
    expect(code).toBe(0);
    expect(report.baseline.label).toBe('after');
  }, 60_000);
});

describe('a database from a future fim', () => {
  it('schema version 99: exit 19 telling to upgrade fim, for check and baseline', () => {
    const db = new Database(sb.db);
    db.pragma('user_version = 99');
    db.close();
    expectRefused(sb.fim(['check', '--json']), ExitCode.storage, /upgrade fim/);
    expectRefused(sb.fim(['baseline']), ExitCode.storage, /upgrade fim/);
    // Still version 99: nothing "migrated" it down.
    const after = new Database(sb.db, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(99);
    after.close();
  });
});

describe('a full disk', () => {
  it('a baseline that does not fit fails with exit 19 and leaves the previous one usable', () => {
    const mnt = join(sb.dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      const msg = `cannot mount a tmpfs (${m.stderr || m.error?.message}); the full-disk test needs root`;
      if (process.env.CI) throw new Error(msg);
      console.warn(`SKIPPED: ${msg}`);
      return;
    }
    try {
      using s = new Sandbox('fim-full-');
      for (let i = 0; i < 50; i++) s.write(`app/f${i}`, `${i}\n`);
      s.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
      const db = join(mnt, 'fim.db');
      const run = (args: string[]) => fim([...args, '--policy', s.policyFile, '--db', db]);
      const first = run(['baseline', '--label', 'small']);
      expect(first.code, first.stderr).toBe(0);
      // ~10,000 records of ~250 bytes each cannot fit in 1 MiB.
      const bulk = s.path('app', 'bulk');
      mkdirSync(bulk);
      for (let i = 0; i < 10_000; i++) writeFileSync(join(bulk, `${'n'.repeat(120)}${i}`), '');
      const full = run(['baseline', '--label', 'too-big']);
      expectRefused(full, ExitCode.storage, /full|disk|space/i);
      rmSync(bulk, { recursive: true });
      const r = run(['check', '--json']);
      // Only the directory that held the bulk files changed (its times): the old baseline is whole.
      expect(r.code, r.stderr).toBe(ExitCode.changed);
      const report = JSON.parse(r.stdout) as {
        baseline: { label: string };
        findings: { kind: string; path: string }[];
      };
      expect(report.baseline.label).toBe('small');
      expect(report.findings.map((f) => [f.kind, f.path])).toEqual([['changed', s.path('app')]]);
      // No stray file left behind that would keep the disk full.
      expect(readdirSync(mnt).filter((n) => !n.startsWith('fim.db'))).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  }, 120_000);
});
