/**
 * A deploy's storm: which findings one signed summary stands for, across rescans, and which are
 * always alerted alone and at once. Fake timers stand in for the clock only; the hold is real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Explanation, Finding } from '../../../src/types.js';
import {
  STORM_MAX_HOLD_MS,
  STORM_MIN,
  STORM_QUIET_MS,
  StormHold,
  type StormSummary,
} from '../../../src/watch/storms.js';
import { deployExplanation, fileRecord } from '../../helpers/records.js';

const expl = deployExplanation;
const finding = (i: number, explanation?: Explanation): Finding => ({
  kind: 'changed',
  path: Buffer.from(`/srv/app/f${i}.py`),
  rule: 'code',
  severity: 'medium',
  changes: [],
  record: fileRecord(`/srv/app/f${i}.py`),
  ...(explanation ? { explanation } : {}),
});

function hold() {
  const alone: number[] = [];
  const summaries: StormSummary[] = [];
  const h = new StormHold({ finding: (_f, id) => alone.push(id), summary: (s) => summaries.push(s) });
  /** Offers findings i..i+n-1 (journal ids = i), returns the ids not held. */
  const offer = (from: number, n: number, e?: Explanation) => {
    const now: number[] = [];
    for (let i = from; i < from + n; i++) if (!h.offer(finding(i, e), i)) now.push(i);
    return now;
  };
  return { h, alone, summaries, offer };
}
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('StormHold', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('folds one deploy found in pieces by several rescans into one summary, counting what it does not explain', () => {
    const { h, alone, summaries, offer } = hold();
    expect(offer(0, 5, expl())).toEqual([]);
    vi.advanceTimersByTime(STORM_QUIET_MS - 1);
    expect(offer(100, 1, expl({ verdict: 'differs' }))).toEqual([100]); // alerted at once
    expect(offer(5, 10, expl())).toEqual([]);
    vi.advanceTimersByTime(STORM_QUIET_MS - 1);
    expect(offer(101, 1, expl({ verdict: 'unlisted' }))).toEqual([101]);
    expect(offer(15, 10, expl())).toEqual([]);
    expect(h.size).toBe(25);
    expect(summaries).toEqual([]);
    vi.advanceTimersByTime(STORM_QUIET_MS);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.ids).toEqual(range(0, 25));
    expect(summaries[0]!.unexplained).toBe(2);
    expect(alone).toEqual([]);
    expect(h.size).toBe(0);
  });

  it('alerts a group one short of the threshold one by one, in order, once the deploy is quiet', () => {
    const { alone, summaries, offer } = hold();
    offer(0, STORM_MIN - 1, expl());
    vi.advanceTimersByTime(STORM_QUIET_MS - 1);
    expect(alone).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(alone).toEqual(range(0, STORM_MIN - 1));
    expect(summaries).toEqual([]);
  });

  it('holds nothing longer than the maximum, however long the deploy trickles on', () => {
    const { summaries, offer } = hold();
    let i = 0;
    for (let t = 0; t < STORM_MAX_HOLD_MS; t += STORM_QUIET_MS / 2) {
      offer(i, 3, expl());
      i += 3;
      vi.advanceTimersByTime(STORM_QUIET_MS / 2);
    }
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.ids.length).toBeGreaterThanOrEqual(STORM_MIN);
    // The trickle after the cut starts a storm of its own.
    offer(1000, 2, expl());
    vi.advanceTimersByTime(STORM_QUIET_MS);
    expect(summaries).toHaveLength(1);
  });

  it('never holds what a RECORD or md5sums explains, nor an unexplained change: those are alerted at once', () => {
    const { h, offer } = hold();
    expect(offer(0, 50, expl({ source: 'pip', strength: 'pip-record' }))).toEqual(range(0, 50));
    expect(offer(100, 5, expl({ source: 'dpkg', strength: 'package-db' }))).toEqual(range(100, 5));
    expect(offer(200, 3)).toEqual(range(200, 3));
    expect(offer(300, 2, expl({ verdict: 'differs' }))).toEqual(range(300, 2));
    expect(h.size).toBe(0);
  });

  it('keeps two manifests, and two releases of one manifest, apart', () => {
    const { alone, summaries, offer } = hold();
    offer(0, STORM_MIN, expl());
    offer(100, STORM_MIN - 1, expl({ manifest: Buffer.from('/srv/other.manifest') }));
    offer(200, STORM_MIN - 1, expl({ version: 'r3' }));
    vi.advanceTimersByTime(STORM_QUIET_MS);
    expect(summaries.map((s) => s.ids)).toEqual([range(0, STORM_MIN)]);
    expect(alone.sort((a, b) => a - b)).toEqual([...range(100, STORM_MIN - 1), ...range(200, STORM_MIN - 1)]);
  });

  it('releases everything at once on flush (the daemon stops), storms as summaries, and sets no timer after', () => {
    const { h, alone, summaries, offer } = hold();
    offer(0, STORM_MIN, expl());
    offer(100, 2, expl({ manifest: Buffer.from('/srv/other.manifest') }));
    h.flush();
    expect(summaries.map((s) => s.ids)).toEqual([range(0, STORM_MIN)]);
    expect(alone).toEqual([100, 101]);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(STORM_MAX_HOLD_MS);
    expect(summaries).toHaveLength(1);
  });
});
