/**
 * Odd trees through the real CLI (issue 6, "Scanner races in real trees" and "Limits"): a tree
 * deeper than PATH_MAX, 100,000 entries in one directory, a sparse 10 GiB file, a 4,000-byte path,
 * and file names made of every byte value but "/" and NUL. Each is baselined and checked clean, and
 * a change in each is reported at the exact path (path_b64 gives back the bytes).
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  statfsSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEEP_NAME, deepBottom } from '../../helpers/deep-tree.js';
import { type CheckJson, Sandbox } from '../../helpers/fim.js';

const LONG = process.env.FIM_LONG_TESTS !== undefined && process.env.FIM_LONG_TESTS !== '';
const TMPFS_MAGIC = 0x01021994;

let sb: Sandbox | undefined;

afterEach(() => {
  // rm(1) walks by descriptor: Node's rmSync cannot remove a tree deeper than PATH_MAX.
  if (sb) execFileSync('rm', ['-rf', sb.dir]);
  sb = undefined;
});

function sandbox(base?: string): Sandbox {
  // Sandbox makes its directory under os.tmpdir(), which reads TMPDIR at each call.
  const saved = process.env.TMPDIR;
  if (base) process.env.TMPDIR = base;
  let s: Sandbox;
  try {
    s = new Sandbox('fim-odd-');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  sb = s;
  s.policy('  - name: t\n    paths: ["{tree}"]\n    check: readonly\n');
  return s;
}

function baseline(s: Sandbox): void {
  const r = s.fim(['baseline', '--label', 'odd']);
  expect(r.code, r.stderr).toBe(0);
}

function expectClean(s: Sandbox, scanned: number): CheckJson {
  const { code, report, stderr } = s.check();
  expect(report.findings, stderr).toEqual([]);
  expect(report.errors).toEqual([]);
  expect(report.summary.scanned).toBe(scanned);
  expect(code).toBe(0);
  return report;
}

const b64 = (p: Buffer | string) => Buffer.from(p).toString('base64');

describe('a 1,000-level deep tree (paths far beyond PATH_MAX)', () => {
  it('is baselined whole, checks clean, and a change at the bottom is reported at its exact path', () => {
    const s = sandbox();
    const name = DEEP_NAME;
    // Built through directory descriptors, like the scanner walks: each call's path is short,
    // while the whole path is 11,000 bytes.
    const bottom = (make: boolean): number => deepBottom(s.tree, make, 1000);
    let fd = bottom(true);
    writeFileSync(`/proc/self/fd/${fd}/leaf`, 'bottom\n');
    closeSync(fd);
    const leaf = `${s.tree}/${Array.from({ length: 1000 }, () => name).join('/')}/leaf`;
    expect(leaf.length).toBeGreaterThan(11_000);
    baseline(s);
    expectClean(s, 1 + 1000 + 1);
    fd = bottom(false);
    writeFileSync(`/proc/self/fd/${fd}/leaf`, 'changed\n');
    closeSync(fd);
    const { code, report } = s.check();
    const changed = report.findings.filter((f) => f.kind === 'changed');
    expect(changed.map((f) => f.path_b64)).toEqual([b64(leaf)]);
    expect(changed[0]!.changes!.map((c) => c.attribute)).toContain('content');
    // The leaf and its parent directory (mtime of the rewrite is the leaf's only).
    expect(code & 4).toBe(4);
    expect(code & ~7).toBe(0);
  });
});

describe('100,000 entries in one directory', () => {
  it('baseline and check in reasonable time; exactly the one added entry among them is found', () => {
    const s = sandbox();
    const d = join(s.tree, 'many');
    mkdirSync(d);
    for (let i = 0; i < 100_000; i++) closeSync(openSync(join(d, `f${i}`), 'w'));
    const t0 = performance.now();
    baseline(s);
    // One check serves both: among 100,000 unchanged entries, exactly the new one is found.
    writeFileSync(join(d, 'f49999x'), 'new\n');
    const { code, report } = s.check();
    const elapsed = performance.now() - t0;
    expect(report.errors).toEqual([]);
    expect(report.summary.scanned).toBe(100_000 + 3);
    expect(report.findings.filter((f) => f.kind === 'added').map((f) => f.path)).toEqual([
      join(d, 'f49999x'),
    ]);
    // Nothing else but the directory's own times.
    expect(report.findings.filter((f) => f.kind !== 'added').map((f) => [f.kind, f.path])).toEqual([
      ['changed', d],
    ]);
    expect(code).toBe(1 | 4);
    // Loose: a quadratic walk or a per-file transaction would take minutes here.
    expect(elapsed).toBeLessThan(60_000);
  }, 120_000);
});

describe('a sparse 10 GiB file', () => {
  it('is hashed to its last byte: clean check, then a byte changed past 4 GiB is a content change', () => {
    // Holes read fast on tmpfs (~6 GB/s) but slowly on ext4 (~0.4 GB/s here): use /dev/shm when it
    // is a tmpfs; otherwise 10 GiB only in the long lane.
    let onTmpfs = false;
    try {
      onTmpfs = statfsSync('/dev/shm').type === TMPFS_MAGIC;
    } catch {
      onTmpfs = false;
    }
    const size = onTmpfs || LONG ? 10 * 2 ** 30 : 2 ** 32 + 2 ** 20;
    if (size !== 10 * 2 ** 30) {
      console.warn(
        `sparse file: /dev/shm is not a tmpfs; using ${size} bytes (set FIM_LONG_TESTS for 10 GiB)`,
      );
    }
    const s = sandbox(onTmpfs ? '/dev/shm' : undefined);
    const big = join(s.tree, 'sparse.bin');
    writeFileSync(big, '');
    truncateSync(big, size);
    baseline(s);
    const clean = expectClean(s, 2);
    expect(clean.baseline.label).toBe('odd');
    // One byte past 2^32, mtime put back: only the hash can tell.
    const fd = openSync(big, 'r+');
    writeSync(fd, Buffer.from([1]), 0, 1, 2 ** 32 + 17);
    closeSync(fd);
    utimesSync(big, new Date(0), new Date(0));
    const { code, report } = s.check();
    const f = report.findings.filter((x) => x.path === big);
    expect(f).toHaveLength(1);
    const attrs = f[0]!.changes!.map((c) => c.attribute);
    expect(attrs).toContain('content');
    expect(attrs).not.toContain('size');
    expect(code & 4).toBe(4);
  }, 120_000);
});

describe('a 4,000-byte path', () => {
  it('baselines, checks clean, and changes at that length are reported with exact bytes', () => {
    const s = sandbox();
    const total = 4000;
    let dirPath = s.tree;
    // Components of 200 bytes until one more would not leave room for a file name.
    while (total - dirPath.length > 250) dirPath = join(dirPath, 'p'.repeat(200));
    mkdirSync(dirPath, { recursive: true });
    const fileLen = total - dirPath.length - 1;
    const file = join(dirPath, `${'f'.repeat(fileLen - 1)}a`);
    expect(Buffer.byteLength(file)).toBe(total);
    writeFileSync(file, 'v1\n');
    baseline(s);
    const levels = (dirPath.length - s.tree.length) / 201;
    expectClean(s, 1 + levels + 1);
    writeFileSync(file, 'v2\n');
    const added = join(dirPath, `${'f'.repeat(fileLen - 1)}b`);
    writeFileSync(added, 'new\n');
    const { report } = s.check();
    const kinds = Object.fromEntries(
      report.findings.filter((f) => f.path !== dirPath).map((f) => [f.path_b64, f.kind]),
    );
    expect(kinds).toEqual({ [b64(file)]: 'changed', [b64(added)]: 'added' });
  });
});

describe('file names made of every byte value but "/" and NUL', () => {
  it('baseline and check clean; added names come back byte for byte through path_b64', () => {
    const s = sandbox();
    const d = Buffer.from(join(s.tree, 'bytes'));
    mkdirSync(d);
    const values = Array.from({ length: 255 }, (_, i) => i + 1).filter((b) => b !== 0x2f);
    expect(values).toHaveLength(254);
    const named = (prefix: number, b: number) => Buffer.concat([d, Buffer.from([0x2f, prefix, b])]);
    // "x" + the byte: a lone "." is not a file name, so every name carries a prefix.
    for (const b of values) writeFileSync(named(0x78, b), Buffer.from([b]));
    // One name holding every value at once (254 bytes: within NAME_MAX).
    const all = Buffer.concat([d, Buffer.from([0x2f]), Buffer.from(values)]);
    writeFileSync(all, 'all\n');
    // Bare single-byte names, where the byte alone is a valid name.
    for (const b of values) if (b !== 0x2e) writeFileSync(Buffer.concat([d, Buffer.from([0x2f, b])]), 'one');
    baseline(s);
    const count = 1 + 1 + 254 + 1 + 253;
    expectClean(s, count);
    const fresh = values.map((b) => named(0x79, b));
    for (const p of fresh) writeFileSync(p, 'new');
    const { code, report } = s.check();
    const added = report.findings.filter((f) => f.kind === 'added');
    expect(added.map((f) => f.path_b64).sort()).toEqual(fresh.map((p) => p.toString('base64')).sort());
    for (const f of added) {
      // The display form is one line with no raw control character, and differs per name.
      expect(f.path).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
    expect(new Set(added.map((f) => f.path)).size).toBe(254);
    // Only added files and the directory's own change: nothing removed, nothing mangled.
    expect(report.findings.filter((f) => f.kind === 'removed')).toEqual([]);
    expect(code & 2).toBe(0);
    expect(code & 1).toBe(1);
  });
});
