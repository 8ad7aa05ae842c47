import { describe, expect, test } from 'vitest';
import { pathToKey } from '../../../src/path-key.js';
import { DeployDigest, deployBytes } from '../../../src/store/deploy-digest.js';
import { type DirPart, DirRuns } from '../../../src/store/dir-parts.js';
import type { FileRecord } from '../../../src/types.js';
import { fileRecord } from '../../helpers/records.js';

const POLICY = Buffer.alloc(32, 1);

function digest(records: FileRecord[], policy: Buffer = POLICY): string {
  const d = new DeployDigest();
  for (const r of records) d.add(pathToKey(r.path), r);
  return d.finish(policy);
}

const base = [
  fileRecord('/srv/app/a.py', { content: Buffer.alloc(32, 2), size: 10n }),
  fileRecord('/srv/app/l', { type: 'symlink', target: Buffer.from('a.py') }),
];

describe('the deploy digest', () => {
  test('ignores what each host decides by itself: inode, device, links, times', () => {
    const other = base.map((r) => ({ ...r, inode: 99n, dev: 7n, nlink: 3, mtime: 5n, ctime: 6n }));
    expect(digest(other)).toBe(digest(base));
  });

  test.each<[string, (r: FileRecord[]) => FileRecord[] | Buffer]>([
    ['content', (r) => [{ ...r[0]!, content: Buffer.alloc(32, 3) }, r[1]!]],
    ['mode', (r) => [{ ...r[0]!, mode: 0o4755 }, r[1]!]],
    ['owner', (r) => [{ ...r[0]!, uid: 1000 }, r[1]!]],
    ['group', (r) => [{ ...r[0]!, gid: 1000 }, r[1]!]],
    ['size', (r) => [{ ...r[0]!, size: 11n }, r[1]!]],
    ['link target', (r) => [r[0]!, { ...r[1]!, target: Buffer.from('b.py') }]],
    ['type', (r) => [r[0]!, { ...r[1]!, type: 'file', target: null }]],
    ['path', (r) => [{ ...r[0]!, path: Buffer.from('/srv/app/b.py') }, r[1]!]],
    ['a file less', (r) => [r[0]!]],
    ['the policy', () => Buffer.alloc(32, 9)],
  ])('changes with the %s', (_what, change) => {
    const changed = change(base);
    const d = Buffer.isBuffer(changed) ? digest(base, changed) : digest(changed);
    expect(d).not.toBe(digest(base));
    expect(d).toMatch(/^[0-9a-f]{64}$/);
  });

  const pinned = () => [
    fileRecord('/srv/app/a.py', { content: Buffer.alloc(32, 2), sha256: Buffer.alloc(32, 4), size: 10n }),
    fileRecord('/srv/app/l', { type: 'symlink', target: Buffer.from('a.py') }),
    fileRecord('/srv/app/sub', { type: 'dir', mode: 0o2755, uid: 7, gid: 8 }),
    fileRecord('/srv/app/sub/b.py', { content: Buffer.alloc(32, 3), size: 11n }),
  ];

  test('its bytes are fixed: hosts on the same fim version agree (no false drift)', () => {
    // Version 2 (by directory, store/dir-parts.ts), pinned from its first implementation; a change
    // of framing or field order would show every upgraded host as drifting from its peers.
    const d = new DeployDigest();
    for (const r of pinned()) d.add(pathToKey(r.path), r);
    expect(d.finish(POLICY)).toBe('cfc978121f32545db885a710b3d228a30d94bd6d3437d1ce300a106e2839b6d7');
  });

  test('directory parts hashed elsewhere (a scan worker) give the same digest as the records', () => {
    const parts: DirPart[] = [];
    const runs = new DirRuns((p) => parts.push(p));
    for (const r of pinned()) runs.add(pathToKey(r.path), deployBytes(pathToKey(r.path), r));
    runs.flush();
    expect(parts.map((p) => p.count)).toEqual([3, 1]);
    const d = new DeployDigest();
    for (const p of parts) d.addPart(p);
    const whole = new DeployDigest();
    for (const r of pinned()) whole.add(pathToKey(r.path), r);
    expect(d.finish(POLICY)).toBe(whole.finish(POLICY));
    // Out of code order, or a directory cut in two, is refused, never a different digest.
    const swapped = new DeployDigest();
    swapped.addPart(parts[1]!);
    expect(() => swapped.addPart(parts[0]!)).toThrow(/out of code order/);
    const twice = new DeployDigest();
    twice.addPart(parts[0]!);
    expect(() => twice.addPart(parts[0]!)).toThrow(/out of code order/);
  });
});
