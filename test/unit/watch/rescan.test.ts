/**
 * Rescans: full checks never overlap and any number of requests during one make exactly one more
 * (with the latest reason); a failed run does not block the next; after a stop nothing more runs.
 * And the plan of an event rescan: the outermost deep places once, directories' entries in batches
 * that never nest, nothing under a deep place scanned twice.
 */
import { describe, expect, it } from 'vitest';
import { keyToPath, pathToKey } from '../../../src/path-key.js';
import type { DirtyPlace } from '../../../src/watch/dirty-set.js';
import { Coalescer, planRescan } from '../../../src/watch/rescan.js';
import { waitFor } from '../../helpers/wait.js';

/** A run that stays open until the test releases it. */
function gatedRuns() {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  const run = (reason: string) => {
    started.push(reason);
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<void>((resolve, reject) => {
      gates.push(() => {
        active--;
        if (reason.startsWith('fail')) reject(new Error(reason));
        else resolve();
      });
    });
  };
  /** Let the oldest open run finish. */
  const release = async () => {
    await waitFor(() => gates.length > 0, { what: 'a run to release', timeoutMs: 2000 });
    gates.shift()!();
  };
  return { run, started, release, maxActive: () => maxActive };
}

describe('Coalescer', () => {
  it('never runs two at once; many requests during a run make one more, with the latest reason', async () => {
    const g = gatedRuns();
    const c = new Coalescer(g.run, (err) => {
      throw err;
    });
    const first = c.request('start');
    expect(c.running).toBe(true);
    for (const r of ['periodic', 'reload', 'queue overflow']) await c.request(r); // resolve at once
    expect(g.started).toEqual(['start']);
    await g.release();
    await waitFor(() => g.started.length === 2, { what: 'the coalesced run', timeoutMs: 2000 });
    expect(g.started).toEqual(['start', 'queue overflow']);
    await g.release();
    await first;
    expect(c.running).toBe(false);
    expect(g.maxActive()).toBe(1);
    expect(g.started).toHaveLength(2);
  });

  it('a failed run is reported and does not block the next request', async () => {
    const g = gatedRuns();
    const errors: unknown[] = [];
    const c = new Coalescer(g.run, (err) => errors.push(err));
    const p = c.request('fail once');
    await g.release();
    await p;
    expect(errors.map((e) => (e as Error).message)).toEqual(['fail once']);
    expect(c.running).toBe(false);
    const q = c.request('after');
    await g.release();
    await q;
    expect(g.started).toEqual(['fail once', 'after']);
  });

  it('a request pending when the daemon stops is dropped', async () => {
    const g = gatedRuns();
    let stopped = false;
    const c = new Coalescer(
      g.run,
      () => {},
      () => stopped,
    );
    const p = c.request('start');
    void c.request('periodic');
    stopped = true;
    await g.release();
    await p;
    expect(g.started).toEqual(['start']);
  });
});

const place = (path: string, deep: boolean): DirtyPlace => ({
  path: Buffer.from(path),
  deep,
  first: 0,
  last: 0,
  hot: false,
});
const paths = (keys: readonly Buffer[]) => keys.map((k) => keyToPath(k).toString()).sort();

describe('planRescan', () => {
  it('keeps only the outermost deep places', () => {
    const plan = planRescan([
      place('/a/b/c.py', true),
      place('/a', true),
      place('/x/y', true),
      place('/x/y/z', true),
    ]);
    expect(paths(plan.deep)).toEqual(['/a', '/x/y']);
  });

  it('drops shallow places that a deep place covers', () => {
    const plan = planRescan([place('/a', true), place('/a/sub', false), place('/b', false)]);
    expect(plan.shallow.map(paths)).toEqual([['/b']]);
  });

  it('puts nested directories in separate batches, shallowest first, and loses none', () => {
    const dirs = ['/t/a/b/c', '/t', '/t/a', '/t/x', '/t/a/b', '/u'];
    const plan = planRescan(dirs.map((d) => place(d, false)));
    expect(plan.deep).toEqual([]);
    expect(plan.shallow.flatMap(paths).sort()).toEqual([...dirs].sort());
    for (const batch of plan.shallow) {
      // No key of a batch lies below another key of the same batch.
      for (const a of batch)
        for (const b of batch) {
          if (a === b) continue;
          const pa = keyToPath(a).toString();
          const pb = keyToPath(b).toString();
          expect(pa.startsWith(`${pb}/`), `${pa} and ${pb} in one batch`).toBe(false);
        }
    }
    expect(plan.shallow.map(paths)[0]).toEqual(['/t', '/u']);
  });

  it('keeps path bytes that are not UTF-8', () => {
    const odd = Buffer.concat([Buffer.from('/t/'), Buffer.from([0xff, 0xfe])]);
    const plan = planRescan([{ ...place('', true), path: odd }]);
    expect(plan.deep.map(keyToPath)).toEqual([odd]);
    expect(plan.deep[0]).toEqual(pathToKey(odd));
  });
});
