/**
 * `--fast`: a file whose size, mtime, ctime, inode and device match the baseline keeps the
 * baseline's hash without being read; anything else is rehashed. The default reads every file.
 * The baseline here is the first scan's records, with a planted (wrong) hash: whether the second
 * scan reports the planted hash or the real one tells whether it read the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/policy/policy.js';
import { RuleIndex } from '../../../src/policy/rule-index.js';
import { scanTree } from '../../../src/scan/scan.js';
import type { FileRecord } from '../../../src/types.js';

const PLANTED = Buffer.alloc(32, 7);
let dir: string;
let index: RuleIndex;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-fast-'));
  writeFileSync(join(dir, 'a.py'), 'print(1)\n');
  const { rules, problems } = parsePolicyText(
    'p.yaml',
    `version: 1\nrules:\n  - name: r\n    paths: [${dir}]\n    check: readonly\n`,
  );
  expect(problems).toEqual([]);
  index = new RuleIndex(rules);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Scan twice: the second time against the first scan's records, altered by `edit`. */
function rescan(fast: boolean, edit: (r: FileRecord) => FileRecord): { file: FileRecord; hashed: bigint } {
  const baseline = new Map<string, FileRecord>();
  scanTree({
    index,
    onItem: (i) => i.kind === 'record' && baseline.set(i.key.toString('hex'), edit(i.record)),
  });
  let file: FileRecord | undefined;
  const stats = scanTree({
    index,
    fast,
    lookup: (key) => baseline.get(key.toString('hex')),
    onItem: (i) => {
      if (i.kind === 'record' && i.record.type === 'file') file = i.record;
    },
  });
  return { file: file!, hashed: stats.hashedBytes };
}

const plant = (r: FileRecord): FileRecord => (r.type === 'file' ? { ...r, content: PLANTED } : r);

describe('--fast', () => {
  it('trusts unchanged size, mtime, ctime, inode and device: the file is not read', () => {
    const r = rescan(true, plant);
    expect(r.file.content?.equals(PLANTED)).toBe(true);
    expect(r.hashed).toBe(0n);
  });

  it('the default reads every file', () => {
    const r = rescan(false, plant);
    expect(r.file.content?.equals(PLANTED)).toBe(false);
    expect(r.hashed).toBe(9n);
  });

  it.each([
    ['size', (r: FileRecord) => ({ ...plant(r), size: r.size + 1n })],
    ['mtime', (r: FileRecord) => ({ ...plant(r), mtime: r.mtime - 1n })],
    ['ctime', (r: FileRecord) => ({ ...plant(r), ctime: r.ctime - 1n })],
    ['inode', (r: FileRecord) => ({ ...plant(r), inode: r.inode + 1n })],
    ['device', (r: FileRecord) => ({ ...plant(r), dev: r.dev + 1n })],
  ])('rehashes when the %s differs', (_what, edit) => {
    const r = rescan(true, (x) => (x.type === 'file' ? edit(x) : x));
    expect(r.file.content?.equals(PLANTED)).toBe(false);
    expect(r.hashed).toBe(9n);
  });
});
