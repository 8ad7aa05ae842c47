/**
 * The classic intrusions, each against a real tree, a real baseline and the real CLI: each must be
 * reported as the right kind with the right attribute, and nothing else about that file.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CheckJson, CLASSIC_RULES, Sandbox } from '../helpers/fim.js';

let sb: Sandbox;

beforeEach(() => {
  sb = new Sandbox();
  sb.write('app/tasks.py', 'def add(x, y):\n    return x + y\n');
  sb.write('app/util.py', 'X = 1\n');
  sb.write('keys/worker.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
  sb.write('logs/worker.log', 'line 1\nline 2\n');
  symlinkSync('tasks.py', sb.path('app/current'));
  sb.policy(CLASSIC_RULES);
  const b = sb.fim(['baseline', '--label', 'test']);
  expect(b.code, b.stderr).toBe(0);
});

afterEach(() => sb.cleanup());

function findingFor(report: CheckJson, path: string) {
  return report.findings.filter((f) => f.path === path);
}

function changedAttrs(report: CheckJson, path: string): string[] {
  const fs = findingFor(report, path);
  expect(fs, `findings for ${path}: ${JSON.stringify(report.findings)}`).toHaveLength(1);
  expect(fs[0]!.kind).toBe('changed');
  return fs[0]!.changes!.map((c) => c.attribute).sort();
}

describe('intrusions', () => {
  it('an unchanged tree is clean (exit 0)', () => {
    const { code, report } = sb.check();
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    expect(report.summary.scanned).toBeGreaterThanOrEqual(7);
  });

  it('a content change of the same size with the mtime restored is caught by the hash', () => {
    const p = sb.path('app/tasks.py');
    execFileSync('cp', ['-p', p, `${sb.dir}/ref`]);
    writeFileSync(p, 'def add(x, y):\n    return x - y\n'); // same length
    execFileSync('touch', ['-r', `${sb.dir}/ref`, p]);
    const { code, report } = sb.check();
    expect(changedAttrs(report, p)).toEqual(['content', 'ctime']);
    expect(code).toBe(4);
  });

  it('a new file is added (exit 1), with its attributes', () => {
    const p = sb.write('app/backdoor.py', 'import os\n');
    const { code, report } = sb.check();
    const f = findingFor(report, p);
    expect(f).toHaveLength(1);
    expect(f[0]!.kind).toBe('added');
    expect(f[0]!.attributes?.content).toMatch(/^[0-9a-f]{64}$/);
    expect(code & 1).toBe(1);
  });

  it('a removed file is removed (exit 2)', () => {
    const p = sb.path('app/util.py');
    unlinkSync(p);
    const { code, report } = sb.check();
    expect(findingFor(report, p).map((f) => f.kind)).toEqual(['removed']);
    expect(code & 2).toBe(2);
  });

  it('setuid added is a mode change', () => {
    const p = sb.path('app/tasks.py');
    chmodSync(p, 0o4755);
    const { report } = sb.check();
    const f = findingFor(report, p)[0]!;
    const mode = f.changes!.find((c) => c.attribute === 'mode')!;
    expect(mode).toEqual({ attribute: 'mode', old: '0644', new: '4755' });
  });

  it('an owner change is a uid change', () => {
    const p = sb.path('keys/worker.key');
    chownSync(p, 1234, 0);
    const { report } = sb.check();
    expect(changedAttrs(report, p)).toEqual(['ctime', 'uid']);
    expect(findingFor(report, p)[0]!.severity).toBe('critical');
  });

  it('a retargeted symlink is a target change', () => {
    const p = sb.path('app/current');
    unlinkSync(p);
    symlinkSync('/etc/shadow', p);
    const { report } = sb.check();
    const f = findingFor(report, p)[0]!;
    expect(f.changes!.find((c) => c.attribute === 'target')).toEqual({
      attribute: 'target',
      old: 'tasks.py',
      new: '/etc/shadow',
    });
  });

  it('a file replaced by a symlink is a type change, and the link is not followed', () => {
    const p = sb.path('app/util.py');
    unlinkSync(p);
    symlinkSync('/etc/passwd', p);
    const { report } = sb.check();
    const f = findingFor(report, p)[0]!;
    expect(f.changes!.find((c) => c.attribute === 'type')).toEqual({
      attribute: 'type',
      old: 'file',
      new: 'symlink',
      new_target: '/etc/passwd',
    });
    // /etc/passwd's content was not hashed into the record
    expect(f.changes!.some((c) => c.attribute === 'content')).toBe(false);
  });

  it('a key file replaced by another (mv over it) changes inode and content', () => {
    const p = sb.path('keys/worker.key');
    writeFileSync(`${sb.dir}/evil.key`, '-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n');
    renameSync(`${sb.dir}/evil.key`, p);
    const { report } = sb.check();
    const attrs = changedAttrs(report, p);
    expect(attrs).toContain('inode');
    expect(attrs).toContain('content');
  });

  it('a rename is a removal and an addition', () => {
    const from = sb.path('app/util.py');
    const to = sb.path('app/util2.py');
    renameSync(from, to);
    const { code, report } = sb.check();
    expect(findingFor(report, from).map((f) => f.kind)).toEqual(['removed']);
    expect(findingFor(report, to).map((f) => f.kind)).toEqual(['added']);
    expect(code & 3).toBe(3);
  });

  it('a hard link added to a key file changes its link count', () => {
    const p = sb.path('keys/worker.key');
    linkSync(p, `${sb.dir}/stolen.key`);
    const { report } = sb.check();
    const f = findingFor(report, p)[0]!;
    expect(f.changes!.find((c) => c.attribute === 'nlink')).toEqual({ attribute: 'nlink', old: 1, new: 2 });
  });

  it('a file named with invalid UTF-8 bytes is reported byte-exactly', () => {
    const dir = Buffer.from(sb.path('app'));
    const a = Buffer.concat([dir, Buffer.from('/\xff.py', 'latin1')]);
    const b = Buffer.concat([dir, Buffer.from('/\xfe.py', 'latin1')]);
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    const { report } = sb.check();
    const added = report.findings.filter((f) => f.kind === 'added');
    expect(added.map((f) => f.path).sort()).toEqual([
      `${sb.path('app')}/\\xfe.py`,
      `${sb.path('app')}/\\xff.py`,
    ]);
    expect(added.map((f) => Buffer.from(f.path_b64, 'base64').toString('hex')).sort()).toEqual(
      [b.toString('hex'), a.toString('hex')].sort(),
    );
  });

  it('a name holding a newline is one escaped line in text and exact in JSON', () => {
    const p = sb.write('app/evil\nFAKE: all clean', 'x');
    const { report } = sb.check();
    const f = report.findings.find((x) => x.kind === 'added')!;
    expect(f.path).toBe(`${sb.path('app')}/evil\\nFAKE: all clean`);
    expect(Buffer.from(f.path_b64, 'base64').toString()).toBe(p);
    const text = sb.fim(['check']).stdout;
    expect(text).toContain('evil\\nFAKE: all clean');
    expect(text.split('\n').some((l) => l.startsWith('FAKE'))).toBe(false);
    // no raw control character other than the newlines between lines
    expect(/[\x00-\x09\x0b-\x1f\x7f]/.test(text)).toBe(false);
  });

  it('a FIFO is recorded, never opened: the scan does not hang', () => {
    const p = sb.path('app/pipe');
    execFileSync('mkfifo', [p]);
    const started = Date.now();
    const { report } = sb.check();
    expect(Date.now() - started).toBeLessThan(20_000);
    const f = findingFor(report, p)[0]!;
    expect(f.kind).toBe('added');
    expect(f.attributes?.type).toBe('fifo');
    expect(f.attributes?.content).toBeUndefined();
  });

  it('a truncated file changes size and content', () => {
    const p = sb.path('app/tasks.py');
    truncateSync(p, 3);
    const { report } = sb.check();
    expect(changedAttrs(report, p)).toEqual(['content', 'ctime', 'mtime', 'size']);
  });

  it('an append to a growing log is no finding; an edit inside its old part is', () => {
    const p = sb.path('logs/worker.log');
    appendFileSync(p, 'line 3\n');
    const clean = sb.check();
    expect(findingFor(clean.report, p)).toEqual([]);
    expect(clean.code).toBe(0);
    writeFileSync(p, 'line X\nline 2\nline 3\nline 4\n'); // longer, but the old part changed
    const { report } = sb.check();
    const f = findingFor(report, p)[0]!;
    expect(f.changes!.map((c) => c.attribute)).toEqual(['content']);
  });

  it('a growing log that shrank is a size finding', () => {
    const p = sb.path('logs/worker.log');
    writeFileSync(p, 'l\n');
    const { report } = sb.check();
    expect(findingFor(report, p)[0]!.changes!.map((c) => c.attribute)).toContain('size');
  });

  it('a directory replaced by a file is a type change and its entries are removed', () => {
    const d = sb.path('app/secret');
    mkdirSync(d);
    sb.write('app/secret/a', 'a');
    const b = sb.fim(['baseline']);
    expect(b.code).toBe(0);
    rmSync(d, { recursive: true });
    writeFileSync(d, 'now a file');
    const { report } = sb.check();
    expect(findingFor(report, d)[0]!.changes!.find((c) => c.attribute === 'type')).toEqual({
      attribute: 'type',
      old: 'dir',
      new: 'file',
    });
    expect(findingFor(report, `${d}/a`).map((f) => f.kind)).toEqual(['removed']);
  });
});
