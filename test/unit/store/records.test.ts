/** A baseline's records (src/store/records.ts): walk order, scoped reads, and what `accept` does to them. */

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { dirCode, pathToKey } from '../../../src/path-key.js';
import { ENTRY_PAGE, Skips } from '../../../src/store/records.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';
import { inKeyOrder, record, tamper, writeBaseline } from './fixture.js';

const paths = (it: Iterable<{ record: { path: Buffer } }>) => [...it].map((r) => r.record.path.toString());
const keys = (...ps: string[]) => ps.map((p) => pathToKey(Buffer.from(p)));

const TREE = [
  '/',
  '/srv',
  '/srv/app',
  '/srv/app/a.py',
  '/srv/app/lib',
  '/srv/app/lib/b.py',
  '/srv/app/z.py',
  '/srv/log',
  '/etc',
];

describe('records', () => {
  it('reads a subtree in key order, leaving out subtrees skipped before or while it reads', async () => {
    await using sb = new Sandbox('fim-store-subtree-');
    const s = Store.open(sb.db, { create: true });
    const tree = [...TREE, '/srv/app/lib/deep', '/srv/app/lib/deep/c.py', '/srv/app2', '/srv/app2/d.py'];
    const id = writeBaseline(s, inKeyOrder(tree.map((p) => record(p))));
    const code = (p: string) => dirCode(Buffer.from(p));
    // The whole of /srv/app: its entries, then lib's, then deep's; not /srv/app2 (a sibling whose
    // name starts with "app").
    expect(paths(s.subtreeRecords(id, code('/srv/app'), new Skips()))).toEqual([
      '/srv/app/a.py',
      '/srv/app/lib',
      '/srv/app/z.py',
      '/srv/app/lib/b.py',
      '/srv/app/lib/deep',
      '/srv/app/lib/deep/c.py',
    ]);
    // lib skipped from the start: neither its entries nor deep's.
    const before = new Skips();
    before.add(code('/srv/app/lib'));
    expect(paths(s.subtreeRecords(id, code('/srv/app'), before))).toEqual([
      '/srv/app/a.py',
      '/srv/app/lib',
      '/srv/app/z.py',
    ]);
    // /srv/app skipped while the walk is inside it: the rest of it is left at once.
    const during = new Skips();
    const got: string[] = [];
    for (const r of s.subtreeRecords(id, Buffer.alloc(0), during)) {
      got.push(r.record.path.toString());
      if (r.record.path.toString() === '/srv/app/a.py') during.add(code('/srv/app'));
    }
    expect(got).toEqual(
      ['/', '/etc', '/srv', '/srv/app', '/srv/log', '/srv/app2', '/srv/app/a.py', '/srv/app2/d.py'].sort(
        (a, b) => Buffer.compare(pathToKey(Buffer.from(a)), pathToKey(Buffer.from(b))),
      ),
    );
    s.close();
  });

  it('reads a directory larger than a page whole, in name order, however its names sort', async () => {
    await using sb = new Sandbox('fim-store-pages-');
    const s = Store.open(sb.db, { create: true });
    // Exactly one page, one page and one, and names whose bytes sort at the extremes (0x01, 0xff)
    // where a page ends.
    const names: Buffer[] = [];
    for (let i = 0; i < 2 * ENTRY_PAGE + 1; i++) names.push(Buffer.from(`f${String(i).padStart(5, '0')}`));
    names.push(Buffer.from([0x01]), Buffer.from([0xff, 0xff]), Buffer.from([0x66, 0xff]));
    const bigPaths = names.map((n) => Buffer.concat([Buffer.from('/big/'), n]));
    const id = writeBaseline(s, [
      record('/big', { type: 'dir', content: null }),
      ...bigPaths.map((p) => record(p)),
      record('/big/sub', { type: 'dir', content: null }),
      record('/big/sub/x'),
    ]);
    const got = [...s.records(id)].map((r) => r.key);
    const want = [Buffer.from('/big'), ...bigPaths, Buffer.from('/big/sub'), Buffer.from('/big/sub/x')]
      .map(pathToKey)
      .sort(Buffer.compare);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    // A scoped read of the directory gives the same entries.
    const scoped = [...s.recordsUnderMany(id, [pathToKey(Buffer.from('/big'))])].map((r) => r.key);
    expect(scoped).toEqual(want);
    s.close();
  });

  it('fileInodes: each regular file with its device and inode (all 64 bits), nothing else', async () => {
    await using sb = new Sandbox('fim-store-inodes-');
    const s = Store.open(sb.db, { create: true });
    const id = writeBaseline(s, [
      record('/srv', { type: 'dir', content: null, inode: 1n }),
      record('/srv/a.py', { inode: 7n, dev: 2049n }),
      record(Buffer.from('/srv/\xff.py', 'latin1'), { inode: (1n << 64n) - 1n, dev: 1n << 63n }),
      record('/srv/link', { type: 'symlink', content: null, target: Buffer.from('a.py'), inode: 9n }),
    ]);
    const got = [...s.fileInodes(id)].map((f) => [f.path.toString('latin1'), f.dev, f.inode]);
    expect(got.sort()).toEqual(
      [
        ['/srv/a.py', 2049n, 7n],
        ['/srv/\xff.py', 1n << 63n, (1n << 64n) - 1n],
      ].sort(),
    );
    s.close();
  });

  it("reads a baseline back in walk order: a directory's entries, then each subdirectory", async () => {
    await using sb = new Sandbox('fim-store-records-');
    const s = Store.open(sb.db, { create: true });
    const id = writeBaseline(
      s,
      [...TREE].reverse().map((p) => record(p)),
    );
    expect(paths(s.records(id))).toEqual([
      '/',
      '/etc',
      '/srv',
      '/srv/app',
      '/srv/log',
      '/srv/app/a.py',
      '/srv/app/lib',
      '/srv/app/z.py',
      '/srv/app/lib/b.py',
    ]);
    expect(paths(s.records(id + 1))).toEqual([]);
    s.close();
  });

  it('reads what lies at or below several scopes, to a depth', async () => {
    await using sb = new Sandbox('fim-store-records-');
    const s = Store.open(sb.db, { create: true });
    const id = writeBaseline(
      s,
      TREE.map((p) => record(p)),
    );
    expect(paths(s.recordsUnderMany(id, keys('/srv/app')))).toEqual([
      '/srv/app',
      '/srv/app/a.py',
      '/srv/app/lib',
      '/srv/app/z.py',
      '/srv/app/lib/b.py',
    ]);
    // With a depth, whole directories are read: everything within the depth is there, in key order,
    // and at most one level more (compareScope keeps exactly the depth it asked for).
    const shallow = paths(s.recordsUnderMany(id, keys('/srv/app'), 1));
    expect(shallow.filter((p) => p !== '/srv/app/lib/b.py')).toEqual([
      '/srv/app',
      '/srv/app/a.py',
      '/srv/app/lib',
      '/srv/app/z.py',
    ]);
    expect(paths(s.recordsUnderMany(id, keys('/srv'), 1))).not.toContain('/srv/app/lib/b.py');
    expect(paths(s.recordsUnderMany(id, keys('/etc', '/srv/app/lib')))).toEqual([
      '/etc',
      '/srv/app/lib',
      '/srv/app/lib/b.py',
    ]);
    expect(paths(s.recordsUnderMany(id, keys('/nowhere')))).toEqual([]);
    s.close();
  });

  it('accept: copy a baseline, change, add and delete records in the copy; the original stays whole', async () => {
    await using sb = new Sandbox('fim-store-records-');
    const s = Store.open(sb.db, { create: true });
    const old = TREE.map((p) => record(p));
    const first = writeBaseline(s, old);
    const second = s.transaction(() => {
      const id = s.nextBaselineId();
      s.copyRecords(first, id);
      const write = s.recordWriter(id);
      s.deleteRecord(id, pathToKey(Buffer.from('/srv/app/a.py')));
      write(pathToKey(Buffer.from('/srv/app/lib/c.py')), record('/srv/app/lib/c.py', { size: 99n }));
      write(pathToKey(Buffer.from('/srv/new/d.py')), record('/srv/new/d.py'));
      s.insertBaselineMeta({ ...s.requireBaseline(), id, parent: first });
      return id;
    });
    expect(paths(s.records(first))).toEqual(paths(inKeyOrder(old).map((record) => ({ record }))));
    expect(paths(s.records(second))).toEqual([
      '/',
      '/etc',
      '/srv',
      '/srv/app',
      '/srv/log',
      '/srv/app/lib',
      '/srv/app/z.py',
      '/srv/app/lib/b.py',
      '/srv/app/lib/c.py',
      '/srv/new/d.py',
    ]);
    s.transaction(() => s.pruneOldRecords(second));
    expect(paths(s.records(first))).toEqual([]);
    expect(paths(s.records(second))).toHaveLength(10);
    // Metadata stays, for history.
    expect(s.baseline(first)?.id).toBe(first);
    s.close();
  });

  it('prunes every baseline but the one kept and the newest, and rows of no baseline, in ranges', async () => {
    await using sb = new Sandbox('fim-store-prune-');
    const s = Store.open(sb.db, { create: true });
    const ids = [1, 2, 3, 4, 5, 6].map((n) => writeBaseline(s, [record('/srv'), record(`/srv/f${n}`)]));
    s.close();
    // Rows no baseline's metadata names, below, between and above the kept ids, and one whose
    // baseline is not an integer: all are another baseline's leftovers, and go.
    for (const stray of [0, 4.5, 99, 'x'])
      tamper(sb.db, "INSERT INTO dir (baseline, code, id) VALUES (?, x'', 1)", stray);
    for (const stray of [-7, 0, 4.5, 99, 'x'])
      tamper(
        sb.db,
        "INSERT INTO record (baseline, dir, name, type, mode, uid, gid, size, mtime, ctime, inode, dev, nlink) VALUES (?, 1, x'61', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)",
        stray,
      );
    const again = Store.open(sb.db);
    // Keep baseline 2 (any id may be named, not only the newest) and the newest two, 5 and 6.
    again.transaction(() => again.pruneOldRecords(ids[1]!, 2));
    for (const [n, id] of ids.entries())
      expect(paths(again.records(id)), `baseline ${id}`).toEqual(
        [2, 5, 6].includes(id) ? ['/srv', `/srv/f${n + 1}`] : [],
      );
    again.close();
    const raw = new Database(sb.db, { readonly: true });
    raw.defaultSafeIntegers(false);
    const left = (table: string) =>
      raw.prepare(`SELECT DISTINCT baseline FROM ${table} ORDER BY baseline`).pluck().all();
    expect(left('record')).toEqual([2, 5, 6]);
    expect(left('dir')).toEqual([2, 5, 6]);
    // Metadata stays, for history.
    expect(raw.prepare('SELECT count(*) FROM baseline').pluck().get()).toBe(6);
    raw.close();
  });

  it('deleting a record that is not there changes nothing', async () => {
    await using sb = new Sandbox('fim-store-records-');
    const s = Store.open(sb.db, { create: true });
    const id = writeBaseline(s, [record('/a/b')]);
    s.deleteRecord(id, pathToKey(Buffer.from('/a/c')));
    s.deleteRecord(id, pathToKey(Buffer.from('/x/b')));
    expect(paths(s.records(id))).toEqual(['/a/b']);
    s.close();
  });
});
