/**
 * Hashing on the second core: the worker's digests are the in-place hasher's for every kind of
 * file (empty, small, large, sparse, SHA-256, growing prefixes), tickets come back in order, a
 * worker that has caught up with every posted job still takes the next, and a scan that hashes
 * ahead yields exactly the items, in exactly the order, of one that hashes in place. The worker
 * is a thread running the built module: these run from dist/ (`npm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, Sandbox } from '../../helpers/fim.js';

type AheadModule = typeof import('../../../src/hash/hash-ahead.js');
const { HashAhead, SLOTS, INTS, DONE } = (await import(join(ROOT, 'dist/hash/hash-ahead.js'))) as AheadModule;
const { FileHasher } = (await import(
  join(ROOT, 'dist/hash/hash-file.js')
)) as typeof import('../../../src/hash/hash-file.js');
const { scanTree } = (await import(
  join(ROOT, 'dist/scan/scan.js')
)) as typeof import('../../../src/scan/scan.js');
const { loadPolicies } = (await import(
  join(ROOT, 'dist/policy/policy.js')
)) as typeof import('../../../src/policy/policy.js');
const { RuleIndex } = (await import(
  join(ROOT, 'dist/policy/rule-index.js')
)) as typeof import('../../../src/policy/rule-index.js');

const { createBaseline } = (await import(
  join(ROOT, 'dist/ops/baseline.js')
)) as typeof import('../../../src/ops/baseline.js');
const { runCheck } = (await import(
  join(ROOT, 'dist/ops/check.js')
)) as typeof import('../../../src/ops/check.js');
const { Store } = (await import(
  join(ROOT, 'dist/store/store.js')
)) as typeof import('../../../src/store/store.js');

let sb: Sandbox;
beforeAll(() => {
  sb = new Sandbox('fim-hash-ahead-');
  sb.write('empty', '');
  sb.write('small', 'hello\n');
  writeFileSync(sb.path('big'), Buffer.alloc(5 << 20, 0x61));
  sb.write('sparse', '');
  execFileSync('truncate', ['-s', '64M', sb.path('sparse')]);
  writeFileSync(sb.path('sparse'), 'head', { flag: 'r+' });
});
afterAll(() => sb.cleanup());

describe('HashAhead', () => {
  it("gives the in-place hasher's digests, SHA-256 and prefixes included, in ticket order", () => {
    const ahead = HashAhead.start();
    expect(ahead).not.toBeNull();
    if (!ahead) return;
    const h = new FileHasher();
    const names = ['empty', 'small', 'big', 'sparse'];
    try {
      for (const prefix of [undefined, 0n, 3n, 1n << 20n]) {
        const pending = names.map((n) => {
          const p = h.begin(ahead, sb.path(n), lstatSync(sb.path(n), { bigint: true }), prefix, {
            sha256: true,
          });
          if (!('ticket' in p)) throw new Error(`not handed over: ${n}`);
          return p;
        });
        for (const [i, p] of pending.entries()) {
          const got = h.end(ahead, p);
          const want = h.hash(sb.path(names[i]!), lstatSync(sb.path(names[i]!), { bigint: true }), prefix, {
            sha256: true,
          });
          expect(got.ok && want.ok).toBe(true);
          if (!got.ok || !want.ok) return;
          expect(got.content.toString('hex')).toBe(want.content.toString('hex'));
          expect(got.sha256?.toString('hex')).toBe(want.sha256?.toString('hex'));
          expect(got.prefix).toEqual(want.prefix);
        }
      }
      expect(ahead.inFlight).toBe(0);
    } finally {
      ahead.close();
    }
  });

  it('starts no thread where the process may use one CPU only (taskset, a CPU quota)', () => {
    const probe = `import(${JSON.stringify(join(ROOT, 'dist/hash/hash-ahead.js'))}).then((m) => { const a = m.HashAhead.start(); console.log(a === null); a?.close(); })`;
    const one = execFileSync('taskset', ['-c', '0', process.execPath, '-e', probe], { encoding: 'utf8' });
    expect(one.trim()).toBe('true');
    const all = execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(all.trim()).toBe('false');
  });

  it('takes the next job after catching up with a full ring it has not been answered on', async () => {
    // The worker finishes all SLOTS jobs before the first is taken, so the slot of job SLOTS still
    // says DONE when it gets there: it must wait for the job, not take the slot for a stop.
    const ahead = HashAhead.start();
    if (!ahead) throw new Error('no worker');
    const h = new FileHasher();
    const st = lstatSync(sb.path('small'), { bigint: true });
    const begin = () => {
      const p = h.begin(ahead, sb.path('small'), st, undefined, {});
      if (!('ticket' in p)) throw new Error('not handed over');
      return p;
    };
    try {
      const ps = Array.from({ length: SLOTS }, begin);
      expect(ahead.full).toBe(true);
      const ints = (ahead as unknown as { s: { ints: Int32Array } }).s.ints;
      const deadline = Date.now() + 10_000;
      while (Array.from({ length: SLOTS }, (_, i) => Atomics.load(ints, i * INTS)).some((s) => s !== DONE)) {
        if (Date.now() > deadline) throw new Error('the worker did not finish the ring');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(h.end(ahead, ps.shift()!).ok).toBe(true);
      ps.push(begin());
      for (const p of ps) expect(h.end(ahead, p).ok).toBe(true);
    } finally {
      ahead.close();
    }
  }, 20_000);
});

describe('a scan that hashes ahead', () => {
  it('yields the items of a scan that hashes in place, in the same order', () => {
    const tree = sb.path('tree');
    for (let d = 0; d < 5; d++) {
      mkdirSync(join(tree, `d${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 3 * SLOTS; f++) sb.write(`tree/d${d}/f${f}.py`, `file ${d} ${f}\n`.repeat(f));
      symlinkSync('f1.py', join(tree, `d${d}`, 'link'));
      sb.write(`tree/d${d}/sub/log`, 'line\n');
    }
    execFileSync('mkfifo', [join(tree, 'fifo')]);
    writeFileSync(join(tree, 'd0', 'big'), Buffer.alloc(3 << 20, 1));
    sb.policy(
      [
        '  - name: code',
        '    severity: high',
        '    paths: ["{tree}/tree"]',
        '    check: readonly',
        '    hashes: [blake3, sha256]',
        '  - name: logs',
        '    severity: low',
        '    paths: ["{tree}/tree/d2/sub"]',
        '    check: growing',
        '  - name: missing',
        '    severity: low',
        '    paths: ["{tree}/tree/nowhere"]',
        '    check: readonly',
        '',
      ].join('\n'),
    );
    const index = new RuleIndex(loadPolicies([sb.policyFile]).rules);
    const run = (hashAhead: boolean) => {
      const out: string[] = [];
      const stats = scanTree({
        index,
        hashAhead,
        onItem: (item) =>
          out.push(
            `${item.kind} ${item.key.toString('hex')} ${item.kind === 'record' ? JSON.stringify(item.record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) : ''}`,
          ),
        onMissing: (path) => out.push(`missing ${path.toString('hex')}`),
      });
      return { out, stats };
    };
    const inPlace = run(false);
    const ahead = run(true);
    expect(ahead.out.length).toBeGreaterThan(5 * 3 * SLOTS);
    expect(ahead.out).toEqual(inPlace.out);
    expect(ahead.stats).toEqual(inPlace.stats);
    expect(inPlace.out.some((l) => l.startsWith('missing'))).toBe(true);
  });
});

describe('baseline and check that hash ahead', () => {
  /** Descriptors open on the tree (the workers' own, for their event loops, come and go). */
  const openFds = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(sb.path('cmp'));
      } catch {
        return false;
      }
    }).length;

  it('store the same baseline and find the same changes as in place, leaving no descriptor open', () => {
    const tree = sb.path('cmp');
    // Many small leaf directories (each closed while its files may still be hashing), a directory
    // wider than the ring, big files among small ones.
    for (let d = 0; d < 40; d++)
      for (let f = 0; f < 6; f++) sb.write(`cmp/leaf${d}/deep/f${f}`, `leaf ${d} ${f}\n`.repeat(d * f));
    for (let f = 0; f < 2 * SLOTS + 7; f++) sb.write(`cmp/wide/f${String(f).padStart(4, '0')}`, `w${f}`);
    writeFileSync(join(tree, 'wide', 'big'), Buffer.alloc(4 << 20, 7));
    sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/cmp"]\n    check: readonly\n');
    const policy = loadPolicies([sb.policyFile]);
    const fds = openFds();
    const roots = [false, true].map((hashAhead) => {
      const store = Store.open(join(sb.dir, `ahead-${hashAhead}.db`), { create: true });
      try {
        return createBaseline({ store, policy, host: 'h', label: 'l', hashAhead }).meta.files;
      } finally {
        store.close();
      }
    });
    expect(roots[1]).toBe(roots[0]);
    // Changes everywhere: contents, a removal, an addition, in the first, a middle and the last dirs.
    writeFileSync(join(tree, 'leaf0', 'deep', 'f1'), 'changed');
    writeFileSync(join(tree, 'leaf17', 'deep', 'f3'), 'changed');
    rmSync(join(tree, 'leaf25', 'deep', 'f2'));
    sb.write('cmp/leaf39/deep/new', 'new');
    writeFileSync(join(tree, 'wide', 'big'), Buffer.alloc(4 << 20, 8));
    writeFileSync(join(tree, 'wide', `f${String(SLOTS).padStart(4, '0')}`), 'changed');
    const found = [false, true].map((hashAhead) => {
      const store = Store.open(join(sb.dir, `ahead-${hashAhead}.db`));
      try {
        // Each check against the other's baseline as well: both baselines are the same records.
        return [false, true].map((ahead) =>
          runCheck({ store, policy, hashAhead: ahead })
            .findings.map(
              (f) => `${f.kind} ${f.path.toString()} ${f.changes?.map((c) => c.attribute).join(',') ?? ''}`,
            )
            .sort(),
        );
      } finally {
        store.close();
      }
    });
    // The six changes, and the mtimes of the two directories that lost and gained an entry.
    expect(found[0]![0]).toHaveLength(8);
    for (const run of found.flat()) expect(run).toEqual(found[0]![0]);
    expect(fds).toBe(0);
    expect(openFds()).toBe(0);
  });
});
