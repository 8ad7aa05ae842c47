/**
 * A baseline and a check over a real SQLite file with the walk split over `workers` threads
 * (ops/split-scan.ts; 1 is one walk), for the tests that compare the two. They run from dist/: a
 * worker thread loads the built modules (`npm test` builds first).
 */
import { join } from 'node:path';
import type { Policy } from '../../src/policy/policy.js';
import type { Finding } from '../../src/types.js';
import { ROOT } from './fim.js';

const dist = async <T>(p: string): Promise<T> => (await import(join(ROOT, 'dist', p))) as T;
const { createBaseline } = await dist<typeof import('../../src/ops/baseline.js')>('ops/baseline.js');
const { runCheck } = await dist<typeof import('../../src/ops/check.js')>('ops/check.js');
const { Store } = await dist<typeof import('../../src/store/store.js')>('store/store.js');

/** A new baseline of `policy` in `db` (created if need be), split over `workers` threads. */
export function baselineWith(db: string, policy: Policy, workers: number, label = `w${workers}`) {
  const store = Store.open(db, { create: true });
  try {
    return createBaseline({ store, policy, host: 'h', label, workers, awaitWorkers: true });
  } finally {
    store.close();
  }
}

/**
 * A check of `db`'s baseline split over `workers` threads, as comparable text: each finding's kind,
 * path bytes (hex) and changed attributes, in the order they came; each error's path and code.
 */
export function checkWith(
  db: string,
  policy: Policy,
  workers: number,
  o: { fast?: boolean; stream?: boolean } = {},
) {
  const store = Store.open(db);
  try {
    const streamed: Finding[] = [];
    const r = runCheck({
      store,
      policy,
      workers,
      awaitWorkers: true,
      fast: o.fast ?? false,
      ...(o.stream ? { onFinding: (f: Finding) => void streamed.push(f) } : {}),
    });
    return {
      findings: (o.stream ? streamed : r.findings).map(
        (f) => `${f.kind} ${f.path.toString('hex')} ${f.changes.map((c) => c.attribute).join(',')}`,
      ),
      errors: r.errors.map((e) => `${e.path.toString('hex')} ${e.code}`),
      notes: r.notes,
      exitCode: r.exitCode,
      scanned: r.stats.recorded,
    };
  } finally {
    store.close();
  }
}
