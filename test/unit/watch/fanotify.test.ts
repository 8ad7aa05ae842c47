/**
 * The fanotify backend's main side (src/watch/fanotify.ts) with its reader thread, on the real
 * kernel (root): a covered directory's events arrive as DirEvents with the name's bytes and the
 * writer's attribution; a directory moved away loses its handle; a reader thread that ends is
 * started again, told everything again, and says so. It runs from dist/ (the reader is a worker
 * thread, which loads the built module): `npm test` builds first.
 */
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

/** inotify watches this process holds (every "inotify wd:" line of its inotify descriptors). */
function inotifyWatches(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      n += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

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

  it('a directory on a file system that refuses the mark (procfs: no file handles) is watched by inotify', () => {
    expect(w.add(Buffer.from('/proc/sys'))).toEqual({ ok: true });
    expect(w.add(Buffer.from('/proc/sys/kernel'))).toEqual({ ok: true });
    expect(w.has(Buffer.from('/proc/sys/kernel'))).toBe(true);
    expect([...w.keys()]).toEqual(['/proc/sys', '/proc/sys/kernel']);
    expect(w.size).toBe(2);
    // Really inotify watches: this process's inotify descriptors list them in fdinfo.
    const before = inotifyWatches();
    expect(before).toBeGreaterThanOrEqual(2);
    w.removeTree(Buffer.from('/proc/sys'));
    expect(w.size).toBe(0);
    expect(inotifyWatches()).toBe(before - 2);
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

  it('a write through a hard link outside the covered directories names the covered path, after a restart too', async () => {
    mkdirSync(join(dir, 'app'));
    mkdirSync(join(dir, 'outside'));
    const covered = join(dir, 'app', 'f.py');
    writeFileSync(covered, 'x');
    expect(w.add(Buffer.from(join(dir, 'app'))).ok).toBe(true);
    const st = lstatSync(covered, { bigint: true });
    w.addInode(Buffer.from(covered), st.dev, st.ino);
    linkSync(covered, join(dir, 'outside', 'link'));
    const throughLink = (what: string) => {
      events.length = 0;
      return waitFor(
        () => {
          const seen = events.find((x) => x.name?.toString() === 'f.py');
          if (!seen) writeFileSync(join(dir, 'outside', 'link'), what);
          return seen;
        },
        { what: `the write through the link (${what})` },
      );
    };
    const e = await throughLink('before');
    expect(e.dir.toString()).toBe(join(dir, 'app'));
    expect(e.entryOnly).toBe(true);
    expect(w.who(Buffer.from(covered))).toMatchObject({ pid: process.pid });
    // A new reader thread is told the inodes again (per file system, as numbers).
    await (w as unknown as { worker: Worker }).worker.terminate();
    await waitFor(() => lost.length === 1, { what: 'the reader reported lost' });
    expect((await throughLink('after')).dir.toString()).toBe(join(dir, 'app'));
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
