/**
 * Scanner races, made deterministic (issue 6, "Scanner races in real trees"). The scanner calls
 * `lookup(key)` for each regular file after its lstat and before it opens and hashes it, and
 * `onItem` for each directory's record after its lstat and before it opens it: both are exactly the
 * windows an intruder would aim for. These tests act in those windows on real files and assert
 * that the scan never follows a swapped-in symlink, never opens a FIFO it did not lstat, never
 * leaves the tree, and never records bytes that are not what it reports.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyToPath } from '../../../src/path-key.js';
import { parsePolicyText } from '../../../src/policy/policy.js';
import { RuleIndex } from '../../../src/policy/rule-index.js';
import { type ScanItem, scanTree } from '../../../src/scan/scan.js';
import { waitFor } from '../../helpers/wait.js';

let dir: string;
let tree: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-race-'));
  tree = join(dir, 'tree');
  mkdirSync(tree);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Hooks {
  /** Called with the path of each regular file after its lstat, before it is opened. */
  beforeOpen?: (path: string) => void;
  /** Called for each item as it is emitted (a directory's record comes before it is opened). */
  onItem?: (item: ScanItem) => void;
}

function scan(hooks: Hooks = {}, check = 'readonly'): ScanItem[] {
  const { rules, problems } = parsePolicyText(
    'race.yaml',
    `version: 1\nrules:\n  - name: t\n    paths: ["${tree}"]\n    check: ${check}\n`,
  );
  expect(problems).toEqual([]);
  const items: ScanItem[] = [];
  scanTree({
    index: new RuleIndex(rules),
    onItem: (item) => {
      items.push(item);
      hooks.onItem?.(item);
    },
    lookup: (key) => {
      hooks.beforeOpen?.(keyToPath(key).toString());
      return undefined;
    },
  });
  return items;
}

const pathOf = (i: ScanItem) => (i.kind === 'record' ? i.record.path : i.error.path).toString();
const byPath = (items: ScanItem[], p: string) => items.filter((i) => pathOf(i) === p);

function blake3(data: Buffer): string {
  const h = new Blake3Hasher();
  h.update(data);
  return h.digestBuffer().toString('hex');
}

/** BLAKE3 of a file's first `length` bytes, read in chunks. */
function blake3File(path: string, length: number): string {
  const h = new Blake3Hasher();
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 20);
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), done);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  expect(done).toBe(length);
  return h.digestBuffer().toString('hex');
}

/** Hashes of the small regular files directly in /etc that we can read: what a leak would record. */
function etcHashes(): Set<string> {
  const out = new Set<string>();
  for (const name of readdirSync('/etc')) {
    try {
      const p = join('/etc', name);
      const st = statSync(p);
      if (st.isFile() && st.size > 0 && st.size < 1 << 20) out.add(blake3(readFileSync(p)));
    } catch {
      // unreadable: it could not leak through us either
    }
  }
  expect(out.size).toBeGreaterThan(3);
  return out;
}

/** Nothing outside the tree, and no content that is an /etc file's. */
function expectInsideTree(items: ScanItem[]): void {
  const etc = etcHashes();
  for (const i of items) {
    const p = pathOf(i);
    expect(p === tree || p.startsWith(`${tree}/`), p).toBe(true);
    if (i.kind === 'record' && i.record.content) {
      expect(etc.has(i.record.content.toString('hex')), `${p} holds the bytes of an /etc file`).toBe(false);
    }
  }
}

/** The file windows, for both ways of hashing: in place, and on the worker thread (hash-ahead.ts). */
function fileRaces(): void {
  describe('a file deleted or replaced between readdir, lstat and open', () => {
    beforeEach(() => {
      for (const n of ['a', 'b', 'c']) writeFileSync(join(tree, n), `${n}\n`);
    });

    it('deleted between readdir and lstat (by the hook of the entry before it): simply not there', () => {
      const items = scan({
        beforeOpen: (p) => {
          if (p === join(tree, 'a')) unlinkSync(join(tree, 'b'));
        },
      });
      expect(byPath(items, join(tree, 'b'))).toEqual([]);
      expect(byPath(items, join(tree, 'a')).map((i) => i.kind)).toEqual(['record']);
      const c = byPath(items, join(tree, 'c'));
      expect(c.map((i) => i.kind)).toEqual(['record']);
      expect(c[0]!.kind === 'record' && c[0]!.record.content?.toString('hex')).toBe(
        blake3(Buffer.from('c\n')),
      );
      expect(items.filter((i) => i.kind !== 'record')).toEqual([]);
    });

    it('deleted between lstat and open: not there, and not an error', () => {
      const items = scan({
        beforeOpen: (p) => {
          if (p === join(tree, 'b')) unlinkSync(p);
        },
      });
      expect(byPath(items, join(tree, 'b'))).toEqual([]);
      expect(items.filter((i) => i.kind !== 'record')).toEqual([]);
      expect(byPath(items, join(tree, 'c'))).toHaveLength(1);
    });

    it('replaced by a FIFO between lstat and open: ERACE, and the scan does not hang', () => {
      const b = join(tree, 'b');
      const items = scan({
        beforeOpen: (p) => {
          if (p !== b) return;
          unlinkSync(b);
          execFileSync('mkfifo', [b]);
        },
      });
      const got = byPath(items, b);
      expect(got).toHaveLength(1);
      expect(got[0]!.kind).toBe('error');
      if (got[0]!.kind === 'error') {
        expect(got[0]!.error.code).toBe('ERACE');
        // What is kept is what lstat told (a regular file), never a hash of the FIFO.
        expect(got[0]!.record?.content ?? null).toBeNull();
      }
      expect(byPath(items, join(tree, 'c')).map((i) => i.kind)).toEqual(['record']);
    });

    it('replaced by a symlink to /etc/passwd between lstat and open: ERACE, never followed', () => {
      const b = join(tree, 'b');
      const items = scan({
        beforeOpen: (p) => {
          if (p !== b) return;
          unlinkSync(b);
          symlinkSync('/etc/passwd', b);
        },
      });
      const got = byPath(items, b);
      expect(got.map((i) => (i.kind === 'error' ? i.error.code : i.kind))).toEqual(['ERACE']);
      const passwd = blake3(readFileSync('/etc/passwd'));
      for (const i of items) {
        if (i.kind !== 'record' && i.kind !== 'error') continue;
        expect(i.record?.content?.toString('hex')).not.toBe(passwd);
      }
      expectInsideTree(items);
    });

    it('replaced by another regular file (rename over it) between lstat and open: ERACE', () => {
      const b = join(tree, 'b');
      writeFileSync(join(dir, 'evil'), 'evil\n');
      const items = scan({
        beforeOpen: (p) => {
          if (p === b) renameSync(join(dir, 'evil'), b);
        },
      });
      const got = byPath(items, b);
      expect(got.map((i) => (i.kind === 'error' ? i.error.code : i.kind))).toEqual(['ERACE']);
      for (const i of items) {
        if (i.kind === 'record')
          expect(i.record.content?.toString('hex')).not.toBe(blake3(Buffer.from('evil\n')));
      }
    });
  });

  describe('a file growing while it is hashed', () => {
    const SIZE = 96 << 20;

    it('appended to between lstat and open: the record describes exactly the bytes hashed', () => {
      const big = join(tree, 'big.log');
      writeFileSync(big, '');
      truncateSync(big, SIZE);
      const extra = Buffer.alloc(1 << 20, 0x78);
      const items = scan({
        beforeOpen: (p) => {
          if (p === big) appendFileSync(big, extra);
        },
      });
      const got = byPath(items, big);
      expect(got).toHaveLength(1);
      const item = got[0]!;
      if (item.kind !== 'record') throw new Error(`expected a record, got ${JSON.stringify(item)}`);
      // Not the lstat size: the size of what was read, and the hash of those bytes.
      expect(item.record.size).toBe(BigInt(SIZE + extra.length));
      expect(item.record.content!.toString('hex')).toBe(blake3File(big, SIZE + extra.length));
    });

    it('appended to continuously by another process: EUNSTABLE, or a record consistent with its size', async () => {
      const big = join(tree, 'big.log');
      writeFileSync(big, '');
      truncateSync(big, SIZE);
      const writer: ChildProcess = spawn('sh', ['-c', `while :; do printf 0123456789 >> '${big}'; done`], {
        stdio: 'ignore',
      });
      try {
        // Wait (polling, with a deadline) until the writer is really appending.
        await waitFor(() => statSync(big).size > SIZE + 100, {
          what: 'the writer appending',
          timeoutMs: 10_000,
          intervalMs: 10,
        });
        const items = scan();
        const got = byPath(items, big);
        expect(got).toHaveLength(1);
        const item = got[0]!;
        if (item.kind === 'error') {
          expect(item.error.code).toBe('EUNSTABLE');
        } else if (item.kind === 'record') {
          // Appends only: the first `size` bytes never change, so a consistent record is checkable.
          const size = Number(item.record.size);
          expect(size).toBeGreaterThan(SIZE);
          expect(item.record.content!.toString('hex')).toBe(blake3File(big, size));
        } else throw new Error(`unexpected ${item.kind}`);
      } finally {
        writer.kill('SIGKILL');
        await once(writer, 'exit');
      }
    });
  });
}

describe('a regular file raced', () => {
  fileRaces();
});

describe('a directory swapped for a symlink to /etc mid-walk', () => {
  beforeEach(() => {
    // Names that exist in /etc, so that a walk that followed the swap would find them.
    for (const d of ['a', 'b', 'c']) {
      mkdirSync(join(tree, d));
      for (const f of ['passwd', 'group', 'hosts', 'hostname', 'os-release'])
        writeFileSync(join(tree, d, f), `${d}/${f}\n`);
      mkdirSync(join(tree, d, 'sub'));
      writeFileSync(join(tree, d, 'sub', 'x'), 'x\n');
    }
  });

  it('between its lstat and its open: refused as replaced, nothing below it recorded', () => {
    const b = join(tree, 'b');
    const items = scan({
      onItem: (i) => {
        if (i.kind === 'record' && i.record.path.toString() === b && i.record.type === 'dir') {
          renameSync(b, join(dir, 'b.moved'));
          symlinkSync('/etc', b);
        }
      },
    });
    const got = byPath(items, b);
    expect(got.map((i) => i.kind)).toEqual(['record', 'unlisted']);
    const unlisted = got[1]!;
    expect(unlisted.kind === 'unlisted' && ['ELOOP', 'ENOTDIR', 'ERACE'].includes(unlisted.error.code)).toBe(
      true,
    );
    expect(items.filter((i) => pathOf(i).startsWith(`${b}/`))).toEqual([]);
    // The walk went on with the next directory.
    expect(byPath(items, join(tree, 'c', 'sub', 'x')).map((i) => i.kind)).toEqual(['record']);
    expectInsideTree(items);
  });

  it('while it is being listed: the walk stays in the directory it opened', () => {
    const a = join(tree, 'a');
    const items = scan({
      beforeOpen: (p) => {
        if (p !== join(a, 'group')) return;
        renameSync(a, join(dir, 'a.moved'));
        symlinkSync('/etc', a);
      },
    });
    // Entries after the swap are still read through the directory descriptor: the moved tree's.
    const hosts = byPath(items, join(a, 'hosts'));
    expect(hosts).toHaveLength(1);
    expect(hosts[0]!.kind === 'record' && hosts[0]!.record.content?.toString('hex')).toBe(
      blake3(Buffer.from('a/hosts\n')),
    );
    expect(byPath(items, join(a, 'sub', 'x')).map((i) => i.kind)).toEqual(['record']);
    expectInsideTree(items);
  });

  it('a parent of the directory being walked swapped: still never leaves the tree', () => {
    const a = join(tree, 'a');
    const items = scan({
      beforeOpen: (p) => {
        if (p !== join(a, 'sub', 'x')) return;
        renameSync(tree, join(dir, 'tree.moved'));
        symlinkSync('/etc', tree);
      },
    });
    expectInsideTree(items);
    // Everything after the swap came from the real (moved) tree.
    const h = byPath(items, join(tree, 'c', 'hosts'));
    expect(h).toHaveLength(1);
    expect(h[0]!.kind === 'record' && h[0]!.record.content?.toString('hex')).toBe(
      blake3(Buffer.from('c/hosts\n')),
    );
  });
});

describe('symlink loops', () => {
  it('are recorded as symlinks with their targets, and the walk ends', () => {
    symlinkSync('l2', join(tree, 'l1'));
    symlinkSync('l1', join(tree, 'l2'));
    symlinkSync('self', join(tree, 'self'));
    mkdirSync(join(tree, 'd'));
    symlinkSync('..', join(tree, 'd', 'up'));
    symlinkSync(tree, join(tree, 'd', 'abs'));
    writeFileSync(join(tree, 'd', 'f'), 'f\n');
    const items = scan();
    expect(items.every((i) => i.kind === 'record')).toBe(true);
    const targets = new Map(
      items.flatMap((i) =>
        i.kind === 'record' && i.record.type === 'symlink' ? [[pathOf(i), i.record.target!.toString()]] : [],
      ),
    );
    expect(Object.fromEntries(targets)).toEqual({
      [join(tree, 'l1')]: 'l2',
      [join(tree, 'l2')]: 'l1',
      [join(tree, 'self')]: 'self',
      [join(tree, 'd', 'up')]: '..',
      [join(tree, 'd', 'abs')]: tree,
    });
    // The tree, d, d/f and five links: nothing reached through a link.
    expect(items).toHaveLength(8);
  });
});
