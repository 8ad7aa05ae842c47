/** createBaseline: what it announces is what it stored. */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBaseline, deployDigestOf } from '../../../src/ops/baseline.js';
import { parsePolicyText } from '../../../src/policy/policy.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';

describe('createBaseline', () => {
  it("gives the deploy digest of the records it stored, from the scan's own pass", async () => {
    await using sb = new Sandbox();
    for (const p of ['app/a.py', 'app/sub/b.py', 'app/sub/c', 'etc/k.pem']) sb.write(p, `${p}\n`);
    symlinkSync('a.py', sb.path('app/link'));
    const text = `version: 1\nrules:\n  - name: t\n    paths: ["${sb.tree}"]\n    check: readonly\n`;
    const policy = { rules: parsePolicyText('p.yaml', text).rules, files: [], hash: Buffer.alloc(32, 3) };
    const store = Store.open(join(sb.dir, 'd.db'), { create: true });
    try {
      const r = createBaseline({ store, policy, host: 'h', label: 'l' });
      expect(r.meta.files).toBeGreaterThan(6);
      expect(r.deploy).toMatch(/^[0-9a-f]{64}$/);
      expect(r.deploy).toBe(deployDigestOf(store, r.meta));
    } finally {
      store.close();
    }
  });
});
