/**
 * Building one entry's record: what its `lstat` says (type, all 12 mode bits, owner, size, times in
 * nanoseconds, inode, device, link count), then what a rule asks to be read beyond it: a symlink's
 * target (`readlink`, never followed) and a regular file's content hash (through the descriptor,
 * src/hash/hash-file.ts), or, with `--fast`, the baseline's hash when nothing about the file moved.
 *
 * It must not: follow a symlink, open anything but a regular file, or throw for an entry that is
 * unreadable or vanishes (it says so in its result). The walk itself is the scanner's.
 */
import { type BigIntStats, readlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { FileHasher } from '../hash/hash-file.js';
import type { Rule } from '../policy/policy.js';
import type { FileRecord, FileType } from '../types.js';

export function fileTypeOf(st: BigIntStats): FileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'unknown';
}

export function recordFromStat(path: Buffer, st: BigIntStats): FileRecord {
  return {
    path,
    type: fileTypeOf(st),
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.size,
    mtime: st.mtimeNs,
    ctime: st.ctimeNs,
    inode: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
    target: null,
    content: null,
  };
}

/** What reading an entry gave: its record, an error (with what lstat told), or nothing (it vanished). */
export type ReadOutcome =
  | { kind: 'record'; record: FileRecord; hashedBytes: bigint }
  | { kind: 'error'; code: string; message: string; record: FileRecord }
  | { kind: 'vanished' };

export interface RecordReaderOptions {
  /** Record attributes only, never hash. */
  noHash: boolean;
  /** Reuse the baseline hash when size, mtime, ctime, inode and device are all unchanged. */
  fast: boolean;
  /** The baseline record for a key (growing rules and --fast). */
  lookup?: (key: Buffer) => FileRecord | undefined;
}

/**
 * One hasher (a native BLAKE3 state and a 1 MiB read buffer) for every scan in this thread: the
 * daemon runs thousands of small rescans, and a fresh one each would churn memory.
 */
let sharedHasher: FileHasher | undefined;
function sharedFileHasher(): FileHasher {
  sharedHasher ??= new FileHasher();
  return sharedHasher;
}

export class RecordReader {
  private readonly hasher = sharedFileHasher();

  constructor(private readonly opts: RecordReaderOptions) {}

  /** `access` is the name to use for I/O (`/proc/self/fd/N/name`); `path` is the entry's real path. */
  read(key: Buffer, path: Buffer, access: string | Buffer, st: BigIntStats, rule: Rule): ReadOutcome {
    const rec = recordFromStat(path, st);
    if (rec.type === 'symlink') {
      try {
        rec.target = readlinkSync(access, { encoding: 'buffer' });
      } catch (err) {
        const code = errnoCode(err) ?? 'EIO';
        if (code === 'ENOENT') return { kind: 'vanished' };
        return { kind: 'error', code, message: `cannot read link: ${code}`, record: rec };
      }
      return { kind: 'record', record: rec, hashedBytes: 0n };
    }
    if (
      rec.type !== 'file' ||
      this.opts.noHash ||
      !(rule.check.attributes.has('content') || rule.check.growing)
    )
      return { kind: 'record', record: rec, hashedBytes: 0n };
    const old = this.opts.lookup?.(key);
    if (
      this.opts.fast &&
      old?.content &&
      old.type === 'file' &&
      old.size === st.size &&
      old.mtime === st.mtimeNs &&
      old.ctime === st.ctimeNs &&
      old.inode === st.ino &&
      old.dev === st.dev
    ) {
      rec.content = old.content;
      if (rule.check.growing) rec.prefix = { length: old.size, hash: old.content };
      return { kind: 'record', record: rec, hashedBytes: 0n };
    }
    const prefixLen = rule.check.growing && old?.type === 'file' ? old.size : undefined;
    const h = this.hasher.hash(access, st, prefixLen);
    if (!h.ok) {
      if (h.vanished) return { kind: 'vanished' };
      return { kind: 'error', code: h.code, message: h.message, record: rec };
    }
    const fresh = recordFromStat(path, h.stat);
    fresh.content = h.content;
    if (prefixLen !== undefined) fresh.prefix = h.prefix;
    return { kind: 'record', record: fresh, hashedBytes: h.stat.size };
  }
}
