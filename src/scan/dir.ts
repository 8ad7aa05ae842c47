/**
 * A directory of the walk: opened (openat(2) on its parent's descriptor where libc serves, else by
 * path; O_NOFOLLOW, so a symlink swapped in is refused) and listed by bytes through its own
 * descriptor (/proc/self/fd/N: Node has no fdopendir), names sorted in byte order.
 *
 * It must not follow a symlink or decide what the walk does with a name; the caller checks the
 * opened directory against its lstat.
 */
import { constants, openSync, readdirSync } from 'node:fs';
import { errnoError, libcAvailable, openAt } from '../sys/libc.js';
import { type EntryAt, procPath } from './entry-stat.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Linux's O_CLOEXEC: Node sets it on its own opens; openat through libc must ask for it. */
const O_CLOEXEC = 0o2000000;
const FD_PREFIX = '/proc/self/fd/';

/** Open a directory to walk; throws errors shaped like Node's (ENOENT, ELOOP, ENOTDIR...). */
export function openDir(access: string | Buffer | null, at: EntryAt | undefined): number {
  if (at && libcAvailable()) {
    const r = openAt(at.dir, at.nameZ, DIR_FLAGS | O_CLOEXEC);
    if (r?.ok) return r.n;
    if (r) throw errnoError(r.errno, 'openat');
  }
  return openSync(access ?? (at ? procPath(at) : '/'), DIR_FLAGS);
}

/** Every name in the open directory `fd`, in byte order. */
export function listNames(fd: number): Buffer[] {
  return readdirSync(`${FD_PREFIX}${fd}`, { encoding: 'buffer' }).sort(Buffer.compare);
}

/**
 * The names that may be directories (readdir's d_type says so, or cannot say: DT_UNKNOWN must be
 * looked at), in byte order; `files` counts the regular files skipped.
 */
export function listDirNames(fd: number): { names: Buffer[]; files: number } {
  const names: Buffer[] = [];
  let files = 0;
  for (const d of readdirSync(`${FD_PREFIX}${fd}`, { encoding: 'buffer', withFileTypes: true })) {
    const known =
      d.isFile() ||
      d.isSymbolicLink() ||
      d.isFIFO() ||
      d.isSocket() ||
      d.isBlockDevice() ||
      d.isCharacterDevice();
    if (d.isDirectory() || !known) names.push(d.name as unknown as Buffer);
    else if (d.isFile()) files++;
  }
  return { names: names.sort(Buffer.compare), files };
}
