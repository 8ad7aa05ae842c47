/**
 * Reading a manifest: hostile input, so bounded. A manifest is read only as a regular file opened
 * without following a symlink, and never past a size limit (a 10 GiB "RECORD" is refused, not
 * read into memory). What cannot be read is a problem to report, never an exception.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { errnoCode } from '../errors.js';

export type Bounded = { ok: true; bytes: Buffer } | { ok: false; problem: string };

/**
 * `scratch`: read into this buffer (grown as needed, kept by the caller) and return a view of it,
 * valid until the next read, so a pass over many files (dpkg's 700 md5sums, 31 MB) does not leave
 * a freed buffer per file behind for the allocator to hold on to.
 */
export function readBounded(path: Buffer | string, max: number, scratch?: { buf: Buffer }): Bounded {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { ok: false, problem: `cannot open (${errnoCode(err) ?? 'EIO'})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, problem: 'not a regular file' };
    if (st.size > max)
      return { ok: false, problem: `${st.size} bytes, more than the ${max} a manifest may have` };
    if (scratch && scratch.buf.length < st.size)
      scratch.buf = Buffer.allocUnsafe(Math.max(st.size, 2 * scratch.buf.length));
    const buf = scratch ? scratch.buf.subarray(0, st.size) : Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { ok: true, bytes: buf.subarray(0, got) };
  } catch (err) {
    return { ok: false, problem: `cannot read (${errnoCode(err) ?? 'EIO'})` };
  } finally {
    closeSync(fd);
  }
}
