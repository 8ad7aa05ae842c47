/**
 * `check`: scan and compare in one pass. The baseline is read in key order beside the walk, so
 * memory stays flat however large the tree; the baseline is verified first, and a baseline that
 * fails is refused before a single finding is reported. `compareScope` is the shared core: the
 * daemon calls it for each dirty place.
 */
import { displayBytes } from '../display.js';
import { ExitCode } from '../errors.js';
import type { Explainer } from '../explain/explainer.js';
import { keyToPath, levelsBelow, outermostKeys, pathToKey, ScopeSet } from '../path-key.js';
import { coverageChange } from '../policy/coverage.js';
import { type Policy, type PolicySource, policyFromSources } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { type ScanStats, scanTree } from '../scan/scan.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, KeyedRecord, Store } from '../store/store.js';
import type { Finding, ScanError, Severity } from '../types.js';
import { checkRoot, nowNs, type RootVerifier, verifiedRecords, verifyBaseline } from './baseline.js';
import { Comparer } from './comparer.js';
import type { RowReader } from './row-stream.js';
import { SplitPool, splitScan } from './split-scan.js';

export interface CheckOptions {
  store: Store;
  policy: Policy;
  /** Restrict to these absolute paths. */
  scope?: Buffer[];
  fast?: boolean;
  rules?: string[];
  minSeverity?: Severity;
  verifySignature?: RootVerifier;
  onProgress?: (s: ScanStats) => void;
  /** Annotates each finding with what a manifest says of it (src/explain/); never drops one. */
  explainer?: Explainer;
  /**
   * Stream: each finding that passes the filters as soon as it is final, instead of in `findings`
   * (left empty). The baseline is then verified whole before the scan starts, so nothing from a
   * baseline that fails its integrity check is ever handed out.
   */
  onFinding?: (f: Finding) => void;
  /** Threads to split a full check over (ops/split-scan.ts), this one included; 1 or absent: no split. */
  workers?: number;
  /** Split: walk only once every worker is up (SplitOptions.awaitWorkers). */
  awaitWorkers?: boolean;
  /** Split: workers started ahead (SplitPool.start), instead of `workers`. */
  pool?: SplitPool | null;
  /**
   * A full check that is not split: its baseline rows read and verified by another process while
   * this one walks (ops/row-stream.ts). Used once, and closed whether it is used or not.
   */
  rowReader?: RowReader | null;
}

export interface CompareResult {
  findings: Finding[];
  errors: ScanError[];
  notes: string[];
  stats: ScanStats;
  /** Directories seen whose entries the policy covers (the daemon watches them). */
  directories: Buffer[];
}

export interface CheckResult extends CompareResult {
  baseline: BaselineMeta;
  exitCode: number;
  /** Findings that passed the filters, by kind (streamed ones included). */
  counts: { added: number; removed: number; changed: number };
}

const SEV_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export function exitCodeFor(findings: readonly Finding[], errors: number): number {
  let code = 0;
  for (const f of findings)
    code |= f.kind === 'added' ? ExitCode.added : f.kind === 'removed' ? ExitCode.removed : ExitCode.changed;
  if (errors > 0) code |= ExitCode.scanErrors;
  return code;
}

/**
 * Copies of paths packed into 64 KiB chunks. The scanner's path Buffers are views of Node's 8 KiB
 * pool slabs, which hold everything else it allocated meanwhile: a list of 2,000 directories kept
 * to the end of a full check pinned a slab each (measured: 12 MB of the daemon's scan worker).
 */
export function packedCopies(): (p: Buffer) => Buffer {
  let chunk = Buffer.allocUnsafeSlow(0);
  let used = 0;
  return (p) => {
    if (used + p.length > chunk.length) {
      chunk = Buffer.allocUnsafeSlow(Math.max(64 * 1024, p.length));
      used = 0;
    }
    const out = chunk.subarray(used, used + p.length);
    p.copy(out);
    used += p.length;
    return out;
  };
}

/** Scan a scope (everything, one path, or several) and compare it with a baseline. */
export function compareScope(o: {
  store: Store;
  baselineId: number;
  index: RuleIndex;
  scope?: readonly Buffer[];
  scopeDepth?: number;
  fast?: boolean;
  collectDirectories?: boolean;
  /** Verify the whole baseline in the same read (full scans only); throws BaselineIntegrityError. */
  verify?: BaselineMeta;
  /** A full scan's baseline records from elsewhere, verified before they end (RowReader). */
  rows?: Iterator<KeyedRecord, unknown>;
  onProgress?: (s: ScanStats) => void;
  explainer?: Explainer;
  /**
   * Each finding as soon as it is final, instead of in `findings` (left empty): a check of a tree
   * where everything changed must not hold every finding in memory at once.
   */
  onFinding?: (f: Finding) => void;
}): CompareResult {
  const { store, index } = o;
  const depth = o.scopeDepth ?? Number.POSITIVE_INFINITY;
  // With a depth limit the caller passes scopes that do not nest (the daemon batches them so).
  const keys = (o.scope ?? []).map(pathToKey);
  const scopeKeys = depth === Number.POSITIVE_INFINITY ? outermostKeys(keys) : [...keys].sort(Buffer.compare);
  const scope = scopeKeys.map(keyToPath);
  const scopeSet = new ScopeSet(scopeKeys);
  const inScope = (key: Buffer) => {
    if (scopeKeys.length === 0) return true;
    const s = scopeSet.containing(key);
    return s !== undefined && (depth === Number.POSITIVE_INFINITY || levelsBelow(key, s) <= depth);
  };

  const findings: Finding[] = [];
  const sink = o.onFinding ?? ((f: Finding) => void findings.push(f));
  const emit = (f: Finding) => {
    f.observedNs = nowNs();
    const rule = o.explainer ? index.ruleNamed(f.rule) : undefined;
    if (rule) o.explainer?.annotate(f, rule);
    sink(f);
  };
  const notes: string[] = [];
  const directories: Buffer[] = [];
  const pack = packedCopies();

  if ((o.verify || o.rows) && scopeKeys.length) throw new Error('compareScope: verify needs a full scan');
  const source = scopeKeys.length
    ? store.recordsUnderMany(o.baselineId, scopeKeys, depth)
    : store.records(o.baselineId);
  // Verified as they end: the comparer reads them to the end (finish), so a baseline that fails
  // its root throws there.
  const iter = o.rows ?? (o.verify ? verifiedRecords(store, o.verify, source) : source);
  const cmp = new Comparer({ index, rows: iter, inScope, emit });
  let stats: ScanStats;
  try {
    stats = scanTree({
      index,
      ...(scope.length ? { scope } : {}),
      ...(o.scopeDepth !== undefined ? { scopeDepth: o.scopeDepth } : {}),
      fast: o.fast ?? false,
      lookup: cmp.peek,
      ...(o.collectDirectories ? { onDirectory: (p: Buffer) => directories.push(pack(p)) } : {}),
      onItem: cmp.item,
      onMissing: (path, rule) => notes.push(`rule "${rule.name}": path ${displayBytes(path)} does not exist`),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    cmp.finish();
  } finally {
    cmp.close();
  }
  if (cmp.uncovered > 0)
    notes.push(`${cmp.uncovered} baseline entries are no longer covered by the policy and were ignored`);
  return { findings, errors: cmp.errors, notes, stats, directories };
}

/**
 * A full check split over worker threads (ops/split-scan.ts). Each worker compares its subtrees
 * with the records it read of them and hashes those by directory; the root is checked here over
 * exactly the records the workers compared, whatever the database held for each read, so an edit
 * anywhere fails it. Findings come in key order, as from compareScope.
 */
function splitCompare(
  o: CheckOptions & {
    baseline: BaselineMeta;
    index: RuleIndex;
    pool: SplitPool;
    onFinding: (f: Finding) => void;
  },
): CompareResult {
  const { store, baseline, index } = o;
  const root = new RootBuilder(baseline.format);
  const errors: ScanError[] = [];
  const notes: string[] = [];
  const r = splitScan({
    mode: 'check',
    workers: o.pool.n,
    pool: o.pool,
    policy: o.policy,
    fast: o.fast ?? false,
    database: store.file,
    baselineId: baseline.id,
    store,
    onItem: (it) => {
      if (it.k === 'part') root.addPart({ code: it.code, count: it.count, digest: it.root });
      else if (it.k === 'error') errors.push(it.error);
      else if (it.k === 'missing')
        notes.push(`rule "${it.rule}": path ${displayBytes(it.path)} does not exist`);
      else if (it.k === 'finding') {
        const f = it.finding;
        const rule = o.explainer ? index.ruleNamed(f.rule) : undefined;
        if (rule) o.explainer?.annotate(f, rule);
        o.onFinding(f);
      }
    },
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.awaitWorkers ? { awaitWorkers: true } : {}),
  });
  checkRoot(store, baseline, root);
  if (r.uncovered > 0)
    notes.push(`${r.uncovered} baseline entries are no longer covered by the policy and were ignored`);
  return { findings: [], errors, notes, stats: r.stats, directories: [] };
}

/**
 * What a check under another policy than the baseline's should say: how coverage changed, from the
 * policy texts kept with the baseline (their hash is the one bound into its signed root), so a
 * narrowed policy cannot pass as a clean check.
 */
function policyChangeNote(store: Store, baseline: BaselineMeta, policy: Policy): string {
  const tail = 'run "fim baseline" after reviewing';
  const kept = store.baselinePolicy(baseline.id);
  if (kept === undefined) return `the policy changed since this baseline was made; ${tail}`;
  let before: Policy;
  try {
    before = policyFromSources(JSON.parse(kept) as PolicySource[]);
  } catch {
    return `the policy changed since this baseline was made (its kept policy texts do not parse); ${tail}`;
  }
  if (!before.hash.equals(baseline.policyHash))
    return `the policy changed since this baseline was made, and the policy texts kept with it do not match its signed policy hash; ${tail}`;
  const c = coverageChange(before, policy, []);
  return `the policy changed since this baseline was made: ${c.critical ? 'CRITICAL: ' : ''}${c.text}; ${tail}`;
}

/**
 * One check, its reads in one read transaction: the baseline's metadata, its verification and
 * the comparison all see the same snapshot, so a row edited while the check runs is either in
 * every read or in none.
 */
export function runCheck(o: CheckOptions): CheckResult {
  return o.store.readTransaction(() => checkIn(o));
}

function checkIn(o: CheckOptions): CheckResult {
  const { store, policy } = o;
  const baseline = store.requireBaseline();
  const full = !o.scope?.length;
  // A full check verifies the baseline in the same read that compares it; a partial one, or one
  // that streams its findings out as it goes, first.
  const verifyFirst = !full || o.onFinding !== undefined;
  if (verifyFirst) verifyBaseline(store, baseline, o.verifySignature);
  else o.verifySignature?.(baseline);
  const ruleSet = o.rules?.length ? new Set(o.rules) : null;
  const min = o.minSeverity;
  const counts = { added: 0, removed: 0, changed: 0 };
  const shown: Finding[] = [];
  const keep = (f: Finding) => {
    if ((ruleSet && !ruleSet.has(f.rule)) || (min && SEV_RANK[f.severity] < SEV_RANK[min])) return;
    counts[f.kind]++;
    if (o.onFinding) o.onFinding(f);
    else shown.push(f);
  };
  const index = new RuleIndex(policy.rules);
  // Split over threads: a full check of a baseline hashed by directory (format 3), whose policy
  // texts can be handed to the workers, when threads are asked for and can be had.
  const splittable = full && baseline.format >= 3 && policy.sources !== undefined;
  const pool = splittable ? (o.pool ?? SplitPool.start(o.workers ?? 1)) : null;
  // Rows from another process only where the result waits for their root check: a streamed
  // finding must come from a baseline verified before the scan.
  const reader = !pool && full && !verifyFirst ? (o.rowReader ?? null) : null;
  if (!reader) o.rowReader?.close();
  const r = pool
    ? splitCompare({ ...o, baseline, index, pool, onFinding: keep })
    : compareScope({
        store,
        baselineId: baseline.id,
        index,
        ...(full
          ? verifyFirst
            ? {}
            : reader
              ? { rows: reader.records(store, baseline) }
              : { verify: baseline }
          : { scope: o.scope! }),
        fast: o.fast ?? false,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.explainer ? { explainer: o.explainer } : {}),
        onFinding: keep,
      });
  if (o.explainer) r.notes.push(...o.explainer.problems().map((p) => `explain: ${p}`));
  if (!baseline.policyHash.equals(policy.hash)) {
    r.notes.push(policyChangeNote(store, baseline, policy));
  }
  let exitCode = r.errors.length ? ExitCode.scanErrors : ExitCode.ok;
  if (counts.added) exitCode |= ExitCode.added;
  if (counts.removed) exitCode |= ExitCode.removed;
  if (counts.changed) exitCode |= ExitCode.changed;
  return { ...r, baseline, findings: shown, counts, exitCode };
}
