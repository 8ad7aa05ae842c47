/** The daemon's reported set (src/store/reported.ts). */
import { describe, expect, it } from 'vitest';
import { pathToKey } from '../../../src/path-key.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';

const key = (p: string | Buffer) => pathToKey(Buffer.isBuffer(p) ? p : Buffer.from(p));
const SIG_A = 'ab'.repeat(32);
const SIG_B = 'cd'.repeat(32);

describe('reported set', () => {
  it('remembers per baseline what was alerted, by key bytes, and replaces an entry', async () => {
    await using sb = new Sandbox('fim-store-reported-');
    const s = Store.open(sb.db, { create: true });
    const odd = Buffer.from([0x2f, 0xff]);
    s.setReported(1, key('/a'), SIG_A, 7);
    s.setReported(1, key(odd), SIG_A, null);
    s.setReported(2, key('/b'), SIG_B, 8);
    s.setReported(1, key('/a'), SIG_B, 9);
    const got = s.reported(1);
    expect(got).toEqual(
      new Map([
        [key('/a').toString('latin1'), { sig: SIG_B, finding: 9 }],
        [key(odd).toString('latin1'), { sig: SIG_A, finding: null }],
      ]),
    );
    // The latin1 string gives the exact key bytes back.
    expect([...got.keys()].map((k) => Buffer.from(k, 'latin1'))).toContainEqual(key(odd));
    s.clearReported(1, key('/a'));
    expect([...s.reported(1).keys()]).toEqual([key(odd).toString('latin1')]);
    expect(s.reported(3).size).toBe(0);
    s.close();
  });

  it('moves open findings to a new baseline and forgets the older baselines', async () => {
    await using sb = new Sandbox('fim-store-reported-');
    const s = Store.open(sb.db, { create: true });
    s.setReported(1, key('/old'), SIG_A, 1);
    s.setReported(2, key('/a'), SIG_A, 2);
    s.setReported(3, key('/a'), SIG_B, 3);
    s.setReported(3, key('/new'), SIG_B, 4);
    s.moveReported(2, 3);
    expect(s.reported(1).size).toBe(0);
    expect(s.reported(2).size).toBe(0);
    // The moved row replaces the new baseline's row for the same key.
    expect(s.reported(3)).toEqual(
      new Map([
        [key('/a').toString('latin1'), { sig: SIG_A, finding: 2 }],
        [key('/new').toString('latin1'), { sig: SIG_B, finding: 4 }],
      ]),
    );
    s.close();
  });
});
