/**
 * The fanotify backend's main side (src/watch/fanotify.ts) with its reader thread, on the real
 * kernel (root): a covered directory's events arrive as DirEvents with the name's bytes and the
 * writer's attribution; a directory moved away loses its handle; a reader thread that ends is
 * started again, told everything again, and says so. It runs from dist/ (the reader is a worker
 * thread, which loads the built module): `npm test` builds first.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/fim.js';
import { waitFor } from '../../helpers/wait.js';

const { FanotifyWatcher } = (await import(
  join(ROOT, 'dist/watch/fanotify.js')
)) as typeof import('../../../src/watch/fanotify.js');
const { chooseBackend } = (await import(
  join(ROOT, 'dist/watch/backend-choice.js')
)) as typeof import('../../../src/watch/backend-choice.js');
type DirEvent = import('../../../src/watch/backend.js').DirEvent;

describe('FanotifyWatcher', () => {
  let dir: string;
  let events: DirEvent[];
  let lost: string[];
  let errors: string[];
  let w: InstanceType<typeof FanotifyWatcher>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fim-fanw-'));
    events = [];
    lost = [];
    errors = [];
    const c = chooseBackend('fanotify');
    if (c.kind !== 'fanotify') throw new Error('fanotify expected (root)');
    w = new FanotifyWatcher(
      c.fd,
      (e) => events.push(e),
      (_d, code, msg) => errors.push(`${code} ${msg}`),
      () => errors.push('overflow'),
      (msg) => lost.push(msg),
    );
  });

  afterEach(() => {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const named = (name: Buffer) =>
    waitFor(() => events.find((e) => e.name?.equals(name)), {
      what: `an event naming ${name.toString('latin1')}`,
    });

  it('reports a covered directory’s entry by its bytes, with who wrote it', async () => {
    expect(w.add(Buffer.from(dir)).ok).toBe(true);
    const name = Buffer.from('\xff\xfe.py', 'latin1');
    // The handle reaches the reader on the next turn of the loop: write until it is seen.
    const e = await waitFor(
      () => {
        writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), 'x');
        return events.find((x) => x.name?.equals(name));
      },
      { what: 'the write reported' },
    );
    expect(e.dir.toString()).toBe(dir);
    expect(w.who(Buffer.concat([Buffer.from(`${dir}/`), name]))).toMatchObject({
      pid: process.pid,
      exited: false,
    });
    expect(errors).toEqual([]);
  });

  it('a directory moved away loses its handle; one made again under the name is learnt anew', async () => {
    mkdirSync(join(dir, 'sub'));
    expect(w.add(Buffer.from(dir)).ok).toBe(true);
    expect(w.add(Buffer.from(join(dir, 'sub'))).ok).toBe(true);
    await waitFor(
      () => {
        writeFileSync(join(dir, 'sub', 'probe'), 'x');
        return events.some((x) => x.name?.toString() === 'probe');
      },
      { what: 'the probe in sub' },
    );
    renameSync(join(dir, 'sub'), join(dir, 'gone'));
    await named(Buffer.from('sub'));
    expect(w.has(Buffer.from(join(dir, 'sub')))).toBe(false);
  });

  it('a file system that refuses a mark (procfs: no file handles) is refused once, for all its directories', () => {
    expect(w.add(Buffer.from('/proc/sys'))).toEqual({
      ok: false,
      code: 'EOPNOTSUPP',
      message: 'fanotify_mark refused this file system',
    });
    expect(w.add(Buffer.from('/proc/sys/kernel'))).toMatchObject({ ok: false, code: 'EOPNOTSUPP' });
    expect(w.size).toBe(0);
  });

  it('a reader thread that ends is started again, with the directories it knew, and says so', async () => {
    expect(w.add(Buffer.from(dir)).ok).toBe(true);
    await waitFor(
      () => {
        writeFileSync(join(dir, 'before'), 'x');
        return events.some((x) => x.name?.toString() === 'before');
      },
      { what: 'an event before' },
    );
    // End the thread from outside, as a crash in it would.
    await (w as unknown as { worker: Worker }).worker.terminate();
    await waitFor(() => lost.length === 1, { what: 'the reader reported lost' });
    expect(lost[0]).toMatch(/fanotify reader stopped .* started again: events may be lost/);
    await waitFor(
      () => {
        writeFileSync(join(dir, 'after'), 'x');
        return events.some((x) => x.name?.toString() === 'after');
      },
      { what: 'an event after the restart' },
    );
    expect(errors).toEqual([]);
  });

  it('a reader that keeps ending is given up after three restarts: the watch is lost, add fails', async () => {
    expect(w.add(Buffer.from(dir)).ok).toBe(true);
    const reader = () => (w as unknown as { worker: Worker }).worker;
    for (let i = 1; i <= 3; i++) {
      await reader().terminate();
      await waitFor(() => lost.length === i, { what: `restart ${i}` });
    }
    await reader().terminate();
    await waitFor(() => errors.some((e) => /^EIO the fanotify reader stopped 4 times/.test(e)), {
      what: 'the watch given up',
    });
    expect(lost).toHaveLength(3);
    mkdirSync(join(dir, 'later'));
    expect(w.add(Buffer.from(join(dir, 'later')))).toMatchObject({ ok: false, code: 'EIO' });
  });
});
