/**
 * readlinkat(2) through libc (src/sys/libc.ts `readlinkAt`), which the scanner reads a symlink's
 * target with in readlink's place: the same bytes readlink gives, whatever they are and however
 * long, never following the link, and the errno readlink fails with.
 */
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRNO, readlinkAt } from '../../../src/sys/libc.js';

let dir: string;
let fd: number;
const z = (name: string | Buffer) => Buffer.concat([Buffer.from(name), Buffer.from([0])]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-readlinkat-'));
  fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
});
afterAll(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe('readlinkAt', () => {
  it('gives what readlink gives: a target of any bytes, up to the longest Linux stores', () => {
    const targets: Buffer[] = [
      Buffer.from('/etc/passwd'),
      Buffer.from('relative/../x'),
      Buffer.from([0x2f, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d]), // not UTF-8, an escape
      Buffer.alloc(4095, 0x61), // PATH_MAX - 1
    ];
    targets.forEach((t, i) => {
      const name = Buffer.from(`link${i}`);
      symlinkSync(t, Buffer.concat([Buffer.from(`${dir}/`), name]));
      const r = readlinkAt(fd, z(name));
      expect(r?.ok && r.target.equals(t), `target ${i}`).toBe(true);
      expect(r?.ok && r.target.equals(readlinkSync(join(dir, `link${i}`), { encoding: 'buffer' }))).toBe(
        true,
      );
    });
  });

  it('does not follow the link, and fails as readlink fails (ENOENT, EINVAL for a file)', () => {
    symlinkSync('loop', join(dir, 'loop'));
    const r = readlinkAt(fd, z('loop'));
    expect(r?.ok && r.target.toString()).toBe('loop');
    writeFileSync(join(dir, 'file'), 'x');
    expect(readlinkAt(fd, z('file'))).toEqual({ ok: false, errno: ERRNO.EINVAL });
    expect(readlinkAt(fd, z('gone'))).toEqual({ ok: false, errno: ERRNO.ENOENT });
  });

  it('hands each target its own bytes (the read buffer is reused)', () => {
    symlinkSync('first-target', join(dir, 'a'));
    symlinkSync('2nd', join(dir, 'b'));
    const a = readlinkAt(fd, z('a'));
    const b = readlinkAt(fd, z('b'));
    expect(a?.ok && a.target.toString()).toBe('first-target');
    expect(b?.ok && b.target.toString()).toBe('2nd');
  });
});
