/**
 * The dirty set and its debounce, on fake timers: when each place is due (cold at once, hot after
 * quiet, never later than the bound), that one path is one place, deep wins, and a storm collapses
 * into one overflow.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirtySet, MAX_TAKE, placesOf, type Taken } from '../../../src/watch/dirty-set.js';

const p = (s: string) => Buffer.from(s);

/** A dirty set whose timer records each `take()` with the fake time it happened. */
function harness(o: { debounceMs?: number; maxDirty?: number } = {}) {
  const takes: { at: number; t: Taken }[] = [];
  const set: DirtySet = new DirtySet({
    debounceMs: o.debounceMs ?? 50,
    ...(o.maxDirty !== undefined ? { maxDirty: o.maxDirty } : {}),
    onDue: () => takes.push({ at: Date.now(), t: set.take() }),
  });
  const paths = () => takes.flatMap((x) => x.t.ready.map((r) => r.path.toString()));
  /** The takes that handed something out (a timer may fire early for a place whose due moved). */
  const handed = () => takes.filter((x) => x.t.ready.length > 0 || x.t.overflow);
  return { set, takes, paths, handed };
}

describe('DirtySet', () => {
  let t0: number;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    t0 = Date.now();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a cold place is due after the settle time, not at once and not after the debounce', () => {
    const { set, takes, paths } = harness({ debounceMs: 500 });
    set.mark(p('/a'), true);
    vi.advanceTimersByTime(3);
    expect(paths()).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(paths()).toEqual(['/a']);
    expect(takes[0]!.at - t0).toBeLessThan(10);
    expect(set.size).toBe(0);
  });

  it('the events of one write are one place; deep wins over shallow whatever the order', () => {
    const { set, takes } = harness();
    set.mark(p('/d'), false);
    set.mark(p('/d'), true);
    set.mark(p('/d'), false);
    set.mark(p('/e'), false);
    expect(set.size).toBe(2);
    vi.advanceTimersByTime(20);
    const ready = takes.flatMap((x) => x.t.ready);
    expect(ready.map((r) => [r.path.toString(), r.deep])).toEqual([
      ['/d', true],
      ['/e', false],
    ]);
  });

  it('a hot place (rescanned within a second) waits until it has been quiet for the debounce', () => {
    const { set, paths, handed } = harness({ debounceMs: 50 });
    set.mark(p('/hot'), true);
    vi.advanceTimersByTime(10);
    expect(paths()).toEqual(['/hot']);
    // Written again and again, every 20 ms for 300 ms: no rescan while the writes go on.
    for (let i = 0; i < 15; i++) {
      set.mark(p('/hot'), true);
      vi.advanceTimersByTime(20);
    }
    expect(paths()).toEqual(['/hot']);
    const lastWrite = Date.now() - 20;
    vi.advanceTimersByTime(100);
    expect(paths()).toEqual(['/hot', '/hot']);
    expect(handed()[1]!.at - lastWrite).toBeGreaterThanOrEqual(49);
    expect(handed()[1]!.at - lastWrite).toBeLessThanOrEqual(52);
  });

  it('a file written without pause is still rescanned at least every second', () => {
    const { set, handed } = harness({ debounceMs: 50 });
    set.mark(p('/f'), true);
    vi.advanceTimersByTime(10);
    const first = Date.now();
    // A write every 10 ms for 3.5 s: quiet never comes, the bound must.
    for (let i = 0; i < 350; i++) {
      set.mark(p('/f'), true);
      vi.advanceTimersByTime(10);
    }
    const at = handed().map((x) => x.at);
    expect(at.length).toBeGreaterThanOrEqual(4);
    expect(at[1]! - first).toBeLessThanOrEqual(1_011);
    for (let i = 2; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(1_011);
  });

  it('a hot place does not delay a cold one: each is taken at its own time', () => {
    const { set, handed } = harness({ debounceMs: 200 });
    set.mark(p('/hot'), true);
    vi.advanceTimersByTime(10);
    set.mark(p('/hot'), true);
    vi.advanceTimersByTime(1);
    set.mark(p('/cold'), true);
    vi.advanceTimersByTime(10);
    expect(
      handed()
        .at(-1)!
        .t.ready.map((r) => r.path.toString()),
    ).toEqual(['/cold']);
    expect(set.size).toBe(1);
    vi.advanceTimersByTime(300);
    expect(
      handed()
        .at(-1)!
        .t.ready.map((r) => r.path.toString()),
    ).toEqual(['/hot']);
    expect(set.size).toBe(0);
  });

  it('a backlog is handed out at most MAX_TAKE places a take, in path order, every place once', () => {
    // A storm's backlog taken whole made one event rescan hold thousands of findings at once; in
    // path order, one take's places share few directories (each rescanned directory is read whole).
    const { set, handed } = harness();
    const n = 2 * MAX_TAKE + 100;
    const names = Array.from({ length: n }, (_, i) => `/d${(i * 7) % 13}/f${i}`);
    for (const name of names) set.mark(p(name), true);
    vi.advanceTimersByTime(20);
    const sizes = handed().map((x) => x.t.ready.length);
    expect(sizes).toEqual([MAX_TAKE, MAX_TAKE, 100]);
    const order = handed().flatMap((x) => x.t.ready.map((r) => r.path.toString()));
    const sorted = [...names].sort();
    // The capped takes come in path order; what is left fits one take, taken as it is.
    expect(order.slice(0, 2 * MAX_TAKE)).toEqual(sorted.slice(0, 2 * MAX_TAKE));
    expect([...order].sort()).toEqual(sorted);
    expect(set.size).toBe(0);
  });

  it('past maxDirty places it overflows once, at once, and forgets them all', () => {
    const { set, takes } = harness({ maxDirty: 10 });
    for (let i = 0; i < 25; i++) set.mark(p(`/f${i}`), true);
    expect(set.size).toBe(10);
    vi.advanceTimersByTime(0);
    expect(takes).toHaveLength(1);
    expect(takes[0]!.t).toEqual({ overflow: true, ready: [] });
    expect(set.size).toBe(0);
    // After the overflow, marking works as before.
    set.mark(p('/later'), true);
    vi.advanceTimersByTime(20);
    expect(takes.at(-1)!.t).toMatchObject({ overflow: false });
    expect(takes.at(-1)!.t.ready.map((r) => r.path.toString())).toEqual(['/later']);
  });

  it('close drops what is pending and ignores later marks', () => {
    const { set, takes } = harness();
    set.mark(p('/a'), true);
    set.close();
    set.mark(p('/b'), true);
    vi.advanceTimersByTime(5_000);
    expect(takes).toEqual([]);
    expect(set.size).toBe(0);
  });

  it('a new debounce (reload) applies to hot places from then on', () => {
    const { set, handed } = harness({ debounceMs: 50 });
    set.mark(p('/h'), true);
    vi.advanceTimersByTime(10);
    set.debounceMs = 400;
    set.mark(p('/h'), true);
    const marked = Date.now();
    vi.advanceTimersByTime(1_000);
    expect(handed()).toHaveLength(2);
    expect(handed()[1]!.at - marked).toBeGreaterThanOrEqual(399);
    expect(handed()[1]!.at - marked).toBeLessThanOrEqual(402);
  });
});

describe('placesOf', () => {
  const ev = (o: { name?: string; self?: boolean; entryOnly?: boolean }) => ({
    dir: p('/srv/app'),
    name: o.name === undefined ? null : p(o.name),
    self: o.self ?? false,
    entryOnly: o.entryOnly ?? false,
  });
  const show = (xs: { path: Buffer; deep: boolean }[]) =>
    xs.map((x) => `${x.path} ${x.deep ? 'deep' : 'shallow'}`);

  it.each([
    [
      'a name: the entry deep, the directory shallow',
      ev({ name: 'x.py' }),
      ['/srv/app/x.py deep', '/srv/app shallow'],
    ],
    ['a write to an entry: the entry only', ev({ name: 'x.py', entryOnly: true }), ['/srv/app/x.py deep']],
    ['no name: the whole directory, deep', ev({}), ['/srv/app deep']],
    [
      'the directory itself moved: it deep, its parent shallow, and the name',
      ev({ name: '7', self: true }),
      ['/srv/app deep', '/srv shallow', '/srv/app/7 deep', '/srv/app shallow'],
    ],
  ])('%s', (_what, e, want) => {
    expect(show(placesOf(e))).toEqual(want);
  });

  it('keeps name bytes that are not UTF-8', () => {
    const e = { dir: p('/d'), name: Buffer.from([0xff, 0x2e, 0x70, 0x79]), self: false, entryOnly: true };
    expect(placesOf(e)[0]!.path).toEqual(Buffer.from([0x2f, 0x64, 0x2f, 0xff, 0x2e, 0x70, 0x79]));
  });
});
