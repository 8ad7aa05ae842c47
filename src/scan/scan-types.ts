/**
 * What a scan is asked (ScanOptions), what it yields (ScanItem, in key order) and what it counted
 * (ScanStats): the scanner's contract with its callers (ops/ and the daemon's watch set).
 */
import type { Rule } from '../policy/policy.js';
import type { RuleIndex } from '../policy/rule-index.js';
import type { FileRecord, ScanError } from '../types.js';

export type ScanItem =
  | { kind: 'record'; key: Buffer; record: FileRecord; rule: Rule }
  /** The entry exists but could not be recorded faithfully; `record` holds what lstat told, if anything. */
  | { kind: 'error'; key: Buffer; error: ScanError; rule: Rule; record: FileRecord | null }
  /** A directory whose entries could not be listed: nothing below it can be judged missing. */
  | { kind: 'unlisted'; key: Buffer; error: ScanError; rule: Rule };

export interface ScanOptions {
  index: RuleIndex;
  /** Restrict the scan to these absolute paths (and what lies below them). */
  scope?: readonly Buffer[];
  /** How many levels below each scope path to go (default: all). 1 = a directory and its entries. */
  scopeDepth?: number;
  /** Record attributes only, never hash. */
  noHash?: boolean;
  /**
   * Only directories matter (the daemon's walk to set up watches): entries that readdir's d_type
   * says are not directories are counted in `stats.files` and skipped without an lstat, unless
   * `keepFiles(rule)` asks for them.
   */
  dirsOnly?: { keepFiles: (rule: Rule) => boolean };
  /** Called for each directory whose entries the policy covers, before they are visited. */
  onDirectory?: (path: Buffer, rule: Rule) => void;
  /**
   * The baseline record for a key; called in increasing key order, just before the key's item is
   * out. Used by growing rules and --fast.
   */
  lookup?: (key: Buffer) => FileRecord | undefined;
  /** Reuse the baseline hash when size, mtime, ctime, inode and device are all unchanged. */
  fast?: boolean;
  onItem: (item: ScanItem) => void;
  /** Hand subtrees to other threads while walking (see ScanSplit). Full scans only. */
  split?: ScanSplit;
  /** A rule path that does not exist. */
  onMissing?: (path: Buffer, rule: Rule) => void;
  onProgress?: (stats: ScanStats) => void;
}

export interface ScanStats {
  /** Entries looked at, including directories passed on the way to rule paths. */
  entries: number;
  /** Entries recorded (or reported as errors) under a rule. */
  recorded: number;
  files: number;
  bytes: bigint;
  hashedBytes: bigint;
  errors: number;
}

/** A subtree handed from one thread's walk to another's: its directory open and checked. */
export interface Handoff {
  path: Buffer;
  /** The directory's descriptor (threads share the process's descriptors); the receiver closes it. */
  fd: number;
  /** The rule that covers it, by name, with the walk's depth below that rule's path. */
  rule: string | null;
  depth: number;
  excluded: boolean;
  /** Whether its entries are to be listed (the rule's recurse reaches them). */
  listing: boolean;
  /** Levels below the scan's root. */
  scope: number;
}

/**
 * How a walk shares its work: between two subdirectories it asks `wanted()` (cheap: another
 * thread is idle), then `claim()`s that request, hands over the last subdirectory still to walk in
 * its outermost open directory (`hand`, which returns the unit's id), or `release()`s the claim
 * when it has none. When the walk reaches the place of a handed subtree it calls `splice`: that
 * unit's items belong there, in key order, between what came before and what comes after.
 */
export interface ScanSplit {
  wanted(): boolean;
  claim(): boolean;
  release(): void;
  hand(h: Handoff): number;
  splice(unit: number): void;
}

/** Adds `b`'s counts to `a` (the units of a split scan, each counted by its own walk). */
export function addStats(a: ScanStats, b: ScanStats): void {
  a.entries += b.entries;
  a.recorded += b.recorded;
  a.files += b.files;
  a.bytes += b.bytes;
  a.hashedBytes += b.hashedBytes;
  a.errors += b.errors;
}
