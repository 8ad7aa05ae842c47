/**
 * `accept`: take reviewed findings of the latest check into the baseline, atomically, as a new
 * baseline id. Only findings of a run made against the current baseline, or against one it grew
 * from by accepts alone, can be accepted (anything else would accept something nobody reviewed);
 * a path with no finding, or one already accepted, is refused.
 */

import { displayBytes } from '../display.js';
import { UsageError } from '../errors.js';
import { canonicalRecord } from '../fields.js';
import { pathToKey } from '../path-key.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, Store, StoredFinding } from '../store/store.js';
import { type FileRecord, STRENGTHS, type Strength } from '../types.js';
import { nowNs, type RootSigner, type RootVerifier, verifyBaseline } from './baseline.js';

export interface AcceptResult {
  meta: BaselineMeta;
  previous: BaselineMeta;
  accepted: StoredFinding[];
  /** With `explained`: the open findings it left (unexplained, or explained too weakly). */
  left: StoredFinding[];
  run: number;
}

/** The strength a journaled finding was explained with, if any (its detail is the JSON reported). */
export function explainedStrength(f: StoredFinding): Strength | undefined {
  try {
    const s: unknown = (JSON.parse(f.detail) as { explained_by?: { strength?: unknown } }).explained_by
      ?.strength;
    return (STRENGTHS as readonly unknown[]).includes(s) ? (s as Strength) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `current` is `from`, or was made from it by accepts only (no new `fim baseline` since). */
function grewByAcceptsFrom(store: Store, current: BaselineMeta, from: number | null): boolean {
  let b: BaselineMeta | undefined = current;
  for (let steps = 0; b && steps < 100_000; steps++) {
    if (b.id === from) return true;
    if (b.reason !== 'accept' || b.parent === null) return false;
    b = store.baseline(b.parent);
  }
  return false;
}

/** A finding of an earlier run is still open when the baseline in force does not hold its state yet. */
function stillOpen(store: Store, baseline: number, f: StoredFinding): boolean {
  const key = pathToKey(f.path);
  let now: FileRecord | undefined;
  for (const r of store.recordsUnderMany(baseline, [key], 0)) if (r.key.equals(key)) now = r.record;
  if (f.kind === 'removed' || !f.record) return now !== undefined;
  return now === undefined || !canonicalRecord(key, now).equals(canonicalRecord(key, f.record));
}

export function acceptFindings(o: {
  store: Store;
  paths?: Buffer[];
  all?: boolean;
  /** Accept exactly the findings a manifest explains at least this strongly (src/explain/). */
  explained?: Strength;
  label?: string;
  sign?: RootSigner;
  verifySignature?: RootVerifier;
  /** How many baselines keep their records (the new one included); default 1. */
  keepBaselines?: number;
}): AcceptResult {
  const { store } = o;
  const current = store.requireBaseline();
  verifyBaseline(store, current, o.verifySignature);
  const run = store.latestRun('check') ?? undefined;
  const watchRun = store.latestRun('watch');
  const latest = watchRun && (!run || watchRun.id > run.id) ? watchRun : run;
  if (!latest || !grewByAcceptsFrom(store, current, latest.baseline)) {
    throw new UsageError(
      `no check has been run against the current baseline (${current.id}): run "fim check" and review it first`,
    );
  }
  // Several accepts may follow one check: each takes the findings of that run that are still open
  // against the baseline in force (not yet accepted by an earlier accept).
  const open = (f: StoredFinding) => latest.baseline === current.id || stillOpen(store, current.id, f);
  const found = store.findings(latest.id);
  let chosen: StoredFinding[];
  let left: StoredFinding[] = [];
  if ([o.all, o.explained !== undefined, (o.paths ?? []).length > 0].filter(Boolean).length > 1)
    throw new UsageError('give paths, --all or --explained, not several of them');
  if (o.all) chosen = found.filter(open);
  else if (o.explained !== undefined) {
    const min = STRENGTHS.indexOf(o.explained);
    const pool = found.filter(open);
    chosen = pool.filter((f) => {
      const s = explainedStrength(f);
      return s !== undefined && STRENGTHS.indexOf(s) >= min;
    });
    left = pool.filter((f) => !chosen.includes(f));
    if (chosen.length === 0)
      throw new UsageError(
        `check run ${latest.id} has no finding explained as ${o.explained} or stronger (${left.length} open, none accepted)`,
      );
  } else {
    const wanted = o.paths ?? [];
    if (wanted.length === 0) throw new UsageError('name the paths to accept, or give --all');
    const byPath = new Map(found.map((f) => [f.path.toString('latin1'), f]));
    const missing = wanted.filter((p) => !byPath.has(p.toString('latin1')));
    if (missing.length) {
      throw new UsageError(
        `no finding for ${missing.map((p) => displayBytes(p)).join(', ')} in check run ${latest.id}; nothing was accepted`,
      );
    }
    chosen = wanted.map((p) => byPath.get(p.toString('latin1'))!);
    const done = chosen.filter((f) => !open(f));
    if (done.length) {
      throw new UsageError(
        `${done.map((f) => displayBytes(f.path)).join(', ')}: already accepted into baseline ${current.id}; nothing was accepted`,
      );
    }
  }
  if (chosen.length === 0) throw new UsageError(`check run ${latest.id} has no findings to accept`);

  return store.transaction(() => {
    const id = store.nextBaselineId();
    store.copyRecords(current.id, id);
    const write = store.recordWriter(id);
    for (const f of chosen) {
      const key = pathToKey(f.path);
      store.deleteRecord(id, key);
      if (f.kind !== 'removed' && f.record) write(key, f.record);
    }
    const root = new RootBuilder();
    for (const { key, record } of store.records(id)) root.add(key, record);
    const createdNs = nowNs();
    const meta: BaselineMeta = {
      id,
      createdNs,
      label: o.label ?? `${current.label} + accepted run ${latest.id}`,
      host: current.host,
      policyHash: current.policyHash,
      files: root.records,
      bytes: 0n,
      root: Buffer.alloc(0),
      signature: null,
      parent: current.id,
      reason: 'accept',
      format: root.format,
    };
    meta.root = root.finish(meta);
    meta.bytes = current.bytes;
    meta.signature = o.sign ? o.sign(meta.root, createdNs) : null;
    store.insertBaselineMeta(meta);
    // Same policy as the baseline it amends: its texts carry over.
    const kept = store.baselinePolicy(current.id);
    if (kept !== undefined) store.saveBaselinePolicy(id, kept);
    store.pruneOldRecords(id, o.keepBaselines ?? 1);
    store.vacuum();
    return { meta, previous: current, accepted: chosen, left, run: latest.id };
  });
}
