/**
 * Baselines and checks split over threads (ops/split-scan.ts) against the same on one thread, on a
 * real tree and a real SQLite file: the same records stored, the same deploy digest, roots that
 * verify either way, the same findings, errors and notes in the same order; an edited or deleted
 * record fails the split check's root as it fails one walk's; and no descriptor is left open. It
 * runs from dist/ (a worker thread loads the built module): `npm test` builds first.
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, Sandbox } from '../../helpers/fim.js';
import { checkWith } from '../../helpers/split.js';

const dist = async <T>(p: string): Promise<T> => (await import(join(ROOT, 'dist', p))) as T;
const { createBaseline, deployDigestOf, verifyBaseline } =
  await dist<typeof import('../../../src/ops/baseline.js')>('ops/baseline.js');
const { splitScan } = await dist<typeof import('../../../src/ops/split-scan.js')>('ops/split-scan.js');
const { loadPolicies } = await dist<typeof import('../../../src/policy/policy.js')>('policy/policy.js');
const { Store } = await dist<typeof import('../../../src/store/store.js')>('store/store.js');
const errors = await dist<typeof import('../../../src/errors.js')>('errors.js');

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox('fim-split-scan-');
});
afterEach(async () => {
  await sb[Symbol.asyncDispose]();
});

/** 4 levels of 4 directories, 5 files each, and a few odd entries. */
function grow(rel: string, depth: number): void {
  for (let f = 0; f < 5; f++) sb.write(`${rel}/f${f}.py`, `${rel} ${f}\n`.repeat(f * 40 + 1));
  if (depth === 0) return;
  for (let d = 0; d < 4; d++) grow(`${rel}/d${d}`, depth - 1);
}

function setUp(): void {
  grow('srv', 3);
  symlinkSync('f0.py', sb.path('srv/d1/link'));
  sb.policy(
    `  - name: code\n    severity: high\n    paths: ["{tree}/srv"]\n    check: readonly\n    exclude: ["{tree}/srv/d3/d3"]\n  - name: missing\n    paths: ["{tree}/nope"]\n    check: readonly\n`,
  );
}

const policy = () => loadPolicies([sb.policyFile]);

function baseline(workers: number, db = sb.db) {
  const store = Store.open(db, { create: true });
  try {
    const r = createBaseline({
      store,
      policy: policy(),
      host: 'h',
      label: `w${workers}`,
      workers,
      awaitWorkers: true,
    });
    const records = [...store.records(r.meta.id)].map(
      (x) => `${x.key.toString('hex')} ${JSON.stringify(x.record, big)}`,
    );
    return { r, records, deploy: deployDigestOf(store, r.meta) };
  } finally {
    store.close();
  }
}

/** A check of the sandbox's baseline over `workers` threads, as comparable text (helpers/split.ts). */
const check = (workers: number, o: { fast?: boolean; stream?: boolean } = {}) =>
  checkWith(sb.db, policy(), workers, o);

function big(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return v;
  return v;
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('a scan split over threads', () => {
  it('hands subtrees to its workers: more than one unit walks the tree', () => {
    setUp();
    const units: number[] = [];
    for (const workers of [2, 3]) {
      const r = splitScan({
        mode: 'baseline',
        workers,
        policy: policy(),
        fast: false,
        awaitWorkers: true,
        onItem: () => {},
      });
      units.push(r.units);
      expect(r.stats.recorded).toBeGreaterThan(400);
    }
    expect(Math.min(...units)).toBeGreaterThan(1);
  });

  it('reports progress from every thread, ending at the totals', () => {
    setUp();
    const seen: number[] = [];
    const r = splitScan({
      mode: 'baseline',
      workers: 2,
      policy: policy(),
      fast: false,
      awaitWorkers: true,
      onItem: () => {},
      onProgress: (s) => void seen.push(s.recorded),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(r.stats.recorded);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it('stores the records one walk stores, with the same deploy digest, and each root verifies either way', () => {
    setUp();
    const before = openFds();
    const one = baseline(1, join(sb.dir, 'one.db'));
    const two = baseline(2);
    const three = baseline(3, join(sb.dir, 'three.db'));
    expect(two.records).toEqual(one.records);
    expect(three.records).toEqual(one.records);
    expect(two.r.meta.files).toBe(one.r.meta.files);
    expect(two.r.deploy).toBe(one.r.deploy);
    expect(three.r.deploy).toBe(one.r.deploy);
    // The deploy digest read back from the stored records is the one the split scan made.
    expect(two.deploy).toBe(two.r.deploy);
    expect(two.r.errors.map((e) => e.path.toString())).toEqual(one.r.errors.map((e) => e.path.toString()));
    expect(two.r.missing).toEqual(one.r.missing);
    const store = Store.open(sb.db);
    // Verified record by record on one thread, and by a split check (clean, exit 0).
    expect(() => verifyBaseline(store, store.requireBaseline())).not.toThrow();
    store.close();
    expect(check(2).exitCode).toBe(0);
    expect(check(1).exitCode).toBe(0);
    expect(openFds()).toBe(before);
  });

  it('finds what one walk finds, in the same order, full, --fast and streamed', () => {
    setUp();
    baseline(1);
    // Changes spread over the tree, so that every unit has some.
    sb.write('srv/d0/d0/d0/f1.py', 'edited\n');
    sb.write('srv/d2/d3/new.py', 'new\n');
    unlinkSync(sb.path('srv/d1/d2/f3.py'));
    rmSync(sb.path('srv/d3/d1'), { recursive: true });
    mkdirSync(sb.path('srv/d1/added/deeper'), { recursive: true });
    writeFileSync(sb.path('srv/d1/added/deeper/x.py'), 'x');
    chmodSync(sb.path('srv/d2/d2/f0.py'), 0o600);
    unlinkSync(sb.path('srv/d1/link'));
    symlinkSync('f1.py', sb.path('srv/d1/link'));
    const one = check(1);
    expect(one.findings.length).toBeGreaterThan(20);
    for (const workers of [2, 3]) {
      expect(check(workers)).toEqual(one);
      expect(check(workers, { fast: true })).toEqual(check(1, { fast: true }));
      expect(check(workers, { stream: true })).toEqual(check(1, { stream: true }));
    }
  });

  it('fails its root on a record edited or deleted anywhere, as one walk does', () => {
    setUp();
    baseline(2);
    const store = Store.open(sb.db);
    const id = store.requireBaseline().id;
    const deep = store.db
      .prepare('SELECT dir, name FROM record WHERE baseline = ? AND name = ? ORDER BY dir DESC LIMIT 1')
      .get(id, Buffer.from('f2.py')) as { dir: bigint; name: Buffer };
    store.db
      .prepare('UPDATE record SET mode = mode + 1 WHERE baseline = ? AND dir = ? AND name = ?')
      .run(id, deep.dir, deep.name);
    store.close();
    for (const workers of [1, 2]) expect(() => check(workers)).toThrow(errors.BaselineIntegrityError);
    const s2 = Store.open(sb.db);
    s2.db
      .prepare('UPDATE record SET mode = mode - 1 WHERE baseline = ? AND dir = ? AND name = ?')
      .run(id, deep.dir, deep.name);
    expect(check(2).exitCode).toBe(0);
    s2.db
      .prepare('DELETE FROM record WHERE baseline = ? AND dir = ? AND name = ?')
      .run(id, deep.dir, deep.name);
    s2.close();
    for (const workers of [1, 2]) expect(() => check(workers)).toThrow(errors.BaselineIntegrityError);
  });
});
