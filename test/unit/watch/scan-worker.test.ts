/**
 * The daemon's scan worker is started for a full check and stopped once idle, so its V8 heap is
 * not part of the daemon's memory between checks. It runs from dist/ (a worker thread loads the
 * built module, not the TypeScript source): `npm test` builds first.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirCode } from '../../../src/path-key.js';
import { ROOT, Sandbox } from '../../helpers/fim.js';
import { waitFor } from '../../helpers/wait.js';

const { ScanWorker } = (await import(
  join(ROOT, 'dist/watch/scan-worker.js')
)) as typeof import('../../../src/watch/scan-worker.js');
const { Store } = (await import(
  join(ROOT, 'dist/store/store.js')
)) as typeof import('../../../src/store/store.js');
// The classes the built worker throws (the same module instances the built ScanWorker imports).
const errors = (await import(join(ROOT, 'dist/errors.js'))) as typeof import('../../../src/errors.js');

describe('ScanWorker', () => {
  let sb: Sandbox;
  let baselineId: number;
  const request = () => ({
    baselineId,
    policyFiles: [sb.policyFile],
    policyHash: createHash('sha256').update(readFileSync(sb.policyFile)).digest('hex'),
    fast: false,
  });

  beforeAll(() => {
    sb = new Sandbox('fim-scan-worker-');
    sb.write('app/a.py', 'A\n');
    sb.write('app/b.py', 'B\n');
    sb.policy(`  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n`);
    expect(sb.fim(['baseline']).code).toBe(0);
    const store = Store.open(sb.db, { readonly: true });
    baselineId = store.requireBaseline().id;
    store.close();
  });
  afterAll(() => sb.cleanup());

  it('runs a compare, stops when idle, and starts again for the next one', async () => {
    const w = new ScanWorker(sb.db, 150);
    try {
      sb.write('app/b.py', 'changed\n');
      const first = await w.compare(request());
      expect(first.findings.map((f) => f.path.toString())).toEqual([sb.path('app/b.py')]);
      expect(w.running).toBe(true);
      await waitFor(() => !w.running, { what: 'the idle worker to stop', timeoutMs: 600 });
      sb.write('app/c.py', 'new\n');
      const second = await w.compare(request());
      expect(second.findings.map((f) => `${f.kind} ${f.path}`).sort()).toEqual([
        `added ${sb.path('app/c.py')}`,
        `changed ${sb.path('app')}`,
        `changed ${sb.path('app/b.py')}`,
      ]);
      expect(w.running).toBe(true);
    } finally {
      await w.close();
    }
    expect(w.running).toBe(false);
  });

  it('requests made back to back share one worker and are answered in order', async () => {
    const w = new ScanWorker(sb.db, 150);
    try {
      const rs = await Promise.all([w.compare(request()), w.compare(request()), w.compare(request())]);
      expect(rs.map((r) => r.stats.recorded)).toEqual([
        rs[0]!.stats.recorded,
        rs[0]!.stats.recorded,
        rs[0]!.stats.recorded,
      ]);
      expect(rs[0]!.stats.recorded).toBeGreaterThan(0);
    } finally {
      await w.close();
    }
  });

  it('streams findings in batches, in scan order, with at most a few batches ahead of the handler', async () => {
    for (let i = 0; i < 12; i++) sb.write(`app/s/f${String(i).padStart(2, '0')}.py`, `${i}\n`);
    const w = new ScanWorker(sb.db, 150);
    try {
      const batches: string[][] = [];
      const left: number[] = [];
      const r = await w.compare({ ...request(), batch: 2 }, (fs) => {
        batches.push(fs.map((f) => `${f.kind} ${f.path}`));
        left.push(w.creditsLeft);
        // A slow handler (the first one very slow, so the worker surely runs ahead meanwhile): the
        // worker must wait for it rather than queue everything.
        const until = Date.now() + (batches.length === 1 ? 300 : 20);
        while (Date.now() < until);
      });
      expect(r.findings).toEqual([]);
      // The worker ran ahead until its credits were used up (0 left), never beyond them: this
      // batch's own credit is not back yet when its handler runs, so at most 3 of 4 remain.
      expect(batches.length).toBeGreaterThanOrEqual(6);
      expect(Math.min(...left)).toBe(0);
      expect(Math.max(...left)).toBeLessThanOrEqual(3);
      expect(batches.every((b) => b.length <= 2)).toBe(true);
      const all = batches.flat();
      for (let i = 0; i < 12; i++)
        expect(all).toContain(`added ${sb.path(`app/s/f${String(i).padStart(2, '0')}.py`)}`);
      // Walk order: a directory's entries by name, so f00..f11 arrive in order.
      const streamed = all.filter((x) => x.includes('/app/s/f'));
      expect(streamed).toEqual([...streamed].sort());
      expect(r.stats.recorded).toBeGreaterThan(12);
    } finally {
      await w.close();
    }
  });

  it('a typed error thrown in the worker arrives as the same class, with its exit code and message', async () => {
    const broken = join(sb.dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\nrules:\n  - name: x\n    pahts: [/x]\n');
    const w = new ScanWorker(sb.db, 150);
    try {
      const err: unknown = await w
        .compare({ ...request(), policyFiles: [broken], policyHash: 'broken' })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(errors.PolicyError);
      const pe = err as InstanceType<typeof errors.PolicyError>;
      expect(pe.exitCode).toBe(errors.ExitCode.usage);
      expect(pe.message).toMatch(/broken\.yaml:4:5: .*"pahts"/);
      expect(pe.problems.length).toBeGreaterThan(0);
      // The worker survives its request's error and answers the next one.
      expect((await w.compare(request())).stats.recorded).toBeGreaterThan(0);
    } finally {
      await w.close();
    }
  });

  it('a database the worker cannot open is a StorageError with its cause, not an internal error', async () => {
    const bad = join(sb.dir, 'not-a.db');
    writeFileSync(
      bad,
      'this is not SQLite, just text that is long enough to be read as a header\n'.repeat(20),
    );
    const w = new ScanWorker(bad, 150);
    try {
      const err: unknown = await w.compare(request()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(errors.StorageError);
      const se = err as InstanceType<typeof errors.StorageError>;
      expect(se.exitCode).toBe(errors.ExitCode.storage);
      expect(se.message).toContain('not-a.db');
      expect(se.cause).toBeInstanceOf(Error);
      expect((se.cause as Error).message).toMatch(/not a database/);
    } finally {
      await w.close();
    }
  });
});

describe('ScanWorker, a full check against its baseline', () => {
  // The verification and the comparison share one read transaction (scan-worker.ts). This test
  // shows the comparison's half: an edit committed while it runs is not seen, and the next
  // verification refuses it. The gap between the two reads cannot be hit from outside the worker;
  // runCheck's test (ops/check-snapshot.test.ts) checks that both run in the transaction.
  it('compares the rows it verified, whatever another connection commits while it compares', async () => {
    await using sb = new Sandbox('fim-scan-worker-snapshot-');
    for (let i = 0; i < 12; i++) sb.write(`app/f${String(i).padStart(2, '0')}.py`, `${i}\n`);
    sb.write('zz/z.txt', 'Z\n');
    sb.policy(`  - name: code\n    severity: high\n    paths: ["{tree}"]\n    check: readonly\n`);
    expect(sb.fim(['baseline']).code).toBe(0);
    for (let i = 0; i < 12; i++) sb.write(`app/f${String(i).padStart(2, '0')}.py`, `changed ${i}\n`);
    const reader = Store.open(sb.db, { readonly: true });
    const meta = reader.requireBaseline();
    reader.close();
    const intruder = Store.open(sb.db);
    const code = dirCode(Buffer.from(sb.path('zz')));
    const edit = intruder.db.prepare(
      'UPDATE record SET mode = 511 WHERE baseline = ? AND name = ? AND dir = (SELECT id FROM dir WHERE baseline = ? AND code = ?)',
    );
    const req = {
      baselineId: meta.id,
      policyFiles: [sb.policyFile],
      policyHash: createHash('sha256').update(readFileSync(sb.policyFile)).digest('hex'),
      fast: false,
      verify: meta,
      batch: 1,
    };
    const w = new ScanWorker(sb.db, 150);
    try {
      const seen: string[] = [];
      let edited = 0;
      await w.compare(req, (fs) => {
        // At the first batch the worker is at most a few findings ahead (its credits): the
        // baseline's row of zz/z.txt, verified but not yet compared, is edited.
        if (seen.length === 0) edited = edit.run(meta.id, Buffer.from('z.txt'), meta.id, code).changes;
        for (const f of fs) seen.push(`${f.kind} ${f.path}`);
      });
      expect(edited).toBe(1);
      expect(seen).toContain(`changed ${sb.path('app/f11.py')}`);
      expect(seen.filter((s) => s.includes('z.txt'))).toEqual([]);
      // The edit is real: the next full check's verification refuses the baseline.
      const err: unknown = await w.compare(req).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(errors.BaselineIntegrityError);
    } finally {
      await w.close();
      intruder.close();
    }
  });
});
