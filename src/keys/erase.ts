/**
 * Destroys the private keys of ended epochs in the private key file, so they cannot be read back
 * from it afterwards. Two steps, each leaving a valid file at every moment:
 * 1. overwrite in place: each ended seed's text in the existing file (the same inode) becomes
 *    ERASED_SEED_TEXT, of the same length, and the file is synced: the blocks that held the seeds
 *    now hold the marker, and a hard link or an open descriptor to the old inode loses them too;
 * 2. replace atomically: the remaining seeds are written to a new file renamed over the old one.
 * A crash between the two leaves overwritten entries, which readers skip.
 *
 * It owns only those bytes. Which epochs have ended, and the keys held in memory, belong to
 * forward-secure.ts. Limits, stated so nobody relies on more: on a copy-on-write file system
 * (btrfs, ZFS), with data journalling, or on an SSD, old blocks may survive until they are reused;
 * in fim's own layout no seed becomes a JS string (the file's bytes and the rewrite are Buffers,
 * zeroed); a file in another layout is parsed as text, and a JS string cannot be wiped.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, KeyError } from '../errors.js';
import {
  ERASED_SEED_TEXT,
  formatPrivateKeys,
  PRIVATE_FILE,
  parsePrivateKeys,
  privateKeysHead,
  privateSeedLines,
  unreadableKeyFile,
  writeKeyFile,
} from './key-files.js';
import type { LazySeeds } from './seed-lines.js';

function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return off === size ? buf : buf.subarray(0, off);
}

/** Writes `data` over the bytes at `position` of `fd`, retrying short writes. */
function overwrite(fd: number, position: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, position + off);
}

/**
 * Writes `data` over each of `at` in `fd`, then syncs it: the blocks that held the seeds now hold
 * the marker. A KeyError naming the file when either fails.
 */
function overwriteSynced(fd: number, path: string, at: readonly number[], data: Buffer): void {
  try {
    for (const position of at) overwrite(fd, position, data);
    fdatasyncSync(fd);
  } catch (err: unknown) {
    throw new KeyError(`cannot overwrite ended keys in ${path}: ${errnoCode(err) ?? String(err)}`, {
      cause: err,
    });
  }
}

/** `eraseEndedKeys` of a file in fim's layout, whose bytes `lines` holds (see there for the steps). */
function eraseInLayout(dir: string, path: string, fd: number, lines: LazySeeds, firstKept: number): number {
  const held = lines.epochs();
  const ended = held.filter((e) => e < firstKept);
  if (ended.length === 0) return 0;
  overwriteSynced(
    fd,
    path,
    ended.map((e) => lines.seedOffset(e)),
    Buffer.from(ERASED_SEED_TEXT, 'ascii'),
  );
  const rest = lines.withOnly(
    held.filter((e) => e >= firstKept),
    privateKeysHead(lines.host),
  );
  try {
    writeKeyFile(dir, PRIVATE_FILE, rest);
  } finally {
    rest.fill(0);
  }
  return ended.length;
}

/**
 * Erases from `dir`'s private key file every seed of an epoch before `firstKept`. Returns how many
 * entries it removed from the file (0 when another process already did, and then writes nothing).
 */
export function eraseEndedKeys(dir: string, firstKept: number): number {
  const path = join(dir, PRIVATE_FILE);
  let fd: number;
  try {
    // Read and overwrite through one descriptor, so the bytes overwritten are the bytes parsed.
    fd = openSync(path, 'r+');
  } catch (err: unknown) {
    if (errnoCode(err) === 'ENOENT') throw unreadableKeyFile(path, err);
    throw new KeyError(`cannot write ${path}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  let bytes: Buffer | undefined;
  const seeds: Buffer[] = [];
  try {
    try {
      bytes = readAll(fd);
    } catch (err: unknown) {
      throw unreadableKeyFile(path, err);
    }
    // fim's own layout (every file fim wrote): the ended seeds' places are known from the line
    // check, and the rest is copied line by line; no seed is decoded (a year of them was 25 ms
    // and 13 MB at every hourly check, the command that erases on a host without the daemon).
    const lines = privateSeedLines(bytes, path);
    if (lines) return eraseInLayout(dir, path, fd, lines, firstKept);
    const onDisk = parsePrivateKeys(bytes.toString('utf8'), path);
    for (const s of onDisk.keys.values()) seeds.push(s);
    const ended = [...onDisk.keys.entries()].filter(([epoch]) => epoch < firstKept);
    if (ended.length === 0) return 0;

    // Our writer never escapes base64, but a file written by hand might: a seed whose text is not
    // in the file verbatim cannot be overwritten in place, so the whole old file is wiped instead.
    const at: number[] = [];
    for (const [epoch, seed] of ended) {
      const i = bytes.indexOf(`"${seed.toString('base64')}"`, 0, 'ascii');
      if (i >= 0) at.push(i + 1);
      onDisk.keys.delete(epoch);
    }
    const allInPlace = at.length === ended.length;
    overwriteSynced(fd, path, at, Buffer.from(ERASED_SEED_TEXT, 'ascii'));

    writeKeyFile(dir, PRIVATE_FILE, formatPrivateKeys(onDisk.host, onDisk.keys));

    if (!allInPlace) {
      // The old inode is no longer the key file (the rename replaced it): zero all of it. A reader
      // that opened it just before the rename may then fail to parse it; that is a KeyError to
      // retry, and only a hand-written file can lead here.
      overwriteSynced(fd, path, [0], Buffer.alloc(bytes.length));
    }
    return ended.length;
  } finally {
    bytes?.fill(0);
    for (const seed of seeds) seed.fill(0);
    closeSync(fd);
  }
}
