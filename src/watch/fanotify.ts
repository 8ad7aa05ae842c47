/**
 * The fanotify backend: the same surface as the inotify one (backend.ts `DirWatcher`), with one
 * FAN_MARK_FILESYSTEM mark per file system that holds a covered directory instead of one watch
 * per directory (no per-directory limit). The reader thread (fanotify-reader.ts) reads, filters and
 * attributes; this side maps what it keeps back to paths:
 * - a directory handle (name_to_handle_at of each covered directory, taken as it is "watched")
 *   plus the entry's name, as the kernel gave its bytes;
 * - an inode (file system and inode number) of a covered file, for a change made through a hard
 *   link outside the tree, which names a directory fim does not cover (inode-paths.ts).
 * It keeps the latest attribution per path for the reporter (`who`).
 *
 * What it must not do: trust a name or a handle beyond "rescan here" (a directory renamed since
 * its handle was taken maps to its old path: the rescan finds it gone, and its new name arrives
 * as an event on its new parent), or block the event loop on the descriptor.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { errnoCode } from '../errors.js';
import { joinPath, parentOf } from '../path-key.js';
import { closeFd, FAN, fanMarkFilesystem, fsidOf, handleOf } from '../sys/fanotify.js';
import type { Who } from '../types.js';
import { type AddResult, type DirEvent, DirWatcher } from './backend.js';
import {
  type KeptEvent,
  READER_CREDITS,
  type ReaderControl,
  type ReaderData,
  type ReaderMessage,
} from './fanotify-reader.js';
import { InodePaths, type InoKey, inoKey } from './inode-paths.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Events that change a directory's list of names (the others touch only the named entry). */
const DIRENT = FAN.CREATE | FAN.DELETE | FAN.MOVED_FROM | FAN.MOVED_TO | FAN.RENAME;
const GONE = FAN.DELETE | FAN.MOVED_FROM | FAN.RENAME;
/** Attributions kept for the reporter: the latest per path, for this long, at most this many. */
const WHO_KEEP_MS = 10 * 60_000;
const WHO_MAX = 20_000;
/** A reader thread that keeps ending is not started again past this: the watch is lost (fallback scans). */
const MAX_RESTARTS = 3;

interface Mark {
  fsid: string;
  /** The directory the mark was made through, kept open: open_by_handle_at's mount descriptor. */
  fd: number;
}

export class FanotifyWatcher {
  /** Covered directories: latin1 path → handle key (hex). */
  private readonly dirs = new Map<string, string>();
  private readonly byHandle = new Map<string, Buffer>();
  /** fsid (hex) → the covered files on that file system by inode. */
  private readonly inodes = new Map<string, InodePaths>();
  private readonly marks = new Map<bigint, Mark>();
  /** File systems that refused a mark (no file handles, say): not asked again for every directory. */
  private readonly refused = new Map<bigint, AddResult>();
  /** Their directories are watched the inotify way instead (created on the first). */
  private inotify: DirWatcher | null = null;
  private readonly recent = new Map<string, { who: Who; at: number }>();
  private pending: { add: string[]; remove: string[]; inodes: Map<string, InoKey[]> } = {
    add: [],
    remove: [],
    inodes: new Map(),
  };
  private flushQueued = false;
  private worker!: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(8));
  private closed = false;
  /** Reader threads started again after one ended on its own (at most MAX_RESTARTS). */
  private restarts = 0;
  /** Past MAX_RESTARTS: nothing is watched any more; `add` fails, so the watch set scans instead. */
  private broken = false;
  /** No per-directory limit: kept for the watch set's surface, never reached. */
  maxWatches: number | undefined;

  /**
   * `onReaderLost`: the reader thread ended on its own (an error in it, or a resource limit); it
   * was started again with everything it knew, but events of the gap are lost: run a full check.
   */
  constructor(
    private readonly fd: number,
    private readonly onEvent: (e: DirEvent) => void,
    private readonly onError: (dir: Buffer, code: string, message: string) => void,
    private readonly onOverflow: (events: number) => void,
    private readonly onReaderLost: (message: string) => void = () => {},
  ) {
    this.startReader();
  }

  private startReader(): void {
    Atomics.store(this.control, 1, READER_CREDITS);
    const data: ReaderData = { fd: this.fd, control: this.control };
    // The reader's bundle (scripts/bundle.mjs), named from dist/'s top: the same from dist/watch/
    // and from the CLI's bundle in dist/bundle/.
    const worker = new Worker(new URL('../bundle/fanotify-reader.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    this.worker = worker;
    worker.unref();
    worker.on('message', (m: ReaderMessage) => this.onMessage(m));
    let why = 'it exited';
    worker.on('error', (err) => {
      why = err.message;
    });
    worker.on('exit', () => {
      if (this.closed || this.worker !== worker) return;
      if (++this.restarts > MAX_RESTARTS) {
        this.broken = true;
        this.onError(
          Buffer.from('/'),
          'EIO',
          `the fanotify reader stopped ${MAX_RESTARTS + 1} times (${why})`,
        );
        return;
      }
      this.startReader();
      this.onReaderLost(`the fanotify reader stopped (${why}) and was started again: events may be lost`);
    });
    // Everything the reader filters by, again (a new thread knows nothing).
    for (const m of this.marks.values())
      worker.postMessage({ t: 'mount', fsid: m.fsid, fd: m.fd } satisfies ReaderControl);
    if (this.byHandle.size)
      worker.postMessage({ t: 'dirs', add: [...this.byHandle.keys()], remove: [] } satisfies ReaderControl);
    for (const [fsid, table] of this.inodes)
      worker.postMessage({ t: 'inodes', fsid, add: [...table.keys()] } satisfies ReaderControl);
  }

  get size(): number {
    return this.dirs.size + (this.inotify?.size ?? 0);
  }

  has(dir: Buffer): boolean {
    return this.dirs.has(dir.toString('latin1')) || (this.inotify?.has(dir) ?? false);
  }

  *keys(): IterableIterator<string> {
    yield* this.dirs.keys();
    if (this.inotify) yield* this.inotify.keys();
  }

  /**
   * A directory on a file system that refused the mark (procfs, some FUSE and network file
   * systems: no file handles) gets an inotify watch instead; the inotify watcher's own refusal (its
   * limit) is the answer then.
   */
  private byInotify(dir: Buffer): AddResult {
    this.inotify ??= new DirWatcher(this.onEvent, this.onError, this.onOverflow, {
      maxWatches: this.maxWatches,
    });
    return this.inotify.add(dir);
  }

  /** The file systems marked (for the start event and heartbeats). */
  get filesystems(): number {
    return this.marks.size;
  }

  /**
   * "Watch" a directory: make sure its file system is marked and learn its handle. A `file`
   * (critical rules' files) is learnt by inode: every change to it on its file system is seen.
   */
  add(dir: Buffer, file = false): AddResult {
    if (this.broken) return { ok: false, code: 'EIO', message: 'the fanotify reader stopped' };
    const k = dir.toString('latin1');
    if (!file && this.dirs.has(k)) return { ok: true };
    let fd: number;
    try {
      fd = openSync(dir, file ? FILE_FLAGS : DIR_FLAGS);
    } catch (err) {
      return { ok: false, code: errnoCode(err) ?? 'EIO', message: (err as Error).message };
    }
    let keep = false;
    try {
      const st = fstatSync(fd, { bigint: true });
      if (file ? !st.isFile() : !st.isDirectory())
        return { ok: false, code: 'ENOTDIR', message: 'wrong file type' };
      let mark = this.marks.get(st.dev);
      if (!mark) {
        if (file) return { ok: false, code: 'ENOENT', message: 'its file system holds no covered directory' };
        if (this.refused.has(st.dev)) return this.byInotify(dir);
        const fsid = fsidOf(fd);
        const r = fanMarkFilesystem(this.fd, fd, true);
        if (!fsid || !r.ok) {
          const errno = r.ok ? 0 : r.errno;
          const no: AddResult = {
            ok: false,
            code:
              errno === 28
                ? 'ENOSPC'
                : errno === 95
                  ? 'EOPNOTSUPP'
                  : errno === 18
                    ? 'EXDEV'
                    : `ERRNO${errno}`,
            message: 'fanotify_mark refused this file system',
          };
          this.refused.set(st.dev, no);
          return this.byInotify(dir);
        }
        mark = { fsid: fsid.toString('hex'), fd };
        keep = true;
        this.marks.set(st.dev, mark);
        this.send({ t: 'mount', fsid: mark.fsid, fd });
      }
      if (file) {
        this.addInode(dir, st.dev, st.ino);
        return { ok: true };
      }
      const h = handleOf(fd);
      if (!h) return { ok: false, code: 'EOPNOTSUPP', message: 'no file handle for this directory' };
      const key = mark.fsid + h.toString('hex');
      const old = this.dirs.get(k);
      if (old !== undefined && old !== key) this.forgetHandle(k, old);
      this.dirs.set(k, key);
      this.byHandle.set(key, dir);
      this.pending.add.push(key);
      this.flushSoon();
      return { ok: true };
    } catch (err) {
      return { ok: false, code: errnoCode(err) ?? 'EIO', message: (err as Error).message };
    } finally {
      if (!keep) closeSync(fd);
    }
  }

  /** A covered file's inode, so a change through any of its names is seen. */
  addInode(path: Buffer, dev: bigint, ino: bigint): void {
    const mark = this.marks.get(dev);
    if (!mark) return;
    let table = this.inodes.get(mark.fsid);
    if (!table) {
      table = new InodePaths();
      this.inodes.set(mark.fsid, table);
    }
    const k = inoKey(ino);
    if (!table.add(k, path)) return;
    let news = this.pending.inodes.get(mark.fsid);
    if (!news) {
      news = [];
      this.pending.inodes.set(mark.fsid, news);
    }
    news.push(k);
    this.flushSoon();
  }

  private forgetHandle(k: string, key: string): void {
    this.dirs.delete(k);
    if (this.byHandle.get(key)?.toString('latin1') === k) {
      this.byHandle.delete(key);
      this.pending.remove.push(key);
      this.flushSoon();
    }
  }

  remove(dir: Buffer): void {
    const k = dir.toString('latin1');
    const key = this.dirs.get(k);
    if (key !== undefined) this.forgetHandle(k, key);
    this.inotify?.remove(dir);
  }

  removeTree(dir: Buffer): void {
    this.inotify?.removeTree(dir);
    const k = dir.toString('latin1');
    for (const key of [...this.dirs.keys()]) {
      if (key === k || key.startsWith(k === '/' ? '/' : `${k}/`)) this.remove(Buffer.from(key, 'latin1'));
    }
  }

  /** The latest attribution of a change at `path` (or, failing that, in its directory). */
  who(path: Buffer): Who | undefined {
    const now = Date.now();
    for (const p of [path, parentOf(path)]) {
      if (!p) continue;
      const hit = this.recent.get(p.toString('latin1'));
      if (hit && now - hit.at < WHO_KEEP_MS) return hit.who;
    }
    return undefined;
  }

  private remember(path: Buffer, who: Who, now: number): void {
    const k = path.toString('latin1');
    this.recent.delete(k); // re-inserted last: the map's order is age
    this.recent.set(k, { who, at: now });
    if (this.recent.size > WHO_MAX) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  private onMessage(m: ReaderMessage): void {
    if (this.closed) return;
    if (m.t === 'overflow') {
      this.onOverflow(0);
      return;
    }
    if (m.t === 'error') {
      this.onError(Buffer.from('/'), 'EIO', `fanotify: ${m.message}`);
      return;
    }
    const now = Date.now();
    try {
      for (const ev of m.events) this.deliver(ev, now);
    } finally {
      Atomics.add(this.control, 1, 1);
      Atomics.notify(this.control, 1);
    }
  }

  private deliver(ev: KeptEvent, now: number): void {
    if (ev.dir !== undefined) {
      const dir = this.byHandle.get(ev.dir);
      if (!dir) return;
      const name = ev.name ? Buffer.from(ev.name.buffer, ev.name.byteOffset, ev.name.byteLength) : null;
      this.remember(dir, ev.who, now);
      if (name) {
        const path = joinPath(dir, name);
        this.remember(path, ev.who, now);
        // A directory moved away or deleted takes its handles' paths with it (inotify's self
        // events): a directory made again under the name is a new inode, learnt by its rescan.
        if (ev.mask & FAN.ONDIR && ev.mask & GONE) this.removeTree(path);
      }
      this.onEvent({ dir, name, self: false, entryOnly: name !== null && (ev.mask & DIRENT) === 0 });
      return;
    }
    if (ev.fsid === undefined || ev.ino === undefined) return;
    for (const path of this.inodes.get(ev.fsid)?.paths(ev.ino) ?? []) {
      const parent = parentOf(path) ?? path;
      this.remember(path, ev.who, now);
      this.onEvent({
        dir: parent,
        name: path.subarray(parent.length === 1 ? 1 : parent.length + 1),
        self: false,
        entryOnly: true,
      });
    }
  }

  private send(c: ReaderControl): void {
    if (!this.closed) this.worker.postMessage(c);
  }

  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const p = this.pending;
      this.pending = { add: [], remove: [], inodes: new Map() };
      if (p.add.length || p.remove.length) this.send({ t: 'dirs', add: p.add, remove: p.remove });
      for (const [fsid, add] of p.inodes) this.send({ t: 'inodes', fsid, add });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, 0, 1);
    // The reader notices within one poll timeout; the descriptors close once it has gone.
    void this.worker.terminate().finally(() => {
      for (const m of this.marks.values()) closeFd(m.fd);
      closeFd(this.fd);
    });
    this.inotify?.close();
    this.dirs.clear();
    this.byHandle.clear();
    this.inodes.clear();
  }
}
