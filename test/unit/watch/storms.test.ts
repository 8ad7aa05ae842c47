/** A deploy's storm: which findings one signed summary stands for, and which are always alerted alone. */
import { describe, expect, it } from 'vitest';
import type { Explanation, Finding } from '../../../src/types.js';
import { deployStorms, STORM_MIN } from '../../../src/watch/reporter.js';
import { fileRecord } from '../../helpers/records.js';

const expl = (over: Partial<Explanation> = {}): Explanation => ({
  source: 'deploy',
  strength: 'signed-manifest',
  manifest: Buffer.from('/srv/app.manifest'),
  package: 'app',
  version: 'r2',
  verdict: 'matches',
  digest: 'blake3',
  ...over,
});
const finding = (i: number, explanation?: Explanation): Finding => ({
  kind: 'changed',
  path: Buffer.from(`/srv/app/f${i}.py`),
  rule: 'code',
  severity: 'medium',
  changes: [],
  record: fileRecord(`/srv/app/f${i}.py`),
  ...(explanation ? { explanation } : {}),
});

describe('deployStorms', () => {
  it(`takes ${STORM_MIN} or more findings one signed manifest explains, and counts what it does not`, () => {
    const fs = Array.from({ length: STORM_MIN }, (_, i) => finding(i, expl()));
    fs.push(
      finding(100, expl({ verdict: 'differs' })),
      finding(101, expl({ verdict: 'unlisted' })),
      finding(102),
    );
    const s = deployStorms(fs);
    expect([...s.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: STORM_MIN }, (_, i) => i));
    expect(s.get(0)?.unexplained).toBe(2);
  });

  it('is no storm one finding short of the threshold', () => {
    expect(deployStorms(Array.from({ length: STORM_MIN - 1 }, (_, i) => finding(i, expl()))).size).toBe(0);
  });

  it("never folds findings a RECORD or md5sums explains: those are the intruder's to write", () => {
    const pip = expl({ source: 'pip', strength: 'pip-record' });
    expect(deployStorms(Array.from({ length: 50 }, (_, i) => finding(i, pip))).size).toBe(0);
  });

  it('keeps two deploys apart', () => {
    const other = expl({ manifest: Buffer.from('/srv/other.manifest') });
    const fs = [
      ...Array.from({ length: STORM_MIN }, (_, i) => finding(i, expl())),
      ...Array.from({ length: STORM_MIN - 1 }, (_, i) => finding(100 + i, other)),
    ];
    expect(deployStorms(fs).size).toBe(STORM_MIN);
  });
});
