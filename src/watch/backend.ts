/**
 * The watcher backend: the only user of the file-system notification API. One inotify watch per
 * directory, through `node:fs.watch` with `encoding: 'buffer'` (exact name bytes; measured in
 * docs/dependencies.md against chokidar and @parcel/watcher). Events are hints: the daemon turns
 * them into dirty places and rescans those by bytes, so a mangled or dropped name costs latency,
 * never correctness (the periodic full check catches what events miss).
 *
 * Each directory is opened O_DIRECTORY|O_NOFOLLOW, checked, and watched through /proc/self/fd/N,
 * so the watch lands on the directory that was checked, not on whatever a symlink swapped into its
 * path points to.
 */
import { closeSync, constants, type FSWatcher, fstatSync, openSync, readFileSync, watch } from 'node:fs';
import { errnoCode } from '../errors.js';
import { parentOf } from '../path-key.js';

export interface DirEvent {
  dir: Buffer;
  /** The entry the event names, or null when unknown. */
  name: Buffer | null;
  /** The watched directory itself was moved or deleted. */
  self: boolean;
  /**
   * Only the named entry's bytes or metadata changed (inotify IN_MODIFY or IN_ATTRIB, node's
   * "change"): the directory's list of names did not, so its other entries need no rescan.
   */
  entryOnly: boolean;
}

/** `capped`: refused by `maxWatches`, not by the kernel. */
export type AddResult = { ok: true } | { ok: false; code: string; message: string; capped?: true };

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
// O_NONBLOCK: never hang on a FIFO swapped in under the name.
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

interface Entry {
  watcher: FSWatcher;
  /** The basename Node reports for events about the watched directory itself. */
  selfName: Buffer;
}

/** The kernel's inotify queue length (events held for a reader that is behind); 16384 by default. */
function maxQueuedEvents(): number {
  try {
    const n = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 16384;
  } catch {
    return 16384;
  }
}

export class DirWatcher {
  private readonly entries = new Map<string, Entry>();
  /**
   * The operator's cap (`watch.max_watches`): past it `add` fails with ENOSPC as if the kernel's
   * limit were reached, so fim leaves inotify watches for other programs. Undefined: no cap but the
   * kernel's. A lower cap does not drop watches already held.
   */
  maxWatches: number | undefined;
  /**
   * When the kernel's queue of unread events is full it drops the rest and queues one
   * IN_Q_OVERFLOW, which libuv discards without telling anyone (its watch descriptor is -1: "stale
   * event"). It can still be inferred: libuv reads the inotify descriptor until it is empty in one
   * go, so an overflowed queue arrives as one burst of at least the queue's length before the event
   * loop moves on. Such a burst is reported to `onOverflow`: some events may be lost.
   */
  private readonly queueLength: number;
  private burst = 0;

  constructor(
    private readonly onEvent: (e: DirEvent) => void,
    private readonly onError: (dir: Buffer, code: string, message: string) => void,
    private readonly onOverflow: (events: number) => void = () => {},
    opts: { maxWatches?: number | undefined } = {},
  ) {
    this.maxWatches = opts.maxWatches;
    this.queueLength = maxQueuedEvents();
  }

  private count(): void {
    if (this.burst++ > 0) return;
    // setImmediate runs after the poll phase: every event of this read has been delivered by then.
    setImmediate(() => {
      const n = this.burst;
      this.burst = 0;
      if (n >= this.queueLength) this.onOverflow(n);
    });
  }

  get size(): number {
    return this.entries.size;
  }

  has(dir: Buffer): boolean {
    return this.entries.has(dir.toString('latin1'));
  }

  /** Directories currently watched (latin1 keys). */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /**
   * Watch a directory, or (`file`) a single file's inode: a hard link made from outside the tree
   * changes the link count with an event on the inode only, never on its directory.
   */
  add(dir: Buffer, file = false): AddResult {
    const k = dir.toString('latin1');
    if (this.entries.has(k)) return { ok: true };
    if (this.maxWatches !== undefined && this.entries.size >= this.maxWatches) {
      return {
        ok: false,
        code: 'ENOSPC',
        capped: true,
        message: `watch.max_watches (${this.maxWatches}) reached`,
      };
    }
    let fd: number;
    try {
      fd = openSync(dir, file ? FILE_FLAGS : DIR_FLAGS);
    } catch (err) {
      return { ok: false, code: errnoCode(err) ?? 'EIO', message: (err as Error).message };
    }
    try {
      const st = fstatSync(fd);
      if (file ? !st.isFile() : !st.isDirectory())
        return { ok: false, code: 'ENOTDIR', message: 'wrong file type' };
      const selfName = Buffer.from(String(fd));
      const parent = parentOf(dir) ?? dir;
      const base = dir.subarray(parent.length === 1 ? 1 : parent.length + 1);
      const watcher = watch(`/proc/self/fd/${fd}`, { encoding: 'buffer', persistent: true }, (type, name) => {
        this.count();
        const n = name ? Buffer.from(name) : null;
        const entryOnly = type === 'change';
        if (file) {
          // Anything on the file's inode: rescan the file (as an event of its directory).
          this.onEvent({ dir: parent, name: base, self: false, entryOnly });
        } else if (n?.equals(selfName)) {
          // Node names the watched path's basename ("N" of /proc/self/fd/N) for events on the
          // directory itself; a child could bear that name too, so report both.
          this.onEvent({ dir, name: n, self: true, entryOnly });
        } else {
          this.onEvent({ dir, name: n, self: false, entryOnly: n !== null && entryOnly });
        }
      });
      watcher.on('error', (err: Error) => {
        this.remove(dir);
        this.onError(dir, errnoCode(err) ?? 'EIO', err.message);
      });
      this.entries.set(k, { watcher, selfName });
      return { ok: true };
    } catch (err) {
      // fs.watch throws ENOSPC synchronously when the kernel's watch limit is reached.
      return { ok: false, code: errnoCode(err) ?? 'EIO', message: (err as Error).message };
    } finally {
      closeSync(fd);
    }
  }

  remove(dir: Buffer): void {
    const k = dir.toString('latin1');
    const e = this.entries.get(k);
    if (!e) return;
    this.entries.delete(k);
    e.watcher.close();
  }

  /** Remove the watches of `dir` and everything below it. */
  removeTree(dir: Buffer): void {
    const k = dir.toString('latin1');
    for (const key of [...this.entries.keys()]) {
      if (key === k || key.startsWith(k === '/' ? '/' : `${k}/`)) this.remove(Buffer.from(key, 'latin1'));
    }
  }

  close(): void {
    for (const e of this.entries.values()) e.watcher.close();
    this.entries.clear();
  }
}
