/**
 * A deploy's storm, folded across rescans. A live deploy writes its files over seconds, so the
 * daemon's debounced rescans find it in pieces (CI showed one deploy as 5 + 20 findings): folding
 * per scan would alert most of a deploy one by one, or all of it when no piece reaches STORM_MIN.
 * So the alert of a finding whose new content a signed deploy manifest lists is held, per manifest
 * and release, until that manifest has matched nothing new for `quietMs` (at most `maxHoldMs`
 * after the first): then STORM_MIN or more are one summary, fewer are alerted one by one, as
 * if never held. The daemon flushes what is held before its stop event.
 *
 * What it must not hold: anything a signed manifest does not vouch for. A RECORD or md5sums is the
 * intruder's to write, and a file the deploy did not ship (or shipped with other bytes) is the one
 * to look at: those are alerted at once, and only counted in the storm they interrupt. Every held
 * finding is already journaled (the reporter journals before it offers), so a daemon killed while
 * holding loses no evidence: the journal has it, and the log server sees a session that never
 * stopped.
 */
import type { Explanation, Finding } from '../types.js';

/** A deploy's storm: at least this many findings explained by one signed manifest. */
export const STORM_MIN = 20;
/** A manifest that matched nothing new for this long has finished its deploy (ms). */
export const STORM_QUIET_MS = 2000;
/** No alert is held longer than this (ms), however long the deploy goes on. */
export const STORM_MAX_HOLD_MS = 10_000;

export interface StormSummary {
  explanation: Explanation;
  /** Journal ids of the explained findings, in the order they were found. */
  ids: number[];
  /** Findings under the same manifest whose content it does not list, while the storm lasted. */
  unexplained: number;
}

export interface StormSink {
  /** Alert one finding on its own (a group below STORM_MIN). */
  finding(f: Finding, id: number): void;
  /** Alert a storm's summary. */
  summary(s: StormSummary): void;
}

export interface StormOptions {
  quietMs?: number;
  maxHoldMs?: number;
  min?: number;
}

interface Group {
  explanation: Explanation;
  held: { finding: Finding; id: number }[];
  unexplained: number;
  firstMs: number;
  timer: NodeJS.Timeout | null;
}

export class StormHold {
  private readonly groups = new Map<string, Group>();
  private readonly quietMs: number;
  private readonly maxHoldMs: number;
  private readonly min: number;

  constructor(
    private readonly sink: StormSink,
    o: StormOptions = {},
  ) {
    this.quietMs = o.quietMs ?? STORM_QUIET_MS;
    this.maxHoldMs = o.maxHoldMs ?? STORM_MAX_HOLD_MS;
    this.min = o.min ?? STORM_MIN;
  }

  /** Alerts held now. */
  get size(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.held.length;
    return n;
  }

  /**
   * Takes a journaled fresh finding. True: its alert is held (the sink gets it, or its summary,
   * later); false: the caller alerts it now.
   */
  offer(f: Finding, id: number): boolean {
    const e = f.explanation;
    if (e?.source !== 'deploy') return false;
    const key = `${e.manifest.toString('latin1')}\0${e.package}\0${e.version ?? ''}`;
    const now = Date.now();
    let g = this.groups.get(key);
    if (!g) {
      g = { explanation: e, held: [], unexplained: 0, firstMs: now, timer: null };
      this.groups.set(key, g);
    }
    if (g.timer) clearTimeout(g.timer);
    const wait = Math.max(0, Math.min(this.quietMs, g.firstMs + this.maxHoldMs - now));
    const group = g;
    g.timer = setTimeout(() => this.release(key, group), wait);
    // Not what the manifest lists: alerted now, and counted in the storm around it.
    if (e.verdict !== 'matches') {
      g.unexplained++;
      return false;
    }
    g.held.push({ finding: f, id });
    return true;
  }

  /** Releases everything held (at stop), storms as summaries. */
  flush(): void {
    for (const [key, g] of [...this.groups]) this.release(key, g);
  }

  private release(key: string, g: Group): void {
    if (this.groups.get(key) !== g) return;
    this.groups.delete(key);
    if (g.timer) clearTimeout(g.timer);
    if (g.held.length >= this.min)
      this.sink.summary({
        explanation: g.explanation,
        ids: g.held.map((h) => h.id),
        unexplained: g.unexplained,
      });
    else for (const h of g.held) this.sink.finding(h.finding, h.id);
  }
}
