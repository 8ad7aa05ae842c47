/**
 * `diff`: what changed between two stored baselines, as findings: the records of both are read in
 * key order side by side and compared under the policy in force (the attributes its rules check).
 * Both baselines are verified first (root and signature): a diff of a baseline that fails its
 * integrity check would be a diff of what an intruder wrote. Entries no rule covers now are
 * counted in a note, as `check` does.
 *
 * It must not scan the file system: `check` compares with the disk, `diff` between baselines.
 */
import { compareRecords } from '../compare/compare.js';
import { UsageError } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import type { BaselineMeta, KeyedRecord, Store } from '../store/store.js';
import type { Finding } from '../types.js';
import { nowNs, type RootVerifier, verifyBaseline } from './baseline.js';

export interface DiffResult {
  from: BaselineMeta;
  to: BaselineMeta;
  findings: Finding[];
  notes: string[];
  /** Entries compared (the union of both baselines' keys under a rule). */
  compared: number;
}

/** Baseline `id`, or a UsageError that says which ids are there and kept. */
function baselineOf(store: Store, id: number, what: string): BaselineMeta {
  const b = store.baseline(id);
  if (!b)
    throw new UsageError(
      `${what}: no baseline ${id}; see "fim history" or the baseline ids "fim check" prints`,
    );
  if (b.files > 0 && !store.hasRecords(id)) {
    throw new UsageError(
      `${what}: baseline ${id}'s records were pruned (baselines.keep in the configuration says how many are kept)`,
    );
  }
  return b;
}

export function diffBaselines(o: {
  store: Store;
  policy: Policy;
  /** Default: the parent of `to` (the baseline it replaced). */
  from?: number;
  /** Default: the baseline in force. */
  to?: number;
  verifySignature?: RootVerifier;
}): DiffResult {
  const { store } = o;
  const current = store.requireBaseline();
  const to = o.to === undefined ? current : baselineOf(store, o.to, 'to');
  const fromId = o.from ?? to.parent;
  if (fromId === null || fromId === undefined)
    throw new UsageError(`baseline ${to.id} has no earlier baseline to compare with; name one: fim diff A B`);
  const from = baselineOf(store, fromId, 'from');
  verifyBaseline(store, from, o.verifySignature);
  verifyBaseline(store, to, o.verifySignature);

  const index = new RuleIndex(o.policy.rules);
  const findings: Finding[] = [];
  let uncovered = 0;
  let compared = 0;
  const a = store.records(from.id);
  const b = store.records(to.id);
  let x = a.next();
  let y = b.next();
  const emit = (old: KeyedRecord | undefined, cur: KeyedRecord | undefined) => {
    const path = (cur ?? old)!.record.path;
    const c = index.classify(path);
    if (c.status !== 'covered') {
      uncovered++;
      return;
    }
    compared++;
    const f = compareRecords(old?.record, cur?.record, c.rule);
    if (f) {
      f.observedNs = nowNs();
      findings.push(f);
    }
  };
  try {
    while (!x.done || !y.done) {
      const order = x.done ? 1 : y.done ? -1 : Buffer.compare(x.value.key, y.value.key);
      if (order < 0 && !x.done) {
        emit(x.value, undefined);
        x = a.next();
      } else if (order > 0 && !y.done) {
        emit(undefined, y.value);
        y = b.next();
      } else if (!x.done && !y.done) {
        emit(x.value, y.value);
        x = a.next();
        y = b.next();
      }
    }
  } finally {
    a.return(undefined);
    b.return(undefined);
  }
  const notes: string[] = [];
  if (uncovered > 0)
    notes.push(`${uncovered} baseline entries are not covered by the policy in force and were not compared`);
  return { from, to, findings, notes, compared };
}
