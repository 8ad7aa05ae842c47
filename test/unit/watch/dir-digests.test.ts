/** Per-directory digests: what event rescans check before they read baseline records. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BaselineIntegrityError } from '../../../src/errors.js';
import { createBaseline } from '../../../src/ops/baseline.js';
import { parsePolicyText } from '../../../src/policy/policy.js';
import { Store } from '../../../src/store/store.js';
import { DirectoryDigests } from '../../../src/watch/dir-digests.js';
import { Sandbox } from '../../helpers/fim.js';

function setup(sb: Sandbox): { store: Store; id: number } {
  for (const p of ['a/x', 'a/y', 'a/sub/z', 'b/w']) sb.write(p, p);
  const text = `version: 1\nrules:\n  - name: t\n    paths: ["${sb.tree}"]\n    check: readonly\n`;
  const policy = { rules: parsePolicyText('p.yaml', text).rules, files: [], hash: Buffer.alloc(32) };
  const store = Store.open(join(sb.dir, 'd.db'), { create: true });
  const r = createBaseline({ store, policy, host: 'h', label: 'l' });
  return { store, id: r.meta.id };
}

describe('DirectoryDigests', () => {
  it('passes an untouched baseline, and refuses a record edited in the directory a rescan reads', async () => {
    await using sb = new Sandbox();
    const { store, id } = setup(sb);
    const d = DirectoryDigests.build(store, id);
    expect(d.size).toBeGreaterThan(3);
    d.verify(store, [Buffer.from(sb.path('a/x'))], undefined);
    d.verify(store, [Buffer.from(sb.path('a'))], 1);
    const db = new Database(join(sb.dir, 'd.db'));
    expect(db.prepare('UPDATE record SET size = 99 WHERE name = ?').run(Buffer.from('z')).changes).toBe(1);
    db.close();
    // b/ is elsewhere: still fine. a/sub/z's directory, or a deep rescan of a/, is refused.
    d.verify(store, [Buffer.from(sb.path('b/w'))], undefined);
    expect(() => d.verify(store, [Buffer.from(sb.path('a/sub/z'))], undefined)).toThrow(
      BaselineIntegrityError,
    );
    expect(() => d.verify(store, [Buffer.from(sb.path('a'))], undefined)).toThrow(/a\/sub no longer match/);
    store.close();
  });

  it('reads each directory once per rescan, however many of its entries the rescan names', async () => {
    await using sb = new Sandbox();
    const { store, id } = setup(sb);
    const d = DirectoryDigests.build(store, id);
    const reads: string[] = [];
    const real = store.recordsUnderMany.bind(store);
    store.recordsUnderMany = (baseline, keys, depth) => {
      reads.push(keys.map((k) => k.toString('hex')).join(','));
      return real(baseline, keys, depth);
    };
    const names = ['a/x', 'a/y', 'a/x', 'a/y', 'a/sub/z', 'a/sub/z'];
    d.verify(
      store,
      names.map((n) => Buffer.from(sb.path(n))),
      undefined,
    );
    // a/ and a/sub/, once each (and the verification still holds: nothing was edited).
    expect(reads).toHaveLength(2);
    expect(new Set(reads).size).toBe(2);
    store.close();
  });

  it('a deleted record is refused too', async () => {
    await using sb = new Sandbox();
    const { store, id } = setup(sb);
    const d = DirectoryDigests.build(store, id);
    const db = new Database(join(sb.dir, 'd.db'));
    db.prepare('DELETE FROM record WHERE name = ?').run(Buffer.from('y'));
    db.close();
    expect(() => d.verify(store, [Buffer.from(sb.path('a/x'))], undefined)).toThrow(BaselineIntegrityError);
    store.close();
  });
});
