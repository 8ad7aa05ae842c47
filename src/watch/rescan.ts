/**
 * Rescans: what the daemon compares with the baseline, and where. Event rescans (the dirty places
 * that are due) run here in the main thread, and take milliseconds: one path, or one directory's
 * entries. Full checks and fallback scans of unwatched trees run in the scan worker and stream
 * their findings back in batches. One full check runs at a time: requests made while one runs are
 * coalesced into one more.
 *
 * What it owns: turning due places into scopes (`planRescan`), the compares themselves, the
 * coalescing (`Coalescer`), and the staleness rule (results of a scan against a baseline that was
 * replaced meanwhile are dropped).
 *
 * What it must not do: decide what is new or resolved (the open-findings diff does), journal or
 * alert (the daemon hands results to the journal, then to the alerter), or hold a scan's findings
 * all at once when the worker streams them.
 */
import type { Counts } from '../alert/index.js';
import { Explainer, type ExplainSettings } from '../explain/explainer.js';
import { type CompareResult, compareScope } from '../ops/check.js';
import { keyDepth, keyToPath, outermostKeys, pathToKey, ScopeSet } from '../path-key.js';
import type { Policy } from '../policy/policy.js';
import type { RuleIndex } from '../policy/rule-index.js';
import type { BaselineMeta, Store } from '../store/store.js';
import type { Finding, Severity } from '../types.js';
import type { DirectoryDigests } from './dir-digests.js';
import type { DirtyPlace } from './dirty-set.js';
import type { ScanOutcome, Scopes } from './open-findings.js';
import type { ScanWorker } from './scan-worker.js';

/** What an event rescan compares: deep scopes in one scan, then batches of directories' entries. */
export interface RescanPlan {
  /** Keys rehashed with everything below them (the outermost only). */
  deep: Buffer[];
  /** Directories compared one level deep, metadata first; no batch holds two that nest. */
  shallow: Buffer[][];
}

/**
 * Plan the rescan of the due places. Deep places are rehashed with everything below them, in one
 * scan; the outermost suffice. Directories whose entries changed, and that no deep place covers,
 * go in batches, shallowest first, so a batch never holds a directory and one below it.
 */
export function planRescan(ready: readonly DirtyPlace[]): RescanPlan {
  const deep = outermostKeys(ready.filter((e) => e.deep).map((e) => pathToKey(e.path)));
  const deepSet = new ScopeSet(deep);
  let rest = ready
    .filter((e) => !e.deep)
    .map((e) => pathToKey(e.path))
    .filter((k) => deepSet.containing(k) === undefined)
    .sort((a, b) => keyDepth(a) - keyDepth(b));
  const shallow: Buffer[][] = [];
  while (rest.length) {
    const batch = new ScopeSet();
    const later: Buffer[] = [];
    for (const k of rest) {
      if (batch.containing(k) !== undefined) later.push(k);
      else batch.add(k);
    }
    shallow.push(batch.keys);
    rest = later;
  }
  return { deep, shallow };
}

/**
 * One run at a time. A request while one runs is remembered (the latest reason wins) and run once
 * the current one ends; any number of such requests make one more run, not many.
 */
export class Coalescer {
  private active = false;
  private pending: string | null = null;

  constructor(
    private readonly run: (reason: string) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly stopped: () => boolean = () => false,
  ) {}

  get running(): boolean {
    return this.active;
  }

  /** Resolves when this run (and those coalesced behind it) is done; at once when coalesced. */
  async request(reason: string): Promise<void> {
    if (this.active) {
      this.pending = reason;
      return;
    }
    this.active = true;
    try {
      await this.run(reason);
    } catch (err) {
      this.onError(err);
    } finally {
      this.active = false;
    }
    const again = this.pending;
    this.pending = null;
    if (again !== null && !this.stopped()) await this.request(again);
  }
}

/** The baseline, rules and policy in force: they change with `fim accept` and SIGHUP. */
export interface ScanTarget {
  baselineId: number;
  /** The baseline as verified (root and signature) when it was adopted. */
  baseline: BaselineMeta;
  /** Its per-directory digests, which event rescans check before they read records. */
  digests?: DirectoryDigests;
  index: RuleIndex;
  policy: Policy;
  /** Manifests that may explain findings (the configuration's `explain`). */
  explain?: ExplainSettings;
}

export interface FullCheckSummary {
  reason: string;
  ms: number;
  counts: Counts;
  /** The findings by severity, for the signed summary (the fleet status shows them). */
  bySeverity: Record<Severity, number>;
  /** Findings that were new (alerted). */
  fresh: number;
  /** Files the scan walked. */
  files: number;
}

/** What the rescans need from the daemon. */
export interface RescanHost {
  store: Store;
  worker: ScanWorker;
  target(): ScanTarget;
  stopping(): boolean;
  /** After a compare, before its findings are handled: watches (the watch set's `adopt`). */
  adopt(r: CompareResult): void;
  /** The same for findings streamed from the worker. */
  adoptFindings(findings: readonly Finding[]): void;
  /** Diff, journal and alert one scan's results; returns the number of new findings. */
  handle(o: ScanOutcome): number;
  fullCheckDone(s: FullCheckSummary): void;
  /** Run `fn`, reporting (never rethrowing) what it throws. */
  guard(fn: () => void): void;
}

export class Rescanner {
  private readonly full: Coalescer;
  private fallbackActive = false;

  constructor(private readonly host: RescanHost) {
    this.full = new Coalescer(
      (reason) => this.runFullCheck(reason),
      (err) =>
        host.guard(() => {
          throw err;
        }),
      () => host.stopping(),
    );
  }

  /** Rescan the due places, here in the main thread, and hand the results on. */
  events(ready: readonly DirtyPlace[]): void {
    const plan = planRescan(ready);
    const deep = new ScopeSet(plan.deep);
    const underDeep = (k: Buffer) => deep.containing(k) !== undefined;
    const results: CompareResult[] = [];
    const scopes: Scopes = { deep, shallow: new ScopeSet() };
    if (plan.deep.length) results.push(this.compare(plan.deep.map(keyToPath), undefined, false));
    // Each entry with its own event was rehashed above, so the rest of a directory's entries are
    // compared by metadata first (`fast`).
    for (const batch of plan.shallow) {
      const r = this.compare(batch.map(keyToPath), 1, true);
      r.findings = r.findings.filter((f) => !underDeep(pathToKey(f.path)));
      results.push(r);
      for (const key of batch) scopes.shallow.add(key);
    }
    this.host.handle({
      findings: results.flatMap((r) => r.findings),
      errors: results.flatMap((r) => r.errors),
      scopes,
      why: 'event',
    });
  }

  /** A full check; coalesced with one that runs already. */
  fullCheck(reason: string): Promise<void> {
    return this.full.request(reason);
  }

  /** A fallback scan runs (the next one waits for it to end rather than pile up). */
  get fallbackBusy(): boolean {
    return this.fallbackActive;
  }

  /** Rescan unwatched trees (path keys, none below another) in the worker, rehashed. */
  fallback(keys: readonly Buffer[]): void {
    if (this.fallbackActive || keys.length === 0) return;
    this.fallbackActive = true;
    this.inWorker(keys.map(keyToPath), { deep: new ScopeSet(keys), shallow: new ScopeSet() }, 'fallback')
      .catch((err: unknown) =>
        this.host.guard(() => {
          throw err;
        }),
      )
      .finally(() => {
        this.fallbackActive = false;
      });
  }

  private compare(scope: Buffer[], depth: number | undefined, fast: boolean): CompareResult {
    const t = this.host.target();
    t.digests?.verify(this.host.store, scope, depth);
    const r = compareScope({
      store: this.host.store,
      baselineId: t.baselineId,
      index: t.index,
      scope,
      ...(depth !== undefined ? { scopeDepth: depth } : {}),
      fast,
      collectDirectories: true,
      ...(t.explain ? { explainer: new Explainer(t.explain) } : {}),
    });
    this.host.adopt(r);
    return r;
  }

  private async runFullCheck(reason: string): Promise<void> {
    const t0 = performance.now();
    const done = await this.inWorker(undefined, null, reason, true);
    if (!done) return;
    const { r, fresh, counts, bySeverity } = done;
    this.host.fullCheckDone({
      reason,
      ms: Math.round(performance.now() - t0),
      counts: { scanned: r.stats.recorded, ...counts, errors: r.errors.length },
      bySeverity,
      fresh,
      files: r.stats.files,
    });
  }

  /**
   * Large scans go to the worker thread, and their findings come back in batches while it scans:
   * each batch is handled at once, so a tree where everything changed never has all its findings
   * in memory (50,000 at once exhausted the worker's heap). The open findings the scan did not see
   * again are resolved at the end, against `seen`. Null when the results went stale.
   */
  private async inWorker(
    scope: Buffer[] | undefined,
    scopes: Scopes | null,
    why: string,
    verify = false,
  ): Promise<{
    r: CompareResult;
    fresh: number;
    counts: Record<'added' | 'removed' | 'changed', number>;
    bySeverity: Record<Severity, number>;
  } | null> {
    const { host } = this;
    const startedAt = Date.now();
    const { baselineId, policy, explain } = host.target();
    const seen = new Set<string>();
    const counts = { added: 0, removed: 0, changed: 0 };
    const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
    let fresh = 0;
    const stale = () => host.stopping() || baselineId !== host.target().baselineId;
    const r = await host.worker.compare(
      {
        baselineId,
        policyFiles: policy.files,
        policyHash: policy.hash.toString('hex'),
        ...(scope ? { scope } : {}),
        fast: false,
        ...(verify ? { verify: host.target().baseline } : {}),
        ...(explain ? { explain } : {}),
      },
      (batch) => {
        if (stale()) return;
        host.guard(() => {
          host.adoptFindings(batch);
          for (const f of batch) {
            seen.add(pathToKey(f.path).toString('latin1'));
            counts[f.kind]++;
            bySeverity[f.severity]++;
          }
          fresh += host.handle({ findings: batch, errors: [], scopes, why, startedAt, partial: true });
        });
      },
    );
    if (stale()) return null;
    host.adopt(r);
    fresh += host.handle({ findings: r.findings, errors: r.errors, scopes, why, startedAt, seen });
    return { r, fresh, counts, bySeverity };
  }
}
