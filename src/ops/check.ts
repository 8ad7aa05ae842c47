/**
 * `check`: scan and compare in one pass. The baseline is read in key order beside the walk, so
 * memory stays flat however large the tree; the baseline is verified first, and a baseline that
 * fails is refused before a single finding is reported. `compareScope` is the shared core: the
 * daemon calls it for each dirty place.
 */
import { compareRecords, diffAttributes } from '../compare/compare.js';
import { displayBytes } from '../display.js';
import { ExitCode } from '../errors.js';
import type { Explainer } from '../explain/explainer.js';
import { keyToPath, keyWithin, levelsBelow, outermostKeys, pathToKey, ScopeSet } from '../path-key.js';
import { coverageChange } from '../policy/coverage.js';
import { type Policy, type PolicySource, policyFromSources } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { type ScanStats, scanTree } from '../scan/scan.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, Store } from '../store/store.js';
import type { FileRecord, Finding, ScanError, Severity } from '../types.js';
import { checkRoot, nowNs, type RootVerifier, rootTee, verifyBaseline } from './baseline.js';

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
  const errors: ScanError[] = [];
  const notes: string[] = [];
  const directories: Buffer[] = [];
  const pack = packedCopies();
  let uncovered = 0;
  /** Directories we could not list: baseline entries below them are unknown, not removed. */
  const unlisted: Buffer[] = [];

  if (o.verify && scopeKeys.length) throw new Error('compareScope: verify needs a full scan');
  const root = o.verify ? new RootBuilder(o.verify.format) : null;
  const source = scopeKeys.length
    ? store.recordsUnderMany(o.baselineId, scopeKeys, depth)
    : store.records(o.baselineId);
  const iter = o.verify && root ? rootTee(store, o.verify, source, root) : source;
  let pending = iter.next();
  /**
   * Baseline entries read but not yet consumed: the scanner looks an entry up (growing rules,
   * --fast) before it emits it, so a lookup must not pass over (and call removed) what it skips.
   */
  let buf: { key: Buffer; record: FileRecord }[] = [];
  let head = 0;
  const pull = (): { key: Buffer; record: FileRecord } | undefined => {
    if (pending.done) return undefined;
    // Drop what was consumed: the buffer holds only entries ahead of the walk's output.
    if (head === buf.length) {
      buf = [];
      head = 0;
    } else if (head >= 256) {
      buf = buf.slice(head);
      head = 0;
    }
    const e = pending.value;
    buf.push(e);
    pending = iter.next();
    return e;
  };
  const baselineOnly = (key: Buffer, rec: FileRecord) => {
    if (!inScope(key) || unlisted.some((u) => keyWithin(key, u))) return;
    const cls = index.classify(rec.path);
    if (cls.status !== 'covered') {
      uncovered++;
      return;
    }
    const f = compareRecords(rec, undefined, cls.rule);
    if (f) emit(f);
  };
  /** The baseline's record at `key`, without consuming anything (the scanner's lookup). */
  const peek = (key: Buffer): FileRecord | undefined => {
    for (let i = head; i < buf.length; i++) {
      const c = Buffer.compare(buf[i]!.key, key);
      if (c >= 0) return c === 0 ? buf[i]!.record : undefined;
    }
    for (let e = pull(); e; e = pull()) {
      const c = Buffer.compare(e.key, key);
      if (c >= 0) return c === 0 ? e.record : undefined;
    }
    return undefined;
  };
  /** Advance the baseline to `key` and take its record: everything before was not seen by the walk. */
  const consume = (key: Buffer): FileRecord | undefined => {
    for (;;) {
      if (head === buf.length && !pull()) return undefined;
      const e = buf[head]!;
      const c = Buffer.compare(e.key, key);
      if (c > 0) return undefined;
      head++;
      if (c === 0) return e.record;
      baselineOnly(e.key, e.record);
    }
  };

  let stats: ScanStats;
  try {
    stats = scanTree({
      index,
      ...(scope.length ? { scope } : {}),
      ...(o.scopeDepth !== undefined ? { scopeDepth: o.scopeDepth } : {}),
      fast: o.fast ?? false,
      lookup: peek,
      ...(o.collectDirectories ? { onDirectory: (p: Buffer) => directories.push(pack(p)) } : {}),
      onItem: (item) => {
        if (item.kind === 'record') {
          const f = compareRecords(consume(item.key), item.record, item.rule);
          if (f) emit(f);
          return;
        }
        errors.push(item.error);
        if (item.kind === 'unlisted') {
          unlisted.push(item.key);
          return;
        }
        const old = consume(item.key);
        // The file could not be read, but what lstat told can still be compared.
        if (old && item.record) {
          const changes = diffAttributes(old, item.record, item.rule);
          if (changes.length) {
            emit({
              kind: 'changed',
              path: item.record.path,
              rule: item.rule.name,
              severity: item.rule.severity,
              changes,
              record: item.record,
            });
          }
        }
      },
      onMissing: (path, rule) => notes.push(`rule "${rule.name}": path ${displayBytes(path)} does not exist`),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    for (; head < buf.length; head++) baselineOnly(buf[head]!.key, buf[head]!.record);
    while (!pending.done) {
      baselineOnly(pending.value.key, pending.value.record);
      pending = iter.next();
    }
  } finally {
    iter.return(undefined);
  }
  if (o.verify && root) checkRoot(store, o.verify, root);
  if (uncovered > 0)
    notes.push(`${uncovered} baseline entries are no longer covered by the policy and were ignored`);
  return { findings, errors, notes, stats, directories };
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

export function runCheck(o: CheckOptions): CheckResult {
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
  const r = compareScope({
    store,
    baselineId: baseline.id,
    index: new RuleIndex(policy.rules),
    ...(full ? (verifyFirst ? {} : { verify: baseline }) : { scope: o.scope! }),
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
