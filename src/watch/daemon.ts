/**
 * `fim watch`, the daemon. It verifies the baseline, announces itself, watches every covered
 * directory, runs a full check (so whatever changed while it was down is reported), then turns
 * watcher events into dirty places and rescans them by bytes after a short debounce.
 *
 * What it owns: the dirty set, the debounce, the record of what was already alerted (in SQLite, per
 * baseline, so a restart or a repeated event does not repeat an alert), fallback scanning where a
 * directory could not be watched, the periodic full check, heartbeats, SIGHUP reloads and a clean
 * SIGTERM. Every finding is journaled in SQLite before it is sent.
 *
 * What it must not do: trust an event's name (it is a hint), crash on anything the file system or
 * the network does, or grow without bound in a storm (past a limit the dirty set collapses into one
 * full check).
 */

import { type Alerter, findingEvent, type HeartbeatStatus } from '../alert/index.js';
import { type Config, type ConfigOverrides, resolveConfig } from '../config.js';
import { displayBytes } from '../display.js';
import { ExitCode, FimError } from '../errors.js';
import { loadKeyStore, openAlerter, rootVerifier } from '../evidence.js';
import { Blake3 } from '../hash/blake3.js';
import { nowNs, verifyBaseline } from '../ops/baseline.js';
import { type CompareResult, compareScope } from '../ops/check.js';
import { keyDepth, keyToPath, outermostKeys, pathToKey, ScopeSet, SortedKeys } from '../path-key.js';
import { loadPolicies, type Policy } from '../policy/policy.js';
import { joinPath, RuleIndex } from '../policy/rule-index.js';
import { findingToJson } from '../report/report.js';
import { scanTree } from '../scan/scan.js';
import { type BaselineMeta, Store } from '../store/store.js';
import type { Finding, ScanError } from '../types.js';
import { type DirEvent, DirWatcher } from './backend.js';
import { ScanWorker } from './scan-worker.js';

/** syslog priorities for the `<N>` prefixes journald reads. */
export const Pri = { crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Logger = (pri: number, msg: string) => void;

/** Past this many dirty places, one full check is cheaper and bounded in memory. */
const MAX_DIRTY = 50_000;
/** A file written continuously is rescanned at least this often. */
const MAX_WAIT_MS = 1_000;
/** A place rescanned this recently is "hot": its next rescan waits for quiet (the debounce). */
const HOT_MS = 1_000;
/** A cold place is rescanned this long after its first event: the events of one write arrive together. */
const SETTLE_MS = 5;
/** Event rescans of a file that keeps changing before it is reported as unstable. */
const MAX_UNSTABLE = 5;
const BASELINE_POLL_MS = 1_000;
/** Inode watches on single files of critical rules: at least this many, else 1% of the directories. */
const MIN_FILE_WATCHES = 200;

interface Dirty {
  path: Buffer;
  /** Deep: the path and everything below it, rehashed. Shallow: a directory and its entries, metadata first. */
  deep: boolean;
  /** First and latest event (ms). */
  first: number;
  last: number;
  /** Rescanned within the last HOT_MS: being written repeatedly. */
  hot: boolean;
}

/** What a rescan covered: deep places (and all below them), and directories with their entries. */
interface Scopes {
  deep: ScopeSet;
  shallow: ScopeSet;
}

export interface DaemonOptions {
  overrides: ConfigOverrides;
  log: Logger;
}

export class Daemon {
  private cfg!: Config;
  private policy!: Policy;
  private index!: RuleIndex;
  private store!: Store;
  private alerter: Alerter | null = null;
  private baseline!: BaselineMeta;
  private runId = 0;
  private runCounts = { scanned: 0, added: 0, removed: 0, changed: 0, errors: 0 };
  private watcher!: DirWatcher;
  private readonly dirty = new Map<string, Dirty>();
  private overflow = false;
  private debounceTimer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  private readonly lastScanned = new Map<string, number>();
  private readonly unwatched = new Map<string, Buffer>();
  private watchLimitAlerted = false;
  private overflowAlerted = false;
  private reported = new Map<string, { sig: string; finding: number | null }>();
  /** The keys of `reported`, sorted: which open findings lie in the places a rescan covered. */
  private readonly reportedKeys = new SortedKeys();
  /** When each open finding was last reported (ms): a full check that started earlier is older news. */
  private readonly reportedAt = new Map<string, number>();
  private scanWorker!: ScanWorker;
  private fullRunning = false;
  private fullPending: string | null = null;
  private readonly errorsReported = new Map<string, string>();
  /** Consecutive event rescans that found a file still changing. */
  private readonly unstable = new Map<string, number>();
  private files = 0;
  private lastFullCheckNs: bigint | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private resolveDone: ((code: number) => void) | null = null;
  private readonly sigHasher = new Blake3();
  private readonly log: Logger;

  /**
   * Test hook: block this long before watching a directory an event rescan discovered, so a test
   * can create a file in the window between the rescan's read of the directory and its watch.
   */
  private readonly testWatchDelayMs: number;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.log;
    const delay = process.env.FIM_TEST_WATCH_DELAY_MS;
    this.testWatchDelayMs = delay !== undefined && /^\d{1,5}$/.test(delay) ? Number(delay) : 0;
  }

  /** Runs until SIGTERM/SIGINT; resolves with the exit status. */
  async run(): Promise<number> {
    this.cfg = resolveConfig(this.opts.overrides);
    this.policy = loadPolicies(this.cfg.policies);
    this.index = new RuleIndex(this.policy.rules);
    const keys = loadKeyStore(this.cfg);
    this.store = Store.open(this.cfg.database);
    this.baseline = this.store.requireBaseline();
    verifyBaseline(this.store, this.baseline, rootVerifier(this.cfg));
    this.alerter = openAlerter(this.cfg, keys, this.store, (m) => this.log(Pri.warning, m));
    const root = this.baseline.root.toString('hex');
    this.log(
      Pri.notice,
      `starting: baseline ${this.baseline.id} root ${root}, policy ${this.policy.hash.toString('hex')}`,
    );
    this.alerter?.send({ type: 'start', baselineRoot: root, policyHash: this.policy.hash.toString('hex') });
    this.newRun();
    this.setReported(this.store.reported(this.baseline.id));

    const done = new Promise<number>((resolve) => {
      this.resolveDone = resolve;
    });
    const onSignal = (sig: string) => void this.stop(`signal ${sig}`);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => this.reload());

    const t0 = performance.now();
    this.scanWorker = new ScanWorker(this.cfg.database);
    this.watcher = new DirWatcher(
      (e) => this.onEvent(e),
      (dir, code, message) => this.onWatchError(dir, code, message),
      (n) => this.guard(() => this.onQueueOverflow(n)),
    );
    this.syncWatches();
    this.log(
      Pri.notice,
      `watching ${this.watcher.size} directories (${this.unwatched.size} unwatched) in ${Math.round(performance.now() - t0)} ms; ready`,
    );
    await this.fullCheck('start');

    const w = this.cfg.watch;
    this.every(w.heartbeatMs, () => this.heartbeat());
    this.every(w.fullCheckMs, () => void this.fullCheck('periodic'));
    this.every(w.fallbackScanMs, () => this.fallbackScan());
    this.every(BASELINE_POLL_MS, () => this.pollBaseline());
    const code = await done;
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGHUP');
    return code;
  }

  private every(ms: number, fn: () => void): void {
    this.timers.push(
      setInterval(() => {
        if (!this.stopping) this.guard(fn);
      }, ms),
    );
  }

  /** Nothing the file system or the database does may kill the daemon silently. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const e = err as Error;
      this.log(Pri.err, `error: ${e.message}`);
      this.alerter?.send({
        type: 'error',
        code: err instanceof FimError ? `EXIT${err.exitCode}` : 'EINTERNAL',
        message: e.message,
      });
      if (err instanceof FimError && err.exitCode === ExitCode.baselineIntegrity)
        void this.stop('baseline failed its integrity check', ExitCode.baselineIntegrity);
    }
  }

  private newRun(): void {
    this.runId = this.store.startRun('watch', this.baseline.id, null, nowNs());
    this.runCounts = { scanned: 0, added: 0, removed: 0, changed: 0, errors: 0 };
    this.store.finishRun(this.runId, { finishedNs: nowNs(), ...this.runCounts, exitCode: 0 });
  }

  // ---- watching ----

  /** Walk the covered trees (metadata only) and make the watch set match them. */
  private syncWatches(): void {
    const seen = new Set<string>();
    const criticalFiles: Buffer[] = [];
    const stats = scanTree({
      index: this.index,
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
    // Files of critical rules (keys, certificates) also get their own inode watch, up to a bound.
    const fileBudget = Math.max(MIN_FILE_WATCHES, Math.floor(seen.size / 100));
    for (const f of criticalFiles.slice(0, fileBudget)) {
      if (this.watcher.add(f, true).ok) seen.add(f.toString('latin1'));
    }
    this.files = stats.files;
    for (const k of [...this.watcher.keys()]) if (!seen.has(k)) this.watcher.remove(Buffer.from(k, 'latin1'));
    for (const k of [...this.unwatched.keys()]) if (!seen.has(k)) this.unwatched.delete(k);
  }

  /** Watches a directory; on failure it is scanned periodically instead. True when watched. */
  private watch(dir: Buffer): boolean {
    const r = this.watcher.add(dir);
    const k = dir.toString('latin1');
    if (r.ok) {
      this.unwatched.delete(k);
      return true;
    }
    this.unwatched.set(k, dir);
    if (r.code === 'ENOSPC') {
      if (!this.watchLimitAlerted) {
        this.watchLimitAlerted = true;
        const msg = `inotify watch limit reached at ${this.watcher.size} watches: directories from ${displayBytes(dir)} on are scanned every ${this.cfg.watch.fallbackScanMs / 1000} s instead (raise fs.inotify.max_user_watches)`;
        this.log(Pri.warning, msg);
        this.alerter?.send({ type: 'error', code: 'ENOSPC', message: msg, path: dir });
      }
    } else if (r.code !== 'ENOENT') {
      this.log(
        Pri.warning,
        `cannot watch ${displayBytes(dir)}: ${r.code}; scanned every ${this.cfg.watch.fallbackScanMs / 1000} s instead`,
      );
      this.alerter?.send({ type: 'error', code: r.code, message: `cannot watch: ${r.message}`, path: dir });
    }
    return false;
  }

  /**
   * The kernel's event queue may have overflowed: events were lost, and with them any hint of what
   * changed. Only a full check can tell now; it is alerted once per daemon run (a storm that keeps
   * overflowing would otherwise alert on every burst), and each burst requests a full check
   * (coalesced while one runs).
   */
  private onQueueOverflow(events: number): void {
    if (this.stopping) return;
    const msg = `inotify event queue overflowed (${events} events in one read, the kernel keeps at most fs.inotify.max_queued_events): events may be lost, running a full check`;
    this.log(Pri.warning, msg);
    if (!this.overflowAlerted) {
      this.overflowAlerted = true;
      this.alerter?.send({ type: 'error', code: 'EOVERFLOW', message: msg });
    }
    void this.fullCheck('queue overflow');
  }

  private onWatchError(dir: Buffer, code: string, message: string): void {
    this.log(Pri.warning, `lost the watch on ${displayBytes(dir)}: ${code} ${message}`);
    this.alerter?.send({ type: 'error', code, message: `lost watch: ${message}`, path: dir });
    this.unwatched.set(dir.toString('latin1'), dir);
    this.markDirty(dir, true);
  }

  private onEvent(e: DirEvent): void {
    if (this.stopping) return;
    if (e.self) {
      // The watched directory itself moved or vanished: rescan it and its parent. The watches
      // below it went with it (they follow inodes, not names): dropped too, or a directory
      // re-created under the same name would look watched and its changes go unseen.
      if (e.entryOnly) this.watcher.remove(e.dir);
      else this.watcher.removeTree(e.dir);
      this.markDirty(e.dir, true);
      const parent = parentOf(e.dir);
      if (parent) this.markDirty(parent, false);
    }
    if (e.name) {
      this.markDirty(joinPath(e.dir, e.name), true);
      // A write to a file leaves its directory's names alone: rescanning the directory's other
      // entries after every write would make a storm cost files × entries per directory.
      if (!e.entryOnly) this.markDirty(e.dir, false);
    } else {
      this.markDirty(e.dir, true);
    }
  }

  /**
   * When a dirty place is rescanned: a "cold" place (not rescanned in the last second) almost at
   * once, so the first sign of an intrusion goes out in milliseconds; a "hot" one (a file being
   * written over and over) once it has been quiet for `debounce_ms`, and at least every
   * MAX_WAIT_MS, so a burst of writes becomes one rescan and, the finding being the same, one alert.
   */
  private dueOf(e: Dirty): number {
    return e.hot ? Math.min(e.last + this.cfg.watch.debounceMs, e.first + MAX_WAIT_MS) : e.first + SETTLE_MS;
  }

  private markDirty(path: Buffer, deep: boolean): void {
    const k = path.toString('latin1');
    const now = Date.now();
    let e = this.dirty.get(k);
    if (e) {
      e.deep ||= deep;
      e.last = now;
    } else if (this.dirty.size >= MAX_DIRTY) {
      this.overflow = true;
    } else {
      const hot = now - (this.lastScanned.get(k) ?? 0) < HOT_MS;
      e = { path, deep, first: now, last: now, hot };
      this.dirty.set(k, e);
    }
    const due = this.overflow || !e ? now : this.dueOf(e);
    if (this.debounceTimer === null || due < this.timerDue) this.armTimer(due);
  }

  private armTimer(due: number): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.timerDue = due;
    this.debounceTimer = setTimeout(() => this.guard(() => this.flushDirty()), Math.max(0, due - Date.now()));
  }

  private flushDirty(): void {
    this.debounceTimer = null;
    if (this.stopping) return;
    const now = Date.now();
    if (this.overflow) {
      this.overflow = false;
      this.dirty.clear();
      this.log(Pri.info, `more than ${MAX_DIRTY} places changed at once: running one full check`);
      void this.fullCheck('storm');
      return;
    }
    // Take what is due; a hot place that is still being written waits for its own time.
    const ready: Dirty[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [k, e] of this.dirty) {
      const due = this.dueOf(e);
      if (due <= now + 1) {
        ready.push(e);
        this.dirty.delete(k);
      } else next = Math.min(next, due);
    }
    if (next !== Number.POSITIVE_INFINITY) this.armTimer(next);
    if (ready.length === 0) return;
    for (const e of ready) this.lastScanned.set(e.path.toString('latin1'), now);
    if (this.lastScanned.size > 4 * MAX_DIRTY) {
      for (const [k, t] of this.lastScanned) if (now - t >= HOT_MS) this.lastScanned.delete(k);
    }

    // Deep places (rehashed, with everything below them), in one scan; the outermost suffice.
    const deepKeys = outermostKeys(ready.filter((e) => e.deep).map((e) => pathToKey(e.path)));
    const deep = new ScopeSet(deepKeys);
    const underDeep = (k: Buffer) => deep.containing(k) !== undefined;
    const results: CompareResult[] = [];
    const scopes: Scopes = { deep, shallow: new ScopeSet() };
    if (deepKeys.length) results.push(this.compare(deepKeys.map(keyToPath), undefined, false));
    // Directories whose entries changed: each entry with its own event was rehashed above, so the
    // rest is compared by metadata first (`fast`). Nested directories go in separate batches
    // (shallowest first, so a batch never holds a directory and one below it).
    let shallow = ready
      .filter((e) => !e.deep)
      .map((e) => pathToKey(e.path))
      .filter((k) => !underDeep(k))
      .sort((a, b) => keyDepth(a) - keyDepth(b));
    while (shallow.length) {
      const batch = new ScopeSet();
      const later: Buffer[] = [];
      for (const k of shallow) {
        if (batch.containing(k) !== undefined) later.push(k);
        else batch.add(k);
      }
      const r = this.compare(batch.keys.map(keyToPath), 1, true);
      r.findings = r.findings.filter((f) => !underDeep(pathToKey(f.path)));
      results.push(r);
      for (const key of batch.keys) scopes.shallow.add(key);
      shallow = later;
    }
    this.handle(
      results.flatMap((r) => r.findings),
      results.flatMap((r) => r.errors),
      scopes,
      'event',
    );
  }

  /** A small rescan, here in the main thread (milliseconds: one path or one directory's entries). */
  private compare(scope: Buffer[], depth: number | undefined, fast: boolean): CompareResult {
    const r = compareScope({
      store: this.store,
      baselineId: this.baseline.id,
      index: this.index,
      scope,
      ...(depth !== undefined ? { scopeDepth: depth } : {}),
      fast,
      collectDirectories: true,
    });
    return this.afterCompare(r);
  }

  /**
   * Large scans (full checks, fallback scans) go to the worker thread, and their findings come
   * back in batches while it scans: each batch is journaled and alerted at once, so a tree where
   * everything changed never has all its findings in memory (50,000 at once exhausted the worker's
   * heap). The open findings the scan did not see again are resolved at the end, against `seen`.
   */
  private async scanInWorker(
    scope: Buffer[] | undefined,
    scopes: Scopes | null,
    why: string,
  ): Promise<{
    r: CompareResult;
    fresh: number;
    counts: Record<'added' | 'removed' | 'changed', number>;
  } | null> {
    const started = Date.now();
    const baselineId = this.baseline.id;
    const seen = new Set<string>();
    const counts = { added: 0, removed: 0, changed: 0 };
    let fresh = 0;
    const stale = () => this.stopping || baselineId !== this.baseline.id;
    const r = await this.scanWorker.compare(
      {
        baselineId,
        policyFiles: this.policy.files,
        policyHash: this.policy.hash.toString('hex'),
        ...(scope ? { scope } : {}),
        fast: false,
      },
      (batch) => {
        if (stale()) return;
        this.guard(() => {
          this.afterFindings(batch);
          for (const f of batch) {
            seen.add(pathToKey(f.path).toString('latin1'));
            counts[f.kind]++;
          }
          fresh += this.handle(batch, [], scopes, why, started, { partial: true });
        });
      },
    );
    if (stale()) return null;
    this.afterCompare(r);
    fresh += this.handle(r.findings, r.errors, scopes, why, started, { seen });
    return { r, fresh, counts };
  }

  private afterCompare(r: CompareResult): CompareResult {
    // New directories get watched; directories that went away lose their watch. A critical file
    // rescanned after an event gets its inode watch back (a replaced file is a new inode).
    // A new directory was read before its watch existed: whatever was created in between has no
    // event, so it is listed once more now that the watch is in place (inotify has no recursive
    // watch; this is the usual add-then-rescan order).
    for (const d of r.directories) {
      if (this.watcher.has(d)) continue;
      if (this.testWatchDelayMs > 0) {
        this.log(Pri.debug, `test: watching ${displayBytes(d)} in ${this.testWatchDelayMs} ms`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.testWatchDelayMs);
      }
      if (this.watch(d)) this.markDirty(d, false);
    }
    this.afterFindings(r.findings);
    return r;
  }

  private afterFindings(findings: readonly Finding[]): void {
    for (const f of findings) {
      if (f.severity === 'critical' && f.kind !== 'removed' && f.record.type === 'file') {
        this.watcher.remove(f.path);
        this.watcher.add(f.path, true);
      }
    }
    for (const f of findings)
      if (f.kind === 'removed' && f.record.type === 'dir') this.watcher.removeTree(f.path);
  }

  /** One full check at a time; requests while one runs are coalesced into one more. */
  private async fullCheck(reason: string): Promise<void> {
    if (this.fullRunning) {
      this.fullPending = reason;
      return;
    }
    this.fullRunning = true;
    try {
      await this.runFullCheck(reason);
    } catch (err) {
      this.guard(() => {
        throw err;
      });
    } finally {
      this.fullRunning = false;
    }
    const again = this.fullPending;
    this.fullPending = null;
    if (again !== null && !this.stopping) await this.fullCheck(again);
  }

  private async runFullCheck(reason: string): Promise<void> {
    const t0 = performance.now();
    const done = await this.scanInWorker(undefined, null, reason);
    if (!done) return;
    const { r, fresh, counts } = done;
    this.lastFullCheckNs = nowNs();
    const c = { scanned: r.stats.recorded, ...counts, errors: r.errors.length };
    this.files = r.stats.files;
    this.log(
      Pri.info,
      `full check (${reason}) in ${Math.round(performance.now() - t0)} ms: ${c.scanned} scanned, ${c.added} added, ${c.removed} removed, ${c.changed} changed, ${c.errors} errors, ${fresh} new`,
    );
    this.alerter?.send({
      type: 'summary',
      baselineRoot: this.baseline.root.toString('hex'),
      counts: c,
      runId: this.runId,
    });
  }

  private fallbackRunning = false;

  /**
   * Directories that could not be watched are rescanned in the worker, rehashed. Watches are set
   * in walk order, so past the kernel's limit whole subtrees are unwatched: scanning the outermost
   * of them covers the rest.
   */
  private fallbackScan(): void {
    if (this.unwatched.size === 0 || this.fallbackRunning) return;
    // Retry the watch first: the limit may have been raised, or a transient error passed.
    for (const d of [...this.unwatched.values()]) this.watch(d);
    const keys = outermostKeys([...this.unwatched.values()].map(pathToKey));
    if (keys.length === 0) return;
    this.fallbackRunning = true;
    this.scanInWorker(keys.map(keyToPath), { deep: new ScopeSet(keys), shallow: new ScopeSet() }, 'fallback')
      .catch((err: unknown) =>
        this.guard(() => {
          throw err;
        }),
      )
      .finally(() => {
        this.fallbackRunning = false;
      });
  }

  // ---- findings: journal first, then alert, never twice ----

  /**
   * What makes a finding "the same" for alerting: its kind, rule and the set of attributes that
   * differ from the baseline. A file that keeps changing in the same way is one open finding (its
   * journal entry follows the latest state); a new kind of change (say, setuid after a content
   * edit) is a new alert.
   */
  private signature(f: Finding): string {
    const what = f.kind === 'changed' ? f.changes.map((c) => c.attribute).sort() : [f.record.type];
    this.sigHasher.reset();
    this.sigHasher.update(JSON.stringify([f.kind, f.rule, what]));
    // A string, not a Buffer: thousands of small long-lived Buffers would each pin an 8 KB slab
    // of Node's buffer pool (measured: 63 MB of external memory after a 10,000-file storm).
    return this.sigHasher.digestHex();
  }

  private setReported(m: Map<string, { sig: string; finding: number | null }>): void {
    this.reported = m;
    this.reportedKeys.clear();
    for (const k of m.keys()) this.reportedKeys.add(k);
  }

  /** Open findings in the scanned places: deep scopes with all below them, shallow ones one level. */
  private reportedIn(scopes: Scopes): Set<string> {
    const out = new Set<string>();
    for (const s of scopes.deep.keys) for (const k of this.reportedKeys.within(s)) out.add(k);
    for (const s of scopes.shallow.keys) for (const k of this.reportedKeys.within(s, 1)) out.add(k);
    return out;
  }

  /**
   * Journal and alert what is new; forget what was reported in the scanned scopes and is clean now.
   * `scopes` null: everything was scanned. Returns the number of new findings.
   */
  private handle(
    findings: readonly Finding[],
    scanErrors: readonly ScanError[],
    scopes: Scopes | null,
    why: string,
    startedAt?: number,
    opts: {
      /** One batch of a streamed scan: journal and alert, but resolve nothing yet. */
      partial?: boolean;
      /** Keys the streamed batches already found: not resolved at the end. */
      seen?: ReadonlySet<string>;
    } = {},
  ): number {
    // A scan that started before a finding was reported (by an event rescan meanwhile) must not
    // undo that report: for those paths the newer result wins.
    const newer = (k: string) => startedAt !== undefined && (this.reportedAt.get(k) ?? 0) > startedAt;
    const found = new Map<string, Finding>();
    const errors = new Map<string, ScanError>();
    for (const f of findings) found.set(pathToKey(f.path).toString('latin1'), f);
    for (const e of scanErrors) errors.set(pathToKey(e.path).toString('latin1'), e);
    const fresh: { f: Finding; key: Buffer; sig: string }[] = [];
    /** Open findings seen again, the same: their journal entry takes the latest state. */
    const same: { f: Finding; id: number }[] = [];
    for (const [k, f] of found) {
      this.unstable.delete(k);
      if (newer(k)) continue;
      const sig = this.signature(f);
      const prev = this.reported.get(k);
      if (prev?.sig !== sig) fresh.push({ f, key: Buffer.from(k, 'latin1'), sig });
      else if (prev && prev.finding !== null) same.push({ f, id: prev.finding });
    }
    const inScope = (key: Buffer) =>
      scopes === null || scopes.deep.containing(key) !== undefined || scopes.shallow.holdsEntry(key);
    const resolved: Buffer[] = [];
    if (!opts.partial) {
      for (const k of scopes === null ? this.reported.keys() : this.reportedIn(scopes)) {
        if (!found.has(k) && !opts.seen?.has(k) && !errors.has(k) && !newer(k))
          resolved.push(Buffer.from(k, 'latin1'));
      }
    }
    const freshErrors: ScanError[] = [];
    for (const [k, e] of errors) {
      // A file still being written is not an error yet: look again once it is quiet, and report
      // it only if it never settles.
      if (e.code === 'EUNSTABLE' && why === 'event') {
        const n = (this.unstable.get(k) ?? 0) + 1;
        this.unstable.set(k, n);
        if (n < MAX_UNSTABLE) {
          this.markDirty(e.path, true);
          continue;
        }
      }
      this.unstable.delete(k);
      if (this.errorsReported.get(k) !== e.code) {
        this.errorsReported.set(k, e.code);
        freshErrors.push(e);
      }
    }
    if (!opts.partial) {
      for (const k of [...this.errorsReported.keys()]) {
        if (!errors.has(k) && inScope(Buffer.from(k, 'latin1'))) this.errorsReported.delete(k);
      }
    }
    if (fresh.length === 0 && resolved.length === 0 && freshErrors.length === 0 && same.length === 0)
      return 0;

    // The journal first: once this transaction commits, nothing that follows can lose a finding.
    const ids = this.store.transaction(() => {
      const out: number[] = [];
      for (const x of fresh) {
        const id = this.store.insertFinding(this.runId, {
          kind: x.f.kind,
          key: x.key,
          rule: x.f.rule,
          severity: x.f.severity,
          detail: JSON.stringify(findingToJson(x.f)),
          record: x.f.kind === 'removed' ? null : x.f.record,
        });
        this.store.setReported(this.baseline.id, x.key, x.sig, id);
        this.reported.set(x.key.toString('latin1'), { sig: x.sig, finding: id });
        this.reportedKeys.add(x.key.toString('latin1'));
        this.reportedAt.set(x.key.toString('latin1'), Date.now());
        this.runCounts[x.f.kind]++;
        out.push(id);
      }
      for (const x of same) {
        this.store.updateFinding(
          x.id,
          JSON.stringify(findingToJson(x.f)),
          x.f.kind === 'removed' ? null : x.f.record,
        );
      }
      for (const key of resolved) {
        this.store.clearReported(this.baseline.id, key);
        this.reported.delete(key.toString('latin1'));
        this.reportedKeys.delete(key.toString('latin1'));
        this.reportedAt.delete(key.toString('latin1'));
      }
      for (const e of freshErrors)
        this.store.insertScanError(this.runId, { key: pathToKey(e.path), code: e.code, message: e.message });
      this.runCounts.errors += freshErrors.length;
      this.runCounts.scanned = this.files;
      this.store.finishRun(this.runId, { finishedNs: nowNs(), ...this.runCounts, exitCode: 0 });
      return out;
    });
    fresh.forEach((x, i) => {
      const id = ids[i]!;
      const j = findingToJson(x.f);
      const attrs = j.changes ? ` (${j.changes.map((c) => c.attribute).join(', ')})` : '';
      this.log(
        Pri.warning,
        `${x.f.kind} ${j.path}${attrs} rule=${x.f.rule} severity=${x.f.severity} journal=${id} [${why}]`,
      );
      this.alerter?.send(findingEvent(x.f, id));
    });
    for (const key of resolved) this.log(Pri.info, `back to baseline: ${displayBytes(keyToPath(key))}`);
    for (const e of freshErrors) {
      this.log(Pri.err, `cannot check ${displayBytes(e.path)}: ${e.code} ${e.message}`);
      this.alerter?.send({ type: 'error', code: e.code, message: e.message, path: e.path });
    }
    return fresh.length;
  }

  // ---- lifecycle ----

  private heartbeat(): void {
    // Adopt an accepted baseline first, so the heartbeat names the root the log server expects.
    this.pollBaseline();
    const status: HeartbeatStatus = {
      watchedDirs: this.watcher.size,
      unwatchedDirs: this.unwatched.size,
      files: this.files,
      dirty: this.dirty.size,
      openFindings: this.reported.size,
      lastFullCheckNs: this.lastFullCheckNs,
    };
    this.log(
      Pri.debug,
      `heartbeat: ${status.watchedDirs} watched, ${status.unwatchedDirs} unwatched, ${status.dirty} dirty, ${status.openFindings} open findings, rss ${mb(process.memoryUsage().rss)} MB, heap ${mb(process.memoryUsage().heapUsed)} MB, external ${mb(process.memoryUsage().external)} MB`,
    );
    this.alerter?.send({ type: 'heartbeat', baselineRoot: this.baseline.root.toString('hex'), status });
  }

  /** `fim accept` (or a new `fim baseline`) ran while we watch: verify and adopt the new baseline. */
  private pollBaseline(): void {
    const id = this.store.latestBaselineId();
    if (id === null || id === this.baseline.id) return;
    const meta = this.store.baseline(id)!;
    verifyBaseline(this.store, meta, rootVerifier(this.cfg));
    const old = this.baseline;
    this.store.transaction(() => this.store.moveReported(old.id, meta.id));
    this.baseline = meta;
    this.setReported(this.store.reported(meta.id));
    this.newRun();
    this.log(
      Pri.notice,
      `baseline ${old.id} -> ${meta.id} (${meta.reason}), root ${meta.root.toString('hex')}`,
    );
    void this.fullCheck('new baseline');
  }

  private reload(): void {
    if (this.stopping) return;
    let cfg: Config;
    let policy: Policy;
    try {
      cfg = resolveConfig(this.opts.overrides);
      policy = loadPolicies(cfg.policies);
    } catch (err) {
      const msg = `reload refused, keeping the running configuration and policy: ${(err as Error).message}`;
      this.log(Pri.err, msg.replaceAll('\n', '; '));
      this.alerter?.send({ type: 'error', code: 'RELOAD', message: msg.replaceAll('\n', '; ') });
      return;
    }
    const changed = !policy.hash.equals(this.policy.hash);
    this.cfg = cfg;
    this.policy = policy;
    this.index = new RuleIndex(policy.rules);
    this.log(
      Pri.notice,
      `reloaded: policy ${policy.hash.toString('hex')}${changed ? ' (changed)' : ''}; database and syslog settings apply at restart`,
    );
    this.guard(() => this.syncWatches());
    void this.fullCheck('reload');
  }

  async stop(reason: string, code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.watcher?.close();
    await this.scanWorker?.close();
    this.log(Pri.notice, `stopping: ${reason}`);
    this.alerter?.send({ type: 'stop', reason });
    try {
      await this.alerter?.close(2000);
    } catch {
      // the stop event is best effort: the journal holds everything
    }
    try {
      this.store.finishRun(this.runId, { finishedNs: nowNs(), ...this.runCounts, exitCode: code });
    } catch {
      // the database may be what failed
    }
    this.store.close();
    this.resolveDone?.(code);
  }
}

function mb(n: number): string {
  return (n / 1e6).toFixed(0);
}

function parentOf(p: Buffer): Buffer | null {
  const i = p.lastIndexOf(0x2f);
  if (i <= 0) return p.length > 1 ? Buffer.from('/') : null;
  return p.subarray(0, i);
}
