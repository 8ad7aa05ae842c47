/** Baseline metadata (src/store/baselines.ts) through the Store façade. */
import { describe, expect, it } from 'vitest';
import { NoBaselineError } from '../../../src/errors.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';
import { meta } from './fixture.js';

describe('baselines', () => {
  it('an empty database has no baseline', async () => {
    await using sb = new Sandbox('fim-store-baselines-');
    const s = Store.open(sb.db, { create: true });
    expect(s.latestBaseline()).toBeUndefined();
    expect(s.latestBaselineId()).toBeNull();
    expect(s.nextBaselineId()).toBe(1);
    expect(() => s.requireBaseline()).toThrow(NoBaselineError);
    s.close();
  });

  it('stores metadata and reads back every field exactly; the newest is the latest', async () => {
    await using sb = new Sandbox('fim-store-baselines-');
    const s = Store.open(sb.db, { create: true });
    const first = meta(1, { files: 3, bytes: 2n ** 60n, createdNs: 2n ** 62n + 7n });
    const second = meta(2, {
      signature: 'v1:epoch=3:c2lnbmF0dXJl',
      label: 'deploy-1234 ünïcode',
      reason: 'accept',
      policyHash: Buffer.alloc(32, 0xfe),
    });
    s.transaction(() => {
      s.insertBaselineMeta(first);
      s.insertBaselineMeta(second);
    });
    s.close();
    const again = Store.open(sb.db, { readonly: true });
    expect(again.baseline(1)).toEqual(first);
    expect(again.baseline(2)).toEqual(second);
    expect(again.baseline(3)).toBeUndefined();
    expect(again.latestBaseline()).toEqual(second);
    expect(again.requireBaseline()).toEqual(second);
    expect(again.latestBaselineId()).toBe(2);
    expect(again.nextBaselineId()).toBe(3);
    again.close();
  });

  it('the next id follows the highest, not the count (ids are never reused)', async () => {
    await using sb = new Sandbox('fim-store-baselines-');
    const s = Store.open(sb.db, { create: true });
    s.transaction(() => s.insertBaselineMeta(meta(5)));
    expect(s.nextBaselineId()).toBe(6);
    s.close();
  });
});
