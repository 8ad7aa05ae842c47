/**
 * The journal: every check run and each of its findings, written to SQLite before anything is
 * reported or sent, so a lost datagram or a crash loses no evidence. Findings get ids that alerts
 * and `fim show` refer to.
 *
 * The one writer of runs, findings and scan errors, for `check` (`journalRun`: one run, written
 * whole) and for `watch` (`RunJournal`: one run that grows while the daemon watches, together with
 * the daemon's open findings, in the same transaction as the findings they name). Nothing else
 * writes those tables.
 *
 * What it must not do: decide what is a finding or whether it is new (compare and the daemon's
 * open-findings diff do), print, or send.
 */
import { pathToKey } from '../path-key.js';
import { findingToJson } from '../report/report.js';
import type { Store } from '../store/store.js';
import type { Finding, ScanError } from '../types.js';
import { nowNs } from './baseline.js';

export interface JournaledRun {
  runId: number;
  findingIds: number[];
}

/** A finding as its journal row stores it: the JSON detail, and the record found (none if removed). */
function findingRow(f: Finding) {
  return {
    detail: JSON.stringify(findingToJson(f)),
    record: f.kind === 'removed' ? null : f.record,
  };
}

function insertFinding(store: Store, runId: number, f: Finding, key = pathToKey(f.path)): number {
  return store.insertFinding(runId, {
    kind: f.kind,
    key,
    rule: f.rule,
    severity: f.severity,
    ...findingRow(f),
  });
}

function insertError(store: Store, runId: number, e: ScanError): void {
  store.insertScanError(runId, { key: pathToKey(e.path), code: e.code, message: e.message });
}

/** A check run, written whole in one transaction, then older runs beyond the retention pruned. */
export function journalRun(
  store: Store,
  r: {
    kind: string;
    baseline: number;
    scope: string | null;
    startedNs: bigint;
    scanned: number;
    findings: readonly Finding[];
    errors: readonly ScanError[];
    exitCode: number;
    retainRuns: number;
  },
): JournaledRun {
  return store.transaction(() => {
    const runId = store.startRun(r.kind, r.baseline, r.scope, r.startedNs);
    const findingIds = r.findings.map((f) => insertFinding(store, runId, f));
    for (const e of r.errors) insertError(store, runId, e);
    const count = (k: string) => r.findings.filter((f) => f.kind === k).length;
    store.finishRun(runId, {
      finishedNs: nowNs(),
      scanned: r.scanned,
      added: count('added'),
      removed: count('removed'),
      changed: count('changed'),
      errors: r.errors.length,
      exitCode: r.exitCode,
    });
    store.pruneRuns(r.retainRuns);
    return { runId, findingIds };
  });
}

/**
 * A check run whose findings stream in (`fim check --format ndjson|ecs`): the run row is written at
 * once, each batch of findings in its own transaction before it is printed or sent, and the run is
 * finished with its counts at the end. A run killed midway stays in the journal, unfinished, with
 * every finding that was reported.
 */
export class CheckJournal {
  private constructor(
    private readonly store: Store,
    readonly runId: number,
  ) {}

  static start(store: Store, r: { kind: string; baseline: number; scope: string | null; startedNs: bigint }) {
    return new CheckJournal(store, store.startRun(r.kind, r.baseline, r.scope, r.startedNs));
  }

  /** Journal a batch of findings in one transaction; their ids, in order. */
  add(findings: readonly Finding[]): number[] {
    return this.store.transaction(() => findings.map((f) => insertFinding(this.store, this.runId, f)));
  }

  finish(r: {
    scanned: number;
    counts: { added: number; removed: number; changed: number };
    errors: readonly ScanError[];
    exitCode: number;
    retainRuns: number;
  }): void {
    const { store } = this;
    store.transaction(() => {
      for (const e of r.errors) insertError(store, this.runId, e);
      store.finishRun(this.runId, {
        finishedNs: nowNs(),
        scanned: r.scanned,
        ...r.counts,
        errors: r.errors.length,
        exitCode: r.exitCode,
      });
      store.pruneRuns(r.retainRuns);
    });
  }
}

/** One step of the daemon's run: what its open-findings diff decided, to be made durable. */
export interface WatchEntry {
  /** New findings (or new kinds of change), with their path keys and signatures. */
  fresh: readonly { finding: Finding; key: Buffer; sig: string }[];
  /** Open findings seen again the same: their rows take the latest state. */
  same: readonly { finding: Finding; id: number }[];
  /** Keys back at baseline: no longer open. */
  resolved: readonly Buffer[];
  errors: readonly ScanError[];
  /** Files the daemon covers now (the run's `scanned`). */
  scanned: number;
}

export type RunCounts = { scanned: number; added: number; removed: number; changed: number; errors: number };

/**
 * The daemon's run: started at once and kept finished (with its counts so far, exit code 0) after
 * every step, so `fim history` shows it even if the daemon is killed; the open findings live in
 * the same database, per baseline, so a restart does not alert twice.
 */
export class RunJournal {
  private counts: RunCounts = { scanned: 0, added: 0, removed: 0, changed: 0, errors: 0 };

  private constructor(
    private readonly store: Store,
    readonly runId: number,
    readonly baselineId: number,
  ) {}

  static start(store: Store, kind: string, baselineId: number): RunJournal {
    const j = new RunJournal(store, store.startRun(kind, baselineId, null, nowNs()), baselineId);
    j.finish(0);
    return j;
  }

  /** Write one step in one transaction; returns the journal ids of `e.fresh`, in order. */
  record(e: WatchEntry): number[] {
    const { store } = this;
    const counts = { ...this.counts };
    const ids = store.transaction(() => {
      const ids: number[] = [];
      for (const x of e.fresh) {
        const id = insertFinding(store, this.runId, x.finding, x.key);
        store.setReported(this.baselineId, x.key, x.sig, id);
        counts[x.finding.kind]++;
        ids.push(id);
      }
      for (const x of e.same) {
        const row = findingRow(x.finding);
        store.updateFinding(x.id, row.detail, row.record);
      }
      for (const key of e.resolved) store.clearReported(this.baselineId, key);
      for (const err of e.errors) insertError(store, this.runId, err);
      counts.errors += e.errors.length;
      counts.scanned = e.scanned;
      this.finishWith(counts, 0);
      return ids;
    });
    // Only once committed: a failed transaction leaves the counts as they were.
    this.counts = counts;
    return ids;
  }

  /** Mark the run finished with `exitCode` (again: each step does, with code 0). */
  finish(exitCode: number): void {
    this.finishWith(this.counts, exitCode);
  }

  private finishWith(c: RunCounts, exitCode: number): void {
    this.store.finishRun(this.runId, { finishedNs: nowNs(), ...c, exitCode });
  }
}

/** `fim accept` made a new baseline while the daemon watches: its open findings carry over. */
export function carryOpenFindings(store: Store, from: number, to: number): void {
  store.transaction(() => store.moveReported(from, to));
}
