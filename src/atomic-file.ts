/**
 * Atomic replacement of a whole file: readers see the old content or the new, never a mix, and a
 * crash at any moment leaves one of the two on disk. Owns only that mechanism (temp file, mode,
 * fsync, rename, directory fsync). It must not know what it writes or choose an error type: it
 * throws the file system's own error, and each caller wraps it in its typed error (KeyError,
 * StorageError) with a message for its reader.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (e.g. 0o600). Applied before any byte is written. */
  mode: number;
}

// O_EXCL also refuses a symlink planted at the temp name, and O_NOFOLLOW says so explicitly.
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The temp file's name: hidden, in the destination's directory (rename is atomic only there). */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Replaces `path` with `data`, atomically and durably:
 * 1. creates a new temp file in the same directory, with `options.mode` from the start (the umask
 *    can only narrow the create mode, so an fchmod sets the exact bits before any data is written);
 * 2. writes all of `data` and fsyncs it;
 * 3. renames it over `path`: an existing file is replaced whole, and a symlink at `path` is itself
 *    replaced, never followed, so nobody can redirect the write through a planted link;
 * 4. fsyncs the directory, so the rename survives a crash.
 *
 * On any failure before the rename, the temp file is removed and the original error is thrown;
 * `path` is then untouched. The directory fsync is best effort: some file systems refuse fsync on
 * a directory, and once the rename has happened the new content is in place, so reporting a
 * failure then would mislead the caller into thinking the old content was still there.
 */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
): void {
  const tmp = tempPathFor(path);
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, TEMP_FLAGS, options.mode);
    fchmodSync(fd, options.mode);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err: unknown) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Closing is cleanup only; the error that stopped the write is the one to report.
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // The temp file may never have been created; again the original error is the one to report.
    }
    throw err;
  }
  syncDirectory(dirname(path));
}

/** fsync a directory, so that a rename in it is durable. Best effort, see writeFileAtomicSync. */
function syncDirectory(dir: string): void {
  let dfd: number | undefined;
  try {
    dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(dfd);
  } catch {
    // Some file systems refuse fsync on a directory; the data file itself is already synced.
  } finally {
    if (dfd !== undefined) closeSync(dfd);
  }
}
