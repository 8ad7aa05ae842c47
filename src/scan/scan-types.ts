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
