/**
 * The watch set: which covered directories (and files of critical rules) hold an inotify watch, and
 * which could not get one and are scanned periodically instead. It keeps the watches matching the
 * policy's trees as they change: new directories found by rescans get a watch, removed or moved
 * ones lose theirs, a replaced critical file gets its inode watch back.
 *
 * What it owns: the backend (`DirWatcher`), the unwatched places, the operator's cap
 * (`watch.max_watches`), and the one alert when the watch limit (the kernel's or the cap) is
 * reached.
 *
 * What it must not do: decide what is dirty or when to rescan (the daemon and the dirty set do),
 * compare, or journal. It reports through `Notify` and never prints.
 */
import { displayBytes } from '../display.js';
import type { CompareResult } from '../ops/check.js';
import { outermostKeys, pathToKey } from '../path-key.js';
import type { RuleIndex } from '../policy/rule-index.js';
import { scanTree } from '../scan/scan.js';
import type { Finding, Who } from '../types.js';
import { type DirEvent, DirWatcher } from './backend.js';
import type { BackendChoice } from './backend-choice.js';
import { FanotifyWatcher } from './fanotify.js';
import { type Notify, Pri } from './log.js';

/** Inode watches on single files of critical rules: at least this many, else 1% of the directories. */
const MIN_FILE_WATCHES = 200;

export interface WatchSetOptions {
  onEvent: (e: DirEvent) => void;
  /** A watch was lost (the directory is now unwatched): rescan it. */
  onLost: (dir: Buffer) => void;
  /**
   * The kernel's event queue overflowed (see DirWatcher; fanotify's FAN_Q_OVERFLOW): events were
   * lost, only a full check can tell now. Logged here, and alerted once per watch set.
   */
  onOverflow: () => void;
  notify: Notify;
  /** The backend chosen at start (backend-choice.ts); inotify when absent. */
  backend?: BackendChoice;
  /** The covered files' inodes (the baseline's), which fanotify matches writes through hard links to. */
  inodes?: () => Iterable<{ path: Buffer; dev: bigint; inode: bigint }>;
  /** `watch.max_watches`; undefined: only the kernel's limit. */
  maxWatches?: number | undefined;
  /** How often unwatched places are scanned (for the messages). */
  fallbackScanMs: number;
  /**
   * Test hook: block this long before watching a directory a rescan discovered, so a test can
   * create a file in the window between the rescan's read of the directory and its watch.
   */
  watchDelayMs?: number;
}

function overflowCause(kind: BackendChoice['kind'], events: number): string {
  return kind === 'fanotify'
    ? 'fanotify events overflowed (more than 16384 waiting for the daemon, or the kernel queue full: FAN_Q_OVERFLOW)'
    : `inotify event queue overflowed (${events} events in one read, the kernel keeps at most fs.inotify.max_queued_events)`;
}

export class WatchSet {
  private readonly watcher: DirWatcher | FanotifyWatcher;
  readonly backend: BackendChoice;
  private readonly unwatched = new Map<string, Buffer>();
  private limitAlerted = false;
  private overflowAlerted = false;
  /** The files of critical rules that hold an inode watch of their own. */
  private critical: Buffer[] = [];
  private readonly notify: Notify;
  private readonly watchDelayMs: number;
  private readonly inodes: WatchSetOptions['inodes'];
  /** Settable: a SIGHUP reload may change it. */
  fallbackScanMs: number;

  constructor(o: WatchSetOptions) {
    this.notify = o.notify;
    this.fallbackScanMs = o.fallbackScanMs;
    this.watchDelayMs = o.watchDelayMs ?? 0;
    this.backend = o.backend ?? { kind: 'inotify', reason: 'default' };
    this.inodes = o.inodes;
    const lost = (dir: Buffer, code: string, message: string) => {
      this.notify(Pri.warning, `lost the watch on ${displayBytes(dir)}: ${code} ${message}`, {
        type: 'error',
        code,
        message: `lost watch: ${message}`,
        path: dir,
      });
      this.unwatched.set(dir.toString('latin1'), dir);
      o.onLost(dir);
    };
    const overflow = (events: number) => {
      const msg = `${overflowCause(this.backend.kind, events)}: events may be lost, running a full check`;
      const first = !this.overflowAlerted;
      this.overflowAlerted = true;
      this.notify(Pri.warning, msg, first ? { type: 'error', code: 'EOVERFLOW', message: msg } : undefined);
      o.onOverflow();
    };
    this.watcher =
      this.backend.kind === 'fanotify'
        ? new FanotifyWatcher(this.backend.fd, o.onEvent, lost, overflow, (msg) => {
            this.notify(Pri.warning, `${msg}, running a full check`, {
              type: 'error',
              code: 'EWATCHER',
              message: msg,
            });
            o.onOverflow();
          })
        : new DirWatcher(o.onEvent, lost, overflow, { maxWatches: o.maxWatches });
  }

  /** The process behind the latest change at `path`, where the backend can tell (fanotify). */
  who(path: Buffer): Who | undefined {
    return this.watcher instanceof FanotifyWatcher ? this.watcher.who(path) : undefined;
  }

  /** Watches held now. */
  get size(): number {
    return this.watcher.size;
  }

  /** Covered places without a watch (scanned every `fallbackScanMs`). */
  get unwatchedSize(): number {
    return this.unwatched.size;
  }

  /** A new cap (SIGHUP): applies to watches added from now on; `retryUnwatched` uses a raised one. */
  set maxWatches(n: number | undefined) {
    this.watcher.maxWatches = n;
  }

  has(path: Buffer): boolean {
    return this.watcher.has(path);
  }

  /**
   * Walk the covered trees (metadata only) and make the watch set match them. Returns the number of
   * files the walk saw.
   */
  sync(index: RuleIndex): number {
    const seen = new Set<string>();
    const criticalFiles: Buffer[] = [];
    const fan = this.watcher instanceof FanotifyWatcher ? this.watcher : null;
    const stats = scanTree({
      index,
      noHash: true,
      // Only directories need a watch: files are not even lstat'ed, except those of critical
      // rules, which get inode watches of their own.
      dirsOnly: { keepFiles: (rule) => rule.severity === 'critical' },
      onDirectory: (dir) => {
        seen.add(dir.toString('latin1'));
        this.watch(dir);
      },
      onItem: (item) => {
        if (item.kind !== 'record' || item.record.type !== 'file') return;
        if (item.rule.severity === 'critical') criticalFiles.push(item.record.path);
      },
    });
    // Under fanotify every covered file's inode is learnt (a write through a hard link made
    // outside the tree names only the inode): the baseline's, read from the database (an lstat of
    // every file here would cost seconds at 50,000 files); findings add the current ones.
    if (fan && this.inodes) for (const f of this.inodes()) fan.addInode(f.path, f.dev, f.inode);
    // Files of critical rules (keys, certificates) also get their own inode watch, up to a bound.
    const fileBudget = Math.max(MIN_FILE_WATCHES, Math.floor(seen.size / 100));
    this.critical = criticalFiles.slice(0, fileBudget);
    for (const f of this.critical) {
      if (this.watcher.add(f, true).ok) seen.add(f.toString('latin1'));
    }
    for (const k of [...this.watcher.keys()]) if (!seen.has(k)) this.watcher.remove(Buffer.from(k, 'latin1'));
    for (const k of [...this.unwatched.keys()]) if (!seen.has(k)) this.unwatched.delete(k);
    return stats.files;
  }

  /**
   * The files of critical rules (keys, certificates; bounded as their inode watches are), for the
   * daemon to rescan at every heartbeat: `chattr +i`/`+a` (FS_IOC_SETFLAGS) raises no inotify event
   * at all (measured, kernel 6.18), so a flag set on a key would otherwise wait for the full check.
   */
  get criticalFiles(): readonly Buffer[] {
    return this.critical;
  }

  /** Watches a directory; on failure it is scanned periodically instead. True when watched. */
  watch(dir: Buffer): boolean {
    const r = this.watcher.add(dir);
    const k = dir.toString('latin1');
    if (r.ok) {
      this.unwatched.delete(k);
      return true;
    }
    this.unwatched.set(k, dir);
    const every = `${this.fallbackScanMs / 1000} s`;
    if (r.code === 'ENOSPC') {
      if (!this.limitAlerted) {
        this.limitAlerted = true;
        const raise = r.capped ? 'watch.max_watches in fim.yaml' : 'fs.inotify.max_user_watches';
        const msg = `inotify watch limit reached at ${this.watcher.size} watches${r.capped ? ' (watch.max_watches)' : ''}: directories from ${displayBytes(dir)} on are scanned every ${every} instead (raise ${raise})`;
        this.notify(Pri.warning, msg, { type: 'error', code: 'ENOSPC', message: msg, path: dir });
      }
    } else if (r.code !== 'ENOENT') {
      this.notify(
        Pri.warning,
        `cannot watch ${displayBytes(dir)}: ${r.code}; scanned every ${every} instead`,
        {
          type: 'error',
          code: r.code,
          message: `cannot watch: ${r.message}`,
          path: dir,
        },
      );
    }
    return false;
  }

  /**
   * After a compare: new directories get watched; a critical file rescanned after an event gets its
   * inode watch back (a replaced file is a new inode); a removed directory loses its watches.
   * Returns the directories newly watched: each was read before its watch existed, so whatever was
   * created in between has no event and it must be listed once more (inotify has no recursive
   * watch; this is the usual add-then-rescan order).
   */
  adopt(r: CompareResult): Buffer[] {
    const added: Buffer[] = [];
    for (const d of r.directories) {
      if (this.watcher.has(d)) continue;
      if (this.watchDelayMs > 0) {
        this.notify(Pri.debug, `test: watching ${displayBytes(d)} in ${this.watchDelayMs} ms`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.watchDelayMs);
      }
      if (this.watch(d)) added.push(d);
    }
    this.adoptFindings(r.findings);
    return added;
  }

  /** The watch side of findings (also for findings streamed from the worker). */
  adoptFindings(findings: readonly Finding[]): void {
    if (this.watcher instanceof FanotifyWatcher) {
      for (const f of findings)
        if (f.kind !== 'removed' && f.record.type === 'file')
          this.watcher.addInode(f.path, f.record.dev, f.record.inode);
    }
    for (const f of findings) {
      if (f.severity === 'critical' && f.kind !== 'removed' && f.record.type === 'file') {
        this.watcher.remove(f.path);
        this.watcher.add(f.path, true);
      }
    }
    for (const f of findings)
      if (f.kind === 'removed' && f.record.type === 'dir') this.watcher.removeTree(f.path);
  }

  /**
   * The watched directory itself moved or vanished. The watches below it went with it (they follow
   * inodes, not names): dropped too, or a directory re-created under the same name would look
   * watched and its changes go unseen.
   */
  forget(e: DirEvent): void {
    if (!e.self) return;
    if (e.entryOnly) this.watcher.remove(e.dir);
    else this.watcher.removeTree(e.dir);
  }

  /**
   * Retry the watch of every unwatched place (the limit may have been raised, or a transient error
   * passed) and return the outermost of those still unwatched: watches are set in walk order, so
   * past the limit whole subtrees are unwatched, and scanning the outermost covers the rest.
   */
  retryUnwatched(): Buffer[] {
    if (this.unwatched.size === 0) return [];
    for (const d of [...this.unwatched.values()]) this.watch(d);
    return outermostKeys([...this.unwatched.values()].map(pathToKey));
  }

  close(): void {
    this.watcher.close();
  }
}
