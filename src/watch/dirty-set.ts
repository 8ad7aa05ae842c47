/**
 * The dirty set: places that an event hinted at, waiting for their rescan, and the debounce that
 * decides when each is due. A cold place (not rescanned lately) is due almost at once, so the first
 * sign of an intrusion goes out in milliseconds; a hot one (a file written over and over) waits for
 * quiet, bounded, so a burst of writes becomes one rescan.
 *
 * What it owns: the places, their timing, one timer, and the storm bound (past `maxDirty` places it
 * collapses into "overflow": one full check is cheaper and bounded in memory).
 *
 * What it must not do: scan, compare or decide anything about findings; it only says what is due.
 * It keeps paths as bytes and never trusts them beyond "look here".
 */
import { joinPath, parentOf } from '../path-key.js';
import type { DirEvent } from './backend.js';

/** Past this many dirty places, one full check is cheaper and bounded in memory. */
export const MAX_DIRTY = 50_000;
/**
 * At most this many places a take: the rest of what is due follows at once, in the next take. An
 * event rescan holds all its places' findings, records and journal rows at the same time (about 6
 * KB a place); a storm's backlog taken whole (7,400 places, measured) was a 20 MB jump of the
 * daemon's live heap, the peak of its RSS. A backlog is taken in path order, so each take holds
 * few directories: a rescan reads every directory it touches whole (its digest), and 512 places
 * picked at random touched 450 of the benchmark's 2,000 (its storm 40% slower).
 */
export const MAX_TAKE = 512;
/** A file written continuously is rescanned at least this often. */
export const MAX_WAIT_MS = 1_000;
/** A place rescanned this recently is "hot": its next rescan waits for quiet (the debounce). */
export const HOT_MS = 1_000;
/** A cold place is rescanned this long after its first event: the events of one write arrive together. */
export const SETTLE_MS = 5;

export interface DirtyPlace {
  path: Buffer;
  /** Deep: the path and everything below it, rehashed. Shallow: a directory and its entries, metadata first. */
  deep: boolean;
  /** First and latest event (ms). */
  first: number;
  last: number;
  /** Rescanned within the last HOT_MS: being written repeatedly. */
  hot: boolean;
}

export interface DirtySetOptions {
  /** Quiet a hot place needs before its rescan (`watch.debounce_ms`). */
  debounceMs: number;
  /** The timer fired: some places are due (or the set overflowed). Call `take()`. */
  onDue: () => void;
  maxDirty?: number;
  maxTake?: number;
  maxWaitMs?: number;
  hotMs?: number;
  settleMs?: number;
}

/** What `take` hands out: the due places, or `overflow` (everything dropped: run a full check). */
export type Taken = { overflow: true; ready: [] } | { overflow: false; ready: DirtyPlace[] };

export class DirtySet {
  /** Settable: a SIGHUP reload may change it. */
  debounceMs: number;
  private readonly places = new Map<string, DirtyPlace>();
  /** When each place was last handed out (ms): a place rescanned within `hotMs` is hot. */
  private readonly lastTaken = new Map<string, number>();
  private overflow = false;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  private closed = false;
  private readonly onDue: () => void;
  private readonly maxDirty: number;
  private readonly maxTake: number;
  private readonly maxWaitMs: number;
  private readonly hotMs: number;
  private readonly settleMs: number;

  constructor(o: DirtySetOptions) {
    this.debounceMs = o.debounceMs;
    this.onDue = o.onDue;
    this.maxDirty = o.maxDirty ?? MAX_DIRTY;
    this.maxTake = o.maxTake ?? MAX_TAKE;
    this.maxWaitMs = o.maxWaitMs ?? MAX_WAIT_MS;
    this.hotMs = o.hotMs ?? HOT_MS;
    this.settleMs = o.settleMs ?? SETTLE_MS;
  }

  /** Places waiting (heartbeats report it). */
  get size(): number {
    return this.places.size;
  }

  /**
   * When a place is due: a cold one `settleMs` after its first event; a hot one once it has been
   * quiet for `debounceMs`, and at least `maxWaitMs` after its first event.
   */
  dueOf(p: DirtyPlace): number {
    return p.hot ? Math.min(p.last + this.debounceMs, p.first + this.maxWaitMs) : p.first + this.settleMs;
  }

  /** Mark a place dirty (deep wins over shallow when both are marked). */
  mark(path: Buffer, deep: boolean): void {
    if (this.closed) return;
    const k = path.toString('latin1');
    const now = Date.now();
    let p = this.places.get(k);
    if (p) {
      p.deep ||= deep;
      p.last = now;
    } else if (this.places.size >= this.maxDirty) {
      this.overflow = true;
    } else {
      const hot = now - (this.lastTaken.get(k) ?? Number.NEGATIVE_INFINITY) < this.hotMs;
      p = { path, deep, first: now, last: now, hot };
      this.places.set(k, p);
    }
    const due = this.overflow || !p ? now : this.dueOf(p);
    if (this.timer === null || due < this.timerDue) this.arm(due);
  }

  /**
   * Take what is due now, at most `maxTake` places (past that, the first in path order), and
   * re-arm the timer for the rest (at once when more is due). After an overflow everything is
   * dropped and `overflow` is returned once: only a full check can tell what changed.
   */
  take(): Taken {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    if (this.overflow) {
      this.overflow = false;
      this.places.clear();
      return { overflow: true, ready: [] };
    }
    let due: [string, DirtyPlace][] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [k, p] of this.places) {
      const at = this.dueOf(p);
      if (at <= now + 1) due.push([k, p]);
      else next = Math.min(next, at);
    }
    if (due.length > this.maxTake) {
      // Keys are the paths in latin1: a directory's entries sort together.
      due.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      due = due.slice(0, this.maxTake);
      next = now;
    }
    const ready: DirtyPlace[] = [];
    for (const [k, p] of due) {
      ready.push(p);
      this.places.delete(k);
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const p of ready) this.lastTaken.set(p.path.toString('latin1'), now);
    // Bounded: only places taken within hotMs matter; forget the rest once the map grows large.
    if (this.lastTaken.size > 4 * this.maxDirty) {
      for (const [k, t] of this.lastTaken) if (now - t >= this.hotMs) this.lastTaken.delete(k);
    }
    return { overflow: false, ready };
  }

  /** Drop everything and never fire again (the daemon is stopping). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.places.clear();
  }

  private arm(due: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.onDue(), Math.max(0, due - Date.now()));
  }
}

/**
 * The places an event makes dirty. Its name is a hint: the named entry is rehashed (deep), and the
 * directory's list of names is looked at again (shallow) unless only the entry's bytes or metadata
 * changed. An event on the watched directory itself dirties it deeply, and its parent's entries.
 */
export function placesOf(e: DirEvent): { path: Buffer; deep: boolean }[] {
  const out: { path: Buffer; deep: boolean }[] = [];
  if (e.self) {
    out.push({ path: e.dir, deep: true });
    const parent = parentOf(e.dir);
    if (parent) out.push({ path: parent, deep: false });
  }
  if (e.name) {
    out.push({ path: joinPath(e.dir, e.name), deep: true });
    // A write to a file leaves its directory's names alone: rescanning the directory's other
    // entries after every write would make a storm cost files × entries per directory.
    if (!e.entryOnly) out.push({ path: e.dir, deep: false });
  } else {
    out.push({ path: e.dir, deep: true });
  }
  return out;
}
