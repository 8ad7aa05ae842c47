/**
 * A walk that hands subtrees to other threads (ScanOptions.split), driven here on one thread so
 * each hand-over happens exactly where the test wants it: the handed units, spliced back at their
 * markers, give exactly the items of one plain walk, each once and in key order; a handed
 * directory is walked through the descriptor it was handed (a swap of its path for a symlink
 * afterwards leads nowhere); a directory that cannot be opened at hand-over time stays with the
 * walk, which reports it; and every handed descriptor is closed by the unit that took it.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathToKey } from '../../../src/path-key.js';
import { parsePolicyText } from '../../../src/policy/policy.js';
import { RuleIndex } from '../../../src/policy/rule-index.js';
import { type Handoff, type ScanItem, Scanner, type ScanSplit, scanTree } from '../../../src/scan/scan.js';

let dir: string;
let tree: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-split-'));
  tree = join(dir, 'tree');
  mkdirSync(tree);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function index(extra = ''): RuleIndex {
  const { rules, problems } = parsePolicyText(
    'split.yaml',
    `version: 1\nrules:\n  - name: t\n    paths: ["${tree}"]\n    check: readonly\n${extra}`,
  );
  expect(problems).toEqual([]);
  return new RuleIndex(rules);
}

/** A tree of nested directories with files at every level. */
function grow(root: string, depth: number, fan: number): void {
  for (let f = 0; f < 3; f++) writeFileSync(join(root, `f${f}`), `${root}/${f}`);
  if (depth === 0) return;
  for (let d = 0; d < fan; d++) {
    const sub = join(root, `d${d}`);
    mkdirSync(sub);
    grow(sub, depth - 1, fan);
  }
}

type Out = { item: ScanItem } | { unit: number };

const keyOf = (i: ScanItem) => i.key.toString('hex');
const openFds = () => readdirSync('/proc/self/fd').length;

/**
 * Walk with a split that hands a subtree whenever `want(n)` says so (n: the how-manieth question),
 * then walk each handed unit the same way; returns each unit's output, the root's as unit 0.
 */
function splitWalk(
  idx: RuleIndex,
  want: (n: number) => boolean,
  between?: (units: Map<number, Handoff>) => void,
): { outs: Map<number, Out[]>; handed: Map<number, Handoff> } {
  const handed = new Map<number, Handoff>();
  const outs = new Map<number, Out[]>();
  // The root's walk asks once on the way down to each component of the tree's path, where there
  // is nothing to hand: those questions are not counted.
  let asked = -(tree.split('/').length - 1);
  let next = 1;
  const walk = (unit: number, h: Handoff | null) => {
    const out: Out[] = [];
    outs.set(unit, out);
    const split: ScanSplit = {
      wanted: () => {
        const n = asked++;
        return n >= 0 && want(n);
      },
      claim: () => true,
      release: () => {},
      hand: (x) => {
        const id = next++;
        handed.set(id, x);
        return id;
      },
      splice: (id) => out.push({ unit: id }),
    };
    const s = new Scanner({ index: idx, split, onItem: (item) => out.push({ item }) });
    if (h) s.runUnit(h);
    else s.run();
  };
  walk(0, null);
  between?.(handed);
  // Units are walked in the order they were handed; each may hand more.
  for (let u = 1; u < next; u++) walk(u, handed.get(u)!);
  return { outs, handed };
}

/** The items in key order, following the splice markers. */
function spliced(outs: Map<number, Out[]>, unit = 0, seen = new Set<number>()): ScanItem[] {
  expect(seen.has(unit)).toBe(false);
  seen.add(unit);
  return (outs.get(unit) ?? []).flatMap((o) => ('unit' in o ? spliced(outs, o.unit, seen) : [o.item]));
}

describe('a walk split over threads', () => {
  it('gives the items of one walk, each once, in key order, whatever it hands over and when', () => {
    grow(tree, 3, 3);
    const idx = index();
    const plain: ScanItem[] = [];
    scanTree({ index: idx, onItem: (i) => plain.push(i) });
    expect(plain.length).toBeGreaterThan(150);
    const before = openFds();
    for (const want of [
      (n: number) => n % 2 === 0,
      (n: number) => n % 7 === 3,
      () => true,
      (n: number) => n < 2,
    ]) {
      const { outs, handed } = splitWalk(idx, want);
      expect(handed.size).toBeGreaterThan(0);
      const all = spliced(outs);
      expect(all.map(keyOf)).toEqual(plain.map(keyOf));
      expect(all.map((i) => i.kind)).toEqual(plain.map((i) => i.kind));
      // Every unit was spliced in exactly once (spliced() refuses a second visit).
      expect(outs.size).toBe(handed.size + 1);
      // What is handed over is the last subdirectory still to walk of the outermost open directory:
      // each handed path is a directory of the tree, and none is handed twice.
      const paths = [...handed.values()].map((h) => h.path.toString());
      expect(new Set(paths).size).toBe(paths.length);
      for (const p of paths) expect(p.startsWith(`${tree}/`)).toBe(true);
    }
    // Every handed descriptor was closed by the unit that walked it.
    expect(openFds()).toBe(before);
  });

  it('walks a handed directory through its descriptor: its path swapped for a symlink afterwards leads nowhere', () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'stolen'), 'not in the tree');
    mkdirSync(join(tree, 'a'));
    writeFileSync(join(tree, 'a', 'x'), 'x');
    mkdirSync(join(tree, 'b'));
    writeFileSync(join(tree, 'b', 'mine'), 'b');
    const { outs } = splitWalk(
      index(),
      (n) => n === 0,
      (handed) => {
        // After the hand-over, before the unit runs: b swapped for a symlink to outside.
        expect([...handed.values()].map((h) => h.path.toString())).toEqual([join(tree, 'b')]);
        renameSync(join(tree, 'b'), join(tree, 'b-moved'));
        symlinkSync(outside, join(tree, 'b'));
      },
    );
    const paths = spliced(outs).map((i) => (i.kind === 'record' ? i.record.path : i.error.path).toString());
    // The unit walked the directory it was handed (its entries under the path it had then).
    expect(paths).toContain(join(tree, 'b', 'mine'));
    expect(paths.some((p) => p.includes('stolen'))).toBe(false);
  });

  it('keeps a directory that cannot be opened at hand-over time with the walk, which reports it', () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'stolen'), 'not in the tree');
    for (const d of ['a', 'b']) {
      mkdirSync(join(tree, d));
      writeFileSync(join(tree, d, 'f'), d);
    }
    const swapped = join(tree, 'b');
    const before = openFds();
    const { outs, handed } = splitWalk(index(), (n) => {
      // Asked before the walk goes into a: b, the only one left to hand, was lstat'ed as a
      // directory and is a symlink now, so it cannot be opened (O_NOFOLLOW).
      if (n === 0) {
        renameSync(swapped, join(tree, 'b-moved'));
        symlinkSync(outside, swapped);
      }
      return n === 0;
    });
    expect(handed.size).toBe(0);
    const items = spliced(outs);
    const err = items.find((i) => i.kind === 'unlisted' && i.error.path.toString() === swapped);
    expect(err?.kind === 'unlisted' && err.error.message).toBe('replaced during the scan');
    expect(items.some((i) => i.kind === 'record' && i.record.path.toString().includes('stolen'))).toBe(false);
    expect(openFds()).toBe(before);
  });

  it('hands over only what the policy walks: excluded and unlisted places stay as one walk has them', () => {
    grow(tree, 2, 3);
    const idx = index(
      `    exclude: ["${tree}/d1"]\n  - name: deep\n    paths: ["${tree}/d2/d0"]\n    recurse: 0\n    check: readonly\n`,
    );
    const plain: ScanItem[] = [];
    scanTree({ index: idx, onItem: (i) => plain.push(i) });
    const { outs } = splitWalk(idx, () => true);
    expect(spliced(outs).map(keyOf)).toEqual(plain.map(keyOf));
    expect(plain.some((i) => i.key.equals(pathToKey(Buffer.from(`${tree}/d1/f0`))))).toBe(false);
  });
});
