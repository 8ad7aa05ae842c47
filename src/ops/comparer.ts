/**
 * The baseline beside the walk: a scan's items and a baseline's records, both in key order, merged
 * into findings. A record the walk reaches is compared; one it passes without reaching is gone
 * ("removed"), unless it lies below a directory the walk could not list (unknown, not removed) or
 * outside the scope. `compareScope` (ops/check.ts) runs one over a scan; a split scan's workers
 * (ops/split-worker.ts) one per subtree, each over that subtree's records.
 *
 * It must not pass over a record the scanner has only looked up (growing rules and --fast look an
 * entry up before they emit it): looked-up records wait in a buffer until the walk consumes them.
 */
import { compareRecords, diffAttributes } from '../compare/compare.js';
import { keyWithin } from '../path-key.js';
import type { RuleIndex } from '../policy/rule-index.js';
import type { ScanItem } from '../scan/scan.js';
import type { KeyedRecord } from '../store/store.js';
import type { FileRecord, Finding, ScanError } from '../types.js';

export interface ComparerOptions {
  index: RuleIndex;
  rows: Iterator<KeyedRecord, unknown>;
  inScope: (key: Buffer) => boolean;
  emit: (f: Finding) => void;
  /** Each baseline record as the merge consumes it (compared or found gone), in key order. */
  onRow?: (key: Buffer, r: FileRecord) => void;
}

export class Comparer {
  readonly errors: ScanError[] = [];
  /** Baseline records the policy no longer covers (ignored, counted). */
  uncovered = 0;
  /** Directories we could not list: baseline entries below them are unknown, not removed. */
  private readonly unlisted: Buffer[] = [];
  /** The next record not yet read into `buf`; read on first use, inside the caller's transaction. */
  private pending: IteratorResult<KeyedRecord, unknown> | null = null;
  /** Records read but not yet consumed (see the header). */
  private buf: KeyedRecord[] = [];
  private head = 0;

  constructor(private readonly o: ComparerOptions) {}

  private current(): IteratorResult<KeyedRecord, unknown> {
    this.pending ??= this.o.rows.next();
    return this.pending;
  }

  private pull(): KeyedRecord | undefined {
    const p = this.current();
    if (p.done) return undefined;
    // Drop what was consumed: the buffer holds only entries ahead of the walk's output.
    if (this.head === this.buf.length) {
      this.buf = [];
      this.head = 0;
    } else if (this.head >= 256) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    const e = p.value;
    this.buf.push(e);
    this.pending = this.o.rows.next();
    return e;
  }

  private baselineOnly(key: Buffer, rec: FileRecord): void {
    this.o.onRow?.(key, rec);
    if (!this.o.inScope(key) || this.unlisted.some((u) => keyWithin(key, u))) return;
    const cls = this.o.index.classify(rec.path);
    if (cls.status !== 'covered') {
      this.uncovered++;
      return;
    }
    const f = compareRecords(rec, undefined, cls.rule);
    if (f) this.o.emit(f);
  }

  /** The baseline's record at `key`, without consuming anything (the scanner's lookup). */
  readonly peek = (key: Buffer): FileRecord | undefined => {
    for (let i = this.head; i < this.buf.length; i++) {
      const c = Buffer.compare(this.buf[i]!.key, key);
      if (c >= 0) return c === 0 ? this.buf[i]!.record : undefined;
    }
    for (let e = this.pull(); e; e = this.pull()) {
      const c = Buffer.compare(e.key, key);
      if (c >= 0) return c === 0 ? e.record : undefined;
    }
    return undefined;
  };

  /**
   * Advance the baseline to `key`: everything before it was not seen by the walk. With `take`,
   * the record at `key` is consumed and returned.
   */
  private advance(key: Buffer, take: boolean): FileRecord | undefined {
    for (;;) {
      if (this.head === this.buf.length && !this.pull()) return undefined;
      const e = this.buf[this.head]!;
      const c = Buffer.compare(e.key, key);
      if (c > 0 || (c === 0 && !take)) return undefined;
      this.head++;
      if (c === 0) {
        this.o.onRow?.(e.key, e.record);
        return e.record;
      }
      this.baselineOnly(e.key, e.record);
    }
  }

  /** One scan item, compared with the baseline's record at its key. */
  readonly item = (item: ScanItem): void => {
    if (item.kind === 'record') {
      const f = compareRecords(this.advance(item.key, true), item.record, item.rule);
      if (f) this.o.emit(f);
      return;
    }
    this.errors.push(item.error);
    if (item.kind === 'unlisted') {
      this.unlisted.push(item.key);
      return;
    }
    const old = this.advance(item.key, true);
    // The file could not be read, but what lstat told can still be compared.
    if (old && item.record) {
      const changes = diffAttributes(old, item.record, item.rule);
      if (changes.length) {
        this.o.emit({
          kind: 'changed',
          path: item.record.path,
          rule: item.rule.name,
          severity: item.rule.severity,
          changes,
          record: item.record,
        });
      }
    }
  };

  /** Records before `key` were not seen by the walk (a subtree handed to another thread starts there). */
  before(key: Buffer): void {
    this.advance(key, false);
  }

  /** Records in [lo, hi) already read ahead are another walk's (a subtree handed over): dropped. */
  drop(lo: Buffer, hi: Buffer): void {
    const kept = this.buf
      .slice(this.head)
      .filter((e) => Buffer.compare(e.key, lo) < 0 || Buffer.compare(e.key, hi) >= 0);
    this.buf = kept;
    this.head = 0;
  }

  /** The walk is done: every record left was not seen. */
  finish(): void {
    for (; this.head < this.buf.length; this.head++)
      this.baselineOnly(this.buf[this.head]!.key, this.buf[this.head]!.record);
    for (let p = this.current(); !p.done; p = this.current()) {
      this.baselineOnly(p.value.key, p.value.record);
      this.pending = this.o.rows.next();
    }
  }

  close(): void {
    this.o.rows.return?.(undefined);
  }
}
