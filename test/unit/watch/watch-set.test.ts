/**
 * The watch set on real directories with real inotify watches: the operator's cap
 * (`watch.max_watches`) and its single alert, the fallback list it leaves (outermost trees only),
 * retrying once the cap is raised, keeping the watches matched to the tree, dropping a moved
 * directory's watches without touching a sibling that shares its name's prefix, and the test hook
 * that delays a new directory's watch.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../src/alert/index.js';
import type { CompareResult } from '../../../src/ops/check.js';
import { keyToPath } from '../../../src/path-key.js';
import { loadPolicies } from '../../../src/policy/policy.js';
import { RuleIndex } from '../../../src/policy/rule-index.js';
import type { DirEvent } from '../../../src/watch/backend.js';
import { WatchSet, type WatchSetOptions } from '../../../src/watch/watch-set.js';
import { Sandbox } from '../../helpers/fim.js';
import { waitFor } from '../../helpers/wait.js';

interface Note {
  pri: number;
  msg: string;
  alert: AlertEvent | undefined;
}

const open: WatchSet[] = [];
afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

function watchSet(o: Partial<WatchSetOptions> = {}) {
  const notes: Note[] = [];
  const events: DirEvent[] = [];
  const lost: Buffer[] = [];
  const ws = new WatchSet({
    onEvent: (e) => events.push(e),
    onLost: (d) => lost.push(d),
    onOverflow: () => {},
    notify: (pri, msg, alert) => notes.push({ pri, msg, alert }),
    fallbackScanMs: 1000,
    ...o,
  });
  open.push(ws);
  return { ws, notes, events, lost };
}

/** A tree {tree}/t with `n` directories d0..d(n-1), each holding one file, under one rule. */
function tree(sb: Sandbox, n: number): RuleIndex {
  for (let i = 0; i < n; i++) sb.write(`t/d${i}/f.txt`, 'x');
  sb.policy('  - name: t\n    paths: ["{tree}/t"]\n    check: readonly\n');
  return new RuleIndex(loadPolicies([sb.policyFile]).rules);
}

const compareResult = (directories: Buffer[]): CompareResult => ({
  findings: [],
  errors: [],
  notes: [],
  stats: { entries: 0, recorded: 0, files: 0, bytes: 0n, hashedBytes: 0n, errors: 0 },
  directories,
});

describe('WatchSet', () => {
  it('watches every covered directory and reports the files it walked', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const index = tree(sb, 4);
    const { ws, notes } = watchSet();
    expect(ws.sync(index)).toBe(4);
    expect(ws.size).toBe(5); // t and d0..d3
    expect(ws.unwatchedSize).toBe(0);
    expect(ws.has(Buffer.from(sb.path('t/d2')))).toBe(true);
    expect(notes).toEqual([]);
  });

  it('delivers an event for a write in a watched directory, with the name as bytes', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const { ws, events } = watchSet();
    ws.sync(tree(sb, 1));
    const name = Buffer.from([0x66, 0xff, 0x2e, 0x70, 0x79]);
    writeFileSync(Buffer.concat([Buffer.from(`${sb.path('t/d0')}/`), name]), 'x');
    const hit = await waitFor(() => events.find((e) => e.name?.equals(name)), {
      what: 'an event naming the new file',
      timeoutMs: 3000,
    });
    expect(hit.dir.toString()).toBe(sb.path('t/d0'));
  });

  it('stops at max_watches: the rest is unwatched, alerted once, and the fallback gets only the outermost', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    for (let i = 0; i < 4; i++) sb.write(`t/d${i}/sub/f.txt`, 'x');
    sb.policy('  - name: t\n    paths: ["{tree}/t"]\n    check: readonly\n');
    const index = new RuleIndex(loadPolicies([sb.policyFile]).rules);
    const { ws, notes } = watchSet({ maxWatches: 3 });
    ws.sync(index);
    expect(ws.size).toBe(3);
    expect(ws.unwatchedSize).toBe(6); // 9 directories, 3 watched
    const limit = notes.filter((n) => n.alert?.type === 'error' && n.alert.code === 'ENOSPC');
    expect(limit).toHaveLength(1);
    expect(limit[0]!.msg).toMatch(/inotify watch limit reached at 3 watches.*watch\.max_watches/);
    // A second sync hits the cap again: no second alert.
    ws.sync(index);
    expect(notes.filter((n) => n.alert?.type === 'error')).toHaveLength(1);
    // Walk order: t, d0, d0/sub watched; d1..d3 (with their subs) are not. Only the outermost are scanned.
    const fallback = ws.retryUnwatched().map((k) => keyToPath(k).toString());
    expect(fallback).toEqual([sb.path('t/d1'), sb.path('t/d2'), sb.path('t/d3')]);
  });

  it('a raised cap lets the retry watch what was unwatched', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const index = tree(sb, 5);
    const { ws } = watchSet({ maxWatches: 2 });
    ws.sync(index);
    expect(ws.unwatchedSize).toBe(4);
    ws.maxWatches = 100;
    expect(ws.retryUnwatched()).toEqual([]);
    expect(ws.size).toBe(6);
    expect(ws.unwatchedSize).toBe(0);
  });

  it('a directory that vanished before its watch is unwatched silently; one that cannot be watched alerts', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const { ws, notes } = watchSet();
    expect(ws.watch(Buffer.from(sb.path('nope')))).toBe(false);
    expect(notes).toEqual([]);
    sb.write('file', 'x');
    expect(ws.watch(Buffer.from(sb.path('file')))).toBe(false);
    expect(notes.map((n) => n.alert?.type === 'error' && n.alert.code)).toEqual(['ENOTDIR']);
    expect(ws.unwatchedSize).toBe(2);
  });

  it('sync drops the watches of directories that left the tree', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const index = tree(sb, 3);
    const { ws } = watchSet();
    ws.sync(index);
    rmSync(sb.path('t/d1'), { recursive: true });
    ws.sync(index);
    expect(ws.has(Buffer.from(sb.path('t/d1')))).toBe(false);
    expect(ws.size).toBe(3);
  });

  it('a moved directory loses its watches and those below it, not a sibling sharing its prefix', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    sb.write('t/a/sub/f', 'x');
    sb.write('t/ab/f', 'x');
    sb.policy('  - name: t\n    paths: ["{tree}/t"]\n    check: readonly\n');
    const { ws } = watchSet();
    ws.sync(new RuleIndex(loadPolicies([sb.policyFile]).rules));
    const a = Buffer.from(sb.path('t/a'));
    renameSync(sb.path('t/a'), sb.path('moved'));
    ws.forget({ dir: a, name: null, self: true, entryOnly: false });
    expect(ws.has(a)).toBe(false);
    expect(ws.has(Buffer.from(sb.path('t/a/sub')))).toBe(false);
    expect(ws.has(Buffer.from(sb.path('t/ab')))).toBe(true);
    expect(ws.has(Buffer.from(sb.path('t')))).toBe(true);
  });

  it('adopt watches new directories and returns only those (to be listed again)', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const { ws } = watchSet();
    ws.sync(tree(sb, 1));
    mkdirSync(sb.path('t/new'));
    const known = Buffer.from(sb.path('t/d0'));
    const fresh = Buffer.from(sb.path('t/new'));
    expect(ws.adopt(compareResult([known, fresh]))).toEqual([fresh]);
    expect(ws.has(fresh)).toBe(true);
    expect(ws.adopt(compareResult([known, fresh]))).toEqual([]);
  });

  it('the watch delay hook holds a new directory back that long before its watch, and says so', async () => {
    await using sb = new Sandbox('fim-watch-set-');
    const { ws, notes } = watchSet({ watchDelayMs: 150 });
    ws.sync(tree(sb, 1));
    mkdirSync(sb.path('t/late'));
    const t0 = performance.now();
    ws.adopt(compareResult([Buffer.from(sb.path('t/late'))]));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(notes.map((n) => n.msg)).toEqual([`test: watching ${sb.path('t/late')} in 150 ms`]);
    // Directories already watched are not held back.
    const t1 = performance.now();
    ws.adopt(compareResult([Buffer.from(sb.path('t/late'))]));
    expect(performance.now() - t1).toBeLessThan(100);
  });
});
