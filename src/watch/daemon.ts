/**
 * `fim watch`, the daemon. It verifies the baseline, announces itself, watches every covered
 * directory, runs a full check (so whatever changed while it was down is reported), then turns
 * watcher events into dirty places and rescans them by bytes after a short debounce.
 * What it owns: the lifecycle. It opens the database, the alerter and the scan worker and wires
 * the parts together: watch-set.ts (the watches), dirty-set.ts (dirty places and the debounce),
 * rescan.ts (rescans and full checks), reporter.ts with open-findings.ts (what is new, the same or
 * resolved; journaled through src/ops/journal.ts before it is logged or sent). It runs the timers
 * (heartbeat, periodic full check, fallback scans, baseline poll), adopts a new baseline, reloads
 * on SIGHUP and stops cleanly on SIGTERM.
 * What it must not do: trust an event's name (it is a hint), crash on anything the file system or
 * the network does, write the journal's tables itself, or grow without bound in a storm (past a
 * limit the dirty set collapses into one full check).
 */

import { type AlertEvent, type Alerter, DAEMON_KIND, type HeartbeatStatus } from '../alert/index.js';
import { type Config, type ConfigOverrides, resolveConfig } from '../config.js';
import { displayBytes } from '../display.js';
import { ExitCode, FimError, StorageError } from '../errors.js';
import { loadKeyStore, openAlerter, rootVerifier } from '../evidence.js';
import type { KeyStore } from '../keys/index.js';
import { nowNs, verifyBaseline } from '../ops/baseline.js';
import { carryOpenFindings, RunJournal } from '../ops/journal.js';
import { loadPolicies, type Policy } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { type BaselineMeta, Store } from '../store/store.js';
import type { DirEvent } from './backend.js';
import { backendText, chooseBackend } from './backend-choice.js';
import type { DaemonClock } from './clock.js';
import { daemonClock, keysExpiry, tendKeys } from './clock-events.js';
import { DatabaseIdentity } from './db-identity.js';
import { DirectoryDigests } from './dir-digests.js';
import { DirtySet, MAX_DIRTY, placesOf } from './dirty-set.js';
import { heartbeatLine, type Logger, Pri } from './log.js';
import { openBySeverity } from './open-findings.js';
import { configHash, reloadNotice, selfPaths } from './reload.js';
import { FindingReporter } from './reporter.js';
import { type FullCheckSummary, Rescanner } from './rescan.js';
import { ScanWorker } from './scan-worker.js';
import { verifyAtStart } from './start-check.js';
import { WatchSet } from './watch-set.js';

export { type Logger, Pri } from './log.js';

const BASELINE_POLL_MS = 1_000;

export interface DaemonOptions {
  overrides: ConfigOverrides;
  log: Logger;
  /** Test hook (test/fixtures/daemon-with-delay.mjs only): pause before watching a new directory. */
  watchDelayMs?: number;
  /** Test hook (the same fixture): a clock tick this late is a pause (default 10 s). */
  pauseThresholdMs?: number;
}

export class Daemon {
  private cfg!: Config;
  private policy!: Policy;
  private index!: RuleIndex;
  private store!: Store;
  private alerter: Alerter | null = null;
  private baseline!: BaselineMeta;
  private watches!: WatchSet;
  private dirty!: DirtySet;
  private rescans!: Rescanner;
  private scanWorker!: ScanWorker;
  private findings!: FindingReporter;
  private files = 0;
  private lastFullCheckNs: bigint | null = null;
  private clock!: DaemonClock;
  private stopping = false;
  private resolveDone: ((code: number) => void) | null = null;
  private readonly log: Logger;
  private dbIdentity!: DatabaseIdentity;
  /** The database at its path is not ours any more: write nothing more into our connection. */
  private dbGone = false;
  private digests: DirectoryDigests | undefined;
  private cfgHash = 'none';
  private keys: KeyStore | null = null;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.log;
  }

  /** Runs until SIGTERM/SIGINT; resolves with the exit status. */
  async run(): Promise<number> {
    this.cfg = resolveConfig(this.opts.overrides);
    this.cfgHash = configHash(this.cfg);
    this.policy = loadPolicies(this.cfg.policies);
    this.index = new RuleIndex(this.policy.rules);
    this.keys = loadKeyStore(this.cfg, (m) => this.log(Pri.warning, m), Date.now(), true);
    this.clock = daemonClock(this.keys, this.opts.pauseThresholdMs, {
      guard: (fn) => this.guard(fn),
      notify: (pri, msg, alert) => this.notify(pri, msg, alert),
      stop: (why) => void this.stop(why, ExitCode.key),
      fullCheck: () => void this.rescans?.fullCheck('pause'),
    });
    this.store = Store.open(this.cfg.database);
    this.dbIdentity = new DatabaseIdentity(this.cfg.database);
    this.baseline = this.store.requireBaseline();
    this.alerter = openAlerter(this.cfg, this.keys, this.store, (m) => this.log(Pri.warning, m), DAEMON_KIND);
    await verifyAtStart(this.store, this.baseline, rootVerifier(this.cfg), this.alerter, this.log);
    const root = this.baseline.root.toString('hex');
    this.log(
      Pri.notice,
      `starting: baseline ${this.baseline.id} root ${root}, policy ${this.policy.hash.toString('hex')}`,
    );
    const backend = chooseBackend(this.cfg.watch.backend);
    const watcher = backendText(backend);
    this.log(Pri.notice, `watching with ${watcher}`);
    this.alerter?.send({
      type: 'start',
      baselineRoot: root,
      policyHash: this.policy.hash.toString('hex'),
      watcher,
    });
    this.dirty = new DirtySet({
      debounceMs: this.cfg.watch.debounceMs,
      onDue: () => this.guard(() => this.flushDirty()),
    });
    this.findings = new FindingReporter({
      log: this.log,
      alerter: this.alerter,
      retry: (path) => this.dirty.mark(path, true),
      files: () => this.files,
      who: (path) => this.watches?.who(path),
    });
    this.adoptRun();

    const done = new Promise<number>((resolve) => {
      this.resolveDone = resolve;
    });
    const onSignal = (sig: string) => void this.stop(`signal ${sig}`);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => this.reload());

    const t0 = performance.now();
    const w = this.cfg.watch;
    this.scanWorker = new ScanWorker(this.cfg.database);
    this.watches = new WatchSet({
      onEvent: (e) => this.onEvent(e),
      onLost: (dir) => this.dirty.mark(dir, true),
      onOverflow: () => this.guard(() => void (this.stopping || this.rescans.fullCheck('queue overflow'))),
      notify: (pri, msg, alert) => this.notify(pri, msg, alert),
      backend,
      inodes: () => this.store.fileInodes(this.baseline.id),
      maxWatches: w.maxWatches,
      fallbackScanMs: w.fallbackScanMs,
      ...(this.opts.watchDelayMs !== undefined ? { watchDelayMs: this.opts.watchDelayMs } : {}),
    });
    this.rescans = new Rescanner({
      store: this.store,
      worker: this.scanWorker,
      target: () => ({
        baselineId: this.baseline.id,
        baseline: this.baseline,
        digests: this.digests,
        index: this.index,
        policy: this.policy,
        explain: this.cfg.explain,
      }),
      stopping: () => this.stopping,
      adopt: (r) => {
        // A directory watched only now is listed once more: see WatchSet.adopt.
        for (const d of this.watches.adopt(r)) this.dirty.mark(d, false);
      },
      adoptFindings: (f) => this.watches.adoptFindings(f),
      handle: (o) => {
        // Never journal into a database that is no longer the one at its path.
        this.checkDatabase();
        return this.findings.handle(o);
      },
      fullCheckDone: (s) => this.fullCheckDone(s),
      guard: (fn) => this.guard(fn),
    });
    this.files = this.watches.sync(this.index);
    this.log(
      Pri.notice,
      `watching ${this.watches.size} directories (${this.watches.unwatchedSize} unwatched) in ${Math.round(performance.now() - t0)} ms; ready`,
    );
    await this.rescans.fullCheck('start');

    this.clock.every(w.heartbeatMs, () => this.heartbeat());
    this.clock.every(w.fullCheckMs, () => void this.rescans.fullCheck('periodic'));
    // Directories that could not be watched are rescanned in the worker, rehashed.
    this.clock.every(w.fallbackScanMs, () => {
      if (!this.rescans.fallbackBusy) this.rescans.fallback(this.watches.retryUnwatched());
    });
    this.clock.every(BASELINE_POLL_MS, () => this.pollBaseline());
    this.clock.start();
    const code = await done;
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.removeAllListeners(sig);
    return code;
  }

  /** A run of our own for the baseline in force, and the open findings recorded against it. */
  private adoptRun(): void {
    // The baseline was just verified whole: its per-directory digests guard the event rescans.
    this.digests = DirectoryDigests.build(this.store, this.baseline.id);
    this.findings.journal = RunJournal.start(this.store, 'watch', this.baseline.id);
    this.findings.open.load(this.store.reported(this.baseline.id));
  }

  private notify(pri: number, msg: string, alert?: AlertEvent): void {
    this.log(pri, msg);
    if (alert) this.alerter?.send(alert);
  }

  /** Nothing the file system or the database does may kill the daemon silently. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // Stopping already (the database went away, say): that was said; nothing more to report.
      if (this.stopping) return;
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

  // ---- events ----

  private onEvent(e: DirEvent): void {
    if (this.stopping) return;
    this.watches.forget(e);
    for (const p of placesOf(e)) this.dirty.mark(p.path, p.deep);
  }

  private flushDirty(): void {
    if (this.stopping) return;
    this.checkDatabase();
    const t = this.dirty.take();
    if (t.overflow) {
      this.log(Pri.info, `more than ${MAX_DIRTY} places changed at once: running one full check`);
      void this.rescans.fullCheck('storm');
      return;
    }
    if (t.ready.length) this.rescans.events(t.ready);
  }

  // ---- findings: journal first, then alert, never twice (reporter.ts) ----

  private fullCheckDone(s: FullCheckSummary): void {
    this.lastFullCheckNs = nowNs();
    this.files = s.files;
    const c = s.counts;
    this.log(
      Pri.info,
      `full check (${s.reason}) in ${s.ms} ms: ${c.scanned} scanned, ${c.added} added, ${c.removed} removed, ${c.changed} changed, ${c.errors} errors, ${s.fresh} new`,
    );
    this.alerter?.send({
      type: 'summary',
      baselineRoot: this.baseline.root.toString('hex'),
      counts: c,
      bySeverity: s.bySeverity,
      runId: this.findings.journal?.runId ?? 0,
    });
  }

  // ---- lifecycle ----

  /** Stop, loudly, when the database at its path is not the one we opened (db-identity.ts). */
  private checkDatabase(): void {
    const msg = this.dbIdentity.problem();
    if (!msg) return;
    this.dbGone = true;
    this.alerter?.unchain();
    this.notify(Pri.crit, msg, { type: 'error', code: 'EDBSWAP', message: msg });
    void this.stop('database replaced or deleted', ExitCode.storage);
    throw new StorageError(msg);
  }

  private heartbeat(): void {
    this.checkDatabase();
    const keysGone = tendKeys(this.keys);
    if (keysGone !== null) return void this.stop(keysGone, ExitCode.key);
    this.pollBaseline(); // first: the heartbeat then names the root the log server expects
    for (const f of this.watches.criticalFiles) this.dirty.mark(f, false); // chattr raises no event
    const status: HeartbeatStatus = {
      watchedDirs: this.watches.size,
      unwatchedDirs: this.watches.unwatchedSize,
      files: this.files,
      dirty: this.dirty.size,
      openFindings: this.findings.open.size,
      ...openBySeverity(this.findings.open.keys(), this.index),
      lastFullCheckNs: this.lastFullCheckNs,
      watcher: backendText(this.watches.backend),
    };
    this.log(Pri.debug, heartbeatLine(status));
    const root = this.baseline.root.toString('hex');
    this.alerter?.send({ type: 'heartbeat', baselineRoot: root, status, ...keysExpiry(this.keys) });
  }

  /** `fim accept` (or a new `fim baseline`) ran while we watch: verify and adopt the new baseline. */
  private pollBaseline(): void {
    const id = this.store.latestBaselineId();
    if (id === null || id === this.baseline.id) return;
    const meta = this.store.baseline(id)!;
    verifyBaseline(this.store, meta, rootVerifier(this.cfg));
    const old = this.baseline;
    carryOpenFindings(this.store, old.id, meta.id);
    this.baseline = meta;
    this.adoptRun();
    this.log(
      Pri.notice,
      `baseline ${old.id} -> ${meta.id} (${meta.reason}), root ${meta.root.toString('hex')}`,
    );
    void this.rescans.fullCheck('new baseline');
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
    // fim's own files are judged under the policy in force before the reload: a reload that
    // excludes the policies must not decide whether its own edit of them is a finding.
    const self = selfPaths(this.cfg, cfg, this.policy, policy);
    const t = Date.now();
    this.guard(() =>
      this.rescans.events(self.map((path) => ({ path, deep: true, first: t, last: t, hot: false }))),
    );
    const oldConfig = this.cfgHash;
    this.cfgHash = configHash(cfg);
    const notice = reloadNotice(this.policy, policy, self, { oldConfig, newConfig: this.cfgHash });
    this.cfg = cfg;
    this.policy = policy;
    this.index = new RuleIndex(policy.rules);
    // Open findings the new policy no longer covers are not "back to baseline": they are unwatched.
    this.guard(() => {
      for (const path of this.findings.unmonitor((p) => this.index.classify(p).status !== 'covered'))
        this.notify(Pri.warning, `no longer monitored: ${displayBytes(path)} (it had an open finding)`, {
          type: 'error',
          code: 'EUNMONITORED',
          message: 'an open finding is no longer covered by the policy after a reload',
          path,
        });
    });
    this.notify(notice.critical ? Pri.crit : Pri.notice, notice.line, notice.event);
    this.dirty.debounceMs = cfg.watch.debounceMs;
    this.watches.fallbackScanMs = cfg.watch.fallbackScanMs;
    this.watches.maxWatches = cfg.watch.maxWatches;

    this.guard(() => {
      this.files = this.watches.sync(this.index);
    });
    void this.rescans.fullCheck('reload');
  }

  async stop(reason: string, code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clock?.close();
    this.dirty?.close();
    this.watches?.close();
    await this.scanWorker?.close();
    this.log(Pri.notice, `stopping: ${reason}`);
    this.findings?.flushHeld(); // a deploy's held alerts go out before the stop, inside the session
    this.alerter?.send({ type: 'stop', reason });
    try {
      await this.alerter?.close(2000);
    } catch {
      // the stop event is best effort: the journal holds everything
    }
    // Not even the run's end, nor the close (which checkpoints the write-ahead log), into a database
    // that was replaced: its -wal and -shm files are shared by name with the new one.
    if (!this.dbGone) {
      try {
        this.findings.journal?.finish(code);
      } catch {
        // the database may be what failed
      }
      try {
        this.store.close();
      } catch {
        // a database deleted under us may refuse even this
      }
    }
    this.resolveDone?.(code);
  }
}
