/**
 * A check reads its baseline in one snapshot. A streamed check verifies the whole baseline first
 * and then compares with it: a row an intruder edits between the two reads must not be compared,
 * since it was never verified. So the check's reads (the metadata, the verification, the
 * comparison) run in one read transaction, and a read transaction sees none of what another
 * connection commits while it is open.
 */
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../../src/ops/check.js';
import { dirCode } from '../../../src/path-key.js';
import { loadPolicies } from '../../../src/policy/policy.js';
import { Store } from '../../../src/store/store.js';
import type { Finding } from '../../../src/types.js';
import { Sandbox } from '../../helpers/fim.js';

describe('a check and its baseline', () => {
  it('a read transaction sees none of what another connection commits meanwhile', async () => {
    await using sb = new Sandbox('fim-read-tx-');
    sb.write('a.txt', 'A\n');
    sb.policy(`  - name: t\n    paths: ["{tree}"]\n    check: readonly\n`);
    expect(sb.fim(['baseline']).code).toBe(0);
    const store = Store.open(sb.db);
    const intruder = Store.open(sb.db);
    const modes = () => store.db.prepare('SELECT sum(mode) AS m FROM record').get() as { m: bigint };
    const before = modes().m;
    store.readTransaction(() => {
      expect(modes().m).toBe(before);
      intruder.db.prepare('UPDATE record SET mode = mode + 1').run();
      expect(modes().m).toBe(before);
      // Nested: runs in the open one.
      store.readTransaction(() => expect(modes().m).toBe(before));
    });
    expect(modes().m).not.toBe(before);
    intruder.close();
    store.close();
  });

  it('compares the rows it verified, whatever is committed while it runs', async () => {
    await using sb = new Sandbox('fim-check-snapshot-');
    sb.write('a/a.txt', 'A\n');
    sb.write('zz/z.txt', 'Z\n');
    sb.policy(`  - name: t\n    paths: ["{tree}"]\n    check: readonly\n`);
    expect(sb.fim(['baseline']).code).toBe(0);
    sb.write('a/a.txt', 'changed\n');

    const store = Store.open(sb.db);
    const intruder = Store.open(sb.db);
    const id = store.requireBaseline().id;
    const edit = intruder.db.prepare(
      'UPDATE record SET mode = 511 WHERE baseline = ? AND name = ? AND dir = (SELECT id FROM dir WHERE baseline = ? AND code = ?)',
    );
    const seen: Finding[] = [];
    let edited = 0;
    const inTx: boolean[] = [];
    try {
      runCheck({
        store,
        policy: loadPolicies([sb.policyFile]),
        // Called as the verification starts: inside the check's one read transaction.
        verifySignature: () => void inTx.push(store.db.inTransaction),
        onFinding: (f) => {
          inTx.push(store.db.inTransaction);
          seen.push(f);
          // At the first finding (a.txt), the baseline's row of z.txt, not yet compared, is edited.
          if (seen.length === 1) {
            const code = dirCode(Buffer.from(sb.path('zz')));
            edited = edit.run(id, Buffer.from('z.txt'), id, code).changes;
          }
        },
      });
    } finally {
      intruder.close();
      store.close();
    }
    expect(edited).toBe(1);
    expect(inTx.length).toBeGreaterThan(1);
    expect(inTx.every(Boolean)).toBe(true);
    const paths = seen.map((f) => f.path.toString());
    expect(paths).toContain(sb.path('a/a.txt'));
    // The edit came after the verification: the comparison did not see it.
    expect(paths).not.toContain(sb.path('zz/z.txt'));
  });
});
