/**
 * What the scanner needs of an entry's lstat, as one small object: its type, the 12 mode bits,
 * owner, link count, and the 64-bit numbers (size, times in nanoseconds, inode, device) as
 * bigints. Where libc can be used it comes from statx(2) relative to the walk's directory
 * descriptor, one name resolved and never a final symlink followed (AT_SYMLINK_NOFOLLOW): the
 * lstat it replaces went through /proc/self/fd/N/name, a procfs walk at every entry (measured here:
 * about 10 µs against 1 µs, the largest single cost of a `--fast` check). Elsewhere it is Node's
 * `lstat`, converted: both give the same numbers (test/unit/scan/entry-stat.test.ts compares them
 * on every type of entry).
 *
 * It must not follow a symlink or guess a field: a statx that did not fill a basic field is refused
 * and the caller falls back to lstat.
 */
import { lstatSync } from 'node:fs';
import { errnoError, STATX_SIZE, statxAt } from '../sys/libc.js';
import { decodeStatx, type EntryStat, fromBigIntStats } from '../sys/stat.js';

export { type EntryStat, fromBigIntStats, makeDev } from '../sys/stat.js';

/** Where an entry is, for the *at(2) calls: its directory's descriptor and its name (and with NUL). */
export interface EntryAt {
  dir: number;
  name: Buffer;
  /** `name` followed by a NUL, as the kernel takes it. */
  nameZ: Buffer;
}

/**
 * The entry's name through its directory's descriptor (/proc/self/fd/N/name), for the calls that
 * have no *at form here (readlink, the path forms of xattr calls) or when libc cannot be loaded.
 */
export function procPath(at: EntryAt): Buffer {
  const prefix = Buffer.from(`/proc/self/fd/${at.dir}/`);
  return Buffer.concat([prefix, at.name], prefix.length + at.name.length);
}

/** An entry's place: `name` in the directory open as `dir`. */
export function entryAt(dir: number, name: Buffer): EntryAt {
  const nameZ = Buffer.allocUnsafe(name.length + 1);
  name.copy(nameZ);
  nameZ[name.length] = 0;
  return { dir, name, nameZ };
}

const statxBuf = Buffer.alloc(STATX_SIZE);

/**
 * The entry's stat: statx through `at` where it can, else lstat (never followed) of `access`, or
 * of the entry's name through /proc/self/fd/N when `at` is given. Throws what lstat throws; a failed statx throws the same kind of error (`code` ENOENT...).
 */
export function statEntry(access: string | Buffer, at: EntryAt | undefined): EntryStat {
  if (at) {
    const r = statxAt(at.dir, at.nameZ, statxBuf);
    if (r && !r.ok) throw errnoError(r.errno, 'statx');
    const st = r ? decodeStatx(statxBuf) : undefined;
    if (st) return st;
  }
  return fromBigIntStats(lstatSync(at ? procPath(at) : access, { bigint: true }));
}
