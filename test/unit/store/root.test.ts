/**
 * The baseline root across formats: a baseline keeps the format its root was made in and verifies
 * in it (an upgraded fim still trusts the baselines it made before), and no edit of the format
 * makes an edited baseline pass.
 */
import { describe, expect, it } from 'vitest';
import { BaselineIntegrityError } from '../../../src/errors.js';
import { presentValue } from '../../../src/extended/value.js';
import { verifyBaseline } from '../../../src/ops/baseline.js';
import { pathToKey } from '../../../src/path-key.js';
import { RootBuilder } from '../../../src/store/root.js';
import { Store } from '../../../src/store/store.js';
import type { FileRecord } from '../../../src/types.js';
import { Sandbox } from '../../helpers/fim.js';
import { meta, record, writeBaseline } from './fixture.js';

function rootOf(format: 1 | 2, records: FileRecord[], m: ReturnType<typeof meta>): Buffer {
  const root = new RootBuilder(format);
  for (const r of [...records].sort((a, b) => Buffer.compare(pathToKey(a.path), pathToKey(b.path))))
    root.add(pathToKey(r.path), r);
  return root.finish(m);
}

describe('root formats', () => {
  const records = [record('/srv/a'), record('/srv/b', { caps: presentValue(Buffer.from('01', 'hex')) })];

  it.each([1, 2] as const)(
    'a baseline made in format %i verifies in it, and not in the other',
    async (format) => {
      await using sb = new Sandbox('fim-root-');
      const s = Store.open(sb.db, { create: true });
      const m = meta(1, { files: records.length, format });
      m.root = rootOf(format, records, m);
      writeBaseline(s, records, m);
      const stored = s.latestBaseline()!;
      expect(stored.format).toBe(format);
      expect(() => verifyBaseline(s, stored)).not.toThrow();
      const other = format === 1 ? 2 : 1;
      expect(() => verifyBaseline(s, { ...stored, format: other })).toThrow(BaselineIntegrityError);
      s.close();
    },
  );

  it('format 1 does not cover the new fields, so only format 2 sees an edited capability', () => {
    const m = meta(1, { files: records.length });
    const edited = [records[0]!, { ...records[1]!, caps: presentValue(Buffer.from('02', 'hex')) }];
    expect(rootOf(1, edited, m).equals(rootOf(1, records, m))).toBe(true);
    expect(rootOf(2, edited, m).equals(rootOf(2, records, m))).toBe(false);
    // And no record set has the same root in both formats (their domains differ).
    expect(rootOf(1, records, m).equals(rootOf(2, records, m))).toBe(false);
  });
});
