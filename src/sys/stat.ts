/**
 * What the kernel says of an inode, in the one shape the scanner and the hasher use: its type, the
 * 12 mode bits, owner, link count, and the 64-bit numbers (size, times in nanoseconds, inode,
 * device) as bigints; from statx(2) where libc serves (a struct statx decoded here), else from
 * Node's bigint stats, converted (both give the same numbers: test/unit/scan/entry-stat.test.ts).
 *
 * It must not guess a field: a statx that did not fill one it needs is refused (undefined), and
 * the caller asks Node.
 */
import { type BigIntStats, fstatSync } from 'node:fs';
import type { FileType } from '../types.js';
import { errnoError, STATX_SIZE, statxFd } from './libc.js';

export interface EntryStat {
  type: FileType;
  /** The 12 permission bits (setuid, setgid, sticky included). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
}

/** An open file's stat, with its 512-byte blocks (fewer than the size needs: it has holes). */
export interface FdStat extends EntryStat {
  blocks: bigint;
}

const S_IFMT = 0o170000;
const TYPES = new Map<number, FileType>([
  [0o100000, 'file'],
  [0o040000, 'dir'],
  [0o120000, 'symlink'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
  [0o020000, 'char'],
  [0o060000, 'block'],
]);

export function typeOfMode(mode: number): FileType {
  return TYPES.get(mode & S_IFMT) ?? 'unknown';
}

export function fromBigIntStats(st: BigIntStats): FdStat {
  const mode = Number(st.mode);
  return {
    type: typeOfMode(mode),
    mode: mode & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    nlink: Number(st.nlink),
    size: st.size,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
    dev: st.dev,
    blocks: st.blocks,
  };
}

/** Every field of STATX_BASIC_STATS that EntryStat reads (mask bits: type, mode, nlink, uid, gid, mtime, ctime, ino, size). */
const NEEDED = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200;
const NS = 1_000_000_000n;

/**
 * glibc's makedev(major, minor), which is what stat(2) reports as st_dev: 12 bits of major and
 * 20 of minor in the low 32 bits, the rest above.
 */
export function makeDev(major: number, minor: number): bigint {
  if (major <= 0xfff && minor <= 0xfffff)
    return BigInt((minor & 0xff) + major * 0x100 + (minor - (minor & 0xff)) * 0x1000);
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

const STATX_BLOCKS = 0x400;

/**
 * A struct statx as an EntryStat; undefined when the kernel did not fill a field it needs. It
 * carries `blocks` too (-1 when the kernel did not fill it), so that an entry's stat and a
 * descriptor's have one shape: a spread adding `blocks` afterwards took V8's slow path for every
 * fstat (2% of a check in a profile).
 */
export function decodeStatx(b: Buffer): FdStat | undefined {
  const mask = b.readUInt32LE(0);
  if ((mask & NEEDED) !== NEEDED) return undefined;
  const mode = b.readUInt16LE(28);
  return {
    type: typeOfMode(mode),
    mode: mode & 0o7777,
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    nlink: b.readUInt32LE(16),
    size: b.readBigUInt64LE(40),
    mtimeNs: b.readBigInt64LE(112) * NS + BigInt(b.readUInt32LE(120)),
    ctimeNs: b.readBigInt64LE(96) * NS + BigInt(b.readUInt32LE(104)),
    ino: b.readBigUInt64LE(32),
    dev: makeDev(b.readUInt32LE(136), b.readUInt32LE(140)),
    blocks: (mask & STATX_BLOCKS) !== 0 ? b.readBigUInt64LE(48) : -1n,
  };
}

const fdBuf = Buffer.alloc(STATX_SIZE);

/**
 * fstat(2) of an open descriptor: statx(fd, "", AT_EMPTY_PATH) where libc serves (about 1 µs
 * here, against 3 µs for Node's `fstatSync` with bigints, which builds a Stats object and its
 * dates; the hasher calls it twice per file), else Node's. Throws what fstat throws.
 */
export function fstatOf(fd: number): FdStat {
  const r = statxFd(fd, fdBuf);
  if (r && !r.ok) throw errnoError(r.errno, 'fstat');
  const st = r ? decodeStatx(fdBuf) : undefined;
  if (st && st.blocks >= 0n) return st;
  return fromBigIntStats(fstatSync(fd, { bigint: true }));
}
