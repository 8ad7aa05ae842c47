/**
 * Sequence tracking for one session in bounded memory: the highest sequence number seen and the
 * sorted intervals still missing below it. A message below the highest that falls in a missing
 * interval arrived late (UDP reorders); anything else below the highest is a duplicate or replay.
 * At most MAX_INTERVALS intervals are kept; beyond that the oldest are given up (counted in
 * `abandoned`), and a message later arriving from them is counted as a duplicate. It knows numbers
 * only: sessions, problems and their wording are sessions.ts's.
 */

export const MAX_INTERVALS = 1000;

export interface Interval {
  from: number;
  to: number;
}

export type SeqResult = 'new' | 'late' | 'duplicate';

export class SequenceTracker {
  highest = 0;
  missing: Interval[] = [];
  abandoned = 0;
  late = 0;
  duplicates = 0;

  /** Records `seq` (>= 1). Sessions start at 1, so a first message above 1 means the start was lost. */
  observe(seq: number): SeqResult {
    if (seq > this.highest) {
      if (seq > this.highest + 1) this.addMissing(this.highest + 1, seq - 1);
      this.highest = seq;
      return 'new';
    }
    const k = this.find(seq);
    if (k < 0) {
      this.duplicates++;
      return 'duplicate';
    }
    const iv = this.missing[k]!;
    if (iv.from === iv.to) this.missing.splice(k, 1);
    else if (seq === iv.from) iv.from++;
    else if (seq === iv.to) iv.to--;
    else this.missing.splice(k, 1, { from: iv.from, to: seq - 1 }, { from: seq + 1, to: iv.to });
    this.late++;
    this.trim();
    return 'late';
  }

  /**
   * The sender says it reached `seq` (the next session's start names it): numbers above the
   * highest seen, up to it, are missing.
   */
  reach(seq: number): void {
    if (seq <= this.highest) return;
    this.addMissing(this.highest + 1, seq);
    this.highest = seq;
  }

  /** Total of missing sequence numbers (abandoned ones included). */
  missingCount(): number {
    let n = this.abandoned;
    for (const iv of this.missing) n += iv.to - iv.from + 1;
    return n;
  }

  private addMissing(from: number, to: number): void {
    this.missing.push({ from, to });
    this.trim();
  }

  private trim(): void {
    while (this.missing.length > MAX_INTERVALS) {
      const iv = this.missing.shift()!;
      this.abandoned += iv.to - iv.from + 1;
    }
  }

  /** Index of the interval containing `seq`, or -1 (binary search: intervals are sorted). */
  private find(seq: number): number {
    let lo = 0;
    let hi = this.missing.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const iv = this.missing[mid]!;
      if (seq < iv.from) hi = mid - 1;
      else if (seq > iv.to) lo = mid + 1;
      else return mid;
    }
    return -1;
  }
}

/** `4-6,9` style text for intervals. */
export function formatIntervals(ivs: readonly Interval[]): string {
  return ivs.map((iv) => (iv.from === iv.to ? String(iv.from) : `${iv.from}-${iv.to}`)).join(',');
}
