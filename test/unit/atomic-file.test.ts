import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { writeFileAtomicSync } from '../../src/atomic-file.js';

// A write that fails half way (a full disk) cannot be made to happen for real in a temp directory,
// so writeSync is wrapped: when `failWrites` is set it writes a few bytes, then throws ENOSPC.
const io = vi.hoisted(() => ({ failWrites: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, buf: Uint8Array, off: number, len: number, pos?: number | null) => {
    if (io.failWrites) {
      fs.writeSync(fd, buf, off, Math.min(len, 3), pos);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return fs.writeSync(fd, buf, off, len, pos);
  }) as typeof fs.writeSync;
  return { ...fs, writeSync, default: { ...fs, writeSync } };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-atomic-'));
  io.failWrites = false;
});
afterEach(() => {
  io.failWrites = false;
  rmSync(dir, { recursive: true, force: true });
});

/** Every entry of `dir` but the ones named: what a write left behind. */
const leftovers = (...expected: string[]) => readdirSync(dir).filter((n) => !expected.includes(n));

describe('writeFileAtomicSync', () => {
  test.each([
    { what: 'a string', data: 'héllo\n', bytes: Buffer.from('héllo\n', 'utf8') },
    { what: 'bytes', data: Buffer.from([0, 255, 10, 13]), bytes: Buffer.from([0, 255, 10, 13]) },
    { what: 'nothing', data: '', bytes: Buffer.alloc(0) },
  ])('writes $what with the final content and mode, and no temp file', ({ data, bytes }) => {
    const path = join(dir, 'f');
    writeFileAtomicSync(path, data, { mode: 0o600 });
    expect(readFileSync(path)).toEqual(bytes);
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(leftovers('f')).toEqual([]);
  });

  test('the mode is exact, whatever the umask', () => {
    const old = process.umask(0o077);
    try {
      writeFileAtomicSync(join(dir, 'wide'), 'x', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, 'wide')).mode & 0o7777).toBe(0o644);
  });

  test('an existing file is replaced whole: new inode, new mode, no trace of the longer old content', () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'old content that is longer than the new one', { mode: 0o644 });
    const before = statSync(path).ino;
    writeFileAtomicSync(path, 'new', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(statSync(path).ino).not.toBe(before);
    expect(leftovers('f')).toEqual([]);
  });

  test('a symlink at the destination is replaced, not followed', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'must stay');
    const path = join(dir, 'link');
    symlinkSync(target, path);
    writeFileAtomicSync(path, 'mine', { mode: 0o600 });
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('mine');
    expect(readFileSync(target, 'utf8')).toBe('must stay');
    expect(leftovers('link', 'target')).toEqual([]);
  });

  test('a failed write leaves no temp file and the old content in place', () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'old');
    io.failWrites = true;
    expect(() => writeFileAtomicSync(path, 'new content', { mode: 0o600 })).toThrow(/ENOSPC/);
    io.failWrites = false;
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(leftovers('f')).toEqual([]);
  });

  test('a failed rename (a directory in the way) leaves no temp file and throws the errno error', () => {
    const path = join(dir, 'd');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');
    let caught: unknown;
    try {
      writeFileAtomicSync(path, 'new', { mode: 0o600 });
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(statSync(path).isDirectory()).toBe(true);
    expect(leftovers('d')).toEqual([]);
  });

  test('a missing directory fails with ENOENT and creates nothing', () => {
    expect(() => writeFileAtomicSync(join(dir, 'no', 'f'), 'x', { mode: 0o600 })).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(leftovers()).toEqual([]);
  });
});
