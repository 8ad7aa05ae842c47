/**
 * Odd trees split over threads (ops/split-scan.ts): sibling directories named with every byte
 * value but "/" and NUL, a chain of directories deeper than PATH_MAX below one of them, FIFOs,
 * symlinks (dangling, looping, pointing out of the tree, and one standing where a directory was
 * baselined), hard links and an empty directory, walked by two and three threads that wait for
 * each other, so subtrees are handed over. The records stored and the findings of a check after
 * changes everywhere are those of one thread, byte for byte and in the same order. Runs from
 * dist/ (the worker threads load the built modules).
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  linkSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deepBottom } from '../../helpers/deep-tree.js';
import { ROOT, Sandbox } from '../../helpers/fim.js';
import { baselineWith, checkWith } from '../../helpers/split.js';

const dist = async <T>(p: string): Promise<T> => (await import(join(ROOT, 'dist', p))) as T;
const { loadPolicies } = await dist<typeof import('../../../src/policy/policy.js')>('policy/policy.js');
const { Store } = await dist<typeof import('../../../src/store/store.js')>('store/store.js');

let sb: Sandbox | undefined;
afterEach(() => {
  // rm(1) walks by descriptor: Node's rmSync cannot remove a tree deeper than PATH_MAX.
  if (sb) execFileSync('rm', ['-rf', sb.dir]);
  sb = undefined;
});

/** A directory name per byte value 1..255 but "/", in groups (a name of one byte each is too few). */
function oddNames(): Buffer[] {
  const out: Buffer[] = [];
  for (let b = 1; b < 256; b += 5) {
    const name = Buffer.from([b, b + 1, b + 2, b + 3, b + 4].filter((x) => x !== 0x2f && x < 256));
    if (name.length > 0) out.push(name);
  }
  return out;
}

function writeAtBottom(top: string, make: boolean, text: string): void {
  const fd = deepBottom(top, make, 400);
  try {
    writeFileSync(`/proc/self/fd/${fd}/bottom`, text);
  } finally {
    closeSync(fd);
  }
}

function grow(s: Sandbox): void {
  const srv = s.path('srv');
  mkdirSync(srv);
  const dirs = oddNames();
  for (const [i, name] of dirs.entries()) {
    const d = join(srv, `d${i}`);
    mkdirSync(d);
    const odd = Buffer.concat([Buffer.from(`${d}/`), name]);
    mkdirSync(odd);
    for (let f = 0; f < 4; f++) writeFileSync(Buffer.concat([odd, Buffer.from(`/f${f}`)]), `${i} ${f}\n`);
    writeFileSync(join(d, 'plain'), `${i}\n`);
  }
  // Deeper than PATH_MAX (4096) below one sibling: 400 levels, 4,400 bytes.
  mkdirSync(join(srv, 'd3', 'deep'));
  writeAtBottom(join(srv, 'd3', 'deep'), true, 'bottom\n');
  execFileSync('mkfifo', [join(srv, 'd5', 'fifo')]);
  symlinkSync('/etc/passwd', join(srv, 'd6', 'out'));
  symlinkSync('nowhere', join(srv, 'd6', 'dangling'));
  symlinkSync('loop', join(srv, 'd6', 'loop'));
  linkSync(join(srv, 'd7', 'plain'), join(srv, 'd8', 'hard'));
  mkdirSync(join(srv, 'd9', 'empty'));
  mkdirSync(join(srv, 'd10', 'was-a-dir'));
  writeFileSync(join(srv, 'd10', 'was-a-dir', 'x'), 'x\n');
}

describe('odd trees split over threads', () => {
  it('store and find exactly what one thread does', () => {
    const s = new Sandbox('fim-split-odd-');
    sb = s;
    grow(s);
    s.policy('  - name: t\n    paths: ["{tree}/srv"]\n    check: readonly\n');
    const policy = () => loadPolicies([s.policyFile]);
    const dump = (db: string) => {
      const store = Store.open(db);
      try {
        const b = store.requireBaseline();
        return [...store.records(b.id)].map(
          (r) => `${r.key.toString('hex')} ${r.record.type} ${r.record.size}`,
        );
      } finally {
        store.close();
      }
    };
    const dbs = [1, 2, 3].map((w) => join(s.dir, `w${w}.db`));
    const made = [1, 2, 3].map((w, i) => baselineWith(dbs[i]!, policy(), w, 'odd'));
    expect(made[0]!.meta.files).toBeGreaterThan(700);
    expect(dump(dbs[1]!)).toEqual(dump(dbs[0]!));
    expect(dump(dbs[2]!)).toEqual(dump(dbs[0]!));
    expect(made[1]!.deploy).toBe(made[0]!.deploy);
    expect(made[1]!.errors.map((e) => e.path.toString('hex'))).toEqual(
      made[0]!.errors.map((e) => e.path.toString('hex')),
    );

    // Changes in many subtrees, the deepest included; a directory becomes a symlink out.
    const srv = s.path('srv');
    const names = oddNames();
    writeFileSync(Buffer.concat([Buffer.from(`${srv}/d2/`), names[2]!, Buffer.from('/f1')]), 'edited\n');
    unlinkSync(Buffer.concat([Buffer.from(`${srv}/d11/`), names[11]!, Buffer.from('/f0')]));
    writeFileSync(Buffer.concat([Buffer.from(`${srv}/d12/`), names[12]!, Buffer.from('/new')]), 'new\n');
    rmSync(join(srv, 'd13'), { recursive: true });
    renameSync(join(srv, 'd10', 'was-a-dir'), join(srv, 'd10', 'moved'));
    symlinkSync('/etc', join(srv, 'd10', 'was-a-dir'));
    writeAtBottom(join(srv, 'd3', 'deep'), false, 'changed\n');
    const checkOf = (workers: number, db: string) => checkWith(db, policy(), workers, { stream: true });
    const one = checkOf(1, dbs[0]!);
    expect(one.findings.length).toBeGreaterThan(8);
    // The bottom of the deep chain was found changed, and nothing under /etc was walked.
    expect(one.findings.some((f) => f.includes(Buffer.from('bottom').toString('hex')))).toBe(true);
    expect(one.findings.some((f) => f.includes(Buffer.from('passwd').toString('hex')))).toBe(false);
    expect(checkOf(2, dbs[1]!)).toEqual(one);
    expect(checkOf(3, dbs[2]!)).toEqual(one);
  });
});
