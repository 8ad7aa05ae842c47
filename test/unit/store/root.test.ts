/**
 * The baseline root across formats: a baseline keeps the format its root was made in and verifies
 * in it (an upgraded fim still trusts the baselines it made before), and no edit of the format
 * makes an edited baseline pass.
 */
import { describe, expect, it } from 'vitest';
import { BaselineIntegrityError } from '../../../src/errors.js';
import { presentValue } from '../../../src/extended/value.js';
import { canonicalRecord } from '../../../src/fields.js';
import { verifyBaseline } from '../../../src/ops/baseline.js';
import { pathToKey } from '../../../src/path-key.js';
import type { DirPart } from '../../../src/store/dir-parts.js';
import { RootBuilder, rootRuns } from '../../../src/store/root.js';
import { Store } from '../../../src/store/store.js';
import type { FileRecord } from '../../../src/types.js';
import { Sandbox } from '../../helpers/fim.js';
import { meta, record, writeBaseline } from './fixture.js';

function rootOf(format: 1 | 2 | 3, records: FileRecord[], m: ReturnType<typeof meta>): Buffer {
  const root = new RootBuilder(format);
  for (const r of [...records].sort((a, b) => Buffer.compare(pathToKey(a.path), pathToKey(b.path))))
    root.add(pathToKey(r.path), r);
  return root.finish(m);
}

describe('root formats', () => {
  const records = [record('/srv/a'), record('/srv/b', { caps: presentValue(Buffer.from('01', 'hex')) })];

  it.each([1, 2, 3] as const)(
    'a baseline made in format %i verifies in it, and not in another',
    async (format) => {
      await using sb = new Sandbox('fim-root-');
      const s = Store.open(sb.db, { create: true });
      const m = meta(1, { files: records.length, format });
      m.root = rootOf(format, records, m);
      writeBaseline(s, records, m);
      const stored = s.latestBaseline()!;
      expect(stored.format).toBe(format);
      expect(() => verifyBaseline(s, stored)).not.toThrow();
      for (const other of ([1, 2, 3] as const).filter((f) => f !== format))
        expect(() => verifyBaseline(s, { ...stored, format: other })).toThrow(BaselineIntegrityError);
      s.close();
    },
  );

  it.each([2, 3] as const)(
    'format %i: records given as their canonical bytes (the row reader) give the same root',
    (format) => {
      const m = meta(1, { files: 3, format });
      const rs = [
        record('/srv/a'),
        record('/srv/b', { caps: presentValue(Buffer.from('01', 'hex')) }),
        record('/srv/d/x'),
      ];
      const root = new RootBuilder(format);
      for (const r of rs) root.addCanonical(pathToKey(r.path), canonicalRecord(pathToKey(r.path), r, 2));
      expect(root.finish(m).equals(rootOf(format, rs, m))).toBe(true);
      const again = new RootBuilder(format);
      again.addCanonical(pathToKey(rs[1]!.path), canonicalRecord(pathToKey(rs[1]!.path), rs[1]!, 2));
      expect(() =>
        again.addCanonical(pathToKey(rs[0]!.path), canonicalRecord(pathToKey(rs[0]!.path), rs[0]!, 2)),
      ).toThrow(/out of key order/);
    },
  );

  it('format 1 hashes other bytes: it takes no canonical bytes of format 2', () => {
    const r = record('/srv/a');
    expect(() =>
      new RootBuilder(1).addCanonical(pathToKey(r.path), canonicalRecord(pathToKey(r.path), r, 2)),
    ).toThrow(/format 1/);
  });

  it('format 1 does not cover the new fields, so only format 2 sees an edited capability', () => {
    const m = meta(1, { files: records.length });
    const edited = [records[0]!, { ...records[1]!, caps: presentValue(Buffer.from('02', 'hex')) }];
    expect(rootOf(1, edited, m).equals(rootOf(1, records, m))).toBe(true);
    expect(rootOf(2, edited, m).equals(rootOf(2, records, m))).toBe(false);
    // And no record set has the same root in both formats (their domains differ).
    expect(rootOf(1, records, m).equals(rootOf(2, records, m))).toBe(false);
  });

  it('format 3: directory parts hashed elsewhere give the root of the records; any edit, reorder or loss fails', () => {
    const tree = [
      record('/srv/a'),
      record('/srv/b'),
      record('/srv/d', { type: 'dir' }),
      record('/srv/d/x'),
      record('/srv/d/y'),
      record('/srv/e/z'),
    ];
    const m = meta(1, { files: tree.length, format: 3 });
    const parts = (rs: FileRecord[]) => {
      const out: DirPart[] = [];
      const runs = rootRuns((p) => out.push(p));
      for (const r of rs) runs.add(pathToKey(r.path), r);
      runs.flush();
      return out;
    };
    const fromParts = (ps: DirPart[]) => {
      const root = new RootBuilder(3);
      for (const p of ps) root.addPart(p);
      expect(root.records).toBe(ps.reduce((n, p) => n + p.count, 0));
      return root.finish(m);
    };
    const ps = parts(tree);
    expect(ps.map((p) => p.count)).toEqual([3, 2, 1]);
    const whole = rootOf(3, tree, m);
    expect(fromParts(ps).equals(whole)).toBe(true);
    // Parts and records mixed, a directory at a time, still agree (the daemon's merge does this).
    const mixed = new RootBuilder(3);
    mixed.addPart(ps[0]!);
    for (const r of tree.slice(3, 5)) mixed.add(pathToKey(r.path), r);
    mixed.addPart(ps[2]!);
    expect(mixed.finish(m).equals(whole)).toBe(true);
    // A record edited inside one part, a part dropped, parts swapped: never the same root.
    const edited = parts([...tree.slice(0, 3), { ...tree[3]!, mode: 0o777 }, ...tree.slice(4)]);
    expect(fromParts(edited).equals(whole)).toBe(false);
    expect(fromParts([ps[0]!, ps[2]!]).equals(whole)).toBe(false);
    const swapped = new RootBuilder(3);
    swapped.addPart(ps[1]!);
    expect(() => swapped.addPart(ps[0]!)).toThrow(/out of code order/);
    // And format 3 is not format 2 over the same records.
    expect(whole.equals(rootOf(2, tree, m))).toBe(false);
  });
});
