/**
 * statx(2) through the walk's directory descriptor must say exactly what lstat says, for every kind
 * of entry and every corner of the numbers (setuid bits, times before 1970 and far after, hard
 * links, devices), and never follow a symlink: the scanner trusts it in lstat's place.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryAt, fromBigIntStats, makeDev, procPath, statEntry } from '../../../src/scan/entry-stat.js';
import { libcAvailable } from '../../../src/sys/libc.js';
import { fstatOf } from '../../../src/sys/stat.js';

let dir: string;
let fd: number;
const server = createServer();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fim-entry-stat-'));
  writeFileSync(join(dir, 'file'), 'x'.repeat(1000));
  writeFileSync(join(dir, 'suid'), '#!/bin/sh\n', { mode: 0o6755 });
  execFileSync('chmod', ['7777', join(dir, 'suid')]);
  linkSync(join(dir, 'file'), join(dir, 'hardlink'));
  mkdirSync(join(dir, 'sub'));
  symlinkSync('/etc/passwd', join(dir, 'link'));
  symlinkSync('nowhere', join(dir, 'dangling'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await new Promise<void>((r) => server.listen(join(dir, 'sock'), r));
  writeFileSync(join(dir, 'old'), '');
  utimesSync(join(dir, 'old'), -86_400.5, -1_000_000_000.25); // before 1970
  writeFileSync(join(dir, 'future'), '');
  utimesSync(join(dir, 'future'), 32_503_680_000, 32_503_680_000.123); // the year 3000
  writeFileSync(join(dir, 'sparse'), '');
  execFileSync('truncate', ['-s', '5G', join(dir, 'sparse')]);
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x66, 0xff, 0x0a])]), 'not UTF-8');
  fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
});

afterAll(() => {
  closeSync(fd);
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('statEntry', () => {
  it('is there: libc and statx load on this machine (else the scanner would fall back to lstat)', () => {
    expect(libcAvailable()).toBe(true);
  });

  const names = [
    'file',
    'suid',
    'hardlink',
    'sub',
    'link',
    'dangling',
    'fifo',
    'sock',
    'old',
    'future',
    'sparse',
  ];
  for (const name of names) {
    it(`says what lstat says of ${name}`, () => {
      const at = entryAt(fd, Buffer.from(name));
      expect(statEntry(Buffer.from('/nonexistent'), at)).toEqual(
        fromBigIntStats(lstatSync(join(dir, name), { bigint: true })),
      );
    });
  }

  it('reads a name that is not UTF-8 by its bytes', () => {
    const name = Buffer.from([0x66, 0xff, 0x0a]);
    const st = statEntry('/nonexistent', entryAt(fd, name));
    expect(st.type).toBe('file');
    expect(st.size).toBe(9n);
  });

  it('never follows a symlink, and gives the device numbers of a character device exactly', () => {
    expect(statEntry('/nonexistent', entryAt(fd, Buffer.from('link'))).type).toBe('symlink');
    const dev = openSync('/dev', constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const st = statEntry('/nonexistent', entryAt(dev, Buffer.from('null')));
      expect(st).toEqual(fromBigIntStats(lstatSync('/dev/null', { bigint: true })));
      expect(st.type).toBe('char');
    } finally {
      closeSync(dev);
    }
  });

  it('fails as lstat fails, with the code the scanner reads (ENOENT, ENOTDIR)', () => {
    expect(() => statEntry('/nonexistent', entryAt(fd, Buffer.from('gone')))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(() => statEntry('/nonexistent', entryAt(fd, Buffer.from('file/x')))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }),
    );
  });

  it('falls back to lstat of the path without a descriptor', () => {
    expect(statEntry(join(dir, 'file'), undefined)).toEqual(
      fromBigIntStats(lstatSync(join(dir, 'file'), { bigint: true })),
    );
    expect(procPath(entryAt(7, Buffer.from('a')))).toEqual(Buffer.from('/proc/self/fd/7/a'));
  });
});

describe('fstatOf', () => {
  // The hasher's identity checks (before and after the read) and the walk's directory check trust
  // it in fstat's place: every number, the blocks that tell a sparse file, a closed descriptor.
  it.each(['file', 'suid', 'sub', 'old', 'future', 'sparse'])('says what fstat says of %s', (name) => {
    const f = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const want = fstatSync(f, { bigint: true });
      expect(fstatOf(f)).toEqual({ ...fromBigIntStats(want), blocks: want.blocks });
    } finally {
      closeSync(f);
    }
  });

  it("gives an entry's stat and a descriptor's in one shape, the same keys in the same order", () => {
    // sys/stat.ts: `blocks` is part of every decoded stat (a spread adding it took V8's slow path).
    const f = openSync(join(dir, 'file'), constants.O_RDONLY);
    try {
      const keys = Object.keys(fstatOf(f));
      expect(keys).toContain('blocks');
      expect(Object.keys(statEntry('/nonexistent', entryAt(fd, Buffer.from('file'))))).toEqual(keys);
      expect(Object.keys(fromBigIntStats(fstatSync(f, { bigint: true })))).toEqual(keys);
    } finally {
      closeSync(f);
    }
  });

  it('tells a sparse file by its blocks, and fails as fstat fails', () => {
    const f = openSync(join(dir, 'sparse'), 'r');
    try {
      const st = fstatOf(f);
      expect(st.blocks * 512n).toBeLessThan(st.size);
    } finally {
      closeSync(f);
    }
    expect(() => fstatOf(f)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('makeDev', () => {
  // glibc's makedev(3): 12 bits of major and 20 of minor in the low word, the rest above.
  it.each([
    [0, 0, 0n],
    [8, 1, 0x801n],
    [0, 0x100, 0x100000n],
    [259, 300_000, 0x493103e0n],
    [0xfff, 0xfffff, 0xffffffffn],
    [0x1000, 0, 1n << 44n],
    [0, 0x100000, 1n << 32n],
  ])('makedev(%i, %i) = %s', (major, minor, want) => {
    expect(makeDev(major, minor)).toBe(want);
  });
});
