/**
 * Open findings: what the daemon has already alerted and not yet seen back at baseline, so that a
 * repeated event, a rescan or a restart never repeats an alert, and a second intrusion at the same
 * place alerts again once the first one is resolved.
 *
 * What it owns: the pure diff (`diffOpenFindings`: the open set plus a rescan's results give what
 * to alert, what to update, what to resolve, which errors are new, what to look at again) and the
 * in-memory open set it diffs against (`OpenFindings`), changed only by `apply` once the journal
 * has committed the diff.
 *
 * What it must not do: write the database (the journal does, src/ops/journal.ts), send or log
 * anything, or scan. The diff reads its inputs and returns a new value; it changes nothing.
 */
import { Blake3 } from '../hash/blake3.js';
import { keyToPath, pathToKey, type ScopeSet, SortedKeys } from '../path-key.js';
import type { RuleIndex } from '../policy/rule-index.js';
import type { Finding, ScanError } from '../types.js';
import { SEVERITIES, type Severity } from '../types.js';

/** Event rescans of a file that keeps changing before it is reported as unstable. */
export const MAX_UNSTABLE = 5;

/** One open finding: its signature (see `findingSignature`) and its journal id. */
export interface OpenFinding {
  sig: string;
  finding: number | null;
}

/** What a rescan covered: deep places (and all below them), and directories with their entries. */
export interface Scopes {
  deep: ScopeSet;
  shallow: ScopeSet;
}

/** One rescan's results, as the diff takes them. */
export interface ScanOutcome {
  findings: readonly Finding[];
  errors: readonly ScanError[];
  /** What was scanned; null: everything. */
  scopes: Scopes | null;
  /** Why it was scanned (`event`, `start`, `fallback`, ...): event rescans retry unstable files. */
  why: string;
  /** When the scan started (ms): open findings reported after that are newer than its results. */
  startedAt?: number;
  /** One batch of a streamed scan: alert and journal, but resolve nothing yet. */
  partial?: boolean;
  /** Keys the streamed batches already found: not resolved at the end. */
  seen?: ReadonlySet<string>;
}

/** The open set as the diff reads it. Keys are path keys in latin1. */
export interface OpenView {
  get(key: string): OpenFinding | undefined;
  /** Every open key. */
  keys(): Iterable<string>;
  /** Open keys at `scope` or below it (`depth` 1: the scope and its direct entries). */
  within(scope: Buffer, depth?: 1): Iterable<string>;
  /** When this daemon reported the key (ms); undefined for findings loaded at start. */
  reportedAt(key: string): number | undefined;
  /** The error code already reported for a key. */
  errorCode(key: string): string | undefined;
  errorKeys(): Iterable<string>;
  /** Consecutive event rescans that found the file still changing. */
  unstableCount(key: string): number;
}

export interface FindingsDiff {
  /** New, or changed in a new way: journal, then alert. */
  fresh: { finding: Finding; key: Buffer; sig: string }[];
  /** Open and seen again the same: the journal entry takes the latest state; no alert. */
  same: { finding: Finding; id: number }[];
  /** Open, in the scanned places and clean now: back to baseline. */
  resolved: Buffer[];
  /** Errors not reported before (or with another code). */
  freshErrors: ScanError[];
  /** Reported errors that are gone. */
  clearedErrors: string[];
  /** Files still being written: rescan them (deep) again once quiet. */
  retry: Buffer[];
  /** New unstable counts by key; 0 forgets the key. */
  unstable: Map<string, number>;
}

/** True when the diff needs nothing journaled (it may still hold retries and counter changes). */
export function journalsNothing(d: FindingsDiff): boolean {
  return d.fresh.length === 0 && d.same.length === 0 && d.resolved.length === 0 && d.freshErrors.length === 0;
}

const sigHasher = new Blake3();

/**
 * What makes a finding "the same" for alerting: its kind, rule, the set of attributes that differ
 * from the baseline, and what a manifest says of it. A file that keeps changing in the same way is
 * one open finding (its journal entry follows the latest state); a new kind of change (say, setuid
 * after a content edit) is a new alert, and so is a new verdict: a deployed file edited after the
 * deploy that explained it (explained, then other bytes) must not ride on the deploy's alert.
 */
export function findingSignature(f: Finding): string {
  const what = f.kind === 'changed' ? f.changes.map((c) => c.attribute).sort() : [f.record.type];
  const e = f.explanation;
  const said = e
    ? [e.source, e.strength, e.manifest.toString('latin1'), e.package, e.version, e.verdict]
    : null;
  sigHasher.reset();
  sigHasher.update(JSON.stringify(said ? [f.kind, f.rule, what, said] : [f.kind, f.rule, what]));
  // A string, not a Buffer: thousands of small long-lived Buffers would each pin an 8 KB slab
  // of Node's buffer pool (measured: 63 MB of external memory after a 10,000-file storm).
  return sigHasher.digestHex();
}

const latin1 = (b: Buffer) => b.toString('latin1');

/** Open keys in the scanned places: deep scopes with all below them, shallow ones one level. */
function openIn(open: OpenView, scopes: Scopes): Set<string> {
  const out = new Set<string>();
  for (const s of scopes.deep.keys) for (const k of open.within(s)) out.add(k);
  for (const s of scopes.shallow.keys) for (const k of open.within(s, 1)) out.add(k);
  return out;
}

/** The open set plus one rescan's results: what to alert, journal and resolve. Pure. */
export function diffOpenFindings(
  open: OpenView,
  scan: ScanOutcome,
  signature: (f: Finding) => string = findingSignature,
  maxUnstable = MAX_UNSTABLE,
): FindingsDiff {
  const { scopes, startedAt } = scan;
  // A scan that started before a finding was reported (by an event rescan meanwhile) must not
  // undo that report: for those paths the newer result wins.
  const newer = (k: string) => startedAt !== undefined && (open.reportedAt(k) ?? 0) > startedAt;
  const found = new Map<string, Finding>();
  const errors = new Map<string, ScanError>();
  for (const f of scan.findings) found.set(latin1(pathToKey(f.path)), f);
  for (const e of scan.errors) errors.set(latin1(pathToKey(e.path)), e);
  const d: FindingsDiff = {
    fresh: [],
    same: [],
    resolved: [],
    freshErrors: [],
    clearedErrors: [],
    retry: [],
    unstable: new Map(),
  };
  for (const [k, f] of found) {
    // Found with its attributes compared: not unstable (any more).
    if (open.unstableCount(k) > 0) d.unstable.set(k, 0);
    if (newer(k)) continue;
    const sig = signature(f);
    const prev = open.get(k);
    if (prev?.sig !== sig) d.fresh.push({ finding: f, key: Buffer.from(k, 'latin1'), sig });
    else if (prev.finding !== null) d.same.push({ finding: f, id: prev.finding });
  }
  if (!scan.partial) {
    for (const k of scopes === null ? open.keys() : openIn(open, scopes)) {
      if (!found.has(k) && !scan.seen?.has(k) && !errors.has(k) && !newer(k))
        d.resolved.push(Buffer.from(k, 'latin1'));
    }
  }
  for (const [k, e] of errors) {
    // A file still being written is not an error yet: look again once it is quiet, and report it
    // only if it never settles.
    if (e.code === 'EUNSTABLE' && scan.why === 'event') {
      const n = (found.has(k) ? 0 : open.unstableCount(k)) + 1;
      if (n < maxUnstable) {
        d.unstable.set(k, n);
        d.retry.push(e.path);
        continue;
      }
    }
    if (open.unstableCount(k) > 0 || d.unstable.has(k)) d.unstable.set(k, 0);
    if (open.errorCode(k) !== e.code) d.freshErrors.push(e);
  }
  if (!scan.partial) {
    const inScope = (key: Buffer) =>
      scopes === null || scopes.deep.containing(key) !== undefined || scopes.shallow.holdsEntry(key);
    for (const k of open.errorKeys()) {
      if (!errors.has(k) && inScope(Buffer.from(k, 'latin1'))) d.clearedErrors.push(k);
    }
  }
  return d;
}

/** The open set in memory, loaded from the journal at start and after a baseline change. */
export class OpenFindings implements OpenView {
  private open = new Map<string, OpenFinding>();
  /** The keys of `open`, sorted: which open findings lie in the places a rescan covered. */
  private readonly sorted = new SortedKeys();
  /** When each open finding was last reported (ms): a full check that started earlier is older news. */
  private readonly at = new Map<string, number>();
  private readonly errors = new Map<string, string>();
  private readonly unstable = new Map<string, number>();

  get size(): number {
    return this.open.size;
  }

  /** Replace the open set (from `Store.reported`). Errors and counters are this run's own. */
  load(m: Map<string, OpenFinding>): void {
    this.open = m;
    this.sorted.clear();
    for (const k of m.keys()) this.sorted.add(k);
  }

  get(key: string): OpenFinding | undefined {
    return this.open.get(key);
  }
  keys(): Iterable<string> {
    return this.open.keys();
  }
  within(scope: Buffer, depth?: 1): Iterable<string> {
    return this.sorted.within(scope, depth);
  }
  reportedAt(key: string): number | undefined {
    return this.at.get(key);
  }
  errorCode(key: string): string | undefined {
    return this.errors.get(key);
  }
  errorKeys(): Iterable<string> {
    // A copy: `apply` deletes from the map while a caller may still iterate.
    return [...this.errors.keys()];
  }
  unstableCount(key: string): number {
    return this.unstable.get(key) ?? 0;
  }

  /**
   * Take a diff into the open set, once the journal has committed it: `ids` are the journal ids of
   * `diff.fresh`, in order; `now` (ms) is when they were reported.
   */
  apply(diff: FindingsDiff, ids: readonly number[], now: number): void {
    diff.fresh.forEach((x, i) => {
      const k = latin1(x.key);
      this.open.set(k, { sig: x.sig, finding: ids[i] ?? null });
      this.sorted.add(k);
      this.at.set(k, now);
    });
    for (const key of diff.resolved) {
      const k = latin1(key);
      this.open.delete(k);
      this.sorted.delete(k);
      this.at.delete(k);
    }
    for (const e of diff.freshErrors) this.errors.set(latin1(pathToKey(e.path)), e.code);
    for (const k of diff.clearedErrors) this.errors.delete(k);
    for (const [k, n] of diff.unstable) {
      if (n === 0) this.unstable.delete(k);
      else this.unstable.set(k, n);
    }
  }
}

/** Past this many open findings a heartbeat leaves their severities out (each is a rule lookup). */
export const MAX_SEVERITY_COUNT = 10_000;

/**
 * The open findings by the severity of the rule that governs each path now (a signed manifest may
 * have lowered one a step: that is not seen here), for the heartbeat; nothing past the bound.
 */
export function openBySeverity(
  keys: Iterable<string>,
  index: RuleIndex,
): { openBySeverity?: Record<Severity, number> } {
  const out = Object.fromEntries(SEVERITIES.map((k) => [k, 0])) as Record<Severity, number>;
  let n = 0;
  for (const k of keys) {
    if (++n > MAX_SEVERITY_COUNT) return {};
    const c = index.classify(keyToPath(Buffer.from(k, 'latin1')));
    if (c.status !== 'uncovered') out[c.rule.severity]++;
  }
  return { openBySeverity: out };
}
