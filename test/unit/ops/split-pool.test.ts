/**
 * A split scan's worker threads that cannot start (ops/split-pool.ts): one that cannot be created
 * gives no pool (the command walks on one thread); one that dies while it loads never joins, and
 * the walk, which started without waiting for it, finds what one thread finds, with no uncaught
 * error left behind. Runs from dist/ (the real workers load the built modules).
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/types.js';
import { ROOT, Sandbox } from '../../helpers/fim.js';
import { baselineWith, checkWith } from '../../helpers/split.js';

const dist = async <T>(p: string): Promise<T> => (await import(join(ROOT, 'dist', p))) as T;
const { SplitPool } = await dist<typeof import('../../../src/ops/split-pool.js')>('ops/split-pool.js');
const { createBaseline, deployDigestOf } =
  await dist<typeof import('../../../src/ops/baseline.js')>('ops/baseline.js');
const { runCheck } = await dist<typeof import('../../../src/ops/check.js')>('ops/check.js');
const { loadPolicies } = await dist<typeof import('../../../src/policy/policy.js')>('policy/policy.js');
const { Store } = await dist<typeof import('../../../src/store/store.js')>('store/store.js');

/** A worker script that throws while it loads, as one whose modules are missing would. */
const DIES_LOADING = new URL('data:text/javascript,throw new Error("a module is missing")');

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox('fim-split-pool-');
  for (let d = 0; d < 6; d++) for (let f = 0; f < 30; f++) sb.write(`srv/d${d}/s/f${f}.py`, `${d} ${f}\n`);
  sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/srv"]\n    check: readonly\n');
});
afterEach(async () => {
  await sb[Symbol.asyncDispose]();
});

const policy = () => loadPolicies([sb.policyFile]);

describe('split-scan workers that cannot start', () => {
  it('a worker that cannot be created gives no pool: the scan is left to one thread', () => {
    expect(SplitPool.start(2, new URL('https://example.invalid/split-worker.js'))).toBeNull();
    expect(SplitPool.start(1)).toBeNull();
  });

  it('a worker that dies while it loads never joins: baseline and check find what one thread finds', async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => void errors.push(e);
    process.on('uncaughtException', onError);
    try {
      const one = join(sb.dir, 'one.db');
      const alone = baselineWith(one, policy(), 1);
      const aloneStore = Store.open(one);
      const aloneDeploy = deployDigestOf(aloneStore, alone.meta);
      aloneStore.close();
      const store = Store.open(sb.db, { create: true });
      try {
        const pool = SplitPool.start(3, DIES_LOADING);
        expect(pool).not.toBeNull();
        const made = createBaseline({ store, policy: policy(), host: 'h', label: 'w1', workers: 3, pool });
        expect(made.meta.files).toBe(alone.meta.files);
        // The same records: the deploy digest is theirs alone (the root also covers when and where).
        expect(deployDigestOf(store, made.meta)).toEqual(aloneDeploy);
      } finally {
        store.close();
      }
      sb.write('srv/d2/s/f3.py', 'edited\n');
      unlinkSync(sb.path('srv/d4/s/f9.py'));
      const reader = Store.open(sb.db);
      let split: string[];
      try {
        const streamed: Finding[] = [];
        const r = runCheck({
          store: reader,
          policy: policy(),
          workers: 3,
          pool: SplitPool.start(3, DIES_LOADING),
          onFinding: (f) => void streamed.push(f),
        });
        expect(r.exitCode).toBe(2 | 4);
        split = streamed.map(
          (f) => `${f.kind} ${f.path.toString('hex')} ${f.changes.map((c) => c.attribute)}`,
        );
      } finally {
        reader.close();
      }
      expect(split).toEqual(checkWith(one, policy(), 1, { stream: true }).findings);
      // The dead workers' error events were heard, never thrown.
      await new Promise((r) => setTimeout(r, 100));
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
